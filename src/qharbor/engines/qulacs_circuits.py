"""Qiskit circuits translated into qulacs circuits, with every convention made explicit.

Conventions handled (each is checked by the engine conformance suite):

* **Qubit order.** qulacs numbers amplitudes as Qiskit does (qubit 0 is the least
  significant bit), so qubit ``i`` stays qubit ``i`` and state vectors need no
  permutation. A dense matrix gate takes its first target as its least significant
  bit, which is also Qiskit's ``Operator`` order.
* **Rotation sign.** qulacs ``RX/RY/RZ(θ)``, their parametric forms and its
  (parametric) multi-Pauli rotation are ``exp(+iθP/2)``; Qiskit's ``rx/ry/rz(θ)``
  and ``rxx/ryy/rzz/rzx(θ)`` are ``exp(-iθP/2)``. Fixed angles use qulacs
  ``RotX/RotY/RotZ`` (which are ``exp(-iθP/2)``) or a negated angle; parametric
  gates get the negated parameter when they are bound.
* **Phase gates.** ``p``/``u1`` is qulacs ``U1`` and ``u``/``u3`` is ``U3`` (same
  matrices). A *parametric* ``p``/``cp``/``crz`` is rebuilt from parametric Z
  rotations; the global phase that costs is tracked, so state vectors keep Qiskit's
  phase exactly (result types read amplitudes).
* **Other standard gates** without free parameters become dense matrix gates
  from ``qiskit.quantum_info.Operator``. A controlled gate is the block of its
  full matrix where every control is 1, with qulacs control qubits: not the
  matrix of its ``base_gate``, which for ``cu`` lacks the phase ``γ`` that the
  control turns into a relative phase. A parametric gate of another kind makes
  the whole circuit go through Qiskit's transpiler to gates translated here.
* **Operations outside** :data:`OPERATIONS` (custom gates, ``.control(k)`` or
  ``.power(x)`` of a gate, library blocks) are decomposed by Qiskit's
  transpiler first (:func:`qharbor.engines.operations.conform`).
"""

from __future__ import annotations

import cmath
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import qulacs
from qiskit import QuantumCircuit, transpile
from qiskit.circuit import ControlledGate, Parameter, ParameterExpression
from qiskit.circuit.library import get_standard_gate_name_mapping
from qiskit.quantum_info import Operator
from qulacs import gate as qgate
from qulacs.circuit import QuantumCircuitOptimizer

from qharbor import errors
from qharbor.engines import operations, qulacs_diagonals
from qharbor.engines.gatelist import MEASURE, STANDARD, GateList
from qharbor.engines.readout import Readout


def _operator(op: Any) -> np.ndarray:
    """The operation's matrix (first qubit least significant), or a clear refusal."""
    try:
        return np.ascontiguousarray(Operator(op).data, dtype=complex)
    except Exception:  # Qiskit raises several types for operations without a matrix
        raise errors.ExecutionError(
            f"qulacs cannot run {op.name!r}: it is not a unitary gate with a known matrix"
        ) from None


_X, _Y, _Z = 1, 2, 3

