"""Claims become leases: the run that holds one (owner) and until when (lease_until, pushed out by its heartbeat).

Claims already open when this runs keep the old rule: they expire 900 s (the old claim timeout) after they were taken.
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

OLD_CLAIM_TIMEOUT_SECONDS = 900


def upgrade() -> None:
    with op.batch_alter_table("posts") as batch:  # batch: SQLite cannot alter a table in place
        batch.add_column(sa.Column("owner", sa.String(200)))
        batch.add_column(sa.Column("lease_until", sa.Float))
    op.execute(sa.text("UPDATE posts SET lease_until = claimed_at + :t WHERE status = 'claimed'")
               .bindparams(t=OLD_CLAIM_TIMEOUT_SECONDS))


def downgrade() -> None:
    with op.batch_alter_table("posts") as batch:
        batch.drop_column("lease_until")
        batch.drop_column("owner")
