"""Everything under data_dir is readable by its owner only: the inbox, the audit, drafts, labelled tickets and the
knowledge store all hold customers' words."""
from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

OWNER_ONLY_UMASK = 0o077


def restrict(data_dir: str | Path) -> Path:
    """Create data_dir owner-only (0700) and make this process create files 0600 and folders 0700.

    A umask, because SQLite, Chroma and the broker create their own files. Files an older version left
    group- or world-readable are tightened once here.
    """
    os.umask(OWNER_ONLY_UMASK)
    root = Path(data_dir)
    root.mkdir(parents=True, exist_ok=True)
    for folder, dirs, files in os.walk(root):
        for name in [folder, *(os.path.join(folder, n) for n in dirs + files)]:
            _tighten(name)
    return root


def _tighten(path: str) -> None:
    try:
        info = os.lstat(path)
    except FileNotFoundError:  # the broker moves message files while we walk
        return
    if stat.S_ISLNK(info.st_mode) or info.st_uid != os.getuid() or not info.st_mode & 0o077:
        return
    with contextlib.suppress(FileNotFoundError):
        os.chmod(path, stat.S_IMODE(info.st_mode) & 0o700)


def write_private(path: Path, text: str) -> None:
    """Write a file 0600 whatever the umask, replacing it atomically."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    partial = path.with_name(f".{path.name}.partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(partial, path)
