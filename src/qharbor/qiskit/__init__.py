"""Qiskit on qharbor: ``QHarborProvider``, ``SamplerV2``, ``EstimatorV2``, ``Session``, ``Batch``.

The implementation lives in :mod:`qharbor.client.qiskit`; this is its short name.
"""

from __future__ import annotations

from qharbor.client.qiskit import (
    Batch,
    EstimatorOptions,
    EstimatorV2,
    QHarborBackend,
    QHarborJob,
    QHarborPrimitiveJob,
    QHarborProvider,
    SamplerOptions,
    SamplerV2,
    Session,
    build_target,
)

__all__ = [
    "Batch",
    "EstimatorOptions",
    "EstimatorV2",
    "QHarborBackend",
    "QHarborJob",
    "QHarborPrimitiveJob",
    "QHarborProvider",
    "SamplerOptions",
    "SamplerV2",
    "Session",
    "build_target",
]