# name -> adds the gate (numeric angles ``a``) to a qulacs circuit.
_FIXED: dict[str, Callable[[Any, list[int], Any], None]] = {
    "h": lambda c, q, a: c.add_H_gate(q[0]),
    "x": lambda c, q, a: c.add_X_gate(q[0]),
    "y": lambda c, q, a: c.add_Y_gate(q[0]),
    "z": lambda c, q, a: c.add_Z_gate(q[0]),
    "s": lambda c, q, a: c.add_S_gate(q[0]),
    "sdg": lambda c, q, a: c.add_Sdag_gate(q[0]),
    "t": lambda c, q, a: c.add_T_gate(q[0]),
    "tdg": lambda c, q, a: c.add_Tdag_gate(q[0]),
    "sx": lambda c, q, a: c.add_sqrtX_gate(q[0]),
    "sxdg": lambda c, q, a: c.add_sqrtXdag_gate(q[0]),
    # RotX/RotY/RotZ are exp(-iθP/2), Qiskit's sign.
    "rx": lambda c, q, a: c.add_RotX_gate(q[0], float(a[0])),
    "ry": lambda c, q, a: c.add_RotY_gate(q[0], float(a[0])),
    "rz": lambda c, q, a: c.add_RotZ_gate(q[0], float(a[0])),
    "p": lambda c, q, a: c.add_U1_gate(q[0], float(a[0])),
    "u1": lambda c, q, a: c.add_U1_gate(q[0], float(a[0])),
    "u": lambda c, q, a: c.add_U3_gate(q[0], float(a[0]), float(a[1]), float(a[2])),
    "u3": lambda c, q, a: c.add_U3_gate(q[0], float(a[0]), float(a[1]), float(a[2])),
    "cx": lambda c, q, a: c.add_CNOT_gate(q[0], q[1]),
    "cz": lambda c, q, a: c.add_CZ_gate(q[0], q[1]),
    "swap": lambda c, q, a: c.add_SWAP_gate(q[0], q[1]),
    "ccx": lambda c, q, a: c.add_gate(qgate.TOFFOLI(q[0], q[1], q[2])),
    "cswap": lambda c, q, a: c.add_gate(qgate.FREDKIN(q[0], q[1], q[2])),
    # multi-Pauli rotations are exp(+iθP/2): negate. Qiskit's rzx puts Z on its first qubit.
    "rxx": lambda c, q, a: c.add_multi_Pauli_rotation_gate(q, [_X, _X], -float(a[0])),
    "ryy": lambda c, q, a: c.add_multi_Pauli_rotation_gate(q, [_Y, _Y], -float(a[0])),
    "rzz": lambda c, q, a: c.add_multi_Pauli_rotation_gate(q, [_Z, _Z], -float(a[0])),
    "rzx": lambda c, q, a: c.add_multi_Pauli_rotation_gate(q, [_Z, _X], -float(a[0])),
}

#: Operations that change nothing in a state-vector run.
_SKIP = frozenset({"barrier", "id", "delay"})

#: What the translator is proven on (by the differential conformance harness).
OPERATIONS = operations.STANDARD_GATES | operations.DIRECTIVES | {"unitary", "measure"}

#: Gates the translation takes with free parameters; the transpiler targets these.
_PARAMETRIC = frozenset({"rx", "ry", "rz", "rxx", "ryy", "rzz", "rzx", "p", "u1", "cp", "crz"})
_TRANSPILE_BASIS = sorted((set(_FIXED) | _PARAMETRIC) - {"ccx", "cswap", "u", "u3"})


#: Qubits from which a fixed circuit is worth merging gates for. On a 20-qubit
#: random circuit of 600 gates the merge took 1 ms and left 211 gates, and the run
#: took about 40% less time; on small circuits the merge costs more than it saves.
FUSE_QUBITS = 16


_NO_READOUT = Readout((), 0, ())


@dataclass
class Translation:
    """One Qiskit circuit as a qulacs circuit, ready to bind and run many times.

    Attributes:
        circuit: the qulacs circuit (parametric if the Qiskit one has parameters).
        readout: where its final measurements land.
        slots: per qulacs parameter, (expression, scale): the qulacs angle is
            ``scale`` times the expression's value.
        phase: the constant global phase, in radians.
        phase_terms: (expression, scale) terms added to the global phase.
        initial: the basis state the circuit starts from (qubit i is bit i):
            a wide circuit's X gates on qubits nothing has acted on yet set it,
            instead of each being a pass over the state.
    """

    circuit: Any
    readout: Readout
    slots: list[tuple[Any, float]] = field(default_factory=list)
    phase: float = 0.0
    phase_terms: list[tuple[Any, float]] = field(default_factory=list)
    initial: int = 0

    def bind(self, binding: Mapping[str, float] | None) -> float:
        """Set the circuit's parameters from ``binding``; return the global phase.

        Raises:
            errors.ExecutionError: the circuit has a parameter ``binding`` lacks.
        """
        if binding is None:
            if self.slots or self.phase_terms:
                raise errors.ExecutionError("the circuit has parameters but no values for them")
            return self.phase
        circuit = self.circuit
        try:
            for index, (expression, scale) in enumerate(self.slots):
                circuit.set_parameter(index, scale * _value(expression, binding))
            phase = self.phase
            for expression, scale in self.phase_terms:
                phase += scale * _value(expression, binding)
        except KeyError as exc:
            raise errors.ExecutionError(f"no value for parameter {exc.args[0]!r}") from None
        return phase

    def state(self, binding: Mapping[str, float] | None) -> tuple[Any, float]:
        """The final qulacs state, and the global phase it lacks."""
        phase = self.bind(binding)
        return self.evolve(), phase

    def evolve(self) -> Any:
        """A fresh state in the initial basis state, with the circuit (as bound) applied."""
        state = fresh_state(self.circuit.get_qubit_count())
        if self.initial:
            state.set_computational_basis(self.initial)
        self.circuit.update_quantum_state(state)
        return state


