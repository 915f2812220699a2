"""A device twin as a local Aer simulator: target, noise, timing and mitigation.

The centre's twin engine and the client's ``HarborService.local_twin`` both run
twins through :class:`LocalTwin`. It depends only on Qiskit, Qiskit Aer and stim
(the ``twin`` extra) and the twin modules under :mod:`qharbor.devices.twins`, so
a client can emulate a device exactly as the centre does, without any server code.

Everything here reads a twin document
(:class:`~qharbor.devices.twins.document.TwinDocument`, or the JSON that
``GET /v1/devices/{name}/twin`` returns).

Example:
    >>> from qharbor.engines.twin import LocalTwin                 # doctest: +SKIP
    >>> local = LocalTwin(document)                                # doctest: +SKIP
    >>> local.run(compiled_circuit, shots=1000, seed=7)            # doctest: +SKIP
    {'00000': 431, '11111': 402, ...}
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from qiskit import QuantumCircuit
from qiskit.converters import circuit_to_dag, dag_to_circuit
from qiskit.transpiler import Target
from qiskit_aer import AerSimulator
from qiskit_aer.library import SaveMatrixProductState
from qiskit_aer.noise import NoiseModel

from qharbor.devices.twins import document as documents
from qharbor.devices.twins import target as targets
from qharbor.engines import noise, twin_circuits, twin_methods, twin_sampling, twin_stabilizer

#: Trajectories whose final states are held in memory at once (grouped shots).
_TRAJECTORY_BATCH = 32


def compact(circuit: QuantumCircuit) -> tuple[QuantumCircuit, list[int]]:
    """Drop the wires nothing acts on, so only the active qubits are simulated.

    Returns:
        The narrower circuit, and for each of its qubits the index it had in
        ``circuit`` (the physical qubit, for a compiled circuit).
    """
    dag = circuit_to_dag(circuit)
    for node in list(dag.op_nodes()):
        if node.op.name == "barrier":
            dag.remove_op_node(node)
    idle = [q for q in dag.idle_wires() if q in dag.qubits]
    idle_set = set(idle)
    kept = [i for i, q in enumerate(circuit.qubits) if q not in idle_set]
    if idle:
        dag.remove_qubits(*idle)
    return dag_to_circuit(dag), kept


@dataclass(frozen=True)
class TwinRun:
    """Counts of one twin circuit, and the method that produced them.

    Attributes:
        counts: outcome bit strings to counts.
        choice: the Aer method, why, and its predicted seconds.
    """

    counts: dict[str, int]
    choice: twin_methods.MethodChoice


class LocalTwin:
    """A device twin on this machine.

    Each circuit runs on the Aer method :func:`qharbor.engines.twin_methods.choose`
    predicts fastest for its shape (see docs/devices.md).

    Args:
        document: the twin document, or its JSON from ``GET /v1/devices/{name}/twin``.
    """

    def __init__(self, document: documents.DocumentLike) -> None:
        self.document = documents.read(document)
        self.name = self.document.device
        self.snapshot_id = self.document.calibration.id
        self._simulators: dict[tuple[int, ...], AerSimulator] = {}
        self._readout: dict[tuple[int, ...], NoiseModel] = {}
        self._writers: dict[bool, twin_circuits.NoisyCircuits] = {}
        self._stim = twin_stabilizer.StimTranslator()

    def target(self) -> Target:
        """The device's Qiskit target, to transpile for it."""
        return targets.target(self.document)

    def prepare(self, circuit: QuantumCircuit) -> tuple[QuantumCircuit, list[int]]:
        """The circuit narrowed to its active qubits, and their physical indices."""
        return compact(circuit)

    def choose(
        self,
        circuit: QuantumCircuit,
        shots: int,
        coefficients: Mapping[str, Mapping[str, float]] | None = None,
    ) -> twin_methods.MethodChoice:
        """The method a circuit narrowed by :meth:`prepare` runs on, and why.

        Args:
            circuit: the narrowed circuit.
            shots: shots asked for.
            coefficients: the methods' cost coefficients; the shipped ones when omitted.

        Raises:
            ValueError: no method can run it.
        """
        return twin_methods.choose(
            twin_methods.shape_of(circuit), shots, coefficients, limit_s=self.document.max_run_s
        )

    def run(
        self,
        circuit: QuantumCircuit,
        shots: int = 1024,
        seed: int = 0,
        *,
        method: str | None = None,
        shots_per_trajectory: int | None = None,
    ) -> dict[str, int]:
        """Counts of a compiled circuit (on physical qubits), with the device's noise.

        The centre runs the same code, so the same compiled circuit, shots, seed
        and method (an experiment's ``method`` and ``shots_per_trajectory``; this
        host's choice when omitted) give the same counts here as in a job's result.
        """
        narrow, qubits = self.prepare(circuit)
        return self.execute(
            narrow,
            qubits,
            shots=shots,
            seed=seed,
            method=method,
            shots_per_trajectory=shots_per_trajectory,
        ).counts

    def run_prepared(
        self, circuit: QuantumCircuit, qubits: Sequence[int], *, shots: int, seed: int
    ) -> dict[str, int]:
        """Counts of a circuit already narrowed by :meth:`prepare`."""
        return self.execute(circuit, qubits, shots=shots, seed=seed).counts

    def execute(
        self,
        circuit: QuantumCircuit,
        qubits: Sequence[int],
        *,
        shots: int,
        seed: int,
        method: str | None = None,
        shots_per_trajectory: int | None = None,
        coefficients: Mapping[str, Mapping[str, float]] | None = None,
    ) -> TwinRun:
        """Run a narrowed circuit on its chosen method (or ``method``), and say which."""
        choice = self.choose(circuit, shots, coefficients)
        per = shots_per_trajectory or 1
        if method is not None and (method, per) != (choice.method, choice.shots_per_trajectory):
            shape = twin_methods.shape_of(circuit)
            seconds = twin_methods.predict(
                method, shape, shots, coefficients, shots_per_trajectory=per
            )
            choice = twin_methods.MethodChoice(
                method, f"{method} asked for (predicted {seconds:.3g} s)", seconds,
                method == "stabilizer" or per > 1, choice.estimates, per,
            )  # fmt: skip
        if choice.method == "density_matrix":
            counts = self._density_matrix(circuit, qubits, shots, seed)
        elif choice.method == "matrix_product_state":
            counts = self._mps(circuit, qubits, shots, seed, choice.shots_per_trajectory)
        else:
            counts = self._trajectories(circuit, qubits, shots, seed, choice.method)
        if circuit.num_clbits == 0:
            return TwinRun({}, choice)
        return TwinRun(counts, choice)

    def _density_matrix(
        self, circuit: QuantumCircuit, qubits: Sequence[int], shots: int, seed: int
    ) -> dict[str, int]:
        key = tuple(qubits)
        if key not in self._simulators:
            self._simulators[key] = noise.simulator(self.document, qubits)
        # Idle qubits relax, and drift by their detuning and their neighbours' ZZ, in
        # the circuit's idle windows; the density matrix carries that noise exactly.
        noisy = noise.with_idle_noise(self.document, circuit, qubits)
        return _counts(self._simulators[key], noisy, shots, seed, "density_matrix")

    def _writer(self, pauli: bool) -> twin_circuits.NoisyCircuits:
        writer = self._writers.get(pauli)
        if writer is None:
            writer = self._writers[pauli] = twin_circuits.NoisyCircuits(self.document, pauli=pauli)
        return writer

    def _trajectories(
        self, circuit: QuantumCircuit, qubits: Sequence[int], shots: int, seed: int, method: str
    ) -> dict[str, int]:
        """State vector or stabilizer: noise in the circuit, readout flipped per shot.

        The circuit carries the noise of its idle periods
        (:func:`qharbor.engines.noise.with_idle_noise`; twirled to Pauli errors for
        the stabilizer) and, after each gate, the gate's error.

        The state vector branches shots that share their noise so far (Aer's shot
        branching); the stabilizer circuit, whose noise is Pauli, is sampled by
        stim (:mod:`qharbor.engines.twin_stabilizer`). Readout errors are then
        drawn here, shot by shot (:mod:`qharbor.engines.twin_sampling` says why).
        """
        pauli = method == "stabilizer"
        idle = noise.with_idle_noise(self.document, circuit, qubits, pauli=pauli)
        runnable = self._writer(pauli).write(idle, qubits)
        if pauli:
            program, record_of = self._stim.translate(runnable)
            bits = twin_stabilizer.sample(program, record_of, shots, seed)
            return _flipped(self.document, circuit, qubits, bits, seed)
        simulator = AerSimulator(
            method=method, shot_branching_enable=True, shot_branching_sampling_enable=True
        )
        ideal = _counts(simulator, runnable, shots, seed, method)
        if not ideal:
            return ideal
        return _flipped(
            self.document, circuit, qubits, twin_sampling.bits_of(ideal, circuit.num_clbits), seed
        )

    def _mps(
        self, circuit: QuantumCircuit, qubits: Sequence[int], shots: int, seed: int, per: int
    ) -> dict[str, int]:
        """A matrix product state with the qubits on a line, one trajectory per shot or fewer.

        With ``per`` > 1, each trajectory saves its final state and ``per`` shots
        are drawn from it (:func:`qharbor.engines.twin_sampling.sample_mps`).
        """
        order = twin_methods.line_order(circuit)
        # Idle noise is scheduled on the circuit as compiled, then laid on the line.
        idle = noise.with_idle_noise(self.document, circuit, qubits)
        lined, physical = _reordered(idle, order), [qubits[i] for i in order]
        runnable = self._writer(False).write(lined, physical)
        if per <= 1:
            key = tuple(physical)
            if key not in self._readout:
                self._readout[key] = twin_circuits.readout_model(self.document, physical)
            simulator = AerSimulator(method="matrix_product_state", noise_model=self._readout[key])
            return _counts(simulator, runnable, shots, seed, "matrix_product_state")
        runnable.remove_final_measurements(inplace=True)
        runnable.append(
            SaveMatrixProductState(lined.num_qubits, label="mps", pershot=True), runnable.qubits
        )
        rng = np.random.default_rng(seed)
        trajectories = math.ceil(shots / per)
        # Shots spread as evenly as possible over the trajectories, summing to ``shots``.
        spread = [shots // trajectories + (1 if t < shots % trajectories else 0)
                  for t in range(trajectories)]  # fmt: skip
        simulator = AerSimulator(method="matrix_product_state")
        rows = []
        for first in range(0, trajectories, _TRAJECTORY_BATCH):
            batch = spread[first : first + _TRAJECTORY_BATCH]
            result = simulator.run(runnable, shots=len(batch), seed_simulator=seed + first).result()
            if not result.success:
                raise RuntimeError(f"Aer failed (matrix_product_state): {result.status}")
            for (gammas, lambdas), count in zip(result.data(0)["mps"], batch, strict=True):
                rows.append(twin_sampling.sample_mps(gammas, lambdas, count, rng))
        measured = np.concatenate(rows)
        bits = np.zeros((shots, circuit.num_clbits), dtype=np.uint8)
        by_clbit = twin_sampling.measured_by(lined)
        for clbit, qubit in by_clbit.items():
            bits[:, clbit] = measured[:, qubit]
        p01, p10 = twin_sampling.readout_errors(self.document, physical)
        return twin_sampling.counts_of(twin_sampling.flip_readout(bits, by_clbit, p01, p10, rng))


