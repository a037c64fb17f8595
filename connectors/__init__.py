"""Helpdesk connectors behind one protocol; `build_connectors` makes one per configured account."""
from __future__ import annotations

from connectors.base import Comment, Connector, Ignored, MalformedPayload, Ticket, TicketEvent
from connectors.budget import budget_for, shared_store_url
from connectors.freshdesk import FreshdeskConnector
from connectors.http import HelpdeskError, PermanentHelpdeskError, TransientHelpdeskError
from connectors.intercom import IntercomConnector
from connectors.zendesk import ZendeskConnector
from deskdraft.settings import Config

CONNECTORS: dict[str, type] = {c.type: c for c in (ZendeskConnector, IntercomConnector, FreshdeskConnector)}


def build_connectors(config: Config) -> dict[str, Connector]:
    """One connector per helpdesk account, keyed by the account name used in the webhook URL."""
    built = {}
    shared = shared_store_url(config)
    for name, account in config.helpdesks.items():
        cls = CONNECTORS.get(account.type)
        if cls is None:
            raise NotImplementedError(f"helpdesks.{name}: type {account.type!r} has no connector yet")
        built[name] = cls(account, config.webhooks)
        built[name].budget = budget_for(account, shared)
    return built


__all__ = ["CONNECTORS", "Comment", "Connector", "HelpdeskError", "Ignored", "MalformedPayload",
           "PermanentHelpdeskError", "Ticket", "TicketEvent", "TransientHelpdeskError", "build_connectors"]