#: States up to this width are kept for reuse (16 MiB at 20 qubits); wider ones
#: are allocated per run, so a worker does not hold gigabytes between jobs.
_KEPT_QUBITS = 20
#: Per thread, so that engines called from several threads never share a state.
_LOCAL = threading.local()


def fresh_state(num_qubits: int) -> Any:
    """A qulacs state in |0…0⟩, reused for narrow widths.

    The state is valid until the next call for the same width.
    """
    if num_qubits > _KEPT_QUBITS:
        return qulacs.QuantumState(num_qubits)
    states: dict[int, Any] = _LOCAL.__dict__.setdefault("states", {})
    state = states.get(num_qubits)
    if state is None:
        state = states[num_qubits] = qulacs.QuantumState(num_qubits)
    else:
        state.set_zero_state()
    return state


def _value(expression: Any, binding: Mapping[str, float]) -> float:
    if isinstance(expression, Parameter):  # the common case
        return float(binding[expression.name])
    return float(expression.bind({p: binding[p.name] for p in expression.parameters}))


def translate(circuit: QuantumCircuit, *, sampled: bool = False) -> Translation:
    """``circuit`` as qulacs gates; parametric gates of other kinds via the transpiler.

    Args:
        circuit: the Qiskit circuit.
        sampled: its final state is only sampled, never read as a state: then
            a wide circuit's swaps relabel its qubits (later gates and the
            measurements act on the qubits the swaps named) rather than move
            amplitudes, a pass over the state each (a QFT ends with n/2).

    Raises:
        errors.ExecutionError: the circuit measures mid-circuit, resets or branches.
    """
    circuit = operations.conform(circuit, OPERATIONS)
    wide = circuit.num_qubits >= FUSE_QUBITS and circuit.num_parameters == 0
    # A wide circuit of mostly controlled phases merges its runs of diagonal
    # gates (a QFT); other wide circuits merge neighbouring gates into small
    # dense blocks (qulacs's light optimiser), which would fold the merged
    # diagonals into dense matrices. Both mean fewer passes over a large state.
    # Parametric circuits are left alone, since merging would hide their parameters.
    diagonals = wide and qulacs_diagonals.phase_heavy(dict(circuit.count_ops()))
    relabel = wide and sampled
    try:
        out = _translate(circuit, wide, diagonals, relabel)
    except operations.NeedsTranspile:
        basic = transpile(circuit, basis_gates=_TRANSPILE_BASIS, optimization_level=0)
        out = _translate(basic, wide, diagonals, relabel)
    if wide and not diagonals and not out.slots:
        QuantumCircuitOptimizer().optimize_light(out.circuit)
    return out


