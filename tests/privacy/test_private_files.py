"""data_dir is owner-only: new files through the umask, files an older version left readable tightened."""
from __future__ import annotations

import os
import stat

from deskdraft import private_files


def test_restrict_tightens_what_is_there_and_what_comes(tmp_path):
    data = tmp_path / "var"
    (data / "chroma").mkdir(parents=True)
    old = data / "labelled_tickets.csv"
    old.write_text("text,label\n")
    os.chmod(old, 0o644)
    os.chmod(data / "chroma", 0o755)
    os.chmod(data, 0o755)
    previous = os.umask(0o022)
    try:
        private_files.restrict(data)
        (data / "deskdraft.db").write_text("")  # as SQLite or Chroma would create a file
        (data / "broker").mkdir()
    finally:
        os.umask(previous)
    for path in (data, data / "chroma", old, data / "deskdraft.db", data / "broker"):
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, oct(path.stat().st_mode)
    assert stat.S_IMODE(old.stat().st_mode) == 0o600 and stat.S_IMODE(data.stat().st_mode) == 0o700


def test_write_private_is_0600_whatever_the_umask(tmp_path):
    previous = os.umask(0)
    try:
        private_files.write_private(tmp_path / "deep" / "file.csv", "a,b\n")
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "deep" / "file.csv").stat().st_mode) == 0o600
    assert (tmp_path / "deep" / "file.csv").read_text() == "a,b\n"
    assert not list((tmp_path / "deep").glob(".*partial"))
