"""Circuits, parameter values and observables as the centre's JSON.

Circuits travel as QPY (base64), Qiskit's own lossless format, so composite
instructions, aliased classical registers and anything else a ``QuantumCircuit``
holds arrive intact. Their parameters are renamed ``_p00000``, ``_p00001``, ...
in ``circuit.parameters`` order before export, so the centre's order
(parameters sorted by name) is the circuit's own and values can travel as a
plain array.
"""

from __future__ import annotations

import base64
import io
from typing import Any

import numpy as np
from qiskit import QuantumCircuit, qpy
from qiskit.circuit import Parameter
from qiskit.primitives.containers.estimator_pub import EstimatorPub
from qiskit.primitives.containers.sampler_pub import SamplerPub


def parameter_name(index: int) -> str:
    """The name the ``index``-th parameter of a circuit travels under."""
    return f"_p{index:05d}"


#: The program format :func:`circuit_source` writes.
FORMAT = "qpy"


def circuit_source(circuit: QuantumCircuit, version: int | None = None) -> str:
    """Base64 QPY for a circuit, with its parameters renamed in order.

    Args:
        circuit: the circuit.
        version: the QPY version to write (this Qiskit's newest when None); see
            :func:`qpy_version`.
    """
    if circuit.num_parameters:
        circuit = circuit.assign_parameters(
            {p: Parameter(parameter_name(i)) for i, p in enumerate(circuit.parameters)}
        )
    buffer = io.BytesIO()
    qpy.dump(circuit, buffer, version=version or qpy.QPY_VERSION)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def qpy_version(formats: dict[str, Any] | None) -> int | None:
    """The QPY version to write for a centre, from its ``GET /v1/formats``.

    The newest version both this Qiskit writes and the centre reads, so a client
    with a newer Qiskit than the centre's still sends circuits it can read.
    None when the centre does not say (this Qiskit's newest is written).

    Raises:
        ValueError: the centre reads only versions this Qiskit cannot write.
    """
    entry = next((f for f in (formats or {}).get("formats", []) if f.get("name") == FORMAT), None)
    versions = [int(v) for v in (entry or {}).get("versions", []) if str(v).isdigit()]
    if not versions:
        return None
    usable = [v for v in versions if qpy.QPY_COMPATIBILITY_VERSION <= v <= qpy.QPY_VERSION]
    if not usable:
        raise ValueError(
            f"the centre reads QPY versions {min(versions)} to {max(versions)}, and this "
            f"Qiskit writes {qpy.QPY_COMPATIBILITY_VERSION} to {qpy.QPY_VERSION}; install a "
            "Qiskit release that writes one of the centre's versions"
        )
    return max(usable)


def _values(pub: SamplerPub | EstimatorPub, version: int | None) -> dict[str, Any]:
    bindings = pub.parameter_values
    array = bindings.as_array(pub.circuit.parameters) if pub.circuit.num_parameters else None
    return {
        "circuit": circuit_source(pub.circuit, version),
        "format": FORMAT,
        "shape": list(bindings.shape),
        "parameter_values": [] if array is None else np.asarray(array, float).ravel().tolist(),
    }


def sampler_pub(pub: SamplerPub, version: int | None = None) -> dict[str, Any]:
    """The JSON of a sampler PUB, its circuit in QPY ``version``."""
    return {**_values(pub, version), "shots": int(pub.shots)}


def estimator_pub(pub: EstimatorPub, version: int | None = None) -> dict[str, Any]:
    """The JSON of an estimator PUB: observables flat, with their shape."""
    observables = pub.observables
    flat = _flatten(observables.tolist(), observables.ndim)
    body: dict[str, Any] = {
        **_values(pub, version),
        "observables": [
            {str(label): float(np.real(coeff)) for label, coeff in obs.items()} for obs in flat
        ],
        "observables_shape": list(observables.shape),
    }
    if pub.precision is not None:
        body["precision"] = float(pub.precision)
    return body


def _flatten(nested: Any, ndim: int) -> list[Any]:
    if ndim == 0:
        return [nested]
    out: list[Any] = []
    for item in nested:
        out.extend(_flatten(item, ndim - 1))
    return out
