"""A plugin engine installed the way pip installs one: a module and a dist-info directory.

``install`` writes both into a directory; with that directory on ``sys.path`` (and
on ``PYTHONPATH`` for worker processes), ``importlib.metadata`` finds the
distribution's entry points in the ``qharbor.engines`` group.
"""

from __future__ import annotations

from pathlib import Path

#: The plugin's module: an engine that computes the final state with
#: ``qiskit.quantum_info.Statevector`` and samples its counts.
MODULE = """
from qiskit.quantum_info import Statevector

from qharbor.engines.base import run_each
from qharbor.engines.sampling import sample_states


class ToyEngine:
    name = "toy"
    precisions = frozenset({"double"})
    operations = frozenset({"h", "x", "cx", "rx", "ry", "rz", "measure"})

    def unsupported(self, features, method, precision):
        if method != "statevector":
            return f"toy computes state vectors only, not {method}"
        if features.mid_circuit_measurement or features.resets or features.control_flow:
            return "toy runs circuits whose measurements come last"
        return None

    def run(self, experiments, *, method, shots, seed, precision="double"):
        def sample(circuit, binding, run_seed):
            (state,) = self.statevectors(circuit, [binding] if binding else [])
            return sample_states(circuit, [state], shots, run_seed, 0.0)[0].counts

        return run_each(experiments, seed, lambda circuit: circuit, sample)

    def statevectors(self, circuit, bindings, *, precision="double"):
        bare = circuit.remove_final_measurements(inplace=False)
        states = []
        for binding in bindings or (None,):
            bound = bare
            if binding:
                bound = bare.assign_parameters({p: binding[p.name] for p in bare.parameters})
            states.append(Statevector(bound).data)
        return states

    def versions(self):
        return {"toy": "1.0"}


class NotAnEngine:
    name = "half"
"""


def install(directory: Path, entries: dict[str, str]) -> Path:
    """Write the ``toy_engine`` module and a distribution declaring ``entries``.

    Args:
        directory: where to install (made if missing).
        entries: entry-point name to ``module:Class`` in the ``qharbor.engines`` group.

    Returns:
        ``directory``, to put on ``sys.path``.
    """
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "toy_engine.py").write_text(MODULE)
    info = directory / "qharbor_toy_engine-1.0.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: qharbor-toy-engine\nVersion: 1.0\n"
    )
    lines = [f"{name} = {value}" for name, value in entries.items()]
    (info / "entry_points.txt").write_text("[qharbor.engines]\n" + "\n".join(lines) + "\n")
    return directory
