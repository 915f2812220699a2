"""Program runs are leased to the centre process whose loop runs them.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from qharbor.store.tables import UTCDateTime

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("program_runs") as batch:
        batch.add_column(sa.Column("lease_owner", sa.String(64), nullable=True))
        batch.add_column(sa.Column("lease_expires_at", UTCDateTime, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("program_runs") as batch:
        batch.drop_column("lease_expires_at")
        batch.drop_column("lease_owner")
