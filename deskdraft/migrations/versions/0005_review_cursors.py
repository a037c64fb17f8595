"""review_cursors: where each helpdesk account's review pass got to in the helpdesk's "changed since" listing.
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "review_cursors",
        sa.Column("account", sa.String(64), primary_key=True),
        sa.Column("mark", sa.Float),
        sa.Column("seen", sa.Text, nullable=False),
        sa.Column("due_mark", sa.Float),
        sa.Column("busy_until", sa.Float),
        sa.Column("updated_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("review_cursors")
