"""Compiles a parsed circuit for a device."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from qiskit import QuantumCircuit, transpile
from qiskit.circuit import CONTROL_FLOW_OP_NAMES, ControlFlowOp
from qiskit.circuit.library import get_standard_gate_name_mapping
from qiskit.quantum_info import Clifford

from qharbor import errors
from qharbor.devices import Device
from qharbor.devices.operations import STRUCTURAL
from qharbor.devices.twins.target import target as twin_target

#: Compiled twin circuits kept per worker process.
_CACHE_SIZE = 256
_cache: OrderedDict[tuple[str, str, int, int], QuantumCircuit] = OrderedDict()
_targets: OrderedDict[tuple[str, int], Any] = OrderedDict()


def operation_names(circuit: QuantumCircuit) -> set[str]:
    """Every operation name in the circuit, inside control flow too."""
    # Counted in Qiskit's compiled core: walking ``circuit.data`` builds a Python
    # gate object per instruction, which for small circuits costs more than the run.
    names = set(circuit.count_ops())
    if not names & CONTROL_FLOW_OP_NAMES:
        return names
    for instruction in circuit.data:
        op = instruction.operation
        names.add(op.name)
        if isinstance(op, ControlFlowOp):
            for block in op.blocks:
                names |= operation_names(block)
    return names


def compile_for(device: Device, circuit: QuantumCircuit, seed: int = 0) -> QuantumCircuit:
    """The circuit in the device's native operations.

    A circuit already in them is returned as it is, so simulators skip the
    transpiler for the common case.

    Raises:
        errors.CompileError: the circuit cannot be expressed in the device's operations.
    """
    native = set(device.basis_gates) | STRUCTURAL
    if operation_names(circuit) <= native:
        return circuit
    if device.clifford_only:
        return _clifford_compile(circuit, frozenset(device.basis_gates))
    # The transpiler takes only standard gate names; control flow it handles itself.
    standard = get_standard_gate_name_mapping()
    basis = sorted(g for g in native if g in standard)
    try:
        return transpile(
            circuit,
            basis_gates=basis,
            optimization_level=0,
            seed_transpiler=seed,
        )
    except Exception as exc:  # the transpiler raises several unrelated types
        raise errors.CompileError(f"could not compile for {device.name!r}: {exc}") from None


def _clifford_compile(circuit: QuantumCircuit, basis: frozenset[str]) -> QuantumCircuit:
    """Replace each Clifford gate outside the basis by its H/S/CX synthesis."""
    out = circuit.copy_empty_like()
    for instruction in circuit.data:
        op = instruction.operation
        if isinstance(op, ControlFlowOp):
            blocks = [_clifford_compile(b, basis) for b in op.blocks]
            out.append(op.replace_blocks(blocks), instruction.qubits, instruction.clbits)
        elif op.name in basis or op.name in STRUCTURAL:
            out.append(op, instruction.qubits, instruction.clbits)
        else:
            try:
                synthesized = Clifford(op).to_circuit()
            except Exception:
                raise errors.CompileError(
                    f"{op.name!r} is not a Clifford operation; the stabilizer device "
                    "runs Clifford circuits only"
                ) from None
            out.compose(synthesized, qubits=instruction.qubits, inplace=True)
    return out


def compile_for_twin(
    document: Mapping[str, Any], circuit: QuantumCircuit, circuit_hash: str, optimization_level: int
) -> tuple[QuantumCircuit, bool]:
    """The circuit transpiled to a twin's target: native gates, coupling map, errors.

    The result is cached per process by (circuit hash, device, calibration
    version, optimisation level): within one recalibration the same program
    always compiles to the same circuit.

    Returns:
        The compiled circuit (on physical qubits), and whether it came from the cache.

    Raises:
        errors.CompileError: the transpiler could not map the circuit.
    """
    device = str(document["device"])
    version = int(document["calibration"]["version"])
    key = (circuit_hash, device, version, optimization_level)
    cached = _cache.get(key)
    if cached is not None:
        _cache.move_to_end(key)
        return cached, True
    target = _targets.get((device, version))
    if target is None:
        target = _targets[(device, version)] = twin_target(document)
        while len(_targets) > 16:
            _targets.popitem(last=False)
    try:
        compiled = transpile(
            circuit,
            target=target,
            optimization_level=optimization_level,
            seed_transpiler=version,
        )
    except Exception as exc:  # the transpiler raises several unrelated types
        raise errors.CompileError(f"could not compile for {device!r}: {exc}") from None
    _cache[key] = compiled
    while len(_cache) > _CACHE_SIZE:
        _cache.popitem(last=False)
    return compiled, False


def two_qubit_gates(circuit: QuantumCircuit) -> int:
    """How many two-qubit gates the circuit applies (barriers and measures aside)."""
    return sum(
        1
        for instruction in circuit.data
        if len(instruction.qubits) == 2
        and instruction.operation.name not in STRUCTURAL
        and instruction.operation.name != "barrier"
    )