def _counts(
    simulator: AerSimulator, circuit: QuantumCircuit, shots: int, seed: int, method: str
) -> dict[str, int]:
    result = simulator.run(circuit, shots=shots, seed_simulator=seed).result()
    if not result.success:
        raise RuntimeError(f"Aer failed ({method}): {result.status}")
    if circuit.num_clbits == 0:
        return {}
    return {str(k): int(v) for k, v in result.get_counts(0).items()}


def _flipped(
    document: documents.TwinDocument,
    circuit: QuantumCircuit,
    qubits: Sequence[int],
    bits: np.ndarray,
    seed: int,
) -> dict[str, int]:
    """Counts of measured bits (one row per shot), with readout errors drawn per shot."""
    by_clbit = twin_sampling.measured_by(circuit)
    p01, p10 = twin_sampling.readout_errors(document, qubits)
    rng = np.random.default_rng(seed)
    return twin_sampling.counts_of(twin_sampling.flip_readout(bits, by_clbit, p01, p10, rng))


def _reordered(circuit: QuantumCircuit, order: Sequence[int]) -> QuantumCircuit:
    """The circuit with its qubit ``order[i]`` as qubit ``i``; classical bits unchanged."""
    position = {old: new for new, old in enumerate(order)}
    out = QuantumCircuit(circuit.num_qubits, circuit.num_clbits, name=circuit.name)
    for instruction in circuit.data:
        out.append(
            instruction.operation,
            [out.qubits[position[circuit.find_bit(q).index]] for q in instruction.qubits],
            [out.clbits[circuit.find_bit(c).index] for c in instruction.clbits],
        )
    return out
