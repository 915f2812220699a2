"""``QHarborProvider``: a centre's devices as Qiskit backends, and its jobs.

Example:
    >>> from qharbor.qiskit import QHarborProvider
    >>> provider = QHarborProvider("http://127.0.0.1:8000", "qh_...")   # doctest: +SKIP
    >>> backend = provider.backend("statevector")                        # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from qharbor.client.qiskit.backend import QHarborBackend
from qharbor.client.qiskit.jobs import QHarborJob, QHarborPrimitiveJob
from qharbor.client.service import HarborService


class QHarborProvider:
    """The devices and jobs of one centre.

    The URL and token resolve like :class:`qharbor.HarborService`'s: the
    arguments, then ``QHARBOR_URL``/``QHARBOR_TOKEN``, then the account file.

    Args:
        url: the centre's base URL.
        token: an API token.
        name: a saved account's name.
        service: an existing SDK service to use instead.
    """

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        *,
        name: str | None = None,
        service: HarborService | None = None,
        **kwargs: Any,
    ) -> None:
        self.service = service or HarborService(url, token, name=name, **kwargs)

    def backends(self, name: str | None = None, **filters: Any) -> list[QHarborBackend]:
        """Every device as a backend; ``name`` or attribute filters (``noisy=False``) narrow it."""
        found = []
        for device in self.service.client.devices_list():
            if name is not None and device.get("name") != name:
                continue
            if any(device.get(key) != value for key, value in filters.items()):
                continue
            found.append(QHarborBackend(self.service, device, self))
        return found

    def backend(self, name: str = "statevector") -> QHarborBackend:
        """One device as a backend.

        Raises:
            qharbor.errors.DeviceNotFound: the centre has no such device.
        """
        return QHarborBackend(self.service, self.service.client.device_get(name), self)

    def job(self, job_id: str) -> QHarborJob | QHarborPrimitiveJob:
        """Any earlier job by id: a primitive job for sampler and estimator jobs."""
        job = self.service.job(job_id)
        kind = job.data.get("kind", "circuits")
        if kind in ("sampler", "estimator"):
            return QHarborPrimitiveJob(job, kind)
        return QHarborJob(self.backend(str(job.device)), job)

    def jobs(
        self,
        *,
        tag: str | None = None,
        backend: str | QHarborBackend | None = None,
        session: Any = None,
        created_after: dt.datetime | str | None = None,
        created_before: dt.datetime | str | None = None,
        status: str | None = None,
        limit: int = 50,
    ) -> list[QHarborJob | QHarborPrimitiveJob]:
        """Earlier jobs, newest first, by tag, device, session or batch, and creation time."""
        device = backend.name if isinstance(backend, QHarborBackend) else backend
        session_id = getattr(session, "session_id", session)
        backends: dict[str, QHarborBackend] = {}
        found: list[QHarborJob | QHarborPrimitiveJob] = []
        for job in self.service.jobs(
            status=status,
            device=device,
            tag=tag,
            limit=limit,
            session=session_id,
            created_after=created_after,
            created_before=created_before,
        ):
            kind = job.data.get("kind", "circuits")
            if kind in ("sampler", "estimator"):
                found.append(QHarborPrimitiveJob(job, kind))
            else:
                name = str(job.device)
                if name not in backends:
                    backends[name] = self.backend(name)
                found.append(QHarborJob(backends[name], job))
        return found

    def close(self) -> None:
        """Close the connection pool."""
        self.service.close()

    def __enter__(self) -> QHarborProvider:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<QHarborProvider {self.service.url}>"
