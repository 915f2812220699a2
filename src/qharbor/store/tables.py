"""The tables, as SQLAlchemy Core metadata.

Alembic migrations under ``migrations/versions`` create exactly these; a test
checks that the two agree.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware UTC datetime on every database (SQLite forgets zones)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(
        self, value: dt.datetime | None, dialect: sa.Dialect
    ) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime stored; use datetime.now(UTC)")
        return value.astimezone(dt.UTC)

    def process_result_value(
        self, value: dt.datetime | None, dialect: sa.Dialect
    ) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


metadata = sa.MetaData()

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("name", sa.String(128), nullable=False, unique=True),
    sa.Column("is_admin", sa.Boolean, nullable=False, default=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

projects = sa.Table(
    "projects",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("name", sa.String(128), nullable=False, unique=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    # Jobs queued or running at once; None means no limit.
    sa.Column("max_concurrent_jobs", sa.Integer, nullable=True),
)

memberships = sa.Table(
    "memberships",
    metadata,
    sa.Column(
        "user_id", sa.String(36), sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column(
        "project_id",
        sa.String(36),
        sa.ForeignKey("projects.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("role", sa.String(32), nullable=False),
)

tokens = sa.Table(
    "tokens",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column(
        "user_id", sa.String(36), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column(
        "project_id",
        sa.String(36),
        sa.ForeignKey("projects.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("scopes", sa.String(256), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=True),
    sa.Column("revoked_at", UTCDateTime, nullable=True),
)

# A user who signs in through the centre's OpenID provider: the provider's stable
# subject id for them. Their memberships follow the provider's groups (see sso.py).
sso_identities = sa.Table(
    "sso_identities",
    metadata,
    sa.Column("issuer", sa.String(255), primary_key=True),
    sa.Column("subject", sa.String(255), primary_key=True),
    sa.Column(
        "user_id",
        sa.String(36),
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
        unique=True,
    ),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("last_seen_at", UTCDateTime, nullable=False),
)

jobs = sa.Table(
    "jobs",
    metadata,
    # seq orders jobs (age, cursors); id is the public, unguessable name.
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("id", sa.String(36), nullable=False, unique=True),
    sa.Column(
        "project_id",
        sa.String(36),
        sa.ForeignKey("projects.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column(
        "user_id", sa.String(36), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("device", sa.String(128), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("shots", sa.Integer, nullable=False),
    sa.Column("seed", sa.BigInteger, nullable=False),
    sa.Column("seed_given", sa.Boolean, nullable=False),
    sa.Column("tags", sa.JSON, nullable=False),
    sa.Column("programs", sa.JSON, nullable=False),
    sa.Column("num_programs", sa.Integer, nullable=False),
    sa.Column("num_experiments", sa.Integer, nullable=False),
    sa.Column("idempotency_key", sa.String(256), nullable=True),
    sa.Column("request_hash", sa.String(64), nullable=False),
    sa.Column("attempt", sa.Integer, nullable=False, default=0),
    sa.Column("lease_owner", sa.String(64), nullable=True),
    sa.Column("lease_expires_at", UTCDateTime, nullable=True),
    sa.Column("cancel_requested", sa.Boolean, nullable=False, default=False),
    sa.Column("error_code", sa.String(64), nullable=True),
    sa.Column("error_message", sa.Text, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("started_at", UTCDateTime, nullable=True),
    sa.Column("finished_at", UTCDateTime, nullable=True),
    # "circuits", or a primitive ("sampler", "estimator") whose PUBs are in primitive.
    sa.Column("kind", sa.String(16), nullable=False, server_default="circuits"),
    sa.Column("primitive", sa.JSON, nullable=True),
    sa.Column("session_id", sa.String(36), nullable=True),
    # Claimed before lower priorities on the same device (1: a job in a session).
    sa.Column("priority", sa.Integer, nullable=False, server_default="0"),
    # Job options (optimization level, mitigation, ...), as the request gave them.
    sa.Column("options", sa.JSON, nullable=True),
    # A sealed job's programs column holds one envelope, never program text.
    sa.Column("sealed", sa.Boolean, nullable=False, server_default=sa.false()),
    # The submitter's ML-KEM key the result is sealed to, if they registered one.
    sa.Column("result_key_id", sa.String(64), nullable=True),
    # Device-seconds reserved against the project's quota while the job is unfinished.
    sa.Column("estimated_s", sa.Float, nullable=True),
    # Bytes of memory its worker needs, reserved on the host while it runs.
    sa.Column("memory_bytes", sa.BigInteger, nullable=True),
    # Runs of a fanned-out job done so far, of how many (a cluster executor's chunks).
    sa.Column("progress_done", sa.Integer, nullable=True),
    sa.Column("progress_total", sa.Integer, nullable=True),
    sa.UniqueConstraint("project_id", "idempotency_key", name="uq_jobs_project_idempotency"),
    sa.Index("ix_jobs_queue", "status", "device", "seq"),
    sa.Index("ix_jobs_project_seq", "project_id", "seq"),
    sa.Index("ix_jobs_session", "session_id"),
)

sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column(
        "project_id",
        sa.String(36),
        sa.ForeignKey("projects.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column(
        "user_id", sa.String(36), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("device", sa.String(128), nullable=False),
    # "session" (priority, closing fails queued jobs) or "batch" (grouping only).
    sa.Column("mode", sa.String(16), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("max_ttl_s", sa.Float, nullable=False),
    sa.Column("idle_ttl_s", sa.Float, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("last_activity_at", UTCDateTime, nullable=False),
    sa.Column("closed_at", UTCDateTime, nullable=True),
    sa.Column("close_reason", sa.String(32), nullable=True),
    # The Slurm job that opened it (SLURM_JOB_ID) and its cluster, if any.
    sa.Column("slurm_job_id", sa.String(64), nullable=True),
    sa.Column("slurm_cluster", sa.String(64), nullable=True),
    sa.Index("ix_sessions_project_created", "project_id", "created_at"),
    sa.Index("ix_sessions_status", "status"),
    sa.Index("ix_sessions_slurm_job", "slurm_job_id"),
)

job_tags = sa.Table(
    "job_tags",
    metadata,
    sa.Column(
        "job_id", sa.String(36), sa.ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("tag", sa.String(64), primary_key=True),
    sa.Index("ix_job_tags_tag", "tag"),
)

results = sa.Table(
    "results",
    metadata,
    sa.Column(
        "job_id", sa.String(36), sa.ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("data", sa.JSON, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    # The centre's ML-DSA signature block over data and the job's context.
    sa.Column("signature", sa.JSON, nullable=True),
)

centre_keys = sa.Table(
    "centre_keys",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("purpose", sa.String(16), nullable=False),  # "signing" or "sealing"
    sa.Column("algorithm", sa.String(32), nullable=False),
    sa.Column("public_key", sa.Text, nullable=False),  # base64, raw encoding
    # AES-256-GCM under the key-encryption key from the settings; never in clear.
    sa.Column("private_key", sa.Text, nullable=False),
    # The purpose while the key is in use, NULL once retired: one active key per purpose.
    sa.Column("active_purpose", sa.String(16), nullable=True, unique=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("retired_at", UTCDateTime, nullable=True),
)

user_keys = sa.Table(
    "user_keys",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column(
        "user_id", sa.String(36), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("algorithm", sa.String(32), nullable=False),
    sa.Column("public_key", sa.Text, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("retired_at", UTCDateTime, nullable=True),
    sa.Index("ix_user_keys_user", "user_id"),
)

# Device twins: every recalibration's snapshot, so any past one can be read back.
calibrations = sa.Table(
    "calibrations",
    metadata,
    sa.Column("id", sa.String(160), primary_key=True),
    sa.Column("device", sa.String(128), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("taken_at", UTCDateTime, nullable=False),
    sa.Column("reason", sa.String(128), nullable=False),
    sa.Column("data", sa.JSON, nullable=False),
    sa.UniqueConstraint("device", "version", name="uq_calibrations_device_version"),
    sa.Index("ix_calibrations_device_taken", "device", "taken_at"),
)

maintenance_windows = sa.Table(
    "maintenance_windows",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("device", sa.String(128), nullable=False),
    sa.Column("start_at", UTCDateTime, nullable=False),
    sa.Column("end_at", UTCDateTime, nullable=False),
    sa.Column("reason", sa.String(256), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Index("ix_maintenance_device_end", "device", "end_at"),
)

quotas = sa.Table(
    "quotas",
    metadata,
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

# The usage ledger: one row per job that used device time, written when it ends,
# and one per reservation window, written when the window is settled.
usage = sa.Table(
    "usage",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    # NULL on a reservation window's own row.
    sa.Column("job_id", sa.String(36), nullable=True, unique=True),
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
    # The window this row is for, or the window a job ran inside (charged only past its end).
    sa.Column("reservation_id", sa.String(36), nullable=True),
    sa.Index("ix_usage_project_day", "project_id", "day"),
    sa.Index("ix_usage_charged_at", "charged_at"),
)

# Reserved time: a project's window on one device (accounting/reservations.py).
reservations = sa.Table(
    "reservations",
    metadata,
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
    # REQUESTED, APPROVED, CANCELLED, PREEMPTED or COMPLETED.
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("note", sa.String(256), nullable=True),
    # Why it was last approved, cancelled or pre-empted.
    sa.Column("reason", sa.String(256), nullable=True),
    sa.Column(
        "created_by", sa.String(36), sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    ),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("approved_at", UTCDateTime, nullable=True),
    # When it stopped holding the device early (cancelled or pre-empted); else NULL.
    sa.Column("ended_at", UTCDateTime, nullable=True),
    sa.Column("changed_by", sa.String(36), nullable=True),
    # Device-seconds charged for the window, once settled.
    sa.Column("charged_s", sa.Float, nullable=True),
    sa.Index("ix_reservations_device_end", "device", "end_at"),
    sa.Index("ix_reservations_project_start", "project_id", "start_at"),
)

# Append-only: triggers refuse UPDATE and DELETE (see migration 0004).
audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("actor_id", sa.String(64), nullable=True),
    sa.Column("project_id", sa.String(36), nullable=True),
    sa.Column("token_id", sa.String(36), nullable=True),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("target", sa.String(256), nullable=True),
    sa.Column("status", sa.Integer, nullable=True),
    sa.Column("detail", sa.JSON, nullable=False),
    sa.Index("ix_audit_log_actor", "actor_id", "seq"),
    sa.Index("ix_audit_log_action", "action", "seq"),
)

# Runs of the centre's hybrid programs (qharbor.runtime); their quantum jobs are
# ordinary jobs, tagged with the run's id.
program_runs = sa.Table(
    "program_runs",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column(
        "project_id",
        sa.String(36),
        sa.ForeignKey("projects.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column(
        "user_id", sa.String(36), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("program", sa.String(64), nullable=False),
    sa.Column("version", sa.String(32), nullable=False),
    sa.Column("device", sa.String(128), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("inputs", sa.JSON, nullable=False),
    # SHA-256 of the canonical inputs, bound into the result's signature.
    sa.Column("inputs_hash", sa.String(64), nullable=False),
    sa.Column("session_id", sa.String(36), nullable=True),
    # How many times the run was started: 1, plus one per resumption after a restart.
    sa.Column("attempt", sa.Integer, nullable=False, server_default="0"),
    sa.Column("cancel_requested", sa.Boolean, nullable=False, server_default=sa.false()),
    # The latest progress event (iteration, value, best) and the program's saved state.
    sa.Column("progress", sa.JSON, nullable=True),
    sa.Column("checkpoint", sa.JSON, nullable=True),
    sa.Column("result", sa.JSON, nullable=True),
    sa.Column("signature", sa.JSON, nullable=True),
    sa.Column("error_code", sa.String(64), nullable=True),
    sa.Column("error_message", sa.Text, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("started_at", UTCDateTime, nullable=True),
    sa.Column("finished_at", UTCDateTime, nullable=True),
    # The centre process whose loop runs it, until when; renewed while it runs. A run
    # whose lease expired (its process died) is taken by the next process to look.
    sa.Column("lease_owner", sa.String(64), nullable=True),
    sa.Column("lease_expires_at", UTCDateTime, nullable=True),
    sa.Index("ix_program_runs_project_created", "project_id", "created_at"),
    sa.Index("ix_program_runs_status", "status"),
)
