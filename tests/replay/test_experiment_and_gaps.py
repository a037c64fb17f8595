"""`experiment compare` finds the worse configuration with significance; `report gaps` groups what was missing."""
from __future__ import annotations

import json

from tests.replay import history


def test_compare_shows_b_worse_with_significance(world, collected):
    a = world.config("a.yaml")
    b = world.config("b.yaml", model=history.WORSE_MODEL)
    runner = world.cli(a)
    out = world.root / "exp"
    result = runner.invoke(args=["experiment", "compare", "--dataset", str(collected), "--a", str(a), "--b", str(b),
                                 "--out", str(out), "--concurrency", "4"])
    assert result.exit_code == 0, result.output
    comparison = json.loads((out / "comparison.json").read_text())
    overall = {m["metric"]: m for m in comparison["overall"]}
    assert overall["agreement"]["verdict"] == "B worse" and overall["agreement"]["p_value"] < 0.001
    assert overall["accepted"]["verdict"] == "B worse"
    assert overall["agreement"]["n"] == comparison["paired_examples"] > 500
    assert overall["handoff"]["verdict"] == "no significant difference"  # routing is the same in A and B
    assert "order_status" in comparison["intents"]
    assert "B worse" in result.output and (out / "comparison.html").is_file()


def test_gap_report_puts_the_missing_topic_first(world, collected):
    runner = world.cli(world.config())
    run = world.root / "gaps-run"
    assert runner.invoke(args=["replay", "run", "--dataset", str(collected), "--out", str(run)]).exit_code == 0
    result = runner.invoke(args=["report", "gaps", "--run", str(run), "--json"])
    assert result.exit_code == 0, result.output
    topics = json.loads(result.stdout)  # stdout alone: log lines go to stderr
    assert topics and {"gift", "wrapping"} & set(topics[0]["topic"].split(" / "))
    assert topics[0]["count"] >= 100
    assert all("@" not in q for t in topics for q in t["examples"])


def test_report_still_works_without_a_subcommand(world):
    result = world.cli(world.config()).invoke(args=["report", "--json"])
    assert result.exit_code == 0, result.output
    assert "intents" in json.loads(result.stdout)
