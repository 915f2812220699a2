"""Values the client reads from the centre: job results and device descriptions.

Both are frozen and convert themselves to and from the API's JSON. Fields the
client does not know yet are kept in ``extra`` and written back by ``to_json``,
so a newer centre's answers survive a round trip through an older client. A
result's field names are the centre's own (:mod:`qharbor.result_schema`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from qharbor import result_schema


@dataclass(frozen=True)
class ExperimentResult:
    """The outcome of one circuit run (one program, or one binding of its parameters).

    Attributes:
        counts: Outcome bit string to number of shots. Bit order is Qiskit's:
            classical bit 0 is the rightmost character.
        shots: Shots taken.
        seed: The sampling seed used.
        num_qubits: Qubits in the program.
        num_clbits: Classical bits in the program.
        depth: Circuit depth as submitted.
        name: The program's name, if it had one.
        parameters: The parameter values bound for this run, or None.
        program: Index of the program in the job.
        run_s: Seconds the engine spent on this experiment.
        extra: Fields of the API's JSON that this client does not model.
    """

    counts: dict[str, int]
    shots: int
    seed: int | None = None
    num_qubits: int | None = None
    num_clbits: int | None = None
    depth: int | None = None
    name: str | None = None
    parameters: list[float] | dict[str, float] | None = None
    program: int = 0
    run_s: float | None = None
    extra: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ExperimentResult:
        """Build from one item of the result's ``experiments`` list."""
        counts = {str(k): int(v) for k, v in (data.get("counts") or {}).items()}
        return cls(
            counts=counts,
            shots=int(data.get("shots", sum(counts.values()))),
            seed=data.get("seed"),
            num_qubits=data.get("num_qubits"),
            num_clbits=data.get("num_clbits"),
            depth=data.get("depth"),
            name=data.get("name"),
            parameters=data.get("parameters"),
            program=int(data.get("program", 0)),
            run_s=data.get("run_s"),
            extra=result_schema.extra(data, result_schema.EXPERIMENT_FIELDS),
        )

    def to_json(self) -> dict[str, Any]:
        """The API's JSON for this experiment."""
        return {
            "program": self.program,
            "name": self.name,
            "parameters": self.parameters,
            "counts": dict(self.counts),
            "shots": self.shots,
            "seed": self.seed,
            "num_qubits": self.num_qubits,
            "num_clbits": self.num_clbits,
            "depth": self.depth,
            "run_s": self.run_s,
            **self.extra,
        }

    def probabilities(self) -> dict[str, float]:
        """Outcome to observed frequency (counts divided by shots)."""
        total = sum(self.counts.values()) or 1
        return {key: value / total for key, value in self.counts.items()}


