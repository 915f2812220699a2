"""Checks the sandbox runs on an untrusted program, beside its parse.

Each is a module-level function of picklable arguments, so
:meth:`~qharbor.programs.sandbox.ParserPool.call` can run it in a parser
process under the parse's time and memory bound: a check that synthesises
gates or transpiles costs that process, never the API's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from qharbor.devices import Device, catalogue, operations
from qharbor.engines.gatelist import GateList
from qharbor.engines.memory import Workload
from qharbor.engines.quick_features import gate_list_features, quick_features
from qharbor.jobs.parsed import load_circuit
from qharbor.primitives import prepare_pubs
from qharbor.primitives.pubs import ParseCircuit
from qharbor.programs.intake import parse_with_qpy

#: Wall-clock seconds the sandbox may take over one primitive job's PUBs.
PUBS_TIMEOUT_SECONDS = 5.0


def prepare_pubs_here(
    kind: str,
    pubs: tuple[dict[str, Any], ...],
    device: Device,
    shots: int,
    precision: float | None,
    max_program_bytes: int,
    max_experiments: int,
    plan: Any = None,
    parse: ParseCircuit | None = None,
) -> Any:
    """:func:`~qharbor.primitives.prepare_pubs` with positional arguments, for the sandbox.

    ``parse`` replaces the program intake's parser (see
    :func:`~qharbor.jobs.preparation.prepare`).
    """
    return prepare_pubs(
        kind,
        pubs,
        device,
        shots=shots,
        precision=precision,
        max_program_bytes=max_program_bytes,
        max_experiments=max_experiments,
        parse=parse or parse_pub,
        plan=plan,
    )


def parse_pub(source: str, fmt: str, max_bytes: int) -> tuple[Any, bytes]:
    return parse_with_qpy(source, fmt, max_bytes=max_bytes)


def check_on_device(
    device: Device,
    skip_isa: bool,
    index: int,
    circuit: Any,
    extras: Mapping[str, Any],
    *,
    precision: str = "double",
    engine: str = "auto",
    shots: int = 1024,
) -> Any:
    """Refuse a circuit the device cannot run; what the sandbox runs after parsing.

    A check may synthesise gates (a Clifford test on a large definition), so it
    runs beside the parse, under the same bound. ``circuit`` is a plain
    program's gate list (:mod:`qharbor.engines.gatelist`) or any other's
    circuit; a gate list is read as it is on devices that need only its width
    and features. Returns the circuit's
    :func:`~qharbor.engines.quick_features.quick_features`, for the engine check.

    Raises:
        errors.QHarborError: ``DEVICE_LIMIT`` (too wide, or more memory than the host
            has for jobs), ``DEVICE_UNSUPPORTED_OPERATION``
            or ``PROGRAM_NOT_ISA``, naming the program by ``index``.
    """
    if isinstance(circuit, GateList) and (device.clifford_only or device.twin is not None):
        circuit = circuit.to_circuit()  # Clifford, ISA and duration checks read circuits
    # Too wide for the host's memory is the first thing to say of a wide program.
    width = circuit.num_qubits
    need = catalogue.memory_need(device, [Workload(width, 0)], precision=precision, engine=engine)
    catalogue.check_memory(device, need, program=index, qubits=width)
    operations.check_circuit(device, circuit, index)
    if device.twin is not None:
        operations.check_twin_time(device.twin, circuit, shots, index)
        # A Braket verbatim box asks for the same as skip_compilation.
        if skip_isa or extras.get("verbatim"):
            operations.check_isa(device.twin, circuit, index)
    if isinstance(circuit, GateList):
        return gate_list_features(circuit)
    return quick_features(circuit)


def summarise(
    document: dict[str, Any] | None,
    twin_spec: Any,
    packed: str,
    digest: str,
    optimization_level: int,
    skip_compilation: bool,
    index: int,
    measure_all: bool = False,
) -> dict[str, Any]:
    """One program's dry-run row: compiled for the twin (when there is one) and measured.

    What a sandboxed parser runs, so the transpiler's work is bounded too.
    ``measure_all`` first replaces the circuit's final measurements by one of
    every qubit (an estimator PUB's circuit, as its runs are).
    """
    from qharbor.devices.twins import timing
    from qharbor.workers.compiler import compile_for_twin, two_qubit_gates

    circuit = load_circuit(packed)
    if measure_all:
        circuit = circuit.remove_final_measurements(inplace=False) or circuit
        circuit.measure_all()
    if document is None:
        return {
            "depth": circuit.depth(),
            "two_qubit_gates": two_qubit_gates(circuit),
            "active_qubits": len(operations.used_qubits(circuit)),
        }
    if skip_compilation:
        compiled = circuit
    else:
        compiled, _ = compile_for_twin(document, circuit, digest, optimization_level)
    return {
        "depth": compiled.depth(),
        "two_qubit_gates": two_qubit_gates(compiled),
        "active_qubits": len(operations.used_qubits(compiled)),
        "duration_s": timing.circuit_duration_s(document, compiled),
    }
