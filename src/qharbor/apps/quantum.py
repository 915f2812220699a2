"""The quantum half of an app, driven from the client over HTTP."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from qharbor.client.service import HarborService
from qharbor.runtime.pubs import estimator_pub, qpy_text


class ServiceQuantum:
    """Runs an app's circuits on a centre's device, one job per call, over HTTP.

    Each call submits one job and waits for it in the same request, so a loop
    driven from here pays one round trip per step; run the app as a centre
    program (:mod:`qharbor.runtime`) to pay none.

    Args:
        service: a connected :class:`~qharbor.client.service.HarborService`.
        device: the device's name.
        session: an open session's id, so the jobs go ahead of ordinary work.
        options: the estimator jobs' options, as ``POST /v1/jobs`` takes them: error
            mitigation on a noisy device twin, e.g. ``{"resilience_level": 1}``.
    """

    def __init__(
        self,
        service: HarborService,
        device: str,
        session: str | None = None,
        options: dict[str, Any] | None = None,
    ) -> None:
        self.service = service
        self._device = device
        self.session = session
        self.options = dict(options or {})
        self.jobs: list[str] = []
        #: How many estimator jobs it ran (the ones its options apply to).
        self.estimator_jobs = 0

    @property
    def device(self) -> str:
        return self._device

    def estimate(
        self,
        circuit: Any,
        observable: Any,
        parameter_sets: Sequence[Sequence[float]] | None = None,
        precision: float | None = None,
    ) -> list[float]:
        pub = estimator_pub(circuit, observable, parameter_sets)
        body: dict[str, Any] = {"device": self._device, "kind": "estimator", "pubs": [pub]}
        if precision is not None:
            body["precision"] = float(precision)
        if self.options:
            body["options"] = self.options
        self.estimator_jobs += 1
        evs = self._run(body).extra["pubs"][0]["evs"]
        return [float(v) for v in (evs if isinstance(evs, list) else [evs])]

    def sample(self, circuits: Sequence[Any], shots: int) -> list[dict[str, int]]:
        body = {
            "device": self._device,
            "programs": [{"source": qpy_text(c), "format": "qpy"} for c in circuits],
            "shots": int(shots),
        }
        result = self._run(body)
        return [dict(experiment.counts) for experiment in result.experiments]

    def _run(self, body: dict[str, Any]) -> Any:
        if self.session is not None:
            body["session_id"] = self.session
        job = self.service.submit(body, wait=60)
        self.jobs.append(job.job_id)
        return job.result()
