"""``SamplerV2`` and ``EstimatorV2``: Qiskit's primitive contracts, executed in the centre.

The client only checks and encodes the PUBs (Qiskit's own coercion, so
broadcasting rules and errors are Qiskit's); binding, execution and, for the
estimator, the expectation values and their standard errors are computed by the
centre.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from typing import Any

from qiskit.primitives import BaseEstimatorV2, BaseSamplerV2
from qiskit.primitives.containers.estimator_pub import EstimatorPub, EstimatorPubLike
from qiskit.primitives.containers.sampler_pub import SamplerPub, SamplerPubLike

from qharbor.client.qiskit import encoding
from qharbor.client.qiskit.backend import QHarborBackend
from qharbor.client.qiskit.jobs import QHarborPrimitiveJob
from qharbor.client.qiskit.options import (
    EstimatorOptions,
    SamplerOptions,
    coerce,
    job_options,
    seed_of,
    tags_of,
    unsupported,
)
from qharbor.client.qiskit.session import Session, current_session


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


_NO_OUTPUT = (
    "One of your circuits has no output classical registers and so the result will be "
    "empty. Did you mean to add measurement instructions?"
)


class _Primitive:
    kind = ""

    def __init__(self, mode: Any, backend: Any) -> None:
        self._backend, self._session = _resolve(mode, backend)

    @property
    def backend(self) -> QHarborBackend:
        return self._backend

    @property
    def mode(self) -> QHarborBackend | Session:
        return self._session or self._backend

    def _check_options(self, options: SamplerOptions | EstimatorOptions) -> None:
        problems = unsupported(options, noisy=self._backend.noisy)
        if problems:
            raise ValueError(
                f"device {self._backend.name!r} cannot honour these options: " + "; ".join(problems)
            )

    def _submit(
        self,
        encoded: list[dict[str, Any]],
        options: SamplerOptions | EstimatorOptions,
        **extra: Any,
    ) -> Any:
        body: dict[str, Any] = {"device": self._backend.name, "kind": self.kind, "pubs": encoded}
        body.update({k: v for k, v in extra.items() if v is not None})
        seed = seed_of(options)
        if seed is not None:
            body["seed"] = seed
        tags = tags_of(options)
        if tags:
            body["tags"] = tags
        mitigation = job_options(options)
        if mitigation:
            body["options"] = mitigation
        if self._session is not None:
            body["session_id"] = self._session.session_id
        return self._backend.service.submit(body)


class SamplerV2(_Primitive, BaseSamplerV2):
    """Samples the classical registers of circuits, per PUB and parameter binding.

    Args:
        mode: a :class:`QHarborBackend`, :class:`Session` or :class:`Batch`;
            inside ``with Session(...)`` it may be left out.
        backend: the same as ``mode``, for code written against older APIs.
        options: a :class:`SamplerOptions` or a (nested) dict of its options,
            named as in qiskit-ibm-runtime.
    """

    kind = "sampler"

    def __init__(
        self,
        mode: Any = None,
        *,
        backend: Any = None,
        options: SamplerOptions | dict[str, Any] | None = None,
    ) -> None:
        super().__init__(mode, backend)
        self._options = coerce(options, SamplerOptions)

    @property
    def options(self) -> SamplerOptions:
        """The options; set them by attribute, or several at once with ``update()``."""
        assert isinstance(self._options, SamplerOptions)
        return self._options

    @options.setter
    def options(self, value: SamplerOptions | dict[str, Any]) -> None:
        self._options = coerce(value, SamplerOptions)

    def run(
        self, pubs: Iterable[SamplerPubLike], *, shots: int | None = None
    ) -> QHarborPrimitiveJob:
        """Sample each PUB ``(circuit, parameter_values, shots)``; one job for all of them.

        Raises:
            ValueError: ``shots`` is not positive, or an option cannot be honoured.
        """
        if shots is None:
            shots = self.options.default_shots
        coerced = [SamplerPub.coerce(pub, shots) for pub in pubs]
        self._check_options(self.options)
        if any(not pub.circuit.cregs for pub in coerced):
            warnings.warn(_NO_OUTPUT, UserWarning, stacklevel=2)
        version = self._backend.qpy_version
        encoded = [encoding.sampler_pub(pub, version) for pub in coerced]
        job = self._submit(encoded, self.options, shots=shots)
        return QHarborPrimitiveJob(
            job,
            self.kind,
            [pub.circuit for pub in coerced],
            callback=self.options.environment.callback,
        )


class EstimatorV2(_Primitive, BaseEstimatorV2):
    """Expectation values of observables, per PUB, binding and observable.

    Args:
        mode: a :class:`QHarborBackend`, :class:`Session` or :class:`Batch`;
            inside ``with Session(...)`` it may be left out.
        backend: the same as ``mode``, for code written against older APIs.
        options: an :class:`EstimatorOptions` or a (nested) dict of its options,
            named as in qiskit-ibm-runtime.
    """

    kind = "estimator"

    def __init__(
        self,
        mode: Any = None,
        *,
        backend: Any = None,
        options: EstimatorOptions | dict[str, Any] | None = None,
    ) -> None:
        super().__init__(mode, backend)
        self._options = coerce(options, EstimatorOptions)

    @property
    def options(self) -> EstimatorOptions:
        """The options; set them by attribute, or several at once with ``update()``."""
        assert isinstance(self._options, EstimatorOptions)
        return self._options

    @options.setter
    def options(self, value: EstimatorOptions | dict[str, Any]) -> None:
        self._options = coerce(value, EstimatorOptions)

    def run(
        self, pubs: Iterable[EstimatorPubLike], *, precision: float | None = None
    ) -> QHarborPrimitiveJob:
        """Estimate each PUB ``(circuit, observables, parameter_values, precision)``.

        Raises:
            ValueError: a negative precision; a precision of 0 on a device that
                samples; or an option that cannot be honoured.
        """
        # As in qiskit-ibm-runtime, default_shots overrides default_precision.
        basis_shots = self.options.default_shots if precision is None else None
        chosen = precision
        if chosen is None and basis_shots is None:
            chosen = self.options.default_precision
        coerced = [EstimatorPub.coerce(pub, chosen) for pub in pubs]
        self._check_options(self.options)
        for index, pub in enumerate(coerced):
            if pub.precision is not None and pub.precision <= 0 and self._backend.noisy:
                raise ValueError(
                    f"PUB {index} has precision {pub.precision}; device "
                    f"{self._backend.name!r} estimates from shots, so precision must be "
                    "larger than 0 (shots per basis are ceil(1/precision**2))"
                )
        version = self._backend.qpy_version
        encoded = [encoding.estimator_pub(pub, version) for pub in coerced]
        if basis_shots is not None:
            for body in encoded:
                if "precision" not in body:
                    body["shots"] = int(basis_shots)
        job = self._submit(encoded, self.options, precision=chosen)
        return QHarborPrimitiveJob(
            job,
            self.kind,
            [pub.circuit for pub in coerced],
            callback=self.options.environment.callback,
        )
