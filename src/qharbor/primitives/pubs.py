"""Primitive unified blocs (PUBs): checked and normalised before a job is queued.

A PUB arrives as JSON. Arrays travel flat, with their shape beside them:

* ``parameter_values``: ``prod(shape) * len(parameter_names)`` numbers in C
  order, one row of values per binding; ``shape`` is the shape of the bindings.
  Values follow the circuit's ``input float[64]`` parameters sorted by name.
  A stored PUB keeps them packed as bytes (:data:`PACKED_VALUES`).
* ``observables`` (estimator): a flat list of observables, each an object from
  Pauli label (qubit 0 rightmost) to real coefficient; ``observables_shape`` is
  their shape. Bindings and observables broadcast against each other, by
  NumPy's rules, to the shape of the PUB's result.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from qharbor import errors
from qharbor.devices import Device, operations
from qharbor.jobs.parsed import pack_circuit
from qharbor.primitives import observables as obs
from qharbor.primitives.mitigation import spend as spending
from qharbor.primitives.resilience import Plan

#: Parses one PUB's circuit text (source, format, longest text accepted) within the
#: program limits: the circuit, and it as QPY bytes. Admission supplies the intake's.
ParseCircuit = Callable[[str, str, int], tuple[Any, bytes]]

#: The job kinds that carry PUBs instead of programs.
KINDS = ("sampler", "estimator")

#: Estimator precision on a sampled device when the request gives none (4096 shots).
DEFAULT_PRECISION = 1 / 64

_PAULI_CHARS = frozenset("IXYZ")


@dataclass(frozen=True)
class PreparedPubs:
    """PUBs that passed every check, as they are stored on the job.

    Attributes:
        payload: ``{"pubs": [...]}``, each PUB normalised (shapes, defaults).
        num_experiments: circuit runs the job will make (bindings, summed).
        widths: each PUB's qubits, for its memory need.
        spends: each PUB's circuit runs and shots, mitigation's included; None for
            a PUB whose values are exact (no shots).
    """

    payload: dict[str, Any]
    num_experiments: int
    widths: tuple[int, ...] = ()
    spends: tuple[spending.Spend | None, ...] = ()

    @property
    def shots(self) -> int | None:
        """Every shot the job will run, or None when some PUB is exact."""
        if any(s is None for s in self.spends):
            return None
        return sum(s.shots for s in self.spends if s is not None)


def prepare_pubs(
    kind: str,
    pubs: Sequence[dict[str, Any]],
    device: Device,
    *,
    shots: int,
    precision: float | None,
    max_program_bytes: int,
    max_experiments: int,
    parse: ParseCircuit,
    plan: Plan | None = None,
) -> PreparedPubs:
    """Parse each PUB's circuit and check its arrays against it.

    Each PUB keeps its parsed circuit (``circuit_qpy``), so that the worker reads
    it back instead of parsing the text again.

    Args:
        kind: ``sampler`` or ``estimator``.
        pubs: the PUBs as the request gives them.
        device: the device the job is for.
        shots: the job's shots, the default for sampler PUBs without their own.
        precision: the job's precision, the default for estimator PUBs.
        max_program_bytes: the longest circuit text accepted.
        max_experiments: the most bindings the job may run in all.
        parse: the program intake's parser, within its limits.
        plan: the job's error mitigation, whose extra runs count against the
            twin's time limit and in the job's estimate.

    Raises:
        errors.QHarborError: the first problem, naming the PUB by index.
    """
    if kind not in KINDS:
        raise errors.InvalidRequest(f"unknown job kind {kind!r}; use one of {KINDS}", field="kind")
    if not pubs:
        raise errors.InvalidRequest(f"a {kind} job needs at least one PUB", field="pubs")
    stored: list[dict[str, Any]] = []
    widths: list[int] = []
    spends: list[spending.Spend | None] = []
    experiments = 0
    for index, pub in enumerate(pubs):
        try:
            normal, runs, width, spent = _prepare_one(
                kind, pub, device, shots, precision, max_program_bytes, parse, plan
            )
        except errors.QHarborError as exc:
            raise type(exc)(f"PUB {index}: {exc.message}", pub=index, **exc.detail) from None
        experiments += runs
        if experiments > max_experiments:
            raise errors.ProgramLimit(
                f"the job would run more than {max_experiments} experiments "
                "(PUBs times parameter bindings); split it into several jobs",
                max_experiments=max_experiments,
            )
        stored.append(normal)
        widths.append(width)
        spends.append(spent)
    return PreparedPubs(
        payload={"pubs": stored},
        num_experiments=experiments,
        widths=tuple(widths),
        spends=tuple(spends),
    )


def _prepare_one(
    kind: str,
    pub: dict[str, Any],
    device: Device,
    shots: int,
    precision: float | None,
    max_bytes: int,
    parse: ParseCircuit,
    plan: Plan | None = None,
) -> tuple[dict[str, Any], int, int, spending.Spend | None]:
    source = pub.get("circuit")
    if not isinstance(source, str):
        raise errors.InvalidRequest(
            "'circuit' must be OpenQASM text or base64 QPY", field="circuit"
        )
    circuit, qpy_bytes = parse(source, pub.get("format", "auto"), max_bytes)
    names = sorted(p.name for p in circuit.parameters)
    shape = _shape(pub.get("shape", []), "shape")
    values = parameter_array(stored_values(pub), shape, len(names))
    if not np.all(np.isfinite(values)):
        raise errors.ProgramParameters("parameter values must be finite numbers")
    normal: dict[str, Any] = {
        "circuit": source,
        "format": pub.get("format", "auto"),
        "circuit_qpy": pack_circuit(qpy_bytes),
        "parameter_names": names,
        PACKED_VALUES: pack_values(values),
        "shape": list(shape),
    }
    width = circuit.num_qubits
    if kind == "sampler":
        pub_shots = pub.get("shots") or shots
        _positive_int(pub_shots, "shots")
        if pub_shots > device.max_shots:
            raise errors.InvalidRequest(
                f"shots={pub_shots} is more than device {device.name!r} allows "
                f"({device.max_shots}); lower shots",
                field="shots",
                max_shots=device.max_shots,
            )
        # A circuit without classical registers gives an empty result, as in Qiskit.
        normal["shots"] = int(pub_shots)
        result_shape = shape
    else:
        observables = pub.get("observables")
        if not isinstance(observables, list) or not observables:
            raise errors.InvalidRequest(
                "'observables' must be a non-empty list of {pauli: coefficient} objects",
                field="observables",
            )
        obs_shape = _shape(pub.get("observables_shape", [len(observables)]), "observables_shape")
        if math.prod(obs_shape) != len(observables):
            raise errors.InvalidRequest(
                f"observables_shape {list(obs_shape)} does not hold {len(observables)} observables",
                field="observables_shape",
            )
        if _measures_midway(circuit):
            raise errors.ProgramUnsupported(
                "an estimator circuit may measure only at its end (those measurements are "
                "ignored); remove mid-circuit measurements, or use the sampler"
            )
        normal["observables"] = [check_observable(o) for o in observables]
        normal["observables_shape"] = list(obs_shape)
        obs_width = max(len(next(iter(o))) for o in normal["observables"])
        if obs_width < width:
            raise errors.InvalidRequest(
                f"observables act on {obs_width} qubits but the circuit has {width}; "
                "give one Pauli letter per qubit",
                field="observables",
            )
        width = obs_width
        try:
            result_shape = tuple(np.broadcast_shapes(shape, obs_shape))
        except ValueError:
            raise errors.InvalidRequest(
                f"parameter shape {list(shape)} and observables shape {list(obs_shape)} "
                "do not broadcast together",
                field="observables_shape",
            ) from None
        pub_precision = pub.get("precision")
        if pub_precision is None:
            pub_precision = precision
        if pub_precision is not None and (
            not isinstance(pub_precision, int | float) or pub_precision < 0
        ):
            raise errors.InvalidRequest("precision must be a number >= 0", field="precision")
        normal["precision"] = None if pub_precision is None else float(pub_precision)
        basis_shots = pub.get("shots")
        if basis_shots is not None:
            # Shots per measurement basis, instead of a precision (as a runtime's
            # default_shots); exact devices stay exact.
            _positive_int(basis_shots, "shots")
            if basis_shots > device.max_shots:
                raise errors.InvalidRequest(
                    f"shots={basis_shots} is more than device {device.name!r} allows "
                    f"({device.max_shots}); lower shots",
                    field="shots",
                    max_shots=device.max_shots,
                )
            normal["shots"] = int(basis_shots)
        _check_precision(device, circuit, normal["precision"] if basis_shots is None else None)
    if width > device.max_qubits:
        raise errors.DeviceLimit(
            f"the PUB uses {width} qubits; device {device.name!r} runs at most {device.max_qubits}",
            qubits=width,
            max_qubits=device.max_qubits,
            device=device.name,
        )
    operations.check_circuit(device, circuit, 0)
    # Mitigation runs on device twins only, where there is noise to mitigate.
    spent = spend_of(kind, normal, device, plan)
    if device.twin is not None:
        _check_twin_time(device, circuit, spent)
    normal["result_shape"] = list(result_shape)
    return normal, max(1, math.prod(shape)), width, spent


def spend_of(
    kind: str, normal: dict[str, Any], device: Device, plan: Plan | None
) -> spending.Spend | None:
    """A normalised PUB's runs and shots as its worker will make them, with the
    mitigation of ``plan`` on a device twin (elsewhere there is no noise to
    mitigate, and none is applied); None for exact values."""
    plan = plan if device.twin is not None else None
    bindings = max(1, math.prod(normal["shape"]))
    if kind == "sampler":
        return spending.spend(plan, normal["shots"], 1, bindings)
    if exact_device(device):
        return None
    width = max(len(next(iter(o))) for o in normal["observables"])
    labels = [label.rjust(width, "I") for o in normal["observables"] for label in o]
    bases, _ = obs.group_terms(labels)
    return spending.spend(plan, basis_shots(normal, device), len(bases), bindings)


def basis_shots(pub: dict[str, Any], device: Device) -> int:
    """Shots per measurement basis of a normalised estimator PUB on a sampling device:
    its own ``shots``, else ``ceil(1 / precision**2)`` within the device's limit."""
    precision = pub.get("precision") or DEFAULT_PRECISION
    return int(pub.get("shots") or min(device.max_shots, math.ceil(1.0 / precision**2)))


