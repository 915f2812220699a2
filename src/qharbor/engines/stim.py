"""stim as an engine: exact stabilizer sampling of Clifford circuits, thousands of qubits wide.

Conventions handled:

* **Gates.** Qiskit's Clifford gates map to stim's by name (``sdg`` is ``S_DAG``,
  ``sx`` is ``SQRT_X``, ``dcx`` is ``CX a b; CX b a``, ...). Any other Clifford
  operation (``ecr``, a Clifford ``unitary``) is synthesised by
  ``qiskit.quantum_info.Clifford`` into H, S and CX first. Global phases do not
  matter: stim only samples.
* **Measurements.** stim keeps a record of every measurement in time order, mid-circuit
  ones and ``reset`` included. Each record is mapped to the clbit it was written
  to; when a clbit is written twice, the later measurement wins, as in Qiskit.
* **Bit order.** Counts are keyed as Qiskit keys them: clbit 0 rightmost,
  registers separated by spaces, clbits nobody wrote read as 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import metadata
from typing import Any

import stim
from qiskit import QuantumCircuit
from qiskit.quantum_info import Clifford

from qharbor import errors
from qharbor.engines.base import PRECISIONS, Experiment, ExperimentOutcome, run_each
from qharbor.engines.features import CLIFFORD_GATES, NON_GATES, CircuitFeatures
from qharbor.engines.readout import Readout

#: Qiskit gate name -> stim gate name.
_GATES = {
    "x": "X",
    "y": "Y",
    "z": "Z",
    "h": "H",
    "s": "S",
    "sdg": "S_DAG",
    "sx": "SQRT_X",
    "sxdg": "SQRT_X_DAG",
    "cx": "CX",
    "cy": "CY",
    "cz": "CZ",
    "swap": "SWAP",
    "iswap": "ISWAP",
}
_SKIP = frozenset({"id", "barrier", "delay"})
#: What the translator is proven on (by the differential conformance harness).
#: Selection gives stim Clifford circuits of these gates only (``unsupported``).
OPERATIONS = CLIFFORD_GATES | _SKIP | {"measure", "reset"}
_SEED_MODULUS = 2**63


class StimEngine:
    """Samples Clifford circuits, with mid-circuit measurement and reset, on stim."""

    name = "stim"
    #: Stabilizer simulation is exact; it has no floating-point state to round.
    precisions = frozenset(PRECISIONS)
    methods = frozenset({"statevector", "stabilizer"})
    operations = OPERATIONS

    def unsupported(self, features: CircuitFeatures, method: str, precision: str) -> str | None:
        if precision not in self.precisions:
            return f"unknown precision {precision}"
        if method not in self.methods:
            return f"stim implements the stabilizer and statevector methods only, not {method}"
        if features.control_flow:
            return "stim here runs circuits without classical control flow"
        if not features.clifford:
            others = sorted(n for n in features.gates if n not in CLIFFORD_GATES | NON_GATES)
            found = f"found {', '.join(others)}" if others else "it has parameters"
            return f"stim runs Clifford circuits only; {found}"
        return None

    def versions(self) -> dict[str, str]:
        return {"qiskit": metadata.version("qiskit"), "stim": metadata.version("stim")}

    def run(
        self,
        experiments: Sequence[Experiment],
        *,
        method: str,
        shots: int,
        seed: int,
        precision: str = "double",
    ) -> list[list[ExperimentOutcome]]:
        """Run each experiment; the k-th run overall samples with seed ``seed + k``."""
        if method not in self.methods:
            raise errors.ExecutionError(f"stim does not implement the {method} method")

        def prepare(circuit: QuantumCircuit) -> tuple[stim.Circuit, Readout]:
            if circuit.num_parameters:
                raise errors.ExecutionError("stim runs Clifford circuits without parameters")
            return translate(circuit)

        def sample(program: tuple[stim.Circuit, Readout], _binding: Any, run_seed: int) -> Any:
            # A Clifford circuit has no parameters: every binding runs the same circuit.
            circuit, readout = program
            if not readout.pairs:
                return {}
            sampler = circuit.compile_sampler(seed=run_seed % _SEED_MODULUS)
            return readout.counts_from_records(sampler.sample(shots))

        return run_each(experiments, seed, prepare, sample)


def translate(circuit: QuantumCircuit) -> tuple[stim.Circuit, Readout]:
    """``circuit`` as a stim circuit, and where each measurement record lands.

    Raises:
        errors.ExecutionError: an operation is not Clifford, or is classical control.
    """
    out = stim.Circuit()
    qubit_index = {q: i for i, q in enumerate(circuit.qubits)}
    clbit_index = {c: i for i, c in enumerate(circuit.clbits)}
    pairs: list[tuple[int, int]] = []
    for instruction in circuit.data:
        name = instruction.name
        qubits = [qubit_index[q] for q in instruction.qubits]
        if name == "measure":
            pairs.append((len(pairs), clbit_index[instruction.clbits[0]]))
            out.append("M", qubits)
        elif name == "reset":
            out.append("R", qubits)
        elif name in _SKIP:
            continue
        elif instruction.is_control_flow() or instruction.clbits:
            raise errors.ExecutionError(f"stim here runs no classical control ({name!r})")
        else:
            append_gate(out, name, qubits, instruction.operation)
    return out, Readout.of(circuit, pairs)


def append_gate(out: stim.Circuit, name: str, qubits: list[int], op: Any) -> None:
    """Append one Clifford gate to ``out``: by name, or synthesised into H, S and CX."""
    stim_name = _GATES.get(name)
    if stim_name is not None:
        out.append(stim_name, qubits)
        return
    if name == "dcx":
        out.append("CX", qubits)
        out.append("CX", qubits[::-1])
        return
    try:
        synthesis = Clifford(op).to_circuit()
    except Exception:  # Qiskit raises several types for non-Clifford operations
        raise errors.ExecutionError(
            f"stim runs Clifford circuits only; {name!r} is not a Clifford operation"
        ) from None
    for inner in synthesis.data:
        local = [synthesis.find_bit(q).index for q in inner.qubits]
        append_gate(out, inner.name, [qubits[i] for i in local], inner.operation)
