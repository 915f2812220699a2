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

from qiskit import QuantumCircuit
from qiskit.converters import circuit_to_dag, dag_to_circuit
from qiskit.transpiler import Target
from qiskit_aer import AerSimulator

from qharbor.devices.twins import document as documents
from qharbor.devices.twins import target as targets
from qharbor.engines import noise

#: Widest active register a twin simulates (as a density matrix: 4^12 amplitudes).
MAX_ACTIVE_QUBITS = 12


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


class LocalTwin:
    """A device twin on this machine.

    Args:
        document: the twin document, or its JSON from ``GET /v1/devices/{name}/twin``.
    """

    def __init__(self, document: documents.DocumentLike) -> None:
        self.document = documents.read(document)
        self.name = self.document.device
        self.snapshot_id = self.document.calibration.id
        self._simulators: dict[tuple[int, ...], AerSimulator] = {}

    def target(self) -> Target:
        """The device's Qiskit target, to transpile for it."""
        return targets.target(self.document)

    def prepare(self, circuit: QuantumCircuit) -> tuple[QuantumCircuit, list[int]]:
        """The circuit narrowed to its active qubits, and their physical indices."""
        narrow, qubits = compact(circuit)
        limit = min(self.document.max_active_qubits or MAX_ACTIVE_QUBITS, MAX_ACTIVE_QUBITS)
        if len(qubits) > limit:
            raise ValueError(
                f"the circuit acts on {len(qubits)} qubits; the twin of {self.name!r} "
                f"simulates at most {limit} active qubits"
            )
        return narrow, qubits

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
        key = tuple(qubits)
        if key not in self._simulators:
            self._simulators[key] = noise.simulator(self.document, qubits)
        noisy = noise.with_idle_noise(self.document, circuit, qubits)
        result = self._simulators[key].run(noisy, shots=shots, seed_simulator=seed).result()
        if not result.success:
            raise RuntimeError(f"Aer failed: {result.status}")
        if circuit.num_clbits == 0:
            return {}
        return {str(k): int(v) for k, v in result.get_counts(0).items()}