def _check_twin_time(device: Device, circuit: Any, spent: spending.Spend | None) -> None:
    """Refuse a PUB whose longest circuit run the twin would take too long to simulate:
    the circuit at the shots asked for, then its deepest mitigated instance (folded by
    ZNE's largest noise factor, at the shots of one randomization), naming the mitigation."""
    assert device.twin is not None
    shots = spent.basis_shots if spent is not None else 1024
    plain_s = operations.check_twin_time(device.twin, circuit, shots, 0)
    if spent is None or not spent.mitigated:
        return
    operations.check_twin_time(
        device.twin,
        circuit,
        spent.shots_per_randomization,
        0,
        fold=spent.max_noise_factor,
        because=(
            f"error mitigation makes it that long: {spent.describe()}; without it, about "
            f"{plain_s:.3g} s. Lower the largest noise factor, or use resilience_level 1 or 0"
        ),
    )


#: Widest circuit whose exact mixture (after a reset) is computed as a density matrix.
MAX_DENSITY_QUBITS = 12


def exact_device(device: Device) -> bool:
    """Whether the device computes expectation values exactly (noiseless state vectors)."""
    return (
        device.method == "statevector"
        and not device.noisy
        and device.kind == "simulator"
        and device.twin is None
    )


def non_unitary(circuit: Any) -> bool:
    """Whether the circuit resets a qubit, directly, in control flow or inside a
    composite instruction (``initialize`` resets first). Gates are unitary."""
    from qiskit.circuit import Gate

    for instruction in circuit.data:
        operation = instruction.operation
        if operation.name in ("reset", "initialize"):
            return True
        if any(non_unitary(block) for block in getattr(operation, "blocks", ())):
            return True
        if isinstance(operation, Gate) or operation.name in ("measure", "barrier", "delay"):
            continue
        definition = getattr(operation, "definition", None)
        if definition is not None and non_unitary(definition):
            return True
    return False


