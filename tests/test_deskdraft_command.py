"""The `deskdraft` console script (installed by scripts/setup) runs the same admin commands as
`flask --app webhooks`: real processes, a config file in a temporary folder, run from outside the repository."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DESKDRAFT = Path(sys.executable).parent / "deskdraft"


def _env(config: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DESKDRAFT_", "FLASK_"))}
    return {**env, "DESKDRAFT_CONFIG": str(config), "HF_HUB_OFFLINE": "1"}


def _deskdraft(cwd: Path, config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    if not DESKDRAFT.exists():
        pytest.fail(f"{DESKDRAFT} is missing: run scripts/setup (it installs the project's console script)")
    return subprocess.run([str(DESKDRAFT), *args], cwd=cwd, env=_env(config), capture_output=True, text=True,
                          timeout=120)


def _flask(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "flask", "--app", "webhooks", *args], cwd=REPO, env=_env(config),
                          capture_output=True, text=True, timeout=120)


def _config(tmp_path: Path, replace: tuple[str, str] | None = None) -> Path:
    text = (REPO / "config.yaml").read_text(encoding="utf-8")
    text = text.replace("data_dir: var ", f"data_dir: {tmp_path / 'var'} ", 1)
    assert str(tmp_path) in text  # the data folder really is the temporary one
    if replace:
        assert replace[0] in text
        text = text.replace(*replace)
    path = tmp_path / "deskdraft.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_check_config_matches_flask(tmp_path: Path) -> None:
    config = _config(tmp_path)
    elsewhere = tmp_path / "elsewhere"  # not the repository: the script must not rely on the working directory
    elsewhere.mkdir()
    short = _deskdraft(elsewhere, config, "check-config")
    assert short.returncode == 0, short.stderr
    assert short.stdout.startswith(f"{config}: OK\n")
    assert "helpdesk zendesk: zendesk at https://yourcompany.zendesk.com" in short.stdout
    assert str(tmp_path / "var") in short.stdout  # it read the temporary config, not the repository's
    long = _flask(config, "check-config")
    assert (long.returncode, long.stdout) == (short.returncode, short.stdout)


def test_bad_config_named_the_same_way(tmp_path: Path) -> None:
    config = _config(tmp_path, ("needs_human_below: 0.6", "needs_human_below: 7"))
    short = _deskdraft(tmp_path, config, "check-config")
    assert short.returncode == 2
    assert "drafting.needs_human_below" in short.stderr
    assert short.stdout == ""
    long = _flask(config, "check-config")
    assert (long.returncode, long.stderr) == (short.returncode, short.stderr)


def test_every_command_group_is_there(tmp_path: Path) -> None:
    config = _config(tmp_path)

    def commands(out: str) -> list[str]:
        listed = out.split("Commands:\n", 1)[1]
        return [line.split()[0] for line in listed.splitlines() if line.startswith("  ") and line[2:3].strip()]

    short = commands(_deskdraft(tmp_path, config, "--help").stdout)
    long = commands(_flask(config, "--help").stdout)
    assert short == long
    assert {"check-config", "report", "audit", "knowledge", "inbox", "db", "router", "console", "replay"} <= set(short)
