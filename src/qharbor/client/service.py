"""``HarborService``: the SDK's entry point to one centre.

Example:
    >>> from qharbor import HarborService
    >>> service = HarborService()          # QHARBOR_URL/QHARBOR_TOKEN or the saved account
    >>> job = service.run(bell_qasm, shots=1000, seed=7)
    >>> job.result().get_counts()
    {'00': 507, '11': 493}
"""

from __future__ import annotations

import base64
import datetime as dt
import os
from collections.abc import Sequence
from typing import Any

from qharbor import errors, wire
from qharbor.client.accounts import resolve_account
from qharbor.client.admin import AdminClient
from qharbor.client.client import HarborClient
from qharbor.client.job import Job
from qharbor.client.program_runs import ProgramsClient
from qharbor.client.programs import build_programs
from qharbor.client.reservations import ReservationsClient
from qharbor.client.rest import RestSession, RetryPolicy
from qharbor.client.results import DeviceInfo, JobResult
from qharbor.client.signatures import Verification
from qharbor.client.slurm import DEFAULT_IDLE_TTL_S, SlurmJob, SlurmSession
from qharbor.client.sso import SsoAuth, SsoTokens

# The centre's page size limit; larger requests are split into several pages.
_PAGE_SIZE = 100


class HarborService:
    """A connection to one qharbor centre.

    The URL and token come from the arguments, else ``QHARBOR_URL`` and
    ``QHARBOR_TOKEN``, else the account file (``name``, or its default account).
    Creating a service sends no request.

    Args:
        url: The centre's base URL, e.g. ``http://127.0.0.1:8000``.
        token: The bearer token.
        name: A saved account's name (see ``qharbor login``).
        timeout: Seconds to wait for a connection and for each read.
        account_file: The account file, if not the default.
        retry: The retry policy for requests.
        ca_bundle: A PEM file of certificates to trust for an ``https://``
            centre (e.g. its own CA); else ``$QHARBOR_CA_BUNDLE``, else the
            system's trust store.
        key_dir: The folder of your ML-KEM private keys for sealed results;
            else ``$QHARBOR_KEY_DIR``, else ``~/.qharbor/keys``.

    Raises:
        errors.NotConfigured: No URL or token could be found.
    """

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        *,
        name: str | None = None,
        timeout: float = 30.0,
        account_file: str | os.PathLike[str] | None = None,
        retry: RetryPolicy | None = None,
        ca_bundle: str | os.PathLike[str] | None = None,
        key_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        account = resolve_account(url, token, name, account_file)
        self.url = account.url
        self.account_name = account.name
        self.key_dir = key_dir
        auth = None
        if account.sso is not None:
            auth = SsoAuth(
                SsoTokens.from_json(account.sso),
                account=account.name,
                account_file=account_file,
            )
        self._client = HarborClient(
            RestSession(
                account.url,
                account.token,
                timeout=timeout,
                retry=retry,
                ca_bundle=ca_bundle,
                auth=auth,
            )
        )

    @classmethod
    def from_client(cls, client: HarborClient) -> HarborService:
        """A service over an existing client (a custom session, transport or retry policy)."""
        service = cls.__new__(cls)
        service.url = client.url
        service.account_name = None
        service.key_dir = None
        service._client = client
        return service

    @property
    def client(self) -> HarborClient:
        """The lower layer: one method per HTTP route, taking and returning JSON."""
        return self._client

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def __enter__(self) -> HarborService:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<HarborService {self.url}>"

    # --- centre -----------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        """The centre's health: ``{"status": "ok", "version": ...}``."""
        return self._client.health()

    def me(self) -> dict[str, Any]:
        """Who the token belongs to: user, project and role."""
        return self._client.me()

    # --- devices ------------------------------------------------------------------------

    def devices(self) -> list[DeviceInfo]:
        """Every device the centre offers."""
        return [DeviceInfo.from_json(d) for d in self._client.devices_list()]

    def engines(self) -> dict[str, Any]:
        """The centre's engines: precisions, versions, and the cost models that pick them.

        Returns:
            ``GET /v1/engines``'s body: ``fingerprint``, ``calibrated``, ``engines``.
        """
        return self._client.engines_list()

    def device(self, name: str) -> DeviceInfo:
        """One device by name.

        Raises:
            errors.DeviceNotFound: The centre has no device of that name.
        """
        return DeviceInfo.from_json(self._client.device_get(name))

    def calibration(self, name: str, at: str | None = None) -> dict[str, Any]:
        """A twin's calibration snapshot: in force now, or at ``at`` (RFC 3339)."""
        return self._client.device_calibration(name, at=at)

    def local_twin(self, name: str, snapshot: str | None = None) -> Any:
        """A local emulator of a device twin, with the noise of its calibration.

        Needs ``qiskit``, ``qiskit-aer`` and ``stim`` (``pip install 'qharbor[twin]'``). The
        same compiled circuit and seed give the same counts as the centre::

            twin = service.local_twin("sc25", snapshot=result.metadata["calibration"]["snapshot"])
            twin.run(qiskit.qasm3.loads(experiment["compiled_qasm3"]), shots=1000, seed=7)

        Args:
            name: the device.
            snapshot: a calibration snapshot id (from a result); the one in force
                now when omitted.

        Returns:
            A ``qharbor.engines.twin.LocalTwin``.

        Raises:
            errors.NotConfigured: qiskit-aer or stim is not installed.
            errors.DeviceNotTwin: the device is a plain simulator.
        """
        try:
            from qharbor.engines import twin
        except ImportError as exc:
            raise errors.NotConfigured(
                f"local twins need qiskit, qiskit-aer and stim ({exc.name} is missing); "
                "install them with: pip install 'qharbor[twin]'"
            ) from None
        return twin.LocalTwin(self._client.device_twin(name, snapshot))

    def dry_run(
        self,
        programs: Any,
        device: str = "statevector",
        shots: int = 1024,
        options: dict[str, Any] | None = None,
        parameters: Sequence[Any] | None = None,
    ) -> dict[str, Any]:
        """Validate and compile programs, and estimate the run time; nothing is queued.

        Returns:
            ``device_status``, ``queue_position``, ``estimated_qpu_s`` (device twins,
            seconds), ``estimated_start`` and per-program compiled sizes.
        """
        body: dict[str, Any] = {
            "device": device,
            "programs": build_programs(programs, parameters),
            "shots": shots,
        }
        if options:
            body["options"] = dict(options)
        return self._client.job_dry_run(body)

    # --- jobs -----------------------------------------------------------------------------

    def run(
        self,
        programs: Any,
        device: str = "statevector",
        shots: int = 1024,
        seed: int | None = None,
        tags: Sequence[str] | None = None,
        idempotency_key: str | None = None,
        parameters: Sequence[Any] | None = None,
        session: str | None = None,
        options: dict[str, Any] | None = None,
        sealed: bool = False,
        engine: str | None = None,
        precision: str | None = None,
        wait: float | None = None,
    ) -> Job:
        """Submit programs to a device and return the job (by default without waiting).

        Args:
            programs: OpenQASM text, a program object ``{"source", "format",
                "name", "parameters"}``, a ``pathlib.Path``, a
                ``qiskit.QuantumCircuit``, or a list of these.
            device: A device name from :meth:`devices`.
            shots: Shots per circuit run.
            seed: Sampling seed, for reproducible counts.
            tags: Labels to find the job by later.
            idempotency_key: Makes the submission safe to repeat: the same key
                and body give back the same job. A fresh key is used if None.
            parameters: Bindings for parameterised programs (each a list of
                values in the order of the parameters sorted by name, or a
                ``{name: value}`` object); the program runs once per binding.
                Applies to programs that carry no ``parameters`` of their own.
            session: The id of an open session or batch on the device.
            options: Job options: ``optimization_level`` (0-3), ``skip_compilation``,
                ``mitigate_readout`` (see docs/devices.md), ``engine``, ``precision``.
            sealed: Seal the programs to the centre's ML-KEM-768 key before they
                leave this process (the centre stores only ciphertext), and have
                the result sealed to your own key, made and registered on first
                use (see :meth:`ensure_sealing_key`).
            engine: ``"auto"`` (the centre's default) picks the fastest engine per
                circuit; a name from :meth:`engines` pins it (``options.engine``).
            precision: ``"double"`` (default) or ``"single"``, which also allows
                single-precision engines (``options.precision``).
            wait: Seconds the centre may hold the submission until the job is final.
                A small job then comes back finished, its result in the same answer,
                so ``job.result()`` sends no further request. The job is stored
                before the wait begins; if the time runs out it is returned as it is.

        Raises:
            errors.ProgramError: A program was rejected (nothing was queued).
            errors.DeviceNotFound: No such device.
            errors.EngineNotFound: No engine of that name.
            errors.EngineNotOnDevice: The device does not run on that engine.
            errors.EngineCannotRun: The pinned engine cannot run a program or precision.
        """
        options = with_engine_options(options, engine, precision)
        built = build_programs(programs, parameters)
        body: dict[str, Any] = {"device": device, "shots": shots}
        if sealed:
            self.ensure_sealing_key()
            keys = self._client.keys_list()
            centre_key = next(k for k in keys["keys"] if k["id"] == keys["sealing_key_id"])
            body["sealed"] = wire.seal(
                base64.b64decode(centre_key["public_key"]),
                centre_key["id"],
                built,
                wire.PROGRAMS_AAD,
            )
        else:
            body["programs"] = built
        if seed is not None:
            body["seed"] = seed
        if tags:
            body["tags"] = list(tags)
        if session is not None:
            body["session_id"] = session
        if options:
            body["options"] = dict(options)
        return self.submit(body, idempotency_key=idempotency_key, wait=wait)

    def submit(
        self, body: dict[str, Any], idempotency_key: str | None = None, wait: float | None = None
    ) -> Job:
        """Submit a job body as the API takes it (``POST /v1/jobs``), e.g. a sampler job.

        Args:
            body: The job as ``POST /v1/jobs`` takes it.
            idempotency_key: Makes the submission safe to repeat.
            wait: Seconds the centre may hold the answer until the job is final
                (see :meth:`run`).

        Raises:
            errors.QHarborError: The centre refused it (nothing was queued).
        """
        data = self._client.job_submit(body, idempotency_key=idempotency_key, wait=wait)
        result = data.pop("result", None)
        job = self._job(str(data["id"]), data)
        if result is not None:
            job.preload_result(result)
        return job

    def _job(self, job_id: str, data: dict[str, Any]) -> Job:
        return Job(self._client, job_id, data, opener=self._open_result)

    def _open_result(self, document: dict[str, Any], job_id: str) -> dict[str, Any]:
        from qharbor.client.sealing import KeyRing

        return KeyRing(self.key_dir).open_result(document, job_id)

    @property
    def admin(self) -> AdminClient:
        """The admin routes, for a centre admin's token with the ``admin`` scope."""
        return AdminClient(self._client.session)

    @property
    def programs(self) -> ProgramsClient:
        """The centre's hybrid programs: ``list``, ``get``, ``run("vqe", device, inputs)``,
        ``runs``, ``run_of``; see docs/programs.md."""
        return ProgramsClient(self._client.session)

    @property
    def reservations(self) -> ReservationsClient:
        """Book a device for a window of time: ``create``, ``list``, ``get``, ``cancel``;
        admins ``approve`` and ``preempt``."""
        return ReservationsClient(self._client.session)

    def usage(
        self,
        since: str | None = None,
        until: str | None = None,
        device: str | None = None,
        project: str | None = None,
        all_projects: bool = False,
    ) -> dict[str, Any]:
        """Measured device-seconds per project, device and day (UTC), and the quota.

        Args:
            since: The first day, ``YYYY-MM-DD``.
            until: The last day, ``YYYY-MM-DD``.
            device: Only this device.
            project: Admins: another project (id or name).
            all_projects: Admins: every project.
        """
        return self._client.usage_get(
            since=since,
            until=until,
            device=device,
            project=project,
            all_projects="true" if all_projects else None,
        )

    def export_my_data(self) -> dict[str, Any]:
        """Everything the centre holds about you (jobs, results, tokens, audit entries)."""
        return self._client.me_export()

    def erase_my_account(self) -> dict[str, Any]:
        """Erase your account, jobs, results and tokens. This cannot be undone."""
        return self._client.me_erase()

    # --- sessions and batches ---------------------------------------------------------

    def open_session(
        self,
        device: str,
        mode: str = "session",
        max_ttl_s: float | None = None,
        idle_ttl_s: float | None = None,
        slurm: bool | str = False,
    ) -> dict[str, Any]:
        """Open a session (its jobs go first on the device) or a batch (a group of jobs).

        Args:
            device: The device its jobs run on.
            mode: ``session`` or ``batch``.
            max_ttl_s: Lifetime in seconds; the centre's limit when None.
            idle_ttl_s: Seconds without activity before it expires.
            slurm: True ties it to the Slurm job this runs in (``SLURM_JOB_ID``),
                or a Slurm job id: usage is then reported per Slurm job.

        Returns:
            The session object; pass its ``id`` as ``session`` to :meth:`run`.

        Raises:
            errors.NotInSlurmJob: ``slurm=True`` outside a Slurm job.
        """
        body: dict[str, Any] = {"device": device, "mode": mode}
        if slurm:
            job = SlurmJob.from_environment(slurm if isinstance(slurm, str) else None)
            body["slurm_job_id"] = job.job_id
            if job.cluster is not None:
                body["slurm_cluster"] = job.cluster
        if max_ttl_s is not None:
            body["max_ttl_s"] = max_ttl_s
        if idle_ttl_s is not None:
            body["idle_ttl_s"] = idle_ttl_s
        return self._client.session_create(body)

    def slurm_session(
        self,
        device: str,
        max_ttl_s: float | None = None,
        idle_ttl_s: float | None = DEFAULT_IDLE_TTL_S,
        slurm_job_id: str | None = None,
    ) -> SlurmSession:
        """Open a session tied to this Slurm job, to use as a context manager.

        It closes when the block ends and when the job is cancelled or runs out of
        time (Slurm's SIGTERM). Use it inside an ``sbatch`` script.

        Example:
            >>> with service.slurm_session("statevector") as session:
            ...     for theta in thetas:
            ...         service.run(ansatz(theta), session=session.id).result()

        Raises:
            errors.NotInSlurmJob: ``SLURM_JOB_ID`` is unset and no id was given.
        """
        details = self.open_session(
            device,
            max_ttl_s=max_ttl_s,
            idle_ttl_s=idle_ttl_s,
            slurm=slurm_job_id or True,
        )
        return SlurmSession(self, details)

    def close_slurm_job(
        self,
        slurm_job_id: str | None = None,
        cluster: str | None = None,
        all_projects: bool = False,
    ) -> list[dict[str, Any]]:
        """Close every open session a Slurm job opened (default: this job).

        Args:
            slurm_job_id: The job; ``SLURM_JOB_ID`` when None.
            cluster: Only sessions from this cluster.
            all_projects: Admins: every project's (for the cluster's epilog).

        Returns:
            The sessions it closed.
        """
        job = SlurmJob.from_environment(slurm_job_id)
        body: dict[str, Any] = {"slurm_job_id": job.job_id, "all_projects": all_projects}
        if cluster is not None:
            body["slurm_cluster"] = cluster
        return self._client.sessions_close_slurm_job(body)

    def accounting(
        self,
        start: dt.datetime | str | None = None,
        end: dt.datetime | str | None = None,
        project: str | None = None,
        all_projects: bool = False,
    ) -> list[dict[str, Any]]:
        """Device-seconds per project, user, Slurm job and device charged in a period.

        Args:
            start: The period's first moment (ISO 8601 or datetime; UTC if no zone).
            end: The moment after the period.
            project: Admins: another project (id or name).
            all_projects: Admins: every project.

        Returns:
            One row per project, user, Slurm job and device; see
            :data:`qharbor.wire.ACCOUNTING_COLUMNS` (``wire.accounting_csv`` writes CSV).
        """
        report = self._client.usage_accounting(
            **{
                "from": _iso(start),
                "to": _iso(end),
                "project": project,
                "all_projects": "true" if all_projects else None,
            }
        )
        return list(report["rows"])

    def session(self, session_id: str) -> dict[str, Any]:
        """A session or batch, with its jobs counted by status."""
        return self._client.session_get(session_id)

    def sessions(self, mode: str | None = None, status: str | None = None) -> list[dict[str, Any]]:
        """Your project's sessions and batches, newest first."""
        return self._client.sessions_list(mode=mode, status=status)

    def close_session(self, session_id: str) -> dict[str, Any]:
        """Close a session (its queued jobs fail with SESSION_CLOSED) or a batch."""
        return self._client.session_close(session_id)

    def job(self, job_id: str) -> Job:
        """A job by id, read fresh from the centre.

        Raises:
            errors.JobNotFound: No job with that id in your project.
        """
        return self._job(job_id, self._client.job_get(job_id))

    def jobs(
        self,
        status: str | None = None,
        device: str | None = None,
        tag: str | None = None,
        limit: int = 50,
        session: str | None = None,
        created_after: dt.datetime | str | None = None,
        created_before: dt.datetime | str | None = None,
    ) -> list[Job]:
        """Your project's jobs, newest first, following pages up to ``limit`` jobs.

        Args:
            status: Only jobs in this status (e.g. ``DONE``).
            device: Only jobs on this device.
            tag: Only jobs with this tag.
            limit: The most jobs to return.
            session: Only jobs of this session or batch (its id).
            created_after: Only jobs created at or after this time (a datetime,
                or ISO 8601 text; without a zone, UTC).
            created_before: Only jobs created before this time.
        """
        if limit < 1:
            raise errors.InvalidRequest("limit must be at least 1", limit=limit)
        jobs: list[Job] = []
        cursor: str | None = None
        while len(jobs) < limit:
            page = self._client.jobs_list(
                status=status.upper() if status else None,
                device=device,
                tag=tag,
                limit=min(_PAGE_SIZE, limit - len(jobs)),
                cursor=cursor,
                session_id=session,
                created_after=_iso(created_after),
                created_before=_iso(created_before),
            )
            jobs.extend(self._job(str(d["id"]), d) for d in page.get("jobs", []))
            cursor = page.get("next_cursor")
            if not cursor or not page.get("jobs"):
                break
        return jobs[:limit]

    # --- trust ------------------------------------------------------------------------------

    def keys(self) -> dict[str, Any]:
        """The centre's public keys: ``{"keys": [...], "signing_key_id", "sealing_key_id"}``."""
        return self._client.keys_list()

    def verify(self, result: JobResult | Job | str | dict[str, Any]) -> Verification:
        """Check that a result was signed by this centre and is unaltered.

        The signature covers the result together with its job id, project,
        device, calibration snapshot id and input hash; the keys come from
        ``GET /v1/keys``. A sealed result is checked as it was received, sealed.

        Args:
            result: A result from ``job.result()``, a finished job or its id
                (the stored result is fetched, and need not be opened), or the
                result's JSON as the centre returned it.

        Returns:
            What the signature vouches for.

        Raises:
            errors.SignatureInvalid: The signature does not verify, or names
                another job than the result.
        """
        from qharbor.client.signatures import signing_keys, verify_signed

        if isinstance(result, Job):
            result = result.job_id
        if isinstance(result, str):
            # The document as stored, sealed or not: checking needs no private key.
            job_id: str | None = result
            document = self._client.job_result(result)
        elif isinstance(result, JobResult):
            document = result.signed or result.to_json()
            job_id = result.job_id
        else:
            document = dict(result)
            job_id = None
        return verify_signed(document, signing_keys(self._client.keys_list()), job_id=job_id)

    def ensure_sealing_key(self) -> str:
        """Your ML-KEM-768 key for sealed results: the registered one if this machine
        holds its private key, else a new one, saved in the key folder and registered.

        Returns:
            The key id.
        """
        from qharbor.client.sealing import KeyRing

        ring = KeyRing(self.key_dir)
        try:
            registered = self._client.me_key_get()
        except errors.NotFound:
            registered = None
        if registered is not None and ring.seed(str(registered["id"])) is not None:
            return str(registered["id"])
        key_id, public = ring.generate()
        self._client.me_key_register(base64.b64encode(public).decode("ascii"))
        return key_id


def _iso(value: dt.datetime | str | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return wire.iso(value)


def with_engine_options(
    options: dict[str, Any] | None, engine: str | None, precision: str | None
) -> dict[str, Any] | None:
    """``options`` with the ``engine`` and ``precision`` keywords merged in (they win)."""
    if engine is None and precision is None:
        return options
    merged = dict(options or {})
    if engine is not None:
        merged["engine"] = engine
    if precision is not None:
        merged["precision"] = precision
    return merged
