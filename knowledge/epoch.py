"""Which knowledge a draft was made under, for the gate's measurement (autonomy.restart_on: knowledge).

The admin's `autonomy.knowledge_snapshot` label, and the embedding model: a new model retrieves different
passages for the same question, so drafts made before the change say little about drafts made after it.
No chromadb here: the web process (console, report) computes the same value.
"""
from __future__ import annotations

from typing import Any

# Drafts recorded before the embedding was part of the epoch were all made with minilm-int8: for that model the
# epoch stays the bare snapshot label, so upgrading alone restarts no measurement.
_FIRST_EMBEDDING = "minilm-int8"


def knowledge_epoch(config: Any) -> str:
    snapshot, embedding = config.autonomy.knowledge_snapshot, config.knowledge.embedding
    return snapshot if embedding == _FIRST_EMBEDDING else f"{snapshot}+{embedding}"
