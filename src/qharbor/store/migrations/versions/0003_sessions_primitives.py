"""Sessions and batches; primitive jobs (sampler, estimator) and job priority.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from qharbor.store.tables import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sessions",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "project_id",
            sa.String(36),
            sa.ForeignKey("projects.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "user_id",
            sa.String(36),
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("device", sa.String(128), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("max_ttl_s", sa.Float, nullable=False),
        sa.Column("idle_ttl_s", sa.Float, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("last_activity_at", UTCDateTime, nullable=False),
        sa.Column("closed_at", UTCDateTime, nullable=True),
        sa.Column("close_reason", sa.String(32), nullable=True),
    )
    op.create_index("ix_sessions_project_created", "sessions", ["project_id", "created_at"])
    op.create_index("ix_sessions_status", "sessions", ["status"])
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(
            sa.Column("kind", sa.String(16), nullable=False, server_default="circuits")
        )
        batch.add_column(sa.Column("primitive", sa.JSON, nullable=True))
        batch.add_column(sa.Column("session_id", sa.String(36), nullable=True))
        batch.add_column(sa.Column("priority", sa.Integer, nullable=False, server_default="0"))
    op.create_index("ix_jobs_session", "jobs", ["session_id"])


def downgrade() -> None:
    op.drop_index("ix_jobs_session", table_name="jobs")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("priority")
        batch.drop_column("session_id")
        batch.drop_column("primitive")
        batch.drop_column("kind")
    op.drop_index("ix_sessions_status", table_name="sessions")
    op.drop_index("ix_sessions_project_created", table_name="sessions")
    op.drop_table("sessions")
