"""The console's numbers against the database they come from, for a seeded history."""
from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from deskdraft.console import queries
from deskdraft.state import drafts
from drafting import gate
from tests.console.conftest import sign_in


def db_counts(state, since: float):
    """Counted in Python from the raw rows: an independent check of the console's SQL."""
    from collections import Counter
    with state.engine.connect() as conn:
        rows = conn.execute(select(drafts)).mappings().all()
    by_action = Counter((r["intent"], r["action"]) for r in rows if r["created_at"] >= since)
    tickets = {i: len({r["ticket_id"] for r in rows if r["intent"] == i and r["created_at"] >= since})
               for i in {r["intent"] for r in rows if r["created_at"] >= since}}
    reviewed = {}
    for r in rows:
        if r["reviewed_at"] is not None and r["reviewed_at"] >= since:
            n, o = reviewed.get(r["intent"], (0, 0))
            reviewed[r["intent"]] = (n + 1, o + (r["outcome"] in ("rewritten", "discarded")))
    return by_action, tickets, reviewed


@pytest.mark.parametrize("days", [7, 30])
def test_intents_api_numbers_match_the_database(seeded, days):
    app, state, _config, _written = seeded
    client = app.test_client()
    sign_in(client)
    data = client.get(f"/console/api/intents?days={days}").json
    by_action, tickets, reviewed = db_counts(state, time.time() - days * 86400)
    assert data["days"] == days
    seen = set()
    for row in data["intents"]:
        for acct in row["accounts"]:
            name = row["intent"]
            seen.add(name)
            assert acct["tickets"] == tickets[name]
            assert acct["public"] == by_action.get((name, "reply"), 0)
            assert acct["handoffs"] == by_action.get((name, "escalate"), 0)
            assert acct["drafts"] == by_action.get((name, "note"), 0) + by_action.get((name, "reply"), 0)
            assert (acct["reviewed"], acct["overridden"]) == reviewed.get(name, (0, 0))
        assert sum(row["confidence_histogram"]) == sum(c for (i, _), c in by_action.items() if i == row["intent"])
    assert seen == set(tickets)


def test_intents_page_prints_the_gate_reason_the_yaml_to_change_and_the_handoff_reasons(seeded):
    app, _state, _config, _ = seeded
    client = app.test_client()
    sign_in(client)
    page = client.get("/console/intents?days=30").text
    assert "intents:\n  refund_status:\n    autonomy: auto_send" in page  # the line to paste, not a button
    assert 'id="intent-payment_dispute"' in page and "Why: autonomy is manual" in page and "(risky)" in page
    assert "risk: chargeback" in page or "customer asked for a person" in page
    assert "<svg" in page and "threshold" in page
    api = client.get("/console/api/intents?days=60").json
    order = next(r for r in api["intents"] if r["intent"] == "order_status")
    assert [c["open"] for c in order["gate_changes"]] == [True, False, True, False]


def test_ticket_page_tells_the_story_and_links_to_the_helpdesk(seeded):
    app, _state, _config, _ = seeded
    client = app.test_client()
    sign_in(client)
    page = client.get("/console/tickets/zendesk/100299").text
    for step in ("event_received", "ticket_read", "routed", "retrieved", "drafted", "gate", "posted"):
        assert f"<td>{step}</td>" in page
    assert "/agent/tickets/100299" in page and "score 0.61" in page
    assert client.get("/console/tickets/zendesk/nope").status_code == 404


def test_ticket_list_pages_newest_first_without_overlap(seeded):
    app, *_ = seeded
    client = app.test_client()
    sign_in(client)
    first = client.get("/console/tickets").text
    assert 'id="older"' in first
    import re
    ids = re.findall(r'/console/tickets/zendesk/(\d+)"', first)
    older = re.search(r'id="older" href="([^"]+)"', first).group(1).replace("&amp;", "&")
    ids2 = re.findall(r'/console/tickets/zendesk/(\d+)"', client.get(older).text)
    assert len(ids) == 50 and len(ids2) == 50 and not set(ids) & set(ids2)
    assert ids[0] == "100299" and int(ids2[0]) < int(ids[-1])


