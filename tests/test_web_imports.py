"""The web process stays lean: serving webhooks never imports the model client, the pipeline or the knowledge store
(`import anthropic` alone was 3 s of every gunicorn worker's start)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ZENDESK_SECRET, ZENDESK_TOKEN, config_text

REPO = Path(__file__).resolve().parents[1]
HEAVY = ("anthropic", "chromadb", "onnxruntime", "tokenizers", "worker", "pipeline", "knowledge")
# knowledge.epoch is plain data (which knowledge a draft was made under): the report and console compute it too.
LIGHT = ("knowledge", "knowledge.epoch")


def test_the_served_app_imports_none_of_the_worker_side(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text(config_text(tmp_path / "var", queue={"name": "imports-test"}))
    script = ("import sys, webhooks\n"
              "webhooks.create_app()\n"  # as gunicorn does: opens the inbox and the broker producer too
              f"print(sorted({{m.split('.')[0] for m in set(sys.modules) - set({LIGHT!r})}} & set({HEAVY!r})))")
    env = {**os.environ, "DESKDRAFT_CONFIG": str(config), "TEST_ZENDESK_TOKEN": ZENDESK_TOKEN,
           "TEST_ZENDESK_SECRET": ZENDESK_SECRET, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", script], env=env, cwd=REPO, capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert done.stdout.decode().split("\n")[-2] == "[]"
