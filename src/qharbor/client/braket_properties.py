"""A centre's device described in Braket's device-capabilities schema.

``QHarborDevice.properties`` answers with what Braket code reads from
``AwsDevice.properties`` or ``LocalSimulator().properties``: for a simulator a
``GateModelSimulatorDeviceCapabilities``; for a device twin a
:class:`TwinDeviceCapabilities` whose ``paradigm`` is Braket's
``GateModelQpuParadigmProperties`` (qubit count, native gates, connectivity from
the twin's coupling map). Both are built from ``GET /v1/devices/{name}``.

Needs the ``braket`` extra (``pip install 'qharbor[braket]'``).
"""

from __future__ import annotations

from typing import Any

from braket.device_schema import (
    DeviceActionType,
    DeviceCapabilities,
    DeviceConnectivity,
    DeviceServiceProperties,
    GateModelQpuParadigmProperties,
    OpenQASMDeviceActionProperties,
    StandardizedGateModelQpuDeviceProperties,
)
from braket.device_schema.simulators import (
    GateModelSimulatorDeviceCapabilities,
    GateModelSimulatorDeviceParameters,
    GateModelSimulatorParadigmProperties,
)
from braket.schema_common import BraketSchemaBase, BraketSchemaHeader
from pydantic.v1 import Field

#: Braket's OpenQASM gate names that the centre reads (``U`` is OpenQASM's own).
SUPPORTED_OPERATIONS = (
    "U",
    "ccnot",
    "cnot",
    "cphaseshift",
    "cphaseshift00",
    "cphaseshift01",
    "cphaseshift10",
    "cswap",
    "cv",
    "cy",
    "cz",
    "ecr",
    "gpi",
    "gpi2",
    "h",
    "i",
    "iswap",
    "ms",
    "phaseshift",
    "prx",
    "pswap",
    "rx",
    "ry",
    "rz",
    "s",
    "si",
    "swap",
    "t",
    "ti",
    "v",
    "vi",
    "x",
    "xx",
    "xy",
    "y",
    "yy",
    "z",
    "zz",
)

#: The centre's (Qiskit's) gate names that Braket spells differently.
BRAKET_GATE_NAMES = {
    "cx": "cnot",
    "ccx": "ccnot",
    "sx": "v",
    "sxdg": "vi",
    "sdg": "si",
    "tdg": "ti",
    "p": "phaseshift",
    "cp": "cphaseshift",
    "id": "i",
    "rxx": "xx",
    "ryy": "yy",
    "rzz": "zz",
}

#: One-qubit observables the centre's result types take.
OBSERVABLES = ["x", "y", "z", "h", "i"]
#: Braket's largest shot count (a 64-bit integer), for "no upper limit".
_MAX = 2**63 - 1

_EXACT_ONLY = ("StateVector", "DensityMatrix", "Amplitude")
_PRAGMAS = [
    "braket_verbatim_box",
    "braket_result_type_expectation",
    "braket_result_type_variance",
    "braket_result_type_probability",
    "braket_result_type_sample",
]
_EXACT_PRAGMAS = [
    "braket_result_type_state_vector",
    "braket_result_type_density_matrix",
    "braket_result_type_amplitude",
]


class TwinDeviceCapabilities(BraketSchemaBase, DeviceCapabilities):
    """A device twin's capabilities, shaped like a Braket QPU's.

    Attributes:
        action: the OpenQASM action: operations, result types, pragmas.
        paradigm: qubit count, native gate set and connectivity (Braket names).
        standardized: the calibration in force, as Braket's standardized QPU
            properties (T1 and T2 in seconds, gate and readout fidelities).
    """

    _PROGRAM_HEADER = BraketSchemaHeader(
        name="qharbor.braket.twin_device_capabilities", version="1"
    )
    braketSchemaHeader: BraketSchemaHeader = Field(default=_PROGRAM_HEADER, const=_PROGRAM_HEADER)
    action: dict[DeviceActionType | str, OpenQASMDeviceActionProperties]
    paradigm: GateModelQpuParadigmProperties
    standardized: StandardizedGateModelQpuDeviceProperties | None


def exact_result_types(info: dict[str, Any]) -> bool:
    """Whether the device computes exact result types with ``shots=0``.

    Only noiseless simulators do: a noisy device's results come from its samples.
    """
    return info.get("kind") == "simulator" and not info.get("noisy")