def test_savings_labels_every_input(seeded):
    app, *_ = seeded
    client = app.test_client()
    sign_in(client)
    page = client.get("/console/savings").text
    assert page.count("configured (savings.") == 3 and "measured:" in page
    assert "No content gaps report in this deployment yet." in page


def test_bad_window_or_account_is_a_clear_400(seeded):
    app, *_ = seeded
    client = app.test_client()
    sign_in(client)
    assert client.get("/console/intents?days=lots").status_code == 400
    assert client.get("/console/intents?account=other").status_code == 400


@pytest.mark.parametrize("reviewed,overridden,min_reviewed", [(0, 0, 200), (150, 0, 200), (200, 10, 200),
                                                             (500, 3, 200), (1000, 60, 200)])
def test_reviews_still_needed_is_the_fewest_clean_reviews_that_open_the_gate(reviewed, overridden, min_reviewed):
    policy = gate.Policy("auto_send", 0.05, min_reviewed, 0.8, False)
    needed = queries.reviews_still_needed(policy, gate.Stats(reviewed, overridden))
    opens = lambda n: gate.gate_open(policy, gate.Stats(reviewed + n, overridden))[0]  # noqa: E731
    assert opens(needed) and (needed == 0 or not opens(needed - 1))


def test_reviews_still_needed_examples():
    policy = gate.Policy("auto_send", 0.05, 200, 0.8, False)
    assert queries.reviews_still_needed(policy, gate.Stats(0, 0)) == 200  # 0 of 200: bound 1.9%
    assert queries.reviews_still_needed(policy, gate.Stats(150, 0)) == 50
    never = gate.Policy("auto_send", 0.00001, 200, 0.8, False)
    assert queries.reviews_still_needed(never, gate.Stats(10, 5)) is None


def test_no_reviews_needed_figure_for_intents_that_cannot_open():
    assert queries.reviews_still_needed(gate.Policy("draft", 0.05, 200, 0.8, False), gate.Stats(0, 0)) is None
    assert queries.reviews_still_needed(gate.Policy("auto_send", 0.05, 200, 0.8, True), gate.Stats(0, 0)) is None


def test_the_same_numbers_on_postgresql(make_config, console_env):
    """bucketing (floor vs cast) and grouping differ between the two databases; the console must not."""
    from deskdraft.state import State
    from tests.console.conftest import INTENTS, epoch_of
    from tests.console.seed import seed
    from tests.test_state import drop_database, postgres_url
    from webhooks import create_app

    url = postgres_url()
    try:
        config = make_config(intents=INTENTS, state={"url": url})
        state = State(config.database_url)
        seed(state, ["zendesk"], tickets=300, days=60, now=time.time(), epoch=epoch_of(config))
        client = create_app(config, enqueue=lambda _: None, state=state).test_client()
        sign_in(client)
        data = client.get("/console/api/intents?days=30").json
        by_action, tickets, reviewed = db_counts(state, time.time() - 30 * 86400)
        for row in data["intents"]:
            for acct in row["accounts"]:
                assert acct["tickets"] == tickets[row["intent"]]
                assert (acct["reviewed"], acct["overridden"]) == reviewed.get(row["intent"], (0, 0))
            assert sum(row["confidence_histogram"]) == sum(c for (i, _), c in by_action.items() if i == row["intent"])
            assert sum(p[0] for p in row["trend"]["points"]) == reviewed.get(row["intent"], (0, 0))[0]
        assert client.get("/console/tickets/zendesk/100299").status_code == 200
        state.dispose()
    finally:
        drop_database(url)


def test_the_console_gate_agrees_with_the_report(seeded):
    from deskdraft.commands import admin_cli
    from deskdraft.console.views import gate_facts
    _app, state, config, _ = seeded
    now = time.time()
    report = {r["intent"]: r for r in admin_cli.intent_rows(config, state, now)}
    facts = gate_facts(config, state, now)
    assert facts.keys() <= report.keys()
    for name, fact in facts.items():
        r = report[name]
        assert (fact["reviewed"], fact["overridden"], fact["gate_open"], fact["why"]) == \
            (r["reviewed"], r["overridden"], r["gate_open"], r["why"])
    assert any(f["reviewed"] for f in facts.values())
