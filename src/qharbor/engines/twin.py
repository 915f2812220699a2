"""A device twin as a local Aer simulator: target, noise, timing and mitigation.

The centre's twin engine and the client's ``HarborService.local_twin`` both run
twins through :class:`LocalTwin`. It depends only on Qiskit and Qiskit Aer (and
the twin modules under :mod:`qharbor.devices.twins`), so a client can emulate a
device exactly as the centre does, without any server code.

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

from collections.abc import Sequence
from dataclasses import dataclass

from qiskit import QuantumCircuit
from qiskit.converters import circuit_to_dag, dag_to_circuit
from qiskit.transpiler import Target
from qiskit_aer import AerSimulator

from qharbor.devices.twins import document as documents
from qharbor.devices.twins import target as targets
from qharbor.engines import noise, twin_circuits, twin_methods


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
        self._readout: dict[tuple[int, ...], AerSimulator] = {}
        self._writers: dict[bool, twin_circuits.NoisyCircuits] = {}

    def target(self) -> Target:
        """The device's Qiskit target, to transpile for it."""
        return targets.target(self.document)

    def prepare(self, circuit: QuantumCircuit) -> tuple[QuantumCircuit, list[int]]:
        """The circuit narrowed to its active qubits, and their physical indices."""
        return compact(circuit)

    def choose(self, circuit: QuantumCircuit, shots: int) -> twin_methods.MethodChoice:
        """The method a circuit narrowed by :meth:`prepare` runs on, and why.

        Raises:
            ValueError: no method can run it.
        """
        return twin_methods.choose(twin_methods.shape_of(circuit), shots)

    def run(self, circuit: QuantumCircuit, shots: int = 1024, seed: int = 0) -> dict[str, int]:
        """Counts of a compiled circuit (on physical qubits), with the device's noise.

        The centre runs the same code, so the same compiled circuit, shots and
        seed give the same counts here as in a job's result.
        """
        return self.run_prepared(*self.prepare(circuit), shots=shots, seed=seed)

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
    ) -> TwinRun:
        """Run a narrowed circuit on its chosen method (or ``method``), and say which."""
        choice = self.choose(circuit, shots)
        if method is not None and method != choice.method:
            shape = twin_methods.shape_of(circuit)
            seconds = twin_methods.predict(method, shape, shots)
            choice = twin_methods.MethodChoice(
                method, f"{method} asked for (predicted {seconds:.3g} s)", seconds,
                method == "stabilizer", choice.estimates,
            )  # fmt: skip
        key = tuple(qubits)
        if choice.method == "density_matrix":
            if key not in self._simulators:
                self._simulators[key] = noise.simulator(self.document, qubits)
            simulator, runnable = self._simulators[key], circuit
        else:
            pauli = choice.method == "stabilizer"
            writer = self._writers.get(pauli)
            if writer is None:
                writer = self._writers[pauli] = twin_circuits.NoisyCircuits(
                    self.document, pauli=pauli
                )
            runnable = writer.write(circuit, qubits)
            if key not in self._readout:
                self._readout[key] = twin_circuits.readout_model(self.document, qubits)
            simulator = AerSimulator(method=choice.method, noise_model=self._readout[key])
        result = simulator.run(runnable, shots=shots, seed_simulator=seed).result()
        if not result.success:
            raise RuntimeError(f"Aer failed ({choice.method}): {result.status}")
        if circuit.num_clbits == 0:
            return TwinRun({}, choice)
        return TwinRun({str(k): int(v) for k, v in result.get_counts(0).items()}, choice)
