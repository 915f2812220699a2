"""The OriginIR gate table: each gate's qubit count, angle count and Qiskit gate.

The meaning of each gate, global phase included, is pyqpanda3's (see docs/formats.md).
"""

from __future__ import annotations

import math
from collections.abc import Callable

from qiskit import QuantumCircuit
from qiskit.circuit import Gate
from qiskit.circuit import library as lib

GateFactory = Callable[..., Gate]


def u4(alpha: float, beta: float, gamma: float, delta: float) -> Gate:
    """QPanda's U4: e^{i alpha} RZ(beta) RY(gamma) RZ(delta)."""
    definition = QuantumCircuit(1, global_phase=alpha - (beta + delta) / 2)
    definition.append(lib.UGate(gamma, beta, delta), [0])
    gate = Gate("u4", 1, [alpha, beta, gamma, delta])
    gate.definition = definition
    return gate


def _cu(alpha: float, beta: float, gamma: float, delta: float) -> Gate:
    return lib.CUGate(gamma, beta, delta, alpha - (beta + delta) / 2)


def _identity(*_angles: float) -> Gate:
    # ECHO's angle and IDLE's duration (nanoseconds) leave the state alone in
    # pyqpanda3's simulator, so both are identities here.
    return lib.IGate()


#: OriginIR gate names: (qubits, parameters, factory). A tuple of parameter
#: counts lists every form the gate is written in.
GATES: dict[str, tuple[int, int | tuple[int, ...], GateFactory]] = {
    "H": (1, 0, lib.HGate),
    "T": (1, 0, lib.TGate),
    "S": (1, 0, lib.SGate),
    "X": (1, 0, lib.XGate),
    "Y": (1, 0, lib.YGate),
    "Z": (1, 0, lib.ZGate),
    "I": (1, 0, lib.IGate),
    "ECHO": (1, (0, 1), _identity),
    "IDLE": (1, 1, _identity),
    "X1": (1, 0, lambda: lib.RXGate(math.pi / 2)),
    "Y1": (1, 0, lambda: lib.RYGate(math.pi / 2)),
    "Z1": (1, 0, lambda: lib.RZGate(math.pi / 2)),
    "RX": (1, 1, lib.RXGate),
    "RY": (1, 1, lib.RYGate),
    "RZ": (1, 1, lib.RZGate),
    "P": (1, 1, lib.PhaseGate),
    "U1": (1, 1, lib.PhaseGate),
    "U2": (1, 2, lib.U2Gate),
    "RPHI": (1, 2, lib.RGate),
    "U3": (1, 3, lib.UGate),
    "U4": (1, 4, u4),
    "CNOT": (2, 0, lib.CXGate),
    "CZ": (2, 0, lib.CZGate),
    "SWAP": (2, 0, lib.SwapGate),
    "ISWAP": (2, 0, lib.iSwapGate),
    "SQISWAP": (2, 0, lambda: lib.XXPlusYYGate(-math.pi / 2)),
    "CR": (2, 1, lib.CPhaseGate),
    "CP": (2, 1, lib.CPhaseGate),
    "CRX": (2, 1, lib.CRXGate),
    "CRY": (2, 1, lib.CRYGate),
    "CRZ": (2, 1, lib.CRZGate),
    "RXX": (2, 1, lib.RXXGate),
    "RYY": (2, 1, lib.RYYGate),
    "RZZ": (2, 1, lib.RZZGate),
    "RZX": (2, 1, lib.RZXGate),
    "CU": (2, 4, _cu),
    "TOFFOLI": (3, 0, lib.CCXGate),
}

#: The statement keywords, which no QGATE definition may take as its name.
KEYWORDS = frozenset(
    {"QINIT", "CREG", "MEASURE", "RESET", "BARRIER", "DAGGER", "ENDDAGGER", "CONTROL"}
    | {"ENDCONTROL", "QIF", "QELSE", "QENDIF", "QWHILE", "QENDWHILE", "QGATE", "ENDQGATE"}
)
