"""``SamplerV2`` and ``EstimatorV2``: Qiskit's primitive contracts, executed in the centre.

The client only checks and encodes the PUBs (Qiskit's own coercion, so
broadcasting rules and errors are Qiskit's); binding, execution and, for the
estimator, the expectation values and their standard errors are computed by the
centre.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from typing import Any

from qiskit.primitives import BaseEstimatorV2, BaseSamplerV2
from qiskit.primitives.containers.estimator_pub import EstimatorPub, EstimatorPubLike
from qiskit.primitives.containers.sampler_pub import SamplerPub, SamplerPubLike

from qharbor.client.qiskit import encoding
from qharbor.client.qiskit.backend import QHarborBackend
from qharbor.client.qiskit.jobs import QHarborPrimitiveJob
from qharbor.client.qiskit.session import Session, current_session


@dataclass
class SamplerOptions:
    """Sampler options; unknown names are refused.

    Attributes:
        default_shots: shots for PUBs that name none.
        seed: sampling seed, for reproducible results.
        tags: labels to find the jobs by later.
    """

    default_shots: int = 1024
    seed: int | None = None
    tags: list[str] = field(default_factory=list)

    def __setattr__(self, name: str, value: Any) -> None:
        if name not in {f.name for f in fields(self)}:
            raise AttributeError(f"SamplerV2 has no option {name!r}")
        super().__setattr__(name, value)


@dataclass
class EstimatorOptions:
    """Estimator options; unknown names are refused.

    Attributes:
        default_precision: target standard error for PUBs that name none. When
            None, noiseless state-vector devices compute exact values and other
            devices aim at 1/64 (4096 shots per basis).
        seed: seed for sampling (or for the noise added at a given precision).
        tags: labels to find the jobs by later.
    """

    default_precision: float | None = None
    seed: int | None = None
    tags: list[str] = field(default_factory=list)

    def __setattr__(self, name: str, value: Any) -> None:
        if name not in {f.name for f in fields(self)}:
            raise AttributeError(f"EstimatorV2 has no option {name!r}")
        super().__setattr__(name, value)


def _resolve(mode: Any, backend: Any) -> tuple[QHarborBackend, Session | None]:
    mode = mode if mode is not None else backend
    if mode is None:
        mode = current_session()
    if isinstance(mode, Session):
        return mode.backend_object, mode
    if isinstance(mode, QHarborBackend):
        return mode, None
    raise TypeError(
        "pass mode= a QHarborBackend, Session or Batch (or use the primitive inside "
        f"'with Session(backend=...)'); got {type(mode).__name__}"
    )


class _Primitive:
    kind = ""

    def __init__(self, mode: Any, backend: Any, options: Any) -> None:
        self._backend, self._session = _resolve(mode, backend)

    @property
    def backend(self) -> QHarborBackend:
        return self._backend

    @property
    def mode(self) -> QHarborBackend | Session:
        return self._session or self._backend

    def _submit(
        self, encoded: list[dict[str, Any]], seed: int | None, tags: list[str], **extra: Any
    ) -> Any:
        body: dict[str, Any] = {"device": self._backend.name, "kind": self.kind, "pubs": encoded}
        body.update({k: v for k, v in extra.items() if v is not None})
        if seed is not None:
            body["seed"] = int(seed)
        if tags:
            body["tags"] = list(tags)
        if self._session is not None:
            body["session_id"] = self._session.session_id
        return self._backend.service.submit(body)


class SamplerV2(_Primitive, BaseSamplerV2):
    """Samples the classical registers of circuits, per PUB and parameter binding.

    Args:
        mode: a :class:`QHarborBackend`, :class:`Session` or :class:`Batch`;
            inside ``with Session(...)`` it may be left out.
        backend: the same as ``mode``, for code written against older APIs.
        options: a :class:`SamplerOptions` or a dict of its fields.
    """

    kind = "sampler"

    def __init__(
        self,
        mode: Any = None,
        *,
        backend: Any = None,
        options: SamplerOptions | dict[str, Any] | None = None,
    ) -> None:
        super().__init__(mode, backend, options)
        self.options = (
            options if isinstance(options, SamplerOptions) else SamplerOptions(**(options or {}))
        )

    def run(
        self, pubs: Iterable[SamplerPubLike], *, shots: int | None = None
    ) -> QHarborPrimitiveJob:
        """Sample each PUB ``(circuit, parameter_values, shots)``; one job for all of them."""
        coerced = [SamplerPub.coerce(pub, shots or self.options.default_shots) for pub in pubs]
        encoded = [encoding.sampler_pub(pub) for pub in coerced]
        job = self._submit(
            encoded,
            self.options.seed,
            self.options.tags,
            shots=shots or self.options.default_shots,
        )
        return QHarborPrimitiveJob(job, self.kind, [pub.circuit for pub in coerced])


class EstimatorV2(_Primitive, BaseEstimatorV2):
    """Expectation values of observables, per PUB, binding and observable.

    Args:
        mode: a :class:`QHarborBackend`, :class:`Session` or :class:`Batch`;
            inside ``with Session(...)`` it may be left out.
        backend: the same as ``mode``, for code written against older APIs.
        options: an :class:`EstimatorOptions` or a dict of its fields.
    """

    kind = "estimator"

    def __init__(
        self,
        mode: Any = None,
        *,
        backend: Any = None,
        options: EstimatorOptions | dict[str, Any] | None = None,
    ) -> None:
        super().__init__(mode, backend, options)
        self.options = (
            options
            if isinstance(options, EstimatorOptions)
            else EstimatorOptions(**(options or {}))
        )

    def run(
        self, pubs: Iterable[EstimatorPubLike], *, precision: float | None = None
    ) -> QHarborPrimitiveJob:
        """Estimate each PUB ``(circuit, observables, parameter_values, precision)``."""
        chosen = precision if precision is not None else self.options.default_precision
        coerced = [EstimatorPub.coerce(pub, chosen) for pub in pubs]
        encoded = [encoding.estimator_pub(pub) for pub in coerced]
        job = self._submit(encoded, self.options.seed, self.options.tags, precision=chosen)
        return QHarborPrimitiveJob(job, self.kind, [pub.circuit for pub in coerced])
