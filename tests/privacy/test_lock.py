"""requirements.lock is requirements.in with a hash on every pin, and scripts/setup refuses files without one."""
from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)")


def _pins(text: str) -> dict[str, str]:
    return {m[1].lower().replace("_", "-"): m[2] for line in text.splitlines() if (m := PIN.match(line))}


def test_every_pin_of_requirements_in_is_locked_with_a_hash():
    wanted = _pins((REPO / "requirements.in").read_text())
    lock = (REPO / "requirements.lock").read_text()
    assert _pins(lock) == wanted, "requirements.lock is stale: run scripts/lock"
    entries = re.split(r"\n(?=[A-Za-z0-9])", lock.split("\n", 2)[2].strip())
    assert len(entries) == len(wanted)
    for entry in entries:
        assert re.search(r"--hash=sha256:[0-9a-f]{64}", entry), f"no hash: {entry.splitlines()[0]}"


def test_build_tools_are_current_and_setup_requires_hashes():
    pins = _pins((REPO / "requirements.in").read_text())
    assert int(pins["setuptools"].split(".")[0]) >= 78  # 65.5 had CVE-2022-40897 and CVE-2024-6345
    assert int(pins["pip"].split(".")[0]) >= 25
    setup = (REPO / "scripts" / "setup").read_text()
    assert "--require-hashes --no-deps -r requirements.lock" in setup