@dataclass(frozen=True)
class JobResult:
    """The result of a finished job.

    Attributes:
        job_id: The job's id.
        device: The device it ran on.
        shots: Shots per experiment requested.
        experiments: One result per circuit run, in submission order; a
            parameterised program gives one per binding.
        timings: Seconds spent: ``queued_s``, ``compile_s``, ``run_s``, ``total_s``.
        metadata: How it ran: ``engine``, ``method``, ``seed``, ``versions``, ...
        extra: Fields of the API's JSON that this client does not model.
        signed: The document as the centre returned and signed it (sealed, for a
            sealed result), for :meth:`HarborService.verify`; empty if unknown.
    """

    job_id: str
    device: str
    shots: int
    experiments: tuple[ExperimentResult, ...]
    timings: dict[str, float] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    signed: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def signature(self) -> dict[str, Any] | None:
        """The centre's signature block, if the result carries one."""
        block = self.signed.get("signature", self.extra.get("signature"))
        return dict(block) if isinstance(block, dict) else None

    @classmethod
    def from_json(cls, data: dict[str, Any], signed: dict[str, Any] | None = None) -> JobResult:
        """Build from the body of ``GET /v1/jobs/{id}/result`` (opened, if it was sealed).

        Args:
            data: The result.
            signed: The document as received, when ``data`` was opened from it;
                by default ``data`` itself.
        """
        return cls(
            job_id=str(data["job_id"]),
            device=str(data.get("device", "")),
            shots=int(data.get("shots", 0)),
            experiments=tuple(ExperimentResult.from_json(e) for e in data.get("experiments", [])),
            timings={k: float(v) for k, v in (data.get("timings") or {}).items() if v is not None},
            metadata=dict(data.get("metadata") or {}),
            extra=result_schema.extra(data, result_schema.RESULT_FIELDS),
            signed=dict(signed if signed is not None else data),
        )

    def to_json(self) -> dict[str, Any]:
        """The API's JSON for this result."""
        return {
            "job_id": self.job_id,
            "device": self.device,
            "shots": self.shots,
            "experiments": [e.to_json() for e in self.experiments],
            "timings": dict(self.timings),
            "metadata": dict(self.metadata),
            **self.extra,
        }

    def get_counts(
        self, experiment: int | str | None = None
    ) -> dict[str, int] | list[dict[str, int]]:
        """Counts, the way Qiskit's ``Result.get_counts`` gives them.

        Args:
            experiment: An experiment's index or name. When None, the counts of
                the only experiment, or a list of every experiment's counts when
                there are several.

        Raises:
            IndexError: No experiment has that index.
            KeyError: No experiment has that name.
        """
        if experiment is None:
            if len(self.experiments) == 1:
                return dict(self.experiments[0].counts)
            return [dict(e.counts) for e in self.experiments]
        return dict(self._experiment(experiment).counts)

    def _experiment(self, key: int | str) -> ExperimentResult:
        if isinstance(key, str):
            for candidate in self.experiments:
                if candidate.name == key:
                    return candidate
            names = ", ".join(repr(e.name) for e in self.experiments if e.name) or "none"
            raise KeyError(f"no experiment named {key!r} (names: {names})")
        if not -len(self.experiments) <= key < len(self.experiments):
            raise IndexError(
                f"experiment {key} is out of range: the job has {len(self.experiments)}"
            )
        return self.experiments[key]

    def __len__(self) -> int:
        return len(self.experiments)


@dataclass(frozen=True)
class DeviceInfo:
    """A device as the centre describes it.

    Attributes:
        name: The name to submit to.
        kind: ``simulator`` or ``qpu``.
        description: One line for people.
        engine: The engine that executes (e.g. ``aer``).
        method: The engine's method (e.g. ``statevector``).
        max_qubits: Largest program, in qubits.
        max_shots: Most shots per job.
        basis_gates: The device's native gates.
        noisy: Whether it simulates noise.
        status: ``ONLINE``, ``OFFLINE``, ...
        queue_length: Jobs waiting for it.
        running: Jobs running on it now.
        extra: Fields of the API's JSON that this client does not model.
    """

    name: str
    kind: str = "simulator"
    description: str = ""
    engine: str | None = None
    method: str | None = None
    max_qubits: int | None = None
    max_shots: int | None = None
    basis_gates: tuple[str, ...] = ()
    noisy: bool = False
    status: str = "ONLINE"
    queue_length: int = 0
    running: int = 0
    extra: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DeviceInfo:
        """Build from an item of ``GET /v1/devices`` or from ``GET /v1/devices/{name}``."""
        known = {f for f in cls.__dataclass_fields__ if f != "extra"}
        values = {k: v for k, v in data.items() if k in known}
        values["basis_gates"] = tuple(values.get("basis_gates") or ())
        return cls(**values, extra={k: v for k, v in data.items() if k not in known})

    def to_json(self) -> dict[str, Any]:
        """The API's JSON for this device."""
        data = {f: getattr(self, f) for f in self.__dataclass_fields__ if f != "extra"}
        data["basis_gates"] = list(self.basis_gates)
        return {**data, **self.extra}
