"""The tables as the first release created them (inbox, posts, audit, drafts, gate_events)."""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inbox",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("account", sa.String(64), nullable=False),
        sa.Column("event_id", sa.String(200), nullable=False),
        sa.Column("ticket_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("outcome", sa.String(40)),
        sa.Column("error", sa.Text),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("received_at", sa.Float, nullable=False),
        sa.Column("enqueued_at", sa.Float, nullable=False),
        sa.Column("finished_at", sa.Float),
        sa.UniqueConstraint("account", "event_id", name="uq_inbox_event"),
    )
    op.create_table(
        "posts",
        sa.Column("draft_ref", sa.String(200), primary_key=True),
        sa.Column("account", sa.String(64), nullable=False),
        sa.Column("ticket_id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(16)),
        sa.Column("comment_id", sa.String(64)),
        sa.Column("claimed_at", sa.Float, nullable=False),
        sa.Column("posted_at", sa.Float),
    )
    op.create_table(
        "audit",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("account", sa.String(64), nullable=False, index=True),
        sa.Column("ticket_id", sa.String(64), nullable=False, index=True),
        sa.Column("inbox_id", sa.Integer),
        sa.Column("step", sa.String(40), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("at", sa.Float, nullable=False),
    )
    op.create_table(
        "drafts",
        sa.Column("draft_ref", sa.String(200), primary_key=True),
        sa.Column("account", sa.String(64), nullable=False),
        sa.Column("ticket_id", sa.String(64), nullable=False, index=True),
        sa.Column("intent", sa.String(64), nullable=False, index=True),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("comment_id", sa.String(64)),
        sa.Column("confidence", sa.Float),
        sa.Column("text", sa.Text),
        sa.Column("language", sa.String(8)),
        sa.Column("prompt_version", sa.String(16)),
        sa.Column("model", sa.String(100)),
        sa.Column("knowledge_snapshot", sa.String(64)),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("outcome", sa.String(16)),
        sa.Column("similarity", sa.Float),
        sa.Column("changes", sa.String(200)),
        sa.Column("reviewed_at", sa.Float, index=True),
    )
    op.create_table(
        "gate_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("intent", sa.String(64), nullable=False, index=True),
        sa.Column("open", sa.Integer, nullable=False),
        sa.Column("evidence", sa.Text, nullable=False),
        sa.Column("at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    for table in ("gate_events", "drafts", "audit", "posts", "inbox"):
        op.drop_table(table)
