"""``HarborService``: the SDK's entry point to one centre.

Example:
    >>> from qharbor import HarborService
    >>> service = HarborService()          # QHARBOR_URL/QHARBOR_TOKEN or the saved account
    >>> job = service.run(bell_qasm, shots=1000, seed=7)
    >>> job.result().get_counts()
    {'00': 507, '11': 493}
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from qharbor import errors
from qharbor.client.accounts import resolve_account
from qharbor.client.admin import AdminClient
from qharbor.client.client import HarborClient
from qharbor.client.job import Job
from qharbor.client.programs import build_programs
from qharbor.client.rest import RestSession, RetryPolicy
from qharbor.client.results import DeviceInfo

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
    ) -> None:
        account = resolve_account(url, token, name, account_file)
        self.url = account.url
        self.account_name = account.name
        self._client = HarborClient(
            RestSession(account.url, account.token, timeout=timeout, retry=retry)
        )

    @classmethod
    def from_client(cls, client: HarborClient) -> HarborService:
        """A service over an existing client (a custom session, transport or retry policy)."""
        service = cls.__new__(cls)
        service.url = client.url
        service.account_name = None
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

        Needs ``qiskit`` and ``qiskit-aer`` (``pip install 'qharbor[twin]'``). The
        same compiled circuit and seed give the same counts as the centre::

            twin = service.local_twin("sc25", snapshot=result.metadata["calibration"]["snapshot"])
            twin.run(qiskit.qasm3.loads(experiment["compiled_qasm3"]), shots=1000, seed=7)

        Args:
            name: the device.
            snapshot: a calibration snapshot id (from a result); the one in force
                now when omitted.

        Returns:
            A ``qharbor.twin.LocalTwin``.

        Raises:
            errors.NotConfigured: qiskit-aer is not installed.
            errors.DeviceNotTwin: the device is a plain simulator.
        """
        try:
            from qharbor import twin
        except ImportError as exc:
            raise errors.NotConfigured(
                f"local twins need qiskit and qiskit-aer ({exc.name} is missing); "
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
        options: dict[str, Any] | None = None,
    ) -> Job:
        """Submit programs to a device and return the job without waiting for it.

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
            options: Job options: ``optimization_level`` (0-3), ``skip_compilation``,
                ``mitigate_readout`` (see docs/devices.md).

        Raises:
            errors.ProgramError: A program was rejected (nothing was queued).
            errors.DeviceNotFound: No such device.
        """
        body: dict[str, Any] = {
            "device": device,
            "programs": build_programs(programs, parameters),
            "shots": shots,
        }
        if seed is not None:
            body["seed"] = seed
        if tags:
            body["tags"] = list(tags)
        if options:
            body["options"] = dict(options)
        data = self._client.job_submit(body, idempotency_key=idempotency_key)
        return Job(self._client, str(data["id"]), data)

    @property
    def admin(self) -> AdminClient:
        """The admin routes, for a centre admin's token with the ``admin`` scope."""
        return AdminClient(self._client.session)

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

    def job(self, job_id: str) -> Job:
        """A job by id, read fresh from the centre.

        Raises:
            errors.JobNotFound: No job with that id in your project.
        """
        return Job(self._client, job_id, self._client.job_get(job_id))

    def jobs(
        self,
        status: str | None = None,
        device: str | None = None,
        tag: str | None = None,
        limit: int = 50,
    ) -> list[Job]:
        """Your project's jobs, newest first, following pages up to ``limit`` jobs.

        Args:
            status: Only jobs in this status (e.g. ``DONE``).
            device: Only jobs on this device.
            tag: Only jobs with this tag.
            limit: The most jobs to return.
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
            )
            jobs.extend(Job(self._client, str(d["id"]), d) for d in page.get("jobs", []))
            cursor = page.get("next_cursor")
            if not cursor or not page.get("jobs"):
                break
        return jobs[:limit]