def _check_precision(device: Device, circuit: Any, precision: float | None) -> None:
    """Refuse a precision the device cannot reach, and exact values it cannot compute."""
    if exact_device(device):
        if not precision and non_unitary(circuit) and circuit.num_qubits > MAX_DENSITY_QUBITS:
            raise errors.ProgramUnsupported(
                f"exact values of a circuit with reset need its density matrix, computed "
                f"for at most {MAX_DENSITY_QUBITS} qubits; this one has "
                f"{circuit.num_qubits}. Remove the resets, or use a device that samples",
                max_qubits=MAX_DENSITY_QUBITS,
            )
    elif precision is not None and precision <= 0:
        raise errors.InvalidRequest(
            f"precision must be larger than 0 on device {device.name!r}: it estimates "
            "from shots, ceil(1/precision**2) per basis",
            field="precision",
        )


#: The key of a stored PUB's parameter values: float64 little-endian, base64.
#: Thousands of values as JSON numbers cost milliseconds to write and read at
#: every step of a job (store, claim); as bytes they cost microseconds.
PACKED_VALUES = "parameter_values_f64"


def pack_values(values: Any) -> str:
    """Parameter values as a stored PUB keeps them (see :data:`PACKED_VALUES`)."""
    flat = np.ascontiguousarray(np.asarray(values, dtype="<f8").ravel())
    return base64.b64encode(flat.tobytes()).decode("ascii")


