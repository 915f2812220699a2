"""Qiskit circuits translated into Cirq circuits for qsim, with the conventions made explicit.

Conventions handled (each is checked by the engine conformance suite):

* **Qubit order.** Cirq orders a state vector big-endian (the first qubit is the
  most significant bit); Qiskit little-endian. Qiskit qubit ``i`` becomes
  ``cirq.LineQubit(n - 1 - i)``, so the state in ``LineQubit`` order is already in
  Qiskit's amplitude order, and qsim's sampled indices are Qiskit basis indices.
* **Rotation sign.** ``cirq.rx/ry/rz(θ)`` are ``exp(-iθP/2)``, as in Qiskit, and so
  are ``XX/YY/ZZPowGate(θ/π, global_shift=-1/2)`` for ``rxx/ryy/rzz``.
* **Phase gates.** ``p(λ)`` is ``ZPowGate(λ/π)`` and ``cp(λ)`` is ``CZPowGate(λ/π)``:
  the same matrices, no phase to track.
* **Dense matrices.** A gate without a translation becomes ``cirq.MatrixGate`` of
  Qiskit's ``Operator``. Qiskit's matrix takes its first qubit as the least
  significant bit, Cirq's as the most significant, so the gate is applied to the
  instruction's qubits in reverse.
* **Controlled gates** are the block of Qiskit's full matrix where every control
  is 1, controlled by the Cirq control qubits (the matrix of ``base_gate`` would
  lose the phase ``γ`` of ``cu``).
* **Operations outside** :data:`OPERATIONS` (custom gates, ``.control(k)`` or
  ``.power(x)`` of a gate, library blocks) are decomposed by Qiskit's transpiler
  first (:func:`qharbor.engines.operations.conform`).
* **Parameters** become sympy symbols named as the Qiskit parameters, so bindings
  are Cirq resolvers. A parametric gate of another kind makes the circuit go
  through Qiskit's transpiler to gates translated here.
* **Global phase** (Cirq's simulators drop it) is kept aside and multiplied into
  the state vectors, so they equal Qiskit's.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import cirq
import numpy as np
from qiskit import QuantumCircuit, transpile
from qiskit.circuit import ControlledGate, ParameterExpression
from qiskit.quantum_info import Operator

from qharbor import errors
from qharbor.engines import operations
from qharbor.engines.readout import Readout


def _operator(op: Any) -> np.ndarray:
    """The operation's matrix (first qubit least significant), or a clear refusal."""
    try:
        return np.ascontiguousarray(Operator(op).data, dtype=complex)
    except Exception:  # Qiskit raises several types for operations without a matrix
        raise errors.ExecutionError(
            f"qsim cannot run {op.name!r}: it is not a unitary gate with a known matrix"
        ) from None


_PI = math.pi


def _angle(value: Any) -> Any:
    """A Qiskit angle as a float, or as a sympy expression if it has free parameters."""
    if isinstance(value, ParameterExpression) and value.parameters:
        return value.sympify()
    return float(value)


_Q = list  # a gate's Cirq qubits, in the instruction's order
_G = Callable[[Any, list[Any]], Any]

# name -> builds the Cirq operation(s) from (qubits, params).
_GATES: dict[str, _G] = {
    "h": lambda q, p: cirq.H(q[0]),
    "x": lambda q, p: cirq.X(q[0]),
    "y": lambda q, p: cirq.Y(q[0]),
    "z": lambda q, p: cirq.Z(q[0]),
    "s": lambda q, p: cirq.S(q[0]),
    "sdg": lambda q, p: (cirq.S**-1)(q[0]),
    "t": lambda q, p: cirq.T(q[0]),
    "tdg": lambda q, p: (cirq.T**-1)(q[0]),
    "sx": lambda q, p: (cirq.X**0.5)(q[0]),
    "sxdg": lambda q, p: (cirq.X**-0.5)(q[0]),
    "rx": lambda q, p: cirq.rx(_angle(p[0]))(q[0]),
    "ry": lambda q, p: cirq.ry(_angle(p[0]))(q[0]),
    "rz": lambda q, p: cirq.rz(_angle(p[0]))(q[0]),
    "p": lambda q, p: cirq.ZPowGate(exponent=_angle(p[0]) / _PI)(q[0]),
    "u1": lambda q, p: cirq.ZPowGate(exponent=_angle(p[0]) / _PI)(q[0]),
    "cx": lambda q, p: cirq.CNOT(q[0], q[1]),
    "cz": lambda q, p: cirq.CZ(q[0], q[1]),
    "cp": lambda q, p: cirq.CZPowGate(exponent=_angle(p[0]) / _PI)(q[0], q[1]),
    "crz": lambda q, p: cirq.rz(_angle(p[0])).on(q[1]).controlled_by(q[0]),
    "crx": lambda q, p: cirq.rx(_angle(p[0])).on(q[1]).controlled_by(q[0]),
    "cry": lambda q, p: cirq.ry(_angle(p[0])).on(q[1]).controlled_by(q[0]),
    "swap": lambda q, p: cirq.SWAP(q[0], q[1]),
    "iswap": lambda q, p: cirq.ISWAP(q[0], q[1]),
    "rxx": lambda q, p: cirq.XXPowGate(exponent=_angle(p[0]) / _PI, global_shift=-0.5)(*q),
    "ryy": lambda q, p: cirq.YYPowGate(exponent=_angle(p[0]) / _PI, global_shift=-0.5)(*q),
    "rzz": lambda q, p: cirq.ZZPowGate(exponent=_angle(p[0]) / _PI, global_shift=-0.5)(*q),
    "ccx": lambda q, p: cirq.CCX(*q),
    "ccz": lambda q, p: cirq.CCZ(*q),
    "cswap": lambda q, p: cirq.CSWAP(*q),
}

