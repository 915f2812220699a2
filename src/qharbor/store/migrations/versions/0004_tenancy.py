"""Quotas, the usage ledger and the append-only audit log.

Revision ID: 0004
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from qharbor.store.tables import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_POSTGRES_GUARD = """
CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$ LANGUAGE plpgsql
"""


def upgrade() -> None:
    with op.batch_alter_table("projects") as batch:
        batch.add_column(sa.Column("max_concurrent_jobs", sa.Integer, nullable=True))
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("estimated_s", sa.Float, nullable=True))
    op.create_table(
        "quotas",
        sa.Column(
            "project_id",
            sa.String(36),
            sa.ForeignKey("projects.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("device_class", sa.String(32), primary_key=True),
        sa.Column("period", sa.String(16), nullable=False),
        sa.Column("budget_s", sa.Float, nullable=False),
    )
    op.create_table(
        "usage",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("job_id", sa.String(36), nullable=False, unique=True),
        sa.Column(
            "project_id",
            sa.String(36),
            sa.ForeignKey("projects.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("device", sa.String(128), nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("device_s", sa.Float, nullable=False),
        sa.Column("charged_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_usage_project_day", "usage", ["project_id", "day"])
    op.create_index("ix_usage_charged_at", "usage", ["charged_at"])
    op.create_table(
        "audit_log",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("actor_id", sa.String(64), nullable=True),
        sa.Column("project_id", sa.String(36), nullable=True),
        sa.Column("token_id", sa.String(36), nullable=True),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target", sa.String(256), nullable=True),
        sa.Column("status", sa.Integer, nullable=True),
        sa.Column("detail", sa.JSON, nullable=False),
    )
    op.create_index("ix_audit_log_actor", "audit_log", ["actor_id", "seq"])
    op.create_index("ix_audit_log_action", "audit_log", ["action", "seq"])
    # The audit log is append-only even for code that reaches the database directly.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_POSTGRES_GUARD)
        op.execute(
            "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
            "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()"
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_log_no_{verb.lower()} BEFORE {verb} ON audit_log "
                "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
    for table in ("audit_log", "usage", "quotas"):
        op.drop_table(table)
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("estimated_s")
    with op.batch_alter_table("projects") as batch:
        batch.drop_column("max_concurrent_jobs")
