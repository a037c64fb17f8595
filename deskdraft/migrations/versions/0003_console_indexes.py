"""Indexes the operator console and the metrics read through: the backlog, one ticket's story, the handoff
reasons over a window, and the intents page's windows over drafts and reviews."""
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_inbox_status_enqueued": ("inbox", ["status", "enqueued_at"]),
    "ix_posts_account_ticket": ("posts", ["account", "ticket_id"]),
    "ix_audit_account_ticket": ("audit", ["account", "ticket_id", "id"]),
    "ix_audit_step_at": ("audit", ["step", "at"]),
    "ix_drafts_window": ("drafts", ["created_at", "intent", "account", "action", "ticket_id", "confidence"]),
    "ix_drafts_reviewed_window": ("drafts", ["reviewed_at", "intent", "account", "outcome"]),
    "ix_drafts_intent_created": ("drafts", ["intent", "created_at"]),
    "ix_drafts_account_created": ("drafts", ["account", "created_at"]),
}


def upgrade() -> None:
    for name, (table, columns) in INDEXES.items():
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, (table, _) in INDEXES.items():
        op.drop_index(name, table_name=table)
