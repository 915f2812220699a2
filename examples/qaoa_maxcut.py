"""QAOA (p = 2) for MaxCut on an 8-node 3-regular graph, with ``SamplerV2`` in a session.

COBYLA tunes the four angles; each evaluation samples the circuit once on the
centre. The best cut among the final samples is checked against brute force.

    python examples/qaoa_maxcut.py [device]      # default: statevector
"""

from __future__ import annotations

import itertools
import sys

import numpy as np
from qiskit import QuantumCircuit
from qiskit.circuit import ParameterVector
from qiskit.transpiler import generate_preset_pass_manager
from scipy.optimize import minimize

from qharbor.qiskit import QHarborBackend, QHarborProvider, SamplerV2, Session

#: An 8-node 3-regular graph: a ring with its four long diagonals.
EDGES = [(i, (i + 1) % 8) for i in range(8)] + [(i, i + 4) for i in range(4)]
NODES = 8


def cut_value(bits: str, edges: list[tuple[int, int]] = EDGES) -> int:
    """Edges cut by an assignment; ``bits`` is in Qiskit's order (node 0 rightmost)."""
    side = bits[::-1]
    return sum(side[a] != side[b] for a, b in edges)


def brute_force(edges: list[tuple[int, int]] = EDGES, nodes: int = NODES) -> int:
    """The maximum cut, by trying every assignment."""
    return max(cut_value("".join(bits), edges) for bits in itertools.product("01", repeat=nodes))


def qaoa_circuit(p: int = 2) -> QuantumCircuit:
    """The QAOA circuit: |+⟩^n, then p rounds of cost and mixer layers, then measurement."""
    gammas = ParameterVector("γ", p)
    betas = ParameterVector("β", p)
    circuit = QuantumCircuit(NODES, name="qaoa-maxcut")
    circuit.h(range(NODES))
    for layer in range(p):
        for a, b in EDGES:
            circuit.rzz(-gammas[layer], a, b)
        circuit.rx(2 * betas[layer], range(NODES))
    circuit.measure_all()
    return circuit


def expected_cut(counts: dict[str, int]) -> float:
    """The mean cut of the samples."""
    shots = sum(counts.values())
    return sum(cut_value(bits) * n for bits, n in counts.items()) / shots


def run_qaoa(
    backend: QHarborBackend, *, shots: int = 512, maxiter: int = 30, seed: int = 5
) -> dict[str, float | str]:
    """Optimise the angles, then sample the tuned circuit.

    Returns:
        ``best_cut`` and ``best_bits`` among the final samples, ``maximum_cut``
        by brute force, ``expected_cut`` and ``ratio`` (expected over maximum).
    """
    pm = generate_preset_pass_manager(backend=backend, optimization_level=1, seed_transpiler=seed)
    circuit = pm.run(qaoa_circuit())
    # Angles known to suit 3-regular graphs at p = 2, as the starting point
    # (in circuit.parameters order: β0, β1, γ0, γ1).
    start = np.array([0.555, 0.292, 0.488, 0.898])
    with Session(backend=backend) as session:
        sampler = SamplerV2(mode=session, options={"default_shots": shots, "seed": seed})

        def negative_cut(x: np.ndarray) -> float:
            counts = sampler.run([(circuit, x)]).result()[0].data.meas.get_counts()
            return -expected_cut(counts)

        found = minimize(negative_cut, start, method="COBYLA", options={"maxiter": maxiter})
        final = sampler.run([(circuit, found.x)], shots=4 * shots).result()
    counts = final[0].data.meas.get_counts()
    best_bits = max(counts, key=cut_value)
    maximum = brute_force()
    mean = expected_cut(counts)
    return {
        "best_cut": cut_value(best_bits),
        "best_bits": best_bits,
        "maximum_cut": maximum,
        "expected_cut": mean,
        "ratio": mean / maximum,
    }


def main() -> None:
    device = sys.argv[1] if len(sys.argv) > 1 else "statevector"
    outcome = run_qaoa(QHarborProvider().backend(device))
    print(
        f"{device}: best cut {outcome['best_cut']} ({outcome['best_bits']}), maximum "
        f"{outcome['maximum_cut']}; expected cut {outcome['expected_cut']:.2f}, "
        f"ratio {outcome['ratio']:.3f}"
    )


if __name__ == "__main__":
    main()
