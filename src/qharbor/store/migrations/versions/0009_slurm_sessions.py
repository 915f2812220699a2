"""Sessions tied to a Slurm job: its id and cluster, for closing and accounting.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(sa.Column("slurm_job_id", sa.String(64), nullable=True))
        batch.add_column(sa.Column("slurm_cluster", sa.String(64), nullable=True))
        batch.create_index("ix_sessions_slurm_job", ["slurm_job_id"])


def downgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        batch.drop_index("ix_sessions_slurm_job")
        batch.drop_column("slurm_cluster")
        batch.drop_column("slurm_job_id")