def capabilities(
    info: dict[str, Any], calibration: dict[str, Any] | None = None
) -> DeviceCapabilities:
    """Braket's capabilities object for a device, from ``GET /v1/devices/{name}``.

    Args:
        info: the centre's device object.
        calibration: a twin's calibration snapshot (``GET
            /v1/devices/{name}/calibration``), for its standardized properties.
    """
    exact = exact_result_types(info)
    max_shots = int(info.get("max_shots") or _MAX)
    action = OpenQASMDeviceActionProperties(
        version=["1"],
        actionType=DeviceActionType.OPENQASM,
        supportedOperations=list(SUPPORTED_OPERATIONS),
        supportedModifiers=[{"name": "ctrl"}, {"name": "negctrl"}, {"name": "inv"}],
        supportedPragmas=_PRAGMAS + (_EXACT_PRAGMAS if exact else []),
        forbiddenPragmas=["braket_unitary_matrix"]
        + ([] if exact else _EXACT_PRAGMAS)
        + [f"braket_noise_{n}" for n in ("bit_flip", "depolarizing", "kraus")],
        supportedResultTypes=_result_types(exact, max_shots),
        supportPhysicalQubits=True,
        supportsPartialVerbatimBox=True,
        requiresAllQubitsMeasurement=False,
        requiresContiguousQubitIndices=False,
        supportsUnassignedMeasurements=True,
    )
    service = DeviceServiceProperties(
        executionWindows=[
            {"executionDay": "Everyday", "windowStartHour": "00:00", "windowEndHour": "23:59:59"}
        ],
        shotsRange=(0 if exact else 1, max_shots),
        deviceDocumentation={
            "imageUrl": "",
            "summary": str(info.get("description") or info["name"]),
            "externalDocumentationUrl": "",
        },
    )
    actions: dict[DeviceActionType | str, Any] = {DeviceActionType.OPENQASM: action}
    twin = info.get("twin")
    if info.get("kind") == "twin" and isinstance(twin, dict):
        return TwinDeviceCapabilities(
            service=service,
            action=actions,
            deviceParameters={},
            paradigm=GateModelQpuParadigmProperties(
                qubitCount=int(twin.get("num_qubits") or info.get("max_qubits") or 0),
                nativeGateSet=braket_gate_names(twin.get("native_gates") or info["basis_gates"]),
                connectivity=_connectivity(twin.get("edges") or []),
            ),
            standardized=_standardized(calibration) if calibration else None,
        )
    return GateModelSimulatorDeviceCapabilities(
        service=service,
        action=actions,
        deviceParameters=GateModelSimulatorDeviceParameters.schema(),
        paradigm=GateModelSimulatorParadigmProperties(qubitCount=int(info.get("max_qubits") or 0)),
    )


def braket_gate_names(names: list[str]) -> list[str]:
    """The centre's gate names as Braket spells them, in the same order."""
    return [BRAKET_GATE_NAMES.get(name, name) for name in names]


def _connectivity(edges: list[list[int]]) -> DeviceConnectivity:
    # The twin's couplers work both ways; Braket lists each direction a gate may take.
    graph: dict[str, list[str]] = {}
    for a, b in edges:
        graph.setdefault(str(a), []).append(str(b))
        graph.setdefault(str(b), []).append(str(a))
    ordered = {k: sorted(v, key=int) for k, v in sorted(graph.items(), key=lambda kv: int(kv[0]))}
    return DeviceConnectivity(fullyConnected=not edges, connectivityGraph=ordered)


def _standardized(calibration: dict[str, Any]) -> StandardizedGateModelQpuDeviceProperties:
    """A calibration snapshot as Braket's standardized properties (times in seconds)."""
    one: dict[str, Any] = {}
    gate_errors: dict[int, list[float]] = {}
    two: dict[str, Any] = {}
    for gate in calibration.get("gates") or []:
        qubits = gate["qubits"]
        if len(qubits) == 1:
            gate_errors.setdefault(qubits[0], []).append(float(gate["error"]))
        elif len(qubits) == 2:
            key = "-".join(str(q) for q in qubits)
            two.setdefault(key, {"twoQubitGateFidelity": []})["twoQubitGateFidelity"].append(
                {
                    "gateName": BRAKET_GATE_NAMES.get(gate["gate"], gate["gate"]),
                    "fidelity": 1 - float(gate["error"]),
                    "fidelityType": {"name": "RANDOMIZED_BENCHMARKING"},
                }
            )
    for index, qubit in enumerate(calibration.get("qubits") or []):
        errors = gate_errors.get(index) or [0.0]
        readout = (float(qubit["readout_p01"]) + float(qubit["readout_p10"])) / 2
        one[str(index)] = {
            "T1": {"value": float(qubit["t1_us"]) * 1e-6, "standardError": None, "unit": "S"},
            "T2": {"value": float(qubit["t2_us"]) * 1e-6, "standardError": None, "unit": "S"},
            "oneQubitFidelity": [
                {
                    "fidelityType": {"name": "RANDOMIZED_BENCHMARKING"},
                    "fidelity": 1 - sum(errors) / len(errors),
                },
                {"fidelityType": {"name": "READOUT"}, "fidelity": 1 - readout},
            ],
        }
    return StandardizedGateModelQpuDeviceProperties(oneQubitProperties=one, twoQubitProperties=two)


def _result_types(exact: bool, max_shots: int) -> list[dict[str, Any]]:
    low = 0 if exact else 1
    types: list[dict[str, Any]] = [
        {"name": "Sample", "observables": OBSERVABLES, "minShots": 1, "maxShots": max_shots},
        {"name": "Expectation", "observables": OBSERVABLES, "minShots": low, "maxShots": max_shots},
        {"name": "Variance", "observables": OBSERVABLES, "minShots": low, "maxShots": max_shots},
        {"name": "Probability", "observables": None, "minShots": low, "maxShots": max_shots},
    ]
    if exact:
        types += [
            {"name": n, "observables": None, "minShots": 0, "maxShots": 0} for n in _EXACT_ONLY
        ]
    return types
