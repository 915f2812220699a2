"""The centre's one configuration object.

Every value can be set with a ``QHARBOR_``-prefixed environment variable
(``QHARBOR_DATABASE_URL``, ``QHARBOR_WORKERS``, ...); CLI flags override the
environment by passing explicit values to :class:`Settings`.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

log = logging.getLogger(__name__)

#: The former name of QHARBOR_ENGINE_BENCHMARK, still read when the new one is unset.
_FORMER_ENGINE_BENCHMARK_ENV = "QHARBOR_ENGINE_CALIBRATION"


def default_workers() -> int:
    """One worker process per core, at least two so a long job never blocks all work."""
    return max(2, os.cpu_count() or 1)


class Settings(BaseSettings):
    """Server settings. Units are in the field names (seconds, bytes)."""

    model_config = SettingsConfigDict(env_prefix="QHARBOR_", extra="forbid")

    host: str = "127.0.0.1"
    port: int = 8000
    data_dir: Path = Path(".qharbor")
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; defaults to SQLite in WAL mode under data_dir.",
    )
    workers: int = Field(default_factory=default_workers, ge=1, le=256)
    executor: Literal["local", "ray"] = Field(
        default="local",
        description="'local': a pool of worker processes on this host; 'ray': tasks on the "
        "Ray cluster at ray_address (pip install 'qharbor[cluster]').",
    )
    api_processes: int = Field(
        default=1,
        ge=1,
        le=64,
        description="Processes that serve the API on the same port (`qharbor serve "
        "--api-processes`); the first also runs the scheduler and the workers, the others "
        "accept, admit and answer requests, so the HTTP work is spread over cores.",
    )
    run_jobs: bool = Field(
        default=True,
        description="False: this process serves the API only, and another process on the "
        "same database runs the scheduler and the workers (set for the extra API processes).",
    )
    inline_max_ms: float = Field(
        default=1.0,
        ge=0,
        description="With the local executor, a simulator job of plain circuits whose "
        "engine is predicted to take at most this many milliseconds runs in the centre's "
        "scheduler thread instead of a worker process (no hand-off; it cannot be "
        "cancelled once running); 0 sends every job to a worker.",
    )
    ray_address: str = Field(
        default="auto",
        description="The Ray cluster's head, host:port (as `ray start --head` prints), or "
        "'auto' for the cluster this host belongs to.",
    )
    ray_max_jobs: int | None = Field(
        default=None, ge=1, description="Jobs running at once on the cluster; unset: one per CPU."
    )
    ray_chunk_runs: int = Field(
        default=64,
        ge=64,
        description="A batch or sweep with at least twice this many runs (circuits times "
        "bindings) is split into chunks of at least this many, run on several nodes.",
    )

    max_body_bytes: int = 8 * 1024 * 1024
    max_program_bytes: int = 2 * 1024 * 1024
    max_programs_per_job: int = Field(default=1000, ge=1, le=10_000)
    max_bindings_per_job: int = 100_000
    max_shots: int = 1_000_000
    max_wait_seconds: float = 60.0
    parser_processes: int = Field(default=2, ge=1, le=64)
    parse_timeout_seconds: float = Field(default=1.0, gt=0)

    memory_limit_bytes: int | None = Field(
        default=None,
        ge=0,
        description="Memory the running jobs of this host may use together; a job waits "
        "in the queue until its need fits, and one that could never fit is refused. When "
        "unset: memory_fraction of the host's total, less the idle workers' own memory.",
    )
    memory_fraction: float = Field(
        default=0.8,
        gt=0,
        le=1,
        description="Share of the host's memory for the workers when memory_limit_bytes "
        "is unset; the rest is left to the system, the centre and the database.",
    )

    lease_seconds: float = 20.0
    heartbeat_seconds: float = 2.0
    max_attempts: int = 3

    session_max_ttl_seconds: float = Field(
        default=8 * 3600.0, gt=0, description="Longest a session or batch may stay open."
    )
    session_idle_ttl_seconds: float = Field(
        default=300.0,
        gt=0,
        description="A session closes after this long without a job queued, running or ending.",
    )
    session_check_seconds: float = 1.0
    program_workers: int = Field(
        default=4, ge=1, le=256, description="Program runs whose classical loops run at once."
    )
    program_checkpoint_seconds: float = Field(
        default=1.0,
        ge=0,
        description="A running program's state is saved at most this often (seconds), so a "
        "restarted centre resumes it from there; 0 saves at every checkpoint.",
    )
    devices_dir: Path | None = Field(
        default=None,
        description="A directory of device twin files (*.toml); they add to, or replace, "
        "the shipped twins.",
    )
    fleet_tick_seconds: float = Field(default=1.0, gt=0)
    calibration_interval_seconds: float | None = Field(
        default=None, gt=0, description="Replaces every twin's recalibration interval."
    )
    calibration_duration_seconds: float | None = Field(
        default=None, ge=0, description="Replaces every twin's recalibration duration."
    )
    drift_step_seconds: float | None = Field(
        default=None, gt=0, description="Replaces every twin's drift interval."
    )
    key_encryption_key: SecretStr | None = Field(
        default=None,
        description="Base64 of 32 random bytes that encrypt the centre's private keys at "
        "rest; when unset, one is made on first start in data_dir/key-encryption-key (0600).",
    )
    tls_cert: Path | None = Field(default=None, description="PEM certificate chain for HTTPS.")
    tls_key: Path | None = Field(default=None, description="PEM private key for HTTPS.")
    auth_cache_seconds: float = Field(
        default=2.0,
        ge=0,
        description="How long a process keeps who a token stands for. A change made "
        "through this process (a token revoked, a membership changed) holds at once; other "
        "processes on the same database see it within this many seconds. 0 reads the "
        "token's user, project and role on every request.",
    )
    rate_limit_per_second: float = Field(
        default=20.0,
        ge=0,
        description="Requests per second per user, whichever tokens they use; 0 turns "
        "every rate limit off (the projects' too).",
    )
    rate_limit_burst: int = Field(default=200, ge=1, description="Requests per user at once.")
    project_rate_limit_per_second: float = Field(
        default=50.0,
        ge=0,
        description="Requests per second per project, all its members together; 0 turns "
        "the project limit off.",
    )
    project_rate_limit_burst: int = Field(
        default=500, ge=1, description="Requests per project at once."
    )
    max_open_sessions_per_project: int = Field(
        default=20, ge=1, description="Sessions and batches a project may have open at once."
    )
    max_open_sessions_per_user: int = Field(
        default=5, ge=1, description="Sessions and batches a user may have open at once."
    )
    fair_share_refresh_seconds: float = Field(
        default=5.0, gt=0, description="How often the scheduler reads projects' recent usage."
    )
    fair_share_half_life_seconds: float = Field(
        default=3600.0, gt=0, description="Recent usage halves in weight over this time."
    )
    reservations_need_approval: bool = Field(
        default=True,
        description="Bookings wait for an admin's approval (REQUESTED) before they hold "
        "their device; false approves them on booking.",
    )
    reservation_min_seconds: float = Field(
        default=60.0, gt=0, description="The shortest window a project may book."
    )
    reservation_max_seconds: float = Field(
        default=7 * 86_400.0, gt=0, description="The longest window a project may book."
    )
    reservation_max_ahead_seconds: float = Field(
        default=365 * 86_400.0, gt=0, description="How far ahead a window may start."
    )

    engine_costs_path: Path | None = Field(
        default=None,
        description="The JSON file of engine cost fits, keyed by host fingerprint; "
        "defaults to ~/.cache/qharbor/engine-costs.json.",
    )
    warm_engines: bool = Field(
        default=True,
        description="Workers load every engine (qulacs, qsim, stim) before they say they "
        "are ready, so the first jobs that pick one do not wait for its import (about "
        "1.5 s of CPU per worker, at start).",
    )
    engine_benchmark: Literal["background", "off"] = Field(
        default="background",
        description="'background': at start, if this host has no cost fit yet, benchmark the "
        "engines once in a low-priority background process; 'off': use the shipped defaults "
        "until `qharbor engines benchmark` is run. Formerly engine_calibration "
        "(QHARBOR_ENGINE_CALIBRATION), still accepted.",
    )

    oidc_issuer: str | None = Field(
        default=None,
        description="The OpenID provider's issuer URL (e.g. a Keycloak realm); turns on "
        "single sign-on. Its discovery document and keys are read from it.",
    )
    oidc_client_id: str | None = Field(
        default=None, description="The centre's client id at the provider (the console's login)."
    )
    oidc_client_secret: SecretStr | None = Field(
        default=None, description="The client's secret, if the provider made it confidential."
    )
    oidc_cli_client_id: str | None = Field(
        default=None,
        description="The public client the CLI signs in with (device authorization grant); "
        "defaults to oidc_client_id.",
    )
    oidc_audience: str | None = Field(
        default=None,
        description="Comma-separated audiences a token may carry; defaults to the client ids.",
    )
    oidc_scopes: str = Field(
        default="openid profile email offline_access",
        description="The scopes the console and CLI ask the provider for.",
    )
    oidc_groups_claim: str = Field(
        default="groups", description="The ID token claim that lists the user's groups."
    )
    oidc_group_map: str | None = Field(
        default=None,
        description="Groups to projects and roles, comma-separated: "
        "'physics-lab=project:physics:member,hpc-ops=admin'.",
    )
    oidc_group_map_file: Path | None = Field(
        default=None, description="A file of group mappings, one 'group=target' a line."
    )
    oidc_algorithms: str = Field(
        default="RS256,RS384,RS512,PS256,PS384,PS512,ES256,ES384,ES512,EdDSA",
        description="Signature algorithms accepted on ID tokens; 'none' and HMAC never are.",
    )
    oidc_leeway_seconds: float = Field(
        default=30.0, ge=0, le=300, description="Clock skew allowed on a token's exp and iat."
    )
    oidc_redirect_url: str | None = Field(
        default=None,
        description="The callback URL registered at the provider; defaults to this "
        "centre's own address + /auth/callback (set it behind a proxy).",
    )
    oidc_jwks_refresh_seconds: float = Field(
        default=10.0,
        ge=0,
        description="Least time between two reloads of the provider's keys on an unknown key id.",
    )
    oidc_jwks_max_age_seconds: float = Field(
        default=300.0,
        gt=0,
        description="Longest the provider's keys are kept before they are read again, so a "
        "key it withdrew stops working here within this time.",
    )

    write_account_file: bool = False
    account_file: Path | None = None
    log_level: str = "info"
    log_format: Literal["text", "json"] = Field(
        default="text",
        description="'json': one JSON object per log line, with request and job ids.",
    )
    metrics_public: bool = Field(
        default=False,
        description="Serve GET /metrics without a token (keep it on a network only "
        "Prometheus reaches); otherwise it needs a centre admin's token.",
    )

    @model_validator(mode="before")
    @classmethod
    def _renamed(cls, data: Any) -> Any:
        """Accept ``engine_calibration``, the former name of ``engine_benchmark``.

        "Calibration" now means only a device's snapshot; the engines' cost fit is a
        benchmark. The former name is read when the new one is not given.
        """
        if not isinstance(data, dict):
            return data
        data = dict(data)
        given = data.pop("engine_calibration", None)
        if given is None:
            given = os.environ.get(_FORMER_ENGINE_BENCHMARK_ENV)
        if given is not None and "engine_benchmark" not in data:
            log.warning(
                "engine_calibration (%s) is deprecated; use engine_benchmark (%s)",
                _FORMER_ENGINE_BENCHMARK_ENV,
                "QHARBOR_ENGINE_BENCHMARK",
            )
            data["engine_benchmark"] = given
        return data

    def memory_capacity_bytes(self) -> int:
        """The memory the jobs of this host may use together (bytes)."""
        from qharbor.engines.memory import host_capacity

        return host_capacity(self.memory_limit_bytes, self.memory_fraction, self.workers)

    @property
    def key_encryption_key_path(self) -> Path:
        return self.data_dir / "key-encryption-key"

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "qharbor.db"

    def resolved_database_url(self) -> str:
        """The database URL in force: the configured one, or SQLite under data_dir."""
        if self.database_url:
            url = self.database_url
            if url.startswith("postgresql://"):
                url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
            elif url.startswith("postgres://"):
                url = "postgresql+psycopg://" + url.removeprefix("postgres://")
            return url
        return f"sqlite:///{self.sqlite_path.resolve()}"
