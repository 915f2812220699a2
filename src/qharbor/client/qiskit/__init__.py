"""Qiskit on qharbor: a provider, ``BackendV2``, primitives V2, sessions and batches.

Needs Qiskit (``pip install 'qharbor[qiskit]'``). Imported as ``qharbor.qiskit``.
Point existing Qiskit code at a centre by changing two lines::

    from qharbor.qiskit import QHarborProvider, SamplerV2 as Sampler
    backend = QHarborProvider("http://127.0.0.1:8000", "qh_...").backend("statevector")
"""

from __future__ import annotations

from qharbor.client.qiskit.backend import QHarborBackend
from qharbor.client.qiskit.jobs import QHarborJob, QHarborPrimitiveJob
from qharbor.client.qiskit.primitives import (
    EstimatorOptions,
    EstimatorV2,
    SamplerOptions,
    SamplerV2,
)
from qharbor.client.qiskit.provider import QHarborProvider
from qharbor.client.qiskit.session import Batch, Session
from qharbor.client.qiskit.target import build_target

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
