"""The operator console: intents, one ticket's story, savings. A Flask blueprint under /console, signed in."""
from __future__ import annotations

from deskdraft.console.views import bp, install

__all__ = ["bp", "install"]
