"""pending_posts: a finished draft and the post planned from it, kept until the post is recorded;
heartbeats: when each worker last said it was alive."""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pending_posts",
        sa.Column("draft_ref", sa.String(200), primary_key=True),
        sa.Column("account", sa.String(64), nullable=False),
        sa.Column("ticket_id", sa.String(64), nullable=False, index=True),
        sa.Column("step", sa.String(16), nullable=False),
        sa.Column("prompt_version", sa.String(16)),
        sa.Column("model", sa.String(100)),
        sa.Column("draft", sa.Text),
        sa.Column("plan", sa.Text),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_table(
        "heartbeats",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("heartbeats")
    op.drop_table("pending_posts")
