"""Device twins: calibration history, maintenance windows, job options.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from qharbor.store.tables import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("jobs", sa.Column("options", sa.JSON, nullable=True))
    op.create_table(
        "calibrations",
        sa.Column("id", sa.String(160), primary_key=True),
        sa.Column("device", sa.String(128), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("taken_at", UTCDateTime, nullable=False),
        sa.Column("reason", sa.String(128), nullable=False),
        sa.Column("data", sa.JSON, nullable=False),
        sa.UniqueConstraint("device", "version", name="uq_calibrations_device_version"),
    )
    op.create_index("ix_calibrations_device_taken", "calibrations", ["device", "taken_at"])
    op.create_table(
        "maintenance_windows",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("device", sa.String(128), nullable=False),
        sa.Column("start_at", UTCDateTime, nullable=False),
        sa.Column("end_at", UTCDateTime, nullable=False),
        sa.Column("reason", sa.String(256), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_maintenance_device_end", "maintenance_windows", ["device", "end_at"])


def downgrade() -> None:
    op.drop_table("maintenance_windows")
    op.drop_table("calibrations")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("options")