def translate_gates(gates: GateList) -> Translation:
    """A gate list as qulacs gates: what :func:`translate` makes of its circuit.

    Every gate takes the same translation as in a circuit (the table above, or
    a dense matrix of the standard gate), so a gate list and its circuit run
    the same gates. Read straight from the arrays: a batch translates thousands.

    Raises:
        errors.ExecutionError: a gate acts on a qubit after it was measured.
    """
    n = gates.num_qubits
    if n >= FUSE_QUBITS:
        # A wide circuit's run dwarfs its translation, and the circuit's own path
        # merges its diagonal runs, starts from its leading X gates and relabels
        # its swaps (a gate list is only ever sampled).
        return translate(gates.to_circuit(), sampled=True)
    target = qulacs.QuantumCircuit(n)
    pairs: list[tuple[int, int]] = []
    measured: set[int] = set()
    for name, targets, angles, clbit in gates.walk():
        if name == MEASURE:
            pairs.append((targets[0], clbit))
            measured.add(targets[0])
            continue
        if name in _SKIP:
            continue
        if measured and not measured.isdisjoint(targets):
            raise errors.ExecutionError(
                f"qulacs runs final measurements only; {name!r} acts on a measured qubit"
            )
        add = _FIXED.get(name)
        if add is not None:
            add(target, targets, angles)
        else:
            _add_matrix(target, STANDARD[name].base_class(*angles), targets)
    readout = Readout(tuple(pairs), gates.num_clbits, tuple(size for _name, size in gates.cregs))
    return Translation(target, readout)


def _translate(
    circuit: QuantumCircuit, wide: bool = False, diagonals: bool = False, relabel: bool = False
) -> Translation:
    n = circuit.num_qubits
    parametric = circuit.num_parameters > 0
    target = qulacs.ParametricQuantumCircuit(n) if parametric else qulacs.QuantumCircuit(n)
    qubit_index = {q: i for i, q in enumerate(circuit.qubits)}
    clbit_index = {c: i for i, c in enumerate(circuit.clbits)}
    pairs: list[tuple[int, int]] = []
    measured: set[int] = set()
    out = Translation(target, _NO_READOUT)
    fixed = _FIXED

    def add_fixed(name: str, qubits: list[int], instruction: Any) -> None:
        add = fixed.get(name)
        if add is not None:
            add(target, qubits, instruction.params)
        else:
            _add_matrix(target, instruction.operation, qubits)

    run = qulacs_diagonals.DiagonalRun(add_fixed, n) if diagonals else None
    # Qubits some gate acted on; an X before any of them sets the initial state.
    touched: set[int] | None = set() if wide else None
    # Where each of the circuit's qubits is in the qulacs state, as swaps relabel them.
    where = list(range(n)) if relabel else None
    for instruction in circuit.data:
        # Read only what is needed, from the instruction itself: each attribute
        # builds Python objects, and ``.operation`` a whole new gate.
        name = instruction.name
        qubits = [qubit_index[q] for q in instruction.qubits]
        if where is not None:
            logical, qubits = qubits, [where[q] for q in qubits]
        if name == "measure":
            pairs.append((qubits[0], clbit_index[instruction.clbits[0]]))
            measured.add(qubits[0])
            continue
        if name in _SKIP:
            continue
        if measured and not measured.isdisjoint(qubits):
            raise errors.ExecutionError(
                f"qulacs runs final measurements only; {name!r} acts on a measured qubit"
            )
        if where is not None and name == "swap":
            a, b = logical
            where[a], where[b] = where[b], where[a]
            continue
        if touched is not None:
            if name == "x" and qubits[0] not in touched:
                out.initial ^= 1 << qubits[0]
                continue
            touched.update(qubits)
        if run is not None and not instruction.clbits:
            table = (
                qulacs_diagonals.phases(name, instruction.params)
                if name in qulacs_diagonals.MERGED
                else None
            )
            if table is not None:
                run.add(target, name, qubits, instruction, table)
                continue
            if run.touches(qubits):
                run.close(target)
        add = fixed.get(name)
        if add is None and (instruction.clbits or name == "reset" or instruction.is_control_flow()):
            raise errors.ExecutionError(
                f"qulacs runs circuits without reset or classical control; found {name!r}"
            )
        if parametric and instruction.is_parameterized():
            _add_parametric(out, name, qubits, instruction.params)
        elif add is not None:
            add(target, qubits, instruction.params)
        else:
            _add_matrix(target, instruction.operation, qubits)
    if run is not None:
        run.close(target)
    out.readout = Readout.of(circuit, pairs)
    phase = circuit.global_phase
    if isinstance(phase, ParameterExpression) and phase.parameters:
        out.phase_terms.append((phase, 1.0))
    else:
        out.phase = float(phase)
    return out