def stored_values(pub: Mapping[str, Any]) -> Any:
    """A PUB's flat parameter values: packed (stored since this release) or a JSON list.

    Raises:
        errors.ProgramParameters: packed values that are not whole float64 numbers.
    """
    packed = pub.get(PACKED_VALUES)
    if packed is None:
        return pub.get("parameter_values") or []
    try:
        raw = base64.b64decode(packed, validate=True)
        return np.frombuffer(raw, dtype="<f8").astype(float)
    except (TypeError, ValueError):
        raise errors.ProgramParameters("stored parameter values are damaged") from None


def parameter_array(flat: Sequence[Any], shape: tuple[int, ...], num_parameters: int) -> Any:
    """The bindings as an array of shape ``(*shape, num_parameters)``.

    Raises:
        errors.ProgramParameters: the number of values does not fit.
    """
    try:
        values = np.asarray(flat, dtype=float).ravel()
    except (TypeError, ValueError):
        raise errors.ProgramParameters("parameter_values must be a list of numbers") from None
    expected = math.prod(shape) * num_parameters
    if values.size != expected:
        raise errors.ProgramParameters(
            f"{values.size} parameter values for shape {list(shape)} and {num_parameters} "
            f"parameters; expected {expected}",
            parameters=num_parameters,
        )
    return values.reshape(*shape, num_parameters)


def check_observable(observable: Any) -> dict[str, float]:
    """One observable as ``{pauli: coefficient}``, checked.

    Raises:
        errors.InvalidRequest: an empty observable, a bad label or coefficient.
    """
    if isinstance(observable, str):
        observable = {observable: 1.0}
    if not isinstance(observable, dict) or not observable:
        raise errors.InvalidRequest(
            "each observable must be a non-empty {pauli: coefficient} object", field="observables"
        )
    widths = {len(label) for label in observable}
    if len(widths) != 1:
        raise errors.InvalidRequest(
            "the Pauli labels of one observable must all have the same length",
            field="observables",
        )
    checked: dict[str, float] = {}
    for label, coeff in observable.items():
        if not label or not set(label) <= _PAULI_CHARS:
            raise errors.InvalidRequest(
                f"{label!r} is not a Pauli label; use the letters I, X, Y, Z",
                field="observables",
            )
        if (
            isinstance(coeff, bool)
            or not isinstance(coeff, int | float)
            or not math.isfinite(coeff)
        ):
            raise errors.InvalidRequest(
                f"the coefficient of {label!r} must be a finite real number",
                field="observables",
            )
        checked[label] = checked.get(label, 0.0) + float(coeff)
    return checked


def measures(circuit: Any) -> bool:
    """Whether the circuit measures anywhere, inside control flow too."""
    for instruction in circuit.data:
        if instruction.operation.name == "measure":
            return True
        if any(measures(block) for block in getattr(instruction.operation, "blocks", ())):
            return True
    return False


def _measures_midway(circuit: Any) -> bool:
    """Whether the circuit measures other than at its end.

    Most estimator circuits measure nowhere: they are looked at once, without the
    copy that removing the final measurements makes.
    """
    if not measures(circuit):
        return False
    return measures(circuit.remove_final_measurements(inplace=False) or circuit)


def _shape(value: Any, name: str) -> tuple[int, ...]:
    if not isinstance(value, list) or not all(
        isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in value
    ):
        raise errors.InvalidRequest(f"{name!r} must be a list of positive integers", field=name)
    if len(value) > 8:
        raise errors.InvalidRequest(f"{name!r} has more than 8 dimensions", field=name)
    return tuple(value)


def _positive_int(value: Any, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise errors.InvalidRequest(f"{name!r} must be a positive integer", field=name)
