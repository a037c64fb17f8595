"""The baseline benchmarks/ack.py compares the webhook ack with: a Flask endpoint that reads and parses the same
body and answers the same 202 JSON, doing nothing else. Served by the same gunicorn with the same settings."""
from __future__ import annotations

from flask import Flask, jsonify, request

app = Flask("bare")


@app.route("/webhooks/<account>", methods=["POST"])
def receive(account: str):
    payload = request.get_json(force=True)
    return jsonify(status="queued", inbox_id=len(payload)), 202


@app.route("/healthz")
def health():
    return jsonify(status="ok")
