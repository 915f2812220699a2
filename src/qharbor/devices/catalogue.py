"""The devices a centre offers.

The simulator devices ship built in. Their limits come from the host: the
state-vector qubit limit is the widest circuit whose memory need
(:mod:`qharbor.engines.memory`, for the worst engine that may run it) fits in
what the jobs of this host may use together. Admission uses the same estimate,
so a circuit the device accepts always fits on an idle host.
Device twins are data: the TOML files shipped in ``devices/twins`` and those in
the operator's devices directory, which add devices or replace shipped ones.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from qharbor import errors
from qharbor.devices.device import Device
from qharbor.devices.twins import spec as specs
from qharbor.engines import memory
from qharbor.engines.base import BUILTIN, plugins

# Operations the Aer methods execute directly; control flow and measurement are
# always allowed. Taken from Aer's own configuration for each method, less the
# simulator-only instructions (save_*, set_*, kraus, ...).
_STATEVECTOR_GATES = (
    "ccx ccz cp crx cry crz cswap csx cu cu1 cu2 cu3 cx cy cz delay ecr h id mcp mcphase "
    "mcr mcrx mcry mcrz mcswap mcsx mcu mcu1 mcu2 mcu3 mcx mcy mcz p r rx rxx ry ryy rz "
    "rzx rzz s sdg swap sx sxdg t tdg u u1 u2 u3 unitary x y z"
)
_DENSITY_MATRIX_GATES = (
    "ccx cp cu1 cx cy cz delay ecr h id p r rx rxx ry ryy rz rzx rzz s sdg swap sx sxdg "
    "t tdg u u1 u2 u3 unitary x y z"
)
_MPS_GATES = (
    "ccx cp cswap csx cx cy cz delay ecr h id p r rx rxx ry ryy rz rzx rzz s sdg swap sx "
    "sxdg t tdg u u1 u2 u3 unitary x y z"
)
_STABILIZER_GATES = "cx cy cz delay ecr h id s sdg swap sx sxdg x y z"


def memory_qubit_limit(bytes_per_amplitude_power: int = 1, memory_bytes: int | None = None) -> int:
    """Widest register whose Aer state fits in the memory jobs may use.

    Args:
        bytes_per_amplitude_power: 1 for a state vector (2^n amplitudes), 2 for a
            density matrix (4^n).
        memory_bytes: what the jobs may use together (bytes); this host's default
            capacity when omitted.
    """
    capacity = memory_bytes if memory_bytes is not None else memory.host_capacity()
    method = "density_matrix" if bytes_per_amplitude_power == 2 else "statevector"
    return memory.widest([("aer", "double")], method, capacity)


def _engines_of(engines: Iterable[str], precision: str = "double") -> list[tuple[str, str]]:
    return [(name, precision) for name in engines]


def simulator_devices(max_shots: int = 1_000_000, memory_bytes: int | None = None) -> list[Device]:
    """The built-in Aer simulator devices, with limits derived from this host.

    Args:
        max_shots: the most shots one experiment may ask for.
        memory_bytes: what the jobs of this host may use together (bytes); the
            host's default capacity when omitted.
    """
    capacity = memory_bytes if memory_bytes is not None else memory.host_capacity()
    # Plugin engines join the state-vector device after the built-in ones: a job may
    # pin them, and automatic selection weighs them once this host has their cost fit.
    statevector_engines = (*BUILTIN, *plugins())
    return [
        Device(
            name="statevector",
            kind="simulator",
            engine="aer",
            method="statevector",
            description="Exact state-vector simulation on Qiskit Aer; limit set by memory",
            max_qubits=memory.widest(
                _engines_of(statevector_engines), "statevector", capacity, automatic=True
            ),
            max_shots=max_shots,
            basis_gates=tuple(_STATEVECTOR_GATES.split()),
            engines=statevector_engines,
            memory_bytes=capacity,
        ),
        Device(
            name="density-matrix",
            kind="simulator",
            engine="aer",
            method="density_matrix",
            description="Density-matrix simulation on Qiskit Aer; noisy-capable, small",
            max_qubits=min(14, memory_qubit_limit(2, capacity)),
            max_shots=max_shots,
            basis_gates=tuple(_DENSITY_MATRIX_GATES.split()),
            noisy=True,
            memory_bytes=capacity,
        ),
        Device(
            name="mps",
            kind="simulator",
            engine="aer",
            method="matrix_product_state",
            description="Matrix-product-state simulation on Qiskit Aer; wide, low-entanglement",
            max_qubits=1000,
            max_shots=max_shots,
            basis_gates=tuple(_MPS_GATES.split()),
            memory_bytes=capacity,
        ),
        Device(
            name="stabilizer",
            kind="simulator",
            engine="aer",
            method="stabilizer",
            description="Stabilizer simulation on Qiskit Aer; Clifford circuits, thousands of qubits",  # noqa: E501
            max_qubits=5000,
            max_shots=max_shots,
            basis_gates=tuple(_STABILIZER_GATES.split()),
            clifford_only=True,
            engines=("stim", "aer"),
            memory_bytes=capacity,
        ),
    ]


class Catalogue:
    """The devices of one centre, by name."""

    def __init__(self, devices: list[Device]) -> None:
        self._devices = {d.name: d for d in devices}

    def get(self, name: str) -> Device:
        """The named device.

        Raises:
            errors.DeviceNotFound: naming the devices that do exist.
        """
        try:
            return self._devices[name]
        except KeyError:
            raise errors.DeviceNotFound(
                f"no device named {name!r}; available: {', '.join(sorted(self._devices))}",
                device=name,
                available=sorted(self._devices),
            ) from None

    def __iter__(self) -> Iterator[Device]:
        return iter(self._devices.values())

    def __contains__(self, name: object) -> bool:
        return name in self._devices

    def names(self) -> list[str]:
        return list(self._devices)

    def set_memory(self, memory_bytes: int, memory_where: str) -> None:
        """Every device's jobs may now use ``memory_bytes`` together (a cluster's largest node).

        A simulator's qubit limit follows the memory. The devices are replaced, not
        changed: a reader holds the old one or the new one.
        """
        limits = {d.name: d.max_qubits for d in simulator_devices(memory_bytes=memory_bytes)}
        changed = {}
        for name, device in self._devices.items():
            if device.kind == "simulator" and name in limits:
                device = replace(device, max_qubits=limits[name])
            changed[name] = replace(device, memory_bytes=memory_bytes, memory_where=memory_where)
        self._devices = changed


def twin_device(
    spec: specs.TwinSpec, max_shots: int = 1_000_000, memory_bytes: int | None = None
) -> Device:
    """The device users see for a twin file; ``max_shots`` caps the file's limit.

    ``memory_bytes`` is what the jobs of this host may use together (bytes).
    """
    return Device(
        name=spec.name,
        kind=spec.kind,
        engine=spec.engine,
        method="twin",
        description=spec.description,
        max_qubits=spec.num_qubits,
        max_shots=min(spec.max_shots, max_shots),
        basis_gates=spec.native_gates,
        noisy=True,
        concurrency=spec.concurrency,
        twin=spec,
        memory_bytes=memory_bytes,
    )


def load_twins(devices_dir: Path | None = None, **overrides: float | None) -> list[specs.TwinSpec]:
    """The shipped twins, then the directory's, a later file replacing a same-named one.

    Args:
        devices_dir: the operator's directory of ``*.toml`` device files.
        overrides: values that replace every file's (``calibration_interval_s``,
            ``calibration_duration_s``, ``drift_step_s``); None keeps the file's.

    Raises:
        specs.DeviceFileError: a file is not valid, naming the file and field.
    """
    found = {s.name: s for s in specs.load_dir(specs.BUILTIN_DIR)}
    if devices_dir is not None:
        if not devices_dir.is_dir():
            raise specs.DeviceFileError(
                f"{devices_dir}: the devices directory does not exist", file=str(devices_dir)
            )
        found.update({s.name: s for s in specs.load_dir(devices_dir)})
    changes: dict[str, Any] = {k: v for k, v in overrides.items() if v is not None}
    return [replace(s, **changes) for s in found.values()]


def default_catalogue(
    max_shots: int = 1_000_000,
    devices_dir: Path | None = None,
    memory_bytes: int | None = None,
    **overrides: float | None,
) -> Catalogue:
    """The catalogue a centre starts with: the simulators and every twin.

    ``memory_bytes`` is what the jobs of this host may use together (bytes); the
    host's default capacity when omitted.
    """
    capacity = memory_bytes if memory_bytes is not None else memory.host_capacity()
    twins = [twin_device(s, max_shots, capacity) for s in load_twins(devices_dir, **overrides)]
    simulators = simulator_devices(max_shots, capacity)
    taken = {d.name for d in twins}
    return Catalogue([*(d for d in simulators if d.name not in taken), *twins])


def stabilizer_basis() -> frozenset[str]:
    """The gates the stabilizer device executes natively."""
    return frozenset(_STABILIZER_GATES.split())


def memory_need(
    device: Device,
    workloads: Iterable[memory.Workload],
    *,
    precision: str = "double",
    engine: str = "auto",
) -> int:
    """The memory a job on ``device`` needs on its worker (bytes), for the worst
    engine that may run it: the pinned one, else any of the device's that
    automatic selection may pick at each circuit's width."""
    names = (engine,) if engine != "auto" else device.candidate_engines
    method = device.method
    loads = list(workloads)
    if device.twin is not None:
        # A twin simulates only the active qubits; it holds a density matrix of at
        # most DENSITY_MAX_QUBITS, wider ones as trajectories or tableaus.
        from qharbor.engines.twin_methods import DENSITY_MAX_QUBITS

        loads = [replace(w, width=min(w.width, DENSITY_MAX_QUBITS)) for w in loads]
    return memory.job_bytes(
        _engines_of(names, precision), method, loads, automatic=engine == "auto"
    )


