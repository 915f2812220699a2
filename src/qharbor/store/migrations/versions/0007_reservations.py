"""Reservations: a project's window on a device, and the usage rows that charge it.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from qharbor.store.tables import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reservations",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "project_id",
            sa.String(36),
            sa.ForeignKey("projects.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("device", sa.String(128), nullable=False),
        sa.Column("start_at", UTCDateTime, nullable=False),
        sa.Column("end_at", UTCDateTime, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("note", sa.String(256), nullable=True),
        sa.Column("reason", sa.String(256), nullable=True),
        sa.Column(
            "created_by",
            sa.String(36),
            sa.ForeignKey("users.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("approved_at", UTCDateTime, nullable=True),
        sa.Column("ended_at", UTCDateTime, nullable=True),
        sa.Column("changed_by", sa.String(36), nullable=True),
        sa.Column("charged_s", sa.Float, nullable=True),
    )
    op.create_index("ix_reservations_device_end", "reservations", ["device", "end_at"])
    op.create_index("ix_reservations_project_start", "reservations", ["project_id", "start_at"])
    # A window's own usage row has no job.
    with op.batch_alter_table("usage") as batch:
        batch.alter_column("job_id", existing_type=sa.String(36), nullable=True)
        batch.add_column(sa.Column("reservation_id", sa.String(36), nullable=True))


def downgrade() -> None:
    op.execute("DELETE FROM usage WHERE job_id IS NULL")
    with op.batch_alter_table("usage") as batch:
        batch.drop_column("reservation_id")
        batch.alter_column("job_id", existing_type=sa.String(36), nullable=False)
    op.drop_index("ix_reservations_project_start", table_name="reservations")
    op.drop_index("ix_reservations_device_end", table_name="reservations")
    op.drop_table("reservations")