_SKIP = frozenset({"barrier", "id", "delay"})
_TRANSPILE_BASIS = sorted(_GATES)
#: What the translator is proven on (by the differential conformance harness).
OPERATIONS = operations.STANDARD_GATES | operations.DIRECTIVES | {"unitary", "measure"}


@dataclass
class Translation:
    """One Qiskit circuit as a measurement-free Cirq circuit.

    Attributes:
        circuit: the Cirq circuit, on ``qubits``.
        qubits: ``LineQubit(0..n-1)``; Qiskit qubit i is ``qubits[n-1-i]``.
        readout: where its final measurements land.
        phase: the global phase (a float, or a Qiskit expression with parameters).
    """

    circuit: cirq.Circuit
    qubits: list[cirq.LineQubit]
    readout: Readout
    phase: Any = 0.0

    def global_phase(self, binding: Mapping[str, float] | None) -> float:
        """The global phase in radians under ``binding``."""
        phase = self.phase
        if isinstance(phase, ParameterExpression) and phase.parameters:
            if binding is None:
                raise errors.ExecutionError("the circuit has parameters but no values")
            phase = phase.bind({p: binding[p.name] for p in phase.parameters})
        return float(phase)


def translate(circuit: QuantumCircuit) -> Translation:
    """``circuit`` as Cirq operations; parametric gates of other kinds via the transpiler.

    Raises:
        errors.ExecutionError: the circuit measures mid-circuit, resets or branches.
    """
    circuit = operations.conform(circuit, OPERATIONS)
    try:
        return _translate(circuit)
    except operations.NeedsTranspile:
        return _translate(transpile(circuit, basis_gates=_TRANSPILE_BASIS, optimization_level=0))


def _translate(circuit: QuantumCircuit) -> Translation:
    n = circuit.num_qubits
    line = cirq.LineQubit.range(n)
    qubit_map = {q: line[n - 1 - i] for i, q in enumerate(circuit.qubits)}
    index_of = {q: i for i, q in enumerate(circuit.qubits)}
    clbit_index = {c: i for i, c in enumerate(circuit.clbits)}
    pairs: list[tuple[int, int]] = []
    measured: set[int] = set()
    ops: list[Any] = []
    for instruction in circuit.data:
        name = instruction.name
        if name == "measure":
            qubit = index_of[instruction.qubits[0]]
            pairs.append((qubit, clbit_index[instruction.clbits[0]]))
            measured.add(qubit)
            continue
        if name in _SKIP:
            continue
        if measured and any(index_of[q] in measured for q in instruction.qubits):
            raise errors.ExecutionError(
                f"qsim runs final measurements only; {name!r} acts on a measured qubit"
            )
        if instruction.clbits or name == "reset" or instruction.is_control_flow():
            raise errors.ExecutionError(
                f"qsim runs circuits without reset or classical control; found {name!r}"
            )
        qubits = [qubit_map[q] for q in instruction.qubits]
        build = _GATES.get(name)
        if build is not None:
            ops.append(build(qubits, instruction.params))
        elif instruction.is_parameterized():
            raise operations.NeedsTranspile(name)
        else:
            ops.append(_matrix_op(instruction.operation, qubits))
    return Translation(cirq.Circuit(ops), line, Readout.of(circuit, pairs), circuit.global_phase)


def _matrix_op(op: Any, qubits: list[Any]) -> Any:
    """A gate as a (controlled) Cirq matrix gate, on the qubits in Cirq's bit order."""
    if isinstance(op, ControlledGate) and op.ctrl_state == (1 << op.num_ctrl_qubits) - 1:
        k = op.num_ctrl_qubits
        block = operations.controlled_block(_operator(op), k)
        return cirq.MatrixGate(block).on(*reversed(qubits[k:])).controlled_by(*qubits[:k])
    matrix = _operator(op)
    return cirq.MatrixGate(matrix).on(*reversed(qubits))