def check_memory(
    device: Device, need_bytes: int, program: int | None = None, qubits: int | None = None
) -> None:
    """Refuse a job that could never fit: its memory need is more than the host's jobs
    may use together, even with nothing else running.

    Args:
        device: the job's device.
        need_bytes: the job's need (:func:`memory_need`).
        program: the program the need is for, if one.
        qubits: that program's width.

    Raises:
        errors.DeviceLimit: naming the need, the capacity and the device's qubit limit.
    """
    capacity = device.memory_bytes
    if capacity is None or need_bytes <= capacity:
        return
    who = "the job" if program is None else f"program {program}"
    where = device.memory_where or "this centre's jobs may use together"
    detail: dict[str, Any] = {} if program is None else {"program": program}
    if qubits is not None:
        who += f" ({qubits} qubits)"
        detail["qubits"] = qubits
    raise errors.DeviceLimit(
        f"{who} needs about {memory.describe(need_bytes)} of memory on device "
        f"{device.name!r}, more than the {memory.describe(capacity)} {where} "
        f"(the device runs at most {device.max_qubits} qubits); use "
        "fewer qubits, or fewer parameter bindings with result types, or split the job",
        **detail,
        device=device.name,
        memory_bytes=need_bytes,
        capacity_bytes=capacity,
        max_qubits=device.max_qubits,
        **({"node": device.memory_where} if device.memory_where else {}),
    )
