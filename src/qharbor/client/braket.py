"""A Braket device backed by a qharbor centre.

``QHarborDevice`` is a ``braket.devices.Device``: code written for Braket's
``LocalSimulator()`` or ``AwsDevice(...)`` runs on the centre with only the
device line changed. ``run`` and ``run_batch`` take Braket circuits (with free
parameters, result types and verbatim boxes) or OpenQASM 3; each task is one
centre job, and its ``result()`` is Braket's ``GateModelQuantumTaskResult``.
``properties`` is the device in Braket's device-capabilities schema.

Needs the ``braket`` extra (``pip install 'qharbor[braket]'``).

Example:
    >>> from braket.circuits import Circuit
    >>> from qharbor.braket import QHarborDevice
    >>> device = QHarborDevice("statevector")        # QHARBOR_URL/QHARBOR_TOKEN
    >>> device.run(Circuit().h(0).cnot(0, 1), shots=1000).result().measurement_counts
    Counter({'00': 503, '11': 497})
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from braket.circuits import Circuit
from braket.circuits.circuit_helpers import validate_circuit_and_shots
from braket.circuits.serialization import IRType
from braket.device_schema import DeviceActionType, DeviceCapabilities
from braket.devices import Device
from braket.ir.openqasm import Program as OpenQASMProgram

from qharbor.client import braket_properties
from qharbor.client.braket_results import BraketProgram
from qharbor.client.braket_tasks import QHarborQuantumTask, QHarborQuantumTaskBatch
from qharbor.client.service import HarborService

#: Shots when none are given, as Braket's devices default: exact on simulators.
DEFAULT_SHOTS_SIMULATOR = 0
DEFAULT_SHOTS_QPU = 1000
#: Tasks of a batch submitted (and waited for) at once, unless ``max_parallel`` says.
DEFAULT_MAX_PARALLEL = 10
#: Keyword arguments of ``AwsDevice.run`` that only mean something on AWS.
_AWS_ONLY = (
    "s3_destination_folder",
    "poll_interval_seconds",
    "reservation_arn",
    "gate_definitions",
    "device_parameters",
    "disable_qubit_rewiring",
)


class QHarborDevice(Device):
    """A centre's device, used the way Braket devices are.

    Args:
        device: the centre's device name (see ``qharbor devices``).
        service: a connected :class:`~qharbor.client.service.HarborService`;
            by default one from the environment or the saved account.

    Raises:
        errors.DeviceNotFound: the centre has no such device.
    """

    def __init__(self, device: str = "statevector", service: HarborService | None = None) -> None:
        self._service = service or HarborService()
        super().__init__(name=device, status="ONLINE")
        self.refresh_metadata()

    def refresh_metadata(self) -> None:
        """Read the device again from the centre: status, properties, a twin's calibration."""
        self._info = self._service.device(self.name).to_json()
        twin = self._info.get("kind") == "twin"
        calibration = self._service.calibration(self.name) if twin else None
        self._properties = braket_properties.capabilities(self._info, calibration)
        self._status = str(self._info.get("status", "ONLINE"))

    @property
    def properties(self) -> DeviceCapabilities:
        """The device in Braket's device-capabilities schema.

        A ``GateModelSimulatorDeviceCapabilities`` for a simulator; for a device
        twin a :class:`~qharbor.client.braket_properties.TwinDeviceCapabilities`
        with Braket's QPU paradigm (qubit count, native gates, connectivity).
        As of construction or the last :meth:`refresh_metadata`.
        """
        return self._properties

    @property
    def info(self) -> dict[str, Any]:
        """The centre's device object (``GET /v1/devices/{name}``) as last read."""
        return dict(self._info)

    def run(
        self,
        task_specification: Circuit | OpenQASMProgram | str,
        shots: int | None = None,
        inputs: dict[str, float] | None = None,
        *args: Any,
        seed: int | None = None,
        poll_timeout_seconds: float | None = None,
        **kwargs: Any,
    ) -> QHarborQuantumTask:
        """Run a Braket circuit (or OpenQASM 3) on the centre as one job.

        Args:
            task_specification: a ``braket.circuits.Circuit``, an OpenQASM
                ``Program`` or OpenQASM 3 source.
            shots: shots to run; 0 asks for exact result types only (noiseless
                simulators). By default 0 on simulators and 1000 on twins, as
                Braket's devices default.
            inputs: values for the circuit's free parameters (``input`` variables).
            seed: sampling seed, for reproducible counts.
            poll_timeout_seconds: how long ``result()`` waits at most, in seconds.
            *args: accepted for Braket's signature and ignored.
            **kwargs: ``AwsDevice.run``'s AWS-only options (S3 folder, poll
                interval, reservation), accepted and ignored.

        Raises:
            ValueError: the circuit and shots do not go together (Braket's checks).
            NameError: a free parameter of the circuit has no input, as in Braket.
            TypeError: a task type other than a gate-model circuit or program.
            errors.ProgramError: the centre refused the program (nothing was queued).
        """
        _check_kwargs(kwargs)
        program = self._prepare(task_specification, self._shots(shots), inputs)
        return self._submit(program, seed, poll_timeout_seconds)

    def run_batch(
        self,
        task_specifications: Circuit | OpenQASMProgram | str | list[Any],
        shots: int | Sequence[int] | None = None,
        max_parallel: int | None = None,
        inputs: dict[str, float] | list[dict[str, float]] | None = None,
        *args: Any,
        seed: int | None = None,
        poll_timeout_seconds: float | None = None,
        **kwargs: Any,
    ) -> QHarborQuantumTaskBatch:
        """Run several specifications, one centre job each, submitted in parallel.

        As in Braket, one specification with a list of inputs runs once per
        input, and a list of specifications with one input (or shot count) uses
        it for each; otherwise the lists pair up and must be equally long.

        Args:
            task_specifications: circuits or programs (see :meth:`run`).
            shots: one shot count for all, or one per task.
            max_parallel: jobs submitted and waited for at once (default 10).
            inputs: one set of inputs for all, or one per task.
            seed: sampling seed for every task.
            poll_timeout_seconds: how long each ``result()`` waits at most, in seconds.
            *args: accepted for Braket's signature and ignored.
            **kwargs: AWS-only options, accepted and ignored.

        Raises:
            ValueError: lists of different lengths, or a specification and its
                shots that do not go together; nothing is submitted then.
            errors.QHarborError: the centre refused a program; the tasks it had
                already taken are cancelled, so no half batch is left running.
        """
        _check_kwargs(kwargs)
        specs = task_specifications if isinstance(task_specifications, list) else None
        inputs_list = inputs if isinstance(inputs, list) else None
        shots_list = list(shots) if isinstance(shots, Sequence) else None
        lengths = {len(x) for x in (specs, inputs_list, shots_list) if x is not None}
        if len(lengths) > 1:
            raise ValueError(
                "Multiple inputs, shots and task specifications must be equal in number; "
                f"got lengths {sorted(lengths)}"
            )
        count = lengths.pop() if lengths else 1
        one_shots = None if isinstance(shots, Sequence) else shots
        one_inputs = None if isinstance(inputs, list) else inputs
        programs = [
            self._prepare(spec, self._shots(n), given)
            for spec, n, given in zip(
                specs if specs is not None else [task_specifications] * count,
                shots_list if shots_list is not None else [one_shots] * count,
                inputs_list if inputs_list is not None else [one_inputs] * count,
                strict=True,
            )
        ]
        workers = max(1, max_parallel or DEFAULT_MAX_PARALLEL)
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = [
                pool.submit(self._submit, program, seed, poll_timeout_seconds)
                for program in programs
            ]
        refused = [e for e in (f.exception() for f in futures) if e is not None]
        if refused:
            # No half batch: what the centre took is cancelled, and its refusal raised.
            for future in futures:
                if future.exception() is None:
                    future.result().cancel()
            raise refused[0]
        tasks = [future.result() for future in futures]
        return QHarborQuantumTaskBatch(
            tasks,
            resubmit=lambda task: self._submit(task.program, seed, poll_timeout_seconds),
            max_workers=workers,
        )

    # --- translation ------------------------------------------------------------------

    def _shots(self, shots: int | None) -> int:
        if shots is None:
            exact = braket_properties.exact_result_types(self._info)
            return DEFAULT_SHOTS_SIMULATOR if exact else DEFAULT_SHOTS_QPU
        if shots < 0:
            raise ValueError(f"shots must be 0 or more, got {shots}")
        if shots == 0 and not braket_properties.exact_result_types(self._info):
            raise ValueError(
                f"device {self.name!r} gives results from shots only; ask for shots of 1 "
                "or more (shots=0, exact result types, is for noiseless simulators)"
            )
        return shots

    def _prepare(self, spec: Any, shots: int, inputs: dict[str, float] | None) -> BraketProgram:
        given = dict(inputs or {})
        if isinstance(spec, Circuit):
            validate_circuit_and_shots(spec, shots)
            self._check_result_types(spec, shots)
            names = {parameter.name for parameter in spec.parameters}
            missing = sorted(names - set(given))
            if missing:
                # Braket's simulators name a missing input with this error.
                raise NameError(f"Missing input variable '{missing[0]}'.")
            # Inputs the circuit does not use are ignored, as in Braket.
            return _from_circuit(spec, shots, {k: v for k, v in given.items() if k in names})
        if isinstance(spec, OpenQASMProgram):
            source, given = spec.source, {**(spec.inputs or {}), **given}
        elif isinstance(spec, str):
            source = spec
        else:
            raise TypeError(
                f"{type(spec).__name__} tasks are not supported; QHarborDevice runs "
                "braket.circuits.Circuit, braket.ir.openqasm.Program or OpenQASM 3 text"
            )
        return BraketProgram(source=source, action_source=source, inputs=given, shots=shots)

    def _check_result_types(self, circuit: Circuit, shots: int) -> None:
        """Each result type is one the device gives for this many shots, as Braket checks."""
        action = self.properties.action[DeviceActionType.OPENQASM]
        supported = {t.name: t for t in action.supportedResultTypes or ()}
        for result_type in circuit.result_types:
            name = type(result_type).__name__
            if name == "Sample" and shots == 0:
                raise ValueError("sample can only be specified when shots>0")
            kind = supported.get(name)
            if kind is None:
                raise ValueError(
                    f"result type {name} is not supported on {self.name!r}; it gives "
                    f"{', '.join(supported)}"
                )
            if not kind.minShots <= shots <= kind.maxShots:
                raise ValueError(
                    f"result type {name} needs shots from {kind.minShots} to {kind.maxShots} "
                    f"on {self.name!r}, not {shots}"
                )

    def _submit(
        self, program: BraketProgram, seed: int | None, timeout: float | None
    ) -> QHarborQuantumTask:
        # The centre always samples; with shots=0 one shot is run and only the
        # exact result types are kept.
        job = self._service.run(
            [program.centre_program()], device=self.name, shots=max(1, program.shots), seed=seed
        )
        return QHarborQuantumTask(job, program, self.name, poll_timeout_seconds=timeout)

    def __repr__(self) -> str:
        return f"QHarborDevice('name': {self.name})"


def _from_circuit(circuit: Circuit, shots: int, inputs: dict[str, float]) -> BraketProgram:
    action = circuit.to_ir(IRType.OPENQASM).source
    specs = tuple(result_type.to_ir() for result_type in circuit.result_types) or None
    if shots == 0 or not circuit.result_types:
        return BraketProgram(action, action, inputs, shots, specs)
    # With shots, Braket estimates result types from measurements taken in each
    # observable's basis: the circuit runs with those rotations and no pragmas,
    # and Braket's own result code turns the shots into values.
    rotated = Circuit(circuit.instructions)
    for qubit in circuit.qubits:
        if qubit not in rotated.qubits:
            rotated.i(qubit)
    rotated.add(circuit.basis_rotation_instructions)
    source = rotated.to_ir(IRType.OPENQASM).source
    return BraketProgram(source, action, inputs, shots, specs, sampled=True)


def _check_kwargs(kwargs: dict[str, Any]) -> None:
    unknown = sorted(set(kwargs) - set(_AWS_ONLY))
    if unknown:
        raise TypeError(
            f"unexpected keyword arguments {unknown}; QHarborDevice takes shots, inputs, "
            f"seed, poll_timeout_seconds (and ignores {', '.join(_AWS_ONLY)})"
        )
