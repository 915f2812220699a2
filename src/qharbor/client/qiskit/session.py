"""Execution modes: ``Session`` (priority for iterative work) and ``Batch``.

Example:
    >>> with Session(backend=backend) as session:          # doctest: +SKIP
    ...     estimator = EstimatorV2(mode=session)
    ...     value = estimator.run([(ansatz, hamiltonian, theta)]).result()[0].data.evs
"""

from __future__ import annotations

import contextvars
from typing import Any

from qharbor.client.qiskit.backend import QHarborBackend

_CURRENT: contextvars.ContextVar[Session | None] = contextvars.ContextVar(
    "qharbor_session", default=None
)


class Session:
    """A session on one device: its queued jobs go ahead of ordinary queued jobs.

    The session opens on the centre when it is created, and closes when the
    ``with`` block ends or :meth:`close` is called. Closing, or reaching
    ``max_time`` or the idle timeout, fails the session's jobs that are still
    queued with ``SESSION_CLOSED``; wait for the results you need first.

    Args:
        backend: the device's backend.
        max_time: lifetime in seconds (the centre's limit when None).
        idle_time: seconds without activity before the session expires.
    """

    mode = "session"

    def __init__(
        self,
        backend: QHarborBackend,
        max_time: float | None = None,
        *,
        idle_time: float | None = None,
    ) -> None:
        if not isinstance(backend, QHarborBackend):
            raise TypeError(
                f"a qharbor {self.mode} needs a QHarborBackend, not {type(backend).__name__}; "
                "get one from QHarborProvider(...).backend(name)"
            )
        self._backend = backend
        self._details = backend.service.open_session(
            backend.name, mode=self.mode, max_ttl_s=max_time, idle_ttl_s=idle_time
        )
        self._token: contextvars.Token[Session | None] | None = None

    @classmethod
    def from_id(cls, session_id: str, backend: QHarborBackend) -> Session:
        """Attach to a session or batch opened earlier (by another process, say)."""
        session = cls.__new__(cls)
        session._backend = backend
        session._details = backend.service.session(session_id)
        session._token = None
        if session._details.get("mode") != cls.mode:
            raise ValueError(
                f"{session_id} is a {session._details.get('mode')}, not a {cls.mode}; "
                f"use {'Batch' if cls.mode == 'session' else 'Session'}.from_id"
            )
        return session

    @property
    def session_id(self) -> str:
        """The session's id on the centre."""
        return str(self._details["id"])

    def backend(self) -> str:
        """The device's name (as in qiskit-ibm-runtime)."""
        return self._backend.name

    @property
    def backend_object(self) -> QHarborBackend:
        """The backend the session runs on."""
        return self._backend

    def details(self) -> dict[str, Any]:
        """The session as the centre shows it now, with its jobs counted by status."""
        self._details = self._backend.service.session(self.session_id)
        return dict(self._details)

    def status(self) -> str:
        """``OPEN``, ``CLOSED`` or ``EXPIRED``."""
        return str(self.details()["status"])

    def close(self) -> None:
        """Close it; for a session, its jobs still queued fail with ``SESSION_CLOSED``."""
        self._details = self._backend.service.close_session(self.session_id)

    cancel = close

    def __enter__(self) -> Session:
        self._token = _CURRENT.set(self)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._token is not None:
            _CURRENT.reset(self._token)
            self._token = None
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.session_id} on {self._backend.name!r}>"


class Batch(Session):
    """A batch: independent jobs grouped for throughput and reporting.

    Its jobs keep their ordinary place in the queue. Closing it stops new
    submissions; the jobs already queued still run.
    """

    mode = "batch"


def current_session() -> Session | None:
    """The session or batch of the innermost ``with`` block, if any."""
    return _CURRENT.get()
