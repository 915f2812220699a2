"""The composition root: one centre's store, devices, jobs and workers, wired.

The HTTP app and the CLI's server both build a ``Centre`` from ``Settings``;
nothing else constructs these parts, so tests can run many centres side by side.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING

import sqlalchemy as sa

from qharbor.accounting.reservations import Limits, Reservations
from qharbor.devices import Catalogue, default_catalogue
from qharbor.devices.fleet import Fleet
from qharbor.devices.records import DeviceRecords
from qharbor.engines import costs
from qharbor.engines.background import BackgroundBenchmark
from qharbor.executors.base import Executor
from qharbor.executors.report import ExecutorReport, WorkerState
from qharbor.jobs import backlog
from qharbor.jobs.events import JobEvents
from qharbor.jobs.manager import JobManager
from qharbor.jobs.scheduler import Scheduler
from qharbor.jobs.sessions import SessionManager
from qharbor.jobs.submission import Submission
from qharbor.programs import intake
from qharbor.programs.sandbox import ParserPool
from qharbor.runtime.processes import LoopProcesses
from qharbor.runtime.registry import Registry
from qharbor.runtime.runs import RunStore
from qharbor.runtime.runtime import ProgramRuntime
from qharbor.security.audit import AuditLog
from qharbor.security.identity import Identity
from qharbor.security.keys import KeyStore, load_key_encryption_key
from qharbor.security.quotas import Quotas
from qharbor.security.ratelimit import RateLimiter, RateLimits
from qharbor.security.sso import SingleSignOn
from qharbor.security.usage import UsageLedger
from qharbor.settings import Settings
from qharbor.store import Database
from qharbor.store.host_notices import HostNotices
from qharbor.store.notices import Notices

if TYPE_CHECKING:
    from qharbor.executors import ray_cluster

log = logging.getLogger(__name__)


def inline_max_s(settings: Settings) -> float:
    """How long a claim run in the centre's own thread may take (seconds); 0 for none.

    A claim run here chooses its engine with this process's cost fits, so it runs
    here only where they are the workers' too: cost fits configured for the
    workers alone (``engine_costs_path`` given to this process directly, not
    through ``QHARBOR_ENGINE_COSTS_PATH``) send every claim to a worker.
    """
    configured = settings.engine_costs_path
    if configured is not None and configured.resolve() != costs.default_path().resolve():
        log.info("cost fits %s are the workers' only: every job runs in a worker", configured)
        return 0.0
    return settings.inline_max_ms / 1000


def make_executor(settings: Settings) -> Executor:
    """The executor named in the settings."""
    if settings.executor == "local":
        from qharbor.executors.local import LocalExecutor

        return LocalExecutor(
            settings.workers,
            extra_env=engine_environment(settings),
            memory_bytes=settings.memory_capacity_bytes(),
            inline_max_s=inline_max_s(settings),
        )
    if settings.executor == "ray":
        from qharbor.executors.ray import RayExecutor

        return RayExecutor(
            settings.ray_address,
            max_jobs=settings.ray_max_jobs,
            chunk_runs=settings.ray_chunk_runs,
            extra_env=engine_environment(settings),
        )
    raise ValueError(f"unknown executor {settings.executor!r}; available: local, ray")


#: Seconds a centre on a Ray cluster waits for the cluster at start.
RAY_CONNECT_S = 60.0


def cluster_memory(executor: Executor) -> tuple[int | None, str | None]:
    """The memory of a cluster executor's largest node (bytes), and that node's name.

    ``(None, None)`` for an executor of this host, or a cluster not reached in time
    (the host's own capacity applies then).
    """
    wait_connected = getattr(executor, "wait_connected", None)
    if wait_connected is None:
        return None, None
    if not wait_connected(RAY_CONNECT_S):
        log.warning("the Ray cluster did not answer at start; jobs wait until it does")
        return None, None
    node = executor.largest_node()  # type: ignore[attr-defined]
    if node is None:
        return None, None
    return node.memory_bytes, f"of the cluster's largest node, {node.name}"


#: Tells a worker process to load every engine right after it says it is ready.
WARM_ENGINES_ENV = "QHARBOR_WARM_ENGINES"


def engine_environment(settings: Settings) -> dict[str, str]:
    """What workers need on top of the centre's environment: the cost fits' path, if set,
    and whether to load every engine as they start."""
    env = {WARM_ENGINES_ENV: "1" if settings.warm_engines else "0"}
    if settings.engine_costs_path is not None:
        env[costs.PATH_ENV] = str(settings.engine_costs_path)
    return env


class Centre:
    """Everything one running centre holds."""

    def __init__(self, settings: Settings, catalogue: Catalogue | None = None) -> None:
        self.settings = settings
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.db = Database(settings.resolved_database_url())
        self._executor: Executor | None = None
        memory_bytes, memory_where = None, None
        if settings.executor != "local" and settings.run_jobs:
            # A cluster's largest node bounds what a job may need: refused at submission.
            self._executor = make_executor(settings)
            memory_bytes, memory_where = cluster_memory(self._executor)
        self.catalogue = catalogue or default_catalogue(
            settings.max_shots,
            settings.devices_dir,
            memory_bytes=memory_bytes or settings.memory_capacity_bytes(),
            calibration_interval_s=settings.calibration_interval_seconds,
            calibration_duration_s=settings.calibration_duration_seconds,
            drift_step_s=settings.drift_step_seconds,
        )
        if memory_where is not None:
            self.catalogue = Catalogue(
                [dataclasses.replace(d, memory_where=memory_where) for d in self.catalogue]
            )
        if hasattr(self._executor, "on_largest_node"):
            # Nodes join and leave: the refusal at submission follows the largest.
            self._executor.on_largest_node = self._follow_largest_node  # type: ignore[union-attr]
        self.fleet = Fleet(
            self.catalogue, DeviceRecords(self.db), tick_s=settings.fleet_tick_seconds
        )
        self.events = JobEvents()
        # Processes sharing a database wake each other's waiters and schedulers.
        self.notices: Notices | HostNotices | None = None
        if not self.db.is_sqlite:
            self.notices = Notices(settings.resolved_database_url(), on_notice=self._noticed)
        elif settings.api_processes > 1 or not settings.run_jobs:
            self.notices = HostNotices(settings.data_dir / "notices", on_notice=self._noticed)
        self.jobs = JobManager(self.db, on_change=self._changed)
        self.sessions = SessionManager(
            self.db,
            self.jobs,
            max_ttl_s=settings.session_max_ttl_seconds,
            idle_ttl_s=settings.session_idle_ttl_seconds,
            max_open_per_project=settings.max_open_sessions_per_project,
            max_open_per_user=settings.max_open_sessions_per_user,
        )
        self.identity = Identity(self.db, principal_cache_s=settings.auth_cache_seconds)
        # None unless QHARBOR_OIDC_ISSUER is set; the provider is first asked on first use.
        self.sso = SingleSignOn.from_settings(self.identity, settings)
        self.keys = KeyStore(self.db, load_key_encryption_key(settings))
        self.quotas = Quotas(self.db, self.catalogue, backlog)
        self.usage = UsageLedger(self.db)
        self.reservations = Reservations(
            self.db,
            self.catalogue,
            Limits(
                min_s=settings.reservation_min_seconds,
                max_s=settings.reservation_max_seconds,
                max_ahead_s=settings.reservation_max_ahead_seconds,
                need_approval=settings.reservations_need_approval,
            ),
            # A window that begins or ends early is a reason to look at the queue.
            on_change=lambda: self.scheduler.wake() if self.scheduler is not None else None,
        )
        self.audit = AuditLog(self.db)
        # Turning the users' limit off (0) turns the projects' off too.
        project_rate = settings.project_rate_limit_per_second
        if not settings.rate_limit_per_second:
            project_rate = 0.0
        self.rate_limits = RateLimits(
            RateLimiter(settings.rate_limit_per_second, settings.rate_limit_burst),
            RateLimiter(project_rate, settings.project_rate_limit_burst),
        )
        self.bootstrap_token: str | None = None
        self.parsers = ParserPool(settings.parser_processes, settings.parse_timeout_seconds)
        self.scheduler: Scheduler | None = None
        self._benchmark: BackgroundBenchmark | None = None
        self.submission = Submission(
            settings,
            self.catalogue,
            self.fleet,
            self.jobs,
            self.sessions,
            self.keys,
            self.quotas,
            self.parsers,
            wake=lambda: self.scheduler.wake() if self.scheduler is not None else None,
        )
        self.programs = ProgramRuntime(
            Registry.discover(),
            RunStore(self.db),
            self.catalogue,
            self.submission,
            self.jobs,
            self.sessions,
            signer=lambda: self.keys.signer,
            workers=settings.program_workers,
            checkpoint_s=settings.program_checkpoint_seconds,
            lease_s=settings.lease_seconds,
            processes=LoopProcesses(
                settings.program_workers,
                extra_env=engine_environment(settings),
                ray_address=settings.ray_address if settings.executor == "ray" else None,
            ),
        )

    @property
    def executor(self) -> Executor | None:
        """The executor that runs this host's jobs, once the centre has started."""
        return self._executor

    def _changed(self, job_id: str) -> None:
        self._wake_waiters(job_id)
        if self.notices is not None:
            self.notices.notify(job_id)

    def _noticed(self, job_id: str) -> None:
        """Another process changed a job: wake its waiters here, and look at the queue."""
        self._wake_waiters(job_id)
        if self.scheduler is not None:
            self.scheduler.wake()

    def _wake_waiters(self, job_id: str) -> None:
        """Wake what waits on a job here: long-polls, event streams and program runs."""
        self.events.publish(job_id)
        self.programs.job_changed(job_id)

    def _follow_largest_node(self, node: ray_cluster.Node) -> None:
        self.catalogue.set_memory(node.memory_bytes, f"of the cluster's largest node, {node.name}")

    def start(self) -> None:
        """Migrate the database, make the first admin and the keys if needed, start the
        workers."""
        self.db.migrate()
        if self.notices is not None:
            self.notices.start()
        self.keys.ensure()
        self.jobs.signer = self.keys.signer
        self.parsers.start()
        intake.warm_up()  # the first small program parsed here should not pay for imports
        self.bootstrap_token = self.identity.bootstrap()
        self.fleet.start()
        if self.settings.run_jobs:
            self._start_jobs()
        if resumed := self.programs.start():
            log.info("%d program runs resume from their checkpoints", resumed)

    def _start_jobs(self) -> None:
        """Start what runs the jobs: the scheduler, the executor and its workers."""
        if readmitted := self.submission.readmit_stored():
            log.info("%d queued jobs stored by an older release were parsed again", readmitted)
        if self.settings.engine_benchmark == "background":
            self._benchmark = BackgroundBenchmark(
                self.settings.engine_costs_path or costs.default_path()
            )
            self._benchmark.start()
        if self._executor is None:
            self._executor = make_executor(self.settings)
        self.scheduler = Scheduler(
            self.jobs,
            self.catalogue,
            self._executor,
            lease_s=self.settings.lease_seconds,
            heartbeat_s=self.settings.heartbeat_seconds,
            max_attempts=self.settings.max_attempts,
            recover_all_at_start=self.db.is_sqlite,
            sessions=self.sessions,
            session_check_s=self.settings.session_check_seconds,
            fleet=self.fleet,
            keys=self.keys,
            shares=lambda: self.usage.decayed(self.settings.fair_share_half_life_seconds),
            shares_refresh_s=self.settings.fair_share_refresh_seconds,
            reservations=self.reservations,
        )
        # A device coming back (or going offline) is a reason to look at the queue.
        self.fleet.on_change(lambda _device: self.scheduler.wake() if self.scheduler else None)
        self.scheduler.start()
        if not self.scheduler.wait_ready(timeout=60):
            log.warning("no worker was ready after 60 s; jobs will wait in the queue")
        inline = getattr(self._executor, "inline", None)
        if inline is not None and inline.max_s > 0 and not inline.wait_loaded(timeout=60):
            log.warning("the engines did not load in the centre; tiny jobs go to workers")

    def readiness(self) -> dict[str, str | None]:
        """Each part a job needs, and what is wrong with it (None when it is fine).

        ``database``: answers a query; ``executor``: the scheduler runs and at least
        one worker is up; ``keys``: the centre's signing and sealing keys are loaded;
        ``sandbox``: programs can be parsed.
        """
        checks: dict[str, str | None] = {}
        try:
            with self.db.read() as conn:
                conn.execute(sa.select(1))
            checks["database"] = None
        except Exception as exc:  # any driver error means "not ready", with its reason
            checks["database"] = f"{type(exc).__name__}: {exc}"
        executor, scheduler = self._executor, self.scheduler
        if not self.settings.run_jobs:
            checks["executor"] = None  # another process runs the jobs, and answers for them
        elif executor is None or scheduler is None or not scheduler.alive:
            checks["executor"] = "the scheduler is not running"
        elif (problem := executor.health()) is not None:
            checks["executor"] = problem
        elif not executor.running() and executor.free_slots() == 0:
            checks["executor"] = "no worker is up yet (starting, or being replaced)"
        else:
            checks["executor"] = None
        checks["keys"] = None if self.keys.loaded else "the centre's keys are not loaded"
        checks["sandbox"] = self.parsers.health()
        return checks

    def executor_health(self) -> str | None:
        """None when the executor can run jobs; otherwise what is wrong (jobs wait queued)."""
        return self._executor.health() if self._executor is not None else None

    def executor_report(self) -> ExecutorReport:
        """The executor's workers (and a cluster's nodes), for the operators."""
        executor = self._executor
        if executor is None:
            why = "the centre has not started"
            if not self.settings.run_jobs:
                why = "this process serves the API only; another process runs the jobs"
            return ExecutorReport(self.settings.executor, why, 0, 0)
        report = getattr(executor, "report", None)
        if report is not None:
            found: ExecutorReport = report()
            return found
        # An executor that tells no more than the interface asks of it.
        running = executor.running()
        return ExecutorReport(
            kind=self.settings.executor,
            health=executor.health(),
            slots=executor.free_slots() + len(running),
            free_slots=executor.free_slots(),
            workers=tuple(
                WorkerState(name=job_id, ready=True, job_id=job_id, attempt=attempt)
                for job_id, attempt in running.items()
            ),
        )

    def stop(self) -> None:
        self.programs.stop()
        if self._benchmark is not None:
            self._benchmark.stop()
        self.fleet.stop()
        if self.scheduler is not None:
            self.scheduler.stop()
        if self._executor is not None:
            self._executor.close()
        if self.notices is not None:
            self.notices.close()
        self.parsers.close()
        if self.sso is not None:
            self.sso.close()
        self.db.dispose()
