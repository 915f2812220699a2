"""Centre and user keys; signed results; sealed jobs.

Revision ID: 0005
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from qharbor.store.tables import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "centre_keys",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("algorithm", sa.String(32), nullable=False),
        sa.Column("public_key", sa.Text, nullable=False),
        sa.Column("private_key", sa.Text, nullable=False),
        sa.Column("active_purpose", sa.String(16), nullable=True, unique=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("retired_at", UTCDateTime, nullable=True),
    )
    op.create_table(
        "user_keys",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column(
            "user_id",
            sa.String(36),
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("algorithm", sa.String(32), nullable=False),
        sa.Column("public_key", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("retired_at", UTCDateTime, nullable=True),
    )
    op.create_index("ix_user_keys_user", "user_keys", ["user_id"])
    op.add_column(
        "jobs", sa.Column("sealed", sa.Boolean, nullable=False, server_default=sa.false())
    )
    op.add_column("jobs", sa.Column("result_key_id", sa.String(64), nullable=True))
    op.add_column("results", sa.Column("signature", sa.JSON, nullable=True))


def downgrade() -> None:
    op.drop_column("results", "signature")
    op.drop_column("jobs", "result_key_id")
    op.drop_column("jobs", "sealed")
    op.drop_index("ix_user_keys_user", "user_keys")
    op.drop_table("user_keys")
    op.drop_table("centre_keys")
