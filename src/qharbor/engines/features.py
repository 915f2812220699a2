"""What the engine choice looks at in a circuit, read in one pass over it."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from qiskit import QuantumCircuit
from qiskit.circuit import ControlFlowOp


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


#: Gates a stabilizer simulator runs exactly (no parameters).
CLIFFORD_GATES = _names("id x y z h s sdg sx sxdg cx cy cz swap iswap ecr dcx")
#: Gates diagonal in the computational basis: they only change phases.
DIAGONAL_GATES = _names("id z s sdg t tdg rz p u1 cz cp cu1 crz rzz ccz mcp mcphase mcu1")
#: Instructions that are not gates.
NON_GATES = frozenset({"barrier", "measure", "reset", "delay", "store"})


@dataclass(frozen=True)
class CircuitFeatures:
    """The facts about one circuit that decide which engine runs it fastest.

    Attributes:
        num_qubits: the circuit's width.
        num_clbits: its classical bits.
        size: gates, not counting barriers, measurements, resets and delays.
        depth: the circuit's depth.
        two_qubit: gates on exactly two qubits.
        multi_qubit: gates on three or more qubits.
        diagonal: gates diagonal in the computational basis.
        gates: how often each operation name occurs (measurements included).
        clifford: every gate is a Clifford gate without parameters.
        num_parameters: unbound parameters.
        measurements: measurement instructions.
        mid_circuit_measurement: a gate or reset acts on a qubit after it was measured.
        resets: reset instructions.
        control_flow: the circuit has ``if``/``while``/``for``/``switch`` blocks.
    """

    num_qubits: int
    num_clbits: int
    size: int
    depth: int
    two_qubit: int
    multi_qubit: int
    diagonal: int
    gates: dict[str, int]
    clifford: bool
    num_parameters: int
    measurements: int
    mid_circuit_measurement: bool
    resets: int
    control_flow: bool

    @property
    def dynamic(self) -> bool:
        """Whether the circuit needs more than one final measurement of the state."""
        return self.mid_circuit_measurement or self.resets > 0 or self.control_flow


def features_of(circuit: QuantumCircuit) -> CircuitFeatures:
    """The features of ``circuit``, read in one pass over its instructions."""
    gates: Counter[str] = Counter()
    two = multi = diagonal = size = 0
    clifford = True
    control_flow = mid = False
    measured: set[int] = set()
    for instruction in circuit.data:
        op = instruction.operation
        name = op.name
        gates[name] += 1
        if isinstance(op, ControlFlowOp):
            control_flow = True
            clifford = False
            continue
        if name == "measure":
            measured.update(circuit.find_bit(q).index for q in instruction.qubits)
            continue
        if name in NON_GATES:
            if name == "reset" and measured:
                mid = True
            continue
        size += 1
        width = len(instruction.qubits)
        if width == 2:
            two += 1
        elif width > 2:
            multi += 1
        if name in DIAGONAL_GATES:
            diagonal += 1
        if name not in CLIFFORD_GATES:
            clifford = False
        if measured and any(circuit.find_bit(q).index in measured for q in instruction.qubits):
            mid = True
    return CircuitFeatures(
        num_qubits=circuit.num_qubits,
        num_clbits=circuit.num_clbits,
        size=size,
        depth=circuit.depth(),
        two_qubit=two,
        multi_qubit=multi,
        diagonal=diagonal,
        gates=dict(gates),
        clifford=clifford and circuit.num_parameters == 0,
        num_parameters=circuit.num_parameters,
        measurements=gates.get("measure", 0),
        mid_circuit_measurement=mid,
        resets=gates.get("reset", 0),
        control_flow=control_flow,
    )
