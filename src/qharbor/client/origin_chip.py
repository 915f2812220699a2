"""A device's chip as pyqpanda3's cloud describes one: ``backend.chip_info()``.

Built from the device's JSON (``GET /v1/devices/{name}``) and, for a twin, the
calibration snapshot in force now (``GET /v1/devices/{name}/calibration``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

# Qiskit's names for native gates, and OriginIR's.
_ORIGIN_GATE_NAMES = {
    "rz": "RZ",
    "rx": "RX",
    "ry": "RY",
    "sx": "X1",
    "x": "X",
    "y": "Y",
    "z": "Z",
    "h": "H",
    "s": "S",
    "t": "T",
    "cz": "CZ",
    "cx": "CNOT",
    "swap": "SWAP",
    "iswap": "ISWAP",
    "rxx": "RXX",
    "ryy": "RYY",
    "rzz": "RZZ",
    "u": "U3",
    "r": "RPhi",
    "p": "P",
}


class SingleQubitInfo:
    """One qubit's calibration, as pyqpanda3 reports it.

    Fidelities are ``1 - error``; the readout fidelity averages the two
    readout errors (0 read as 1 and 1 read as 0).
    """

    def __init__(self, qubit: int, data: Mapping[str, Any], gate_error: float | None) -> None:
        self._qubit = qubit
        self._data = dict(data)
        self._gate_error = gate_error

    def get_qubit_id(self) -> str:
        return str(self._qubit)

    def get_readout_fidelity(self) -> float:
        p01, p10 = self._data.get("readout_p01"), self._data.get("readout_p10")
        if p01 is None or p10 is None:
            return 1.0
        return 1.0 - (float(p01) + float(p10)) / 2

    def get_single_gate_fidelity(self) -> float:
        return 1.0 if self._gate_error is None else 1.0 - self._gate_error

    def get_frequency(self) -> float:
        """The qubit's frequency, in Hz."""
        ghz = self._data.get("frequency_ghz")
        return 0.0 if ghz is None else float(ghz) * 1e9

    def get_t1(self) -> float:
        """T1, in microseconds."""
        return float(self._data.get("t1_us") or 0.0)

    def get_t2(self) -> float:
        """T2, in microseconds."""
        return float(self._data.get("t2_us") or 0.0)

    def __repr__(self) -> str:
        return (
            f"<SingleQubitInfo {self._qubit}: gate {self.get_single_gate_fidelity():.5f}, "
            f"readout {self.get_readout_fidelity():.5f}>"
        )


class DoubleQubitsInfo:
    """A coupled pair of qubits and its two-qubit gate fidelity."""

    def __init__(self, qubit1: int, qubit2: int, fidelity: float) -> None:
        self._qubits = [qubit1, qubit2]
        self._fidelity = fidelity

    def get_qubits(self) -> list[int]:
        return list(self._qubits)

    def get_fidelity(self) -> float:
        return self._fidelity

    def __repr__(self) -> str:
        return f"<DoubleQubitsInfo {self._qubits}: {self._fidelity:.5f}>"


class ChipInfo:
    """A device's chip: qubits, coupling, native gates and calibrated fidelities.

    Built from the device (``GET /v1/devices/{name}``) and, for a twin, its
    calibration snapshot in force now. A simulator has no coupling map (every
    pair may interact) and no calibration, so its topology and qubit lists
    are empty.
    """

    def __init__(self, device: Mapping[str, Any], calibration: Mapping[str, Any] | None) -> None:
        self._device = dict(device)
        twin = device.get("twin") or {}
        self._num_qubits = int(twin.get("num_qubits") or device.get("max_qubits") or 0)
        self._edges = sorted(
            {(min(int(a), int(b)), max(int(a), int(b))) for a, b in twin.get("edges") or ()}
        )
        self._native = list(twin.get("native_gates") or device.get("basis_gates") or ())
        self._durations = {
            name: float(spec.get("duration_ns") or 0.0)
            for name, spec in (twin.get("gates") or {}).items()
        }
        errors_by_key: dict[tuple[str, tuple[int, ...]], float] = {}
        for entry in (calibration or {}).get("gates") or ():
            if entry.get("error") is not None:
                key = (str(entry["gate"]), tuple(int(q) for q in entry["qubits"]))
                errors_by_key[key] = float(entry["error"])
        self._errors = errors_by_key
        self._qubits = list((calibration or {}).get("qubits") or ())

    def chip_id(self) -> str:
        return str(self._device.get("name", ""))

    def qubits_num(self) -> int:
        return self._num_qubits

    def available_qubits(self) -> list[int]:
        """Qubits jobs may use now: all of them while the device is online."""
        if self._device.get("status", "ONLINE") != "ONLINE":
            return []
        return list(range(self._num_qubits))

    def high_frequency_qubits(self) -> list[int]:
        """Twins do not model tunable-frequency groups, so this is empty."""
        return []

    def get_basic_gates(self) -> list[str]:
        """The native gates, by their OriginIR names (``sx`` is ``X1``, ``cx`` is ``CNOT``)."""
        return [_ORIGIN_GATE_NAMES.get(g, g.upper()) for g in self._native]

    def get_chip_topology(self, qubits: Sequence[int] = ()) -> list[list[int]]:
        """Coupled pairs ``[a, b]`` (a < b), among ``qubits`` if given."""
        wanted = set(qubits)
        return [[a, b] for a, b in self._edges if not wanted or (a in wanted and b in wanted)]

    def single_qubit_info(self) -> list[SingleQubitInfo]:
        one_qubit = [g for g in self._native if self._durations.get(g, 0.0) > 0]
        out = []
        for index, data in enumerate(self._qubits):
            measured = [
                self._errors[(g, (index,))] for g in one_qubit if (g, (index,)) in self._errors
            ]
            error = sum(measured) / len(measured) if measured else None
            out.append(SingleQubitInfo(index, data, error))
        return out

    def double_qubits_info(self) -> list[DoubleQubitsInfo]:
        out = []
        for a, b in self._edges:
            found = [
                e
                for (gate, pair), e in self._errors.items()
                if pair in ((a, b), (b, a)) and len(pair) == 2
            ]
            if found:
                out.append(DoubleQubitsInfo(a, b, 1.0 - max(found)))
        return out

    def get_single_gate_timing(self) -> int:
        """The longest single-qubit native gate, in nanoseconds."""
        return int(max((self._durations.get(g, 0.0) for g in self._native_of(1)), default=0))

    def get_double_gate_timing(self) -> int:
        """The longest two-qubit native gate, in nanoseconds."""
        return int(max((self._durations.get(g, 0.0) for g in self._native_of(2)), default=0))

    def _native_of(self, width: int) -> list[str]:
        return [
            g
            for g in self._native
            if any(len(q) == width for (name, q) in self._errors if name == g)
        ]

    def __repr__(self) -> str:
        return f"<ChipInfo {self.chip_id()}: {self._num_qubits} qubits>"
