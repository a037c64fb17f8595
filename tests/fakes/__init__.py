"""Fakes that speak real HTTP on loopback: a Zendesk Support API, the Anthropic Messages API, and `serve()`."""
from tests.fakes.claude import FakeClaude
from tests.fakes.server import LiveServer, serve
from tests.fakes.zendesk import FakeZendesk, sign_zendesk, zendesk_event

__all__ = ["FakeClaude", "FakeZendesk", "LiveServer", "serve", "sign_zendesk", "zendesk_event"]
