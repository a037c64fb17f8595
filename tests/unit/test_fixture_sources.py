"""Every connector fixture is listed in SOURCES.md with its SHA-256, and every listed one is there, byte for byte:
vendor data stays as the vendor (or the project that captured it) wrote it, and nothing comes in without a source."""
from __future__ import annotations

import hashlib
import re

from tests.conftest import FIXTURES

ROW = re.compile(r"^\| `(?P<file>[^`]+)` \| (?P<repo>[\w.-]+/[\w.-]+) \| `[^`]+` \| `[0-9a-f]+` "
                 r"\| `(?P<sha>[0-9a-f]{64})` \|$")
LICENCE = re.compile(r"^\| (?P<repo>[\w.-]+/[\w.-]+) \| [^|]+ \| `(?P<file>LICENSES/[^`]+)` \|$")
MAX_BYTES = 2 * 1024 * 1024  # the repository's limit per file


def listed() -> dict[str, tuple[str, str]]:
    rows = {}
    for line in (FIXTURES / "SOURCES.md").read_text(encoding="utf-8").splitlines():
        if match := ROW.match(line):
            assert match["file"] not in rows, f"{match['file']} listed twice"
            rows[match["file"]] = (match["repo"], match["sha"])
    return rows


def licences() -> dict[str, str]:
    lines = (FIXTURES / "SOURCES.md").read_text(encoding="utf-8").splitlines()
    return {m["repo"]: m["file"] for m in map(LICENCE.match, lines) if m}


def present() -> set[str]:
    return {p.relative_to(FIXTURES).as_posix() for p in FIXTURES.rglob("*")
            if p.is_file() and p.name != "SOURCES.md" and "LICENSES" not in p.relative_to(FIXTURES).parts}


def test_every_fixture_file_is_listed_and_every_listed_file_is_there():
    rows = listed()
    assert rows, "SOURCES.md lists no files: the row format changed"
    assert set(rows) == present()


def test_fixtures_are_byte_copies_of_their_source():
    changed = [name for name, (_, sha) in listed().items()
               if hashlib.sha256((FIXTURES / name).read_bytes()).hexdigest() != sha]
    assert changed == []


def test_every_source_repository_has_its_licence_text_here():
    have = licences()
    for repo in {repo for repo, _ in listed().values()}:
        assert repo in have, f"no licence row for {repo}"
        assert (FIXTURES / have[repo]).stat().st_size > 500, have[repo]


def test_no_fixture_is_over_the_repository_size_limit():
    assert [p.name for p in FIXTURES.rglob("*") if p.is_file() and p.stat().st_size > MAX_BYTES] == []