def _add_parametric(out: Translation, name: str, qubits: list[int], params: list[Any]) -> None:
    """Add a gate with free parameters; the angles are set when a binding is applied."""
    c = out.circuit
    theta = params[0] if params else None
    if name == "rx":
        c.add_parametric_RX_gate(qubits[0], 0.0)
        out.slots.append((theta, -1.0))
    elif name == "ry":
        c.add_parametric_RY_gate(qubits[0], 0.0)
        out.slots.append((theta, -1.0))
    elif name == "rz":
        c.add_parametric_RZ_gate(qubits[0], 0.0)
        out.slots.append((theta, -1.0))
    elif name in ("rxx", "ryy", "rzz", "rzx"):
        paulis = {"rxx": [_X, _X], "ryy": [_Y, _Y], "rzz": [_Z, _Z], "rzx": [_Z, _X]}[name]
        c.add_parametric_multi_Pauli_rotation_gate(qubits, paulis, 0.0)
        out.slots.append((theta, -1.0))
    elif name in ("p", "u1"):
        # p(λ) = e^{iλ/2} rz(λ)
        c.add_parametric_RZ_gate(qubits[0], 0.0)
        out.slots.append((theta, -1.0))
        out.phase_terms.append((theta, 0.5))
    elif name == "cp":
        # cp(λ) = e^{iλ/4} rz_c(λ/2) rz_t(λ/2) rzz(-λ/2)
        control, tgt = qubits
        c.add_parametric_RZ_gate(control, 0.0)
        out.slots.append((theta, -0.5))
        c.add_parametric_RZ_gate(tgt, 0.0)
        out.slots.append((theta, -0.5))
        c.add_parametric_multi_Pauli_rotation_gate([control, tgt], [_Z, _Z], 0.0)
        out.slots.append((theta, 0.5))
        out.phase_terms.append((theta, 0.25))
    elif name == "crz":
        # crz(θ) = rz_t(θ/2) · cx · rz_t(-θ/2) · cx
        control, tgt = qubits
        c.add_parametric_RZ_gate(tgt, 0.0)
        out.slots.append((theta, -0.5))
        c.add_CNOT_gate(control, tgt)
        c.add_parametric_RZ_gate(tgt, 0.0)
        out.slots.append((theta, 0.5))
        c.add_CNOT_gate(control, tgt)
    else:
        raise operations.NeedsTranspile(name)


_STANDARD = get_standard_gate_name_mapping()
_MATRICES: dict[tuple[str, tuple[float, ...]], np.ndarray] = {}


def _add_matrix(target: Any, op: Any, qubits: list[int]) -> None:
    """A gate without a direct translation, as a (controlled) dense matrix."""
    if isinstance(op, ControlledGate) and op.ctrl_state == (1 << op.num_ctrl_qubits) - 1:
        k = op.num_ctrl_qubits
        gate = qgate.DenseMatrix(qubits[k:], operations.controlled_block(_matrix(op), k))
        for control in qubits[:k]:
            gate.add_control_qubit(control, 1)
        target.add_gate(gate)
        return
    target.add_dense_matrix_gate(qubits, _matrix(op))


def _matrix(op: Any) -> np.ndarray:
    """The operation's matrix in Qiskit's order (first qubit least significant).

    Standard gates are cached by name and angles; a user-defined gate is not,
    since two programs may define different gates under one name.
    """
    standard = _STANDARD.get(op.name)
    try:
        if standard is None or type(op) is not type(standard):
            raise TypeError(op.name)
        key = (op.name, tuple(float(p) for p in op.params))
    except (TypeError, ValueError):  # custom gates, matrices, other parameters
        return _operator(op)
    matrix = _MATRICES.get(key)
    if matrix is None:
        matrix = _operator(op)
        if len(_MATRICES) < 4096:
            _MATRICES[key] = matrix
    return matrix


def global_phase_factor(phase: float) -> complex:
    """e^{i·phase}."""
    return cmath.exp(1j * phase)
