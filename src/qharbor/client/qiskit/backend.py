"""``QHarborBackend``: a qharbor device as a Qiskit ``BackendV2``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from qiskit import QuantumCircuit
from qiskit.providers import BackendV2, Options
from qiskit.transpiler import Target

from qharbor import errors
from qharbor.client.qiskit.encoding import FORMAT, circuit_source, qpy_version
from qharbor.client.qiskit.jobs import QHarborJob
from qharbor.client.qiskit.target import build_target
from qharbor.client.service import HarborService

if TYPE_CHECKING:
    from qharbor.client.qiskit.provider import QHarborProvider


class QHarborBackend(BackendV2):
    """One device of a centre. ``transpile(circuit, backend)`` and
    ``generate_preset_pass_manager(backend=backend)`` use its target.

    Args:
        service: the SDK connection to the centre.
        device: the device's JSON (``GET /v1/devices/{name}``).
        provider: the provider that made it.
    """

    def __init__(
        self,
        service: HarborService,
        device: dict[str, Any],
        provider: QHarborProvider | None = None,
    ) -> None:
        super().__init__(
            provider=provider,
            name=str(device["name"]),
            description=str(device.get("description", "")),
            backend_version=str(device.get("version", "1")),
        )
        self.service = service
        self.device = dict(device)
        self._target = build_target(device, self._calibration())
        self.options.set_validator("shots", (1, int(device.get("max_shots") or 10**9)))

    @property
    def qpy_version(self) -> int | None:
        """The QPY version circuits are sent in: the newest this centre reads."""
        if not hasattr(self, "_qpy_version"):
            try:
                formats = dict(self.service.client.session.get("/v1/formats"))
            except errors.QHarborError:
                formats = {}  # an older centre without the list: this Qiskit's newest
            self._qpy_version = qpy_version(formats)
        return self._qpy_version

    @property
    def target(self) -> Target:
        return self._target

    @property
    def max_circuits(self) -> int | None:
        return None

    @property
    def noisy(self) -> bool:
        """Whether the device simulates or has noise (expectation values are then sampled)."""
        return bool(self.device.get("noisy")) or self.device.get("kind") != "simulator"

    @classmethod
    def _default_options(cls) -> Options:
        return Options(shots=1024, seed_simulator=None, tags=None)

    def refresh(self) -> None:
        """Read the device again (status, queue, calibration) and rebuild the target."""
        self.device = self.service.client.device_get(self.name)
        self._target = build_target(self.device, self._calibration())

    def _calibration(self) -> dict[str, Any] | None:
        """The current calibration of a device twin or QPU; None for simulators."""
        if not self.device.get("twin"):
            return None
        try:
            return dict(self.service.client.session.get(f"/v1/devices/{self.name}/calibration"))
        except errors.NotFound:
            return None

    def status(self) -> dict[str, Any]:
        """The device's status and queue now: ``{"status", "queue_length", "running"}``."""
        data = self.service.client.device_get(self.name)
        return {k: data.get(k) for k in ("status", "queue_length", "running")}

    def run(
        self,
        run_input: QuantumCircuit | Sequence[QuantumCircuit],
        **options: Any,
    ) -> QHarborJob:
        """Run circuits for counts.

        Args:
            run_input: a circuit or a list of circuits, with every parameter bound.
            shots: shots per circuit (default 1024).
            seed_simulator: sampling seed, for reproducible counts.
            tags: labels to find the job by later.
            session: a :class:`~qharbor.client.qiskit.Session` or ``Batch``, or its id.

        Raises:
            ValueError: a circuit still has unbound parameters, or ``shots`` is
                not a positive integer.
        """
        circuits = [run_input] if isinstance(run_input, QuantumCircuit) else list(run_input)
        for circuit in circuits:
            if circuit.num_parameters:
                raise ValueError(
                    f"circuit {circuit.name!r} has unbound parameters "
                    f"{[p.name for p in circuit.parameters]}; assign them before run(), "
                    "or use SamplerV2, which binds parameter arrays on the centre"
                )
        unknown = set(options) - {"shots", "seed_simulator", "seed", "tags", "session"}
        if unknown:
            raise ValueError(
                f"unknown run options {sorted(unknown)}; accepted: shots, seed_simulator, "
                "tags, session"
            )
        shots = options.get("shots")
        if shots is None:
            shots = self.options.shots
        if isinstance(shots, bool) or not isinstance(shots, int) or shots < 1:
            raise ValueError(f"shots must be a positive integer, not {shots!r}")
        seed = options.get("seed_simulator", options.get("seed", self.options.seed_simulator))
        tags = options.get("tags", self.options.tags)
        session = options.get("session")
        version = self.qpy_version
        body: dict[str, Any] = {
            "device": self.name,
            "programs": [
                {"source": circuit_source(c, version), "format": FORMAT, "name": c.name}
                for c in circuits
            ],
            "shots": shots,
        }
        if seed is not None:
            body["seed"] = int(seed)
        if tags:
            body["tags"] = list(tags)
        if session is not None:
            body["session_id"] = getattr(session, "session_id", session)
        job = self.service.submit(body)
        return QHarborJob(self, job, circuits)

    def __repr__(self) -> str:
        return f"<QHarborBackend {self.name!r} at {self.service.url}>"
