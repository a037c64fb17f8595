"""One override measurement: the gate in the pipeline, the `report` command and the console count the same reviews.

They had drifted: the pipeline measured under the drafter's model, "" when there is no API key, while the report
and the console measured under the configured model. Without a key the gate saw none of the intent's reviews
that the report showed. Real parts in one process: FakeZendesk over loopback HTTP, SQLite state, pipeline.handle
as worker.process_event calls it.
"""
from __future__ import annotations

import pytest

import pipeline
import worker
from deskdraft.commands import admin_cli
from deskdraft.console.views import gate_facts
from drafting import gate, overrides, prompts
from knowledge.epoch import knowledge_epoch
from tests.conftest import AGENT_EMAIL, ZENDESK_TOKEN
from tests.fakes.server import serve
from tests.fakes.zendesk import FakeZendesk

CUSTOMER = 8001


@pytest.fixture
def zendesk():
    fake = FakeZendesk(email=AGENT_EMAIL, token=ZENDESK_TOKEN)
    fake.add_user(CUSTOMER, "Casey Customer", "end-user")
    server = serve(fake.app)
    fake.url = server.url
    yield fake
    server.stop()


def handle(deps, ticket: int) -> dict:
    deps.state.start_attempt(inbox_id := deps.state.record_event("zendesk", f"d{ticket}", str(ticket),
                                                                 "customer.replied"))
    pipeline.handle(deps.state.get_event(inbox_id), deps)
    return {row["step"]: row for row in deps.state.audit_trail("zendesk", str(ticket))}


def test_without_an_api_key_the_gate_counts_what_the_report_and_console_show(tmp_path, make_config, zendesk):
    config = make_config(zendesk_url=zendesk.url)
    deps = worker.build_deps(config)
    assert deps.drafter is None and set(config.autonomy.restart_on) >= {"model"}
    zendesk.add_ticket(101, "Order", CUSTOMER, description="Where is my order?")
    first = handle(deps, 101)
    intent = deps.state.drafts_between(0, 2e9)[0].intent

    # Reviews of this intent's drafts, made under the configured model (the retrieval note above is not one).
    for n, outcome in enumerate([overrides.ACCEPTED, overrides.REWRITTEN, overrides.ACCEPTED, overrides.DISCARDED]):
        ref = f"zendesk:{900 + n}:1"
        deps.state.record_draft(ref, "zendesk", str(900 + n), intent, "note", "c", 0.9, "text", "en",
                                prompts.version(), config.anthropic.model, knowledge_epoch(config))
        deps.state.record_review(ref, outcome, 0.5, ())
    assert first["gate"]["reviewed"] == 0

    zendesk.add_ticket(102, "Order", CUSTOMER, description="Where is my order?")
    second = handle(deps, 102)
    now = deps.clock()
    report = {r["intent"]: r for r in admin_cli.intent_rows(config, deps.state, now)}[intent]
    console = gate_facts(config, deps.state, now)[intent]
    assert (second["gate"]["reviewed"], second["gate"]["overridden"]) == (4, 2)
    assert (report["reviewed"], report["overridden"]) == (console["reviewed"], console["overridden"]) == (4, 2)
    assert overrides.measured(deps.state, config, now, intent) == {intent: gate.Stats(4, 2)}
    deps.state.dispose()
