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


def circuit_source(circuit: QuantumCircuit) -> str:
    """Base64 QPY for a circuit, with its parameters renamed in order."""
    if circuit.num_parameters:
        circuit = circuit.assign_parameters(
            {p: Parameter(parameter_name(i)) for i, p in enumerate(circuit.parameters)}
        )
    buffer = io.BytesIO()
    qpy.dump(circuit, buffer)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _values(pub: SamplerPub | EstimatorPub) -> dict[str, Any]:
    bindings = pub.parameter_values
    array = bindings.as_array(pub.circuit.parameters) if pub.circuit.num_parameters else None
    return {
        "circuit": circuit_source(pub.circuit),
        "format": FORMAT,
        "shape": list(bindings.shape),
        "parameter_values": [] if array is None else np.asarray(array, float).ravel().tolist(),
    }


def sampler_pub(pub: SamplerPub) -> dict[str, Any]:
    """The JSON of a sampler PUB."""
    return {**_values(pub), "shots": int(pub.shots)}


def estimator_pub(pub: EstimatorPub) -> dict[str, Any]:
    """The JSON of an estimator PUB: observables flat, with their shape."""
    observables = pub.observables
    flat = _flatten(observables.tolist(), observables.ndim)
    body: dict[str, Any] = {
        **_values(pub),
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
