"""What a program's quantum calls send, built the same way in the centre and on a client.

Only the standard library here (Qiskit is imported when a circuit is written), so
``qharbor.apps`` can drive a centre over HTTP without the server's dependencies.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from typing import Any


def qpy_text(circuit: Any) -> str:
    """The circuit as base64 QPY, as ``POST /v1/jobs`` takes it."""
    from qiskit import qpy

    buffer = io.BytesIO()
    qpy.dump(circuit, buffer)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def estimator_pub(
    circuit: Any,
    observable: Any,
    parameter_sets: Sequence[Sequence[float]] | None,
    text: str | None = None,
    terms: dict[str, float] | None = None,
) -> dict[str, Any]:
    """One estimator PUB: the circuit, its parameter sets and one ``SparsePauliOp``.

    ``text`` is the circuit's QPY text, and ``terms`` the observable's
    (:func:`observable_terms`), when the caller already wrote them.
    """
    sets = [list(map(float, values)) for values in parameter_sets or []]
    return {
        "circuit": text if text is not None else qpy_text(circuit),
        "format": "qpy",
        "parameter_values": [v for values in sets for v in values],
        "shape": [len(sets)] if circuit.num_parameters else [],
        "observables": [dict(terms) if terms is not None else observable_terms(observable)],
        "observables_shape": [],
    }


def observable_terms(observable: Any) -> dict[str, float]:
    """A ``SparsePauliOp`` as ``{pauli label: real coefficient}``, as a PUB holds it."""
    return {str(label): float(coeff.real) for label, coeff in observable.to_list()}
