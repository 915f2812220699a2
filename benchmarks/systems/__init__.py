"""The systems measured: qharbor end to end, and each peer in-process.

Every system is a *runner* with the same four methods, one per kind of case:

- ``sample(circuit, shots, seed)``: counts keyed by integers, bit i = qubit i;
- ``state(circuit, probes)``: ``("vector", array, lsb_first)``, or for qharbor,
  whose state stays on the centre, ``("amplitudes", {k: amplitude})``;
- ``batch(circuits, shots, seed)``: one such counts object per circuit;
- ``estimate(circuit, values)``: ⟨Σ_i Z_i⟩ for each row of parameter values.

Each method is what is timed: it builds the library's circuit object from the
gate list and runs it until the result is in hand. The runner itself (the
simulator object, or for qharbor a running centre and a client) is made once
per process, before the clock starts.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class System:
    """A system's name, the module of its runner, its precision and what it runs.

    Attributes:
        name: the name used on the command line and in the results.
        module: the module defining ``Runner`` and ``versions()``.
        precision: ``double`` (complex128 amplitudes) or ``single`` (complex64).
        kinds: the case kinds it takes part in.
        options: keyword arguments for its ``Runner``.
        peer: True for the peers (in-process), False for qharbor's rows.
    """

    name: str
    module: str
    precision: str
    kinds: frozenset[str] = frozenset({"sample", "state", "batch", "estimate"})
    options: tuple[tuple[str, Any], ...] = ()
    peer: bool = True

    def runner(self) -> Any:
        return importlib.import_module(self.module).Runner(**dict(self.options))

    def versions(self) -> dict[str, str]:
        return dict(importlib.import_module(self.module).versions())


_PKG = "benchmarks.systems"

SYSTEMS: dict[str, System] = {
    system.name: system
    for system in (
        System(
            "qharbor", f"{_PKG}.qharbor", "double", options=(("precision", "double"),), peer=False
        ),
        System(
            "qharbor-single",
            f"{_PKG}.qharbor",
            "single",
            options=(("precision", "single"),),
            peer=False,
        ),
        # The 1000 small circuits as 1000 separate jobs over HTTP, for honesty.
        System(
            "qharbor-jobs",
            f"{_PKG}.qharbor",
            "double",
            kinds=frozenset({"batch"}),
            options=(("precision", "double"), ("separate_jobs", True)),
            peer=False,
        ),
        System("aer", f"{_PKG}.aer", "double"),
        System("qulacs", f"{_PKG}.qulacs", "double"),
        System("qsim", f"{_PKG}.qsim", "single"),
        System("cirq", f"{_PKG}.cirq", "single"),
        System("pyqpanda3", f"{_PKG}.pyqpanda", "double"),
        System("braket", f"{_PKG}.braket", "double"),
    )
}


def counts_from_ints(outcomes: Any) -> dict[int, int]:
    """Counts of an array of integer outcomes."""
    import numpy as np

    keys, hits = np.unique(np.asarray(outcomes, dtype=np.int64), return_counts=True)
    return {int(k): int(v) for k, v in zip(keys, hits, strict=True)}


def counts_from_rows(bits: Any) -> dict[int, int]:
    """Counts of a (shots × n) array of measured bits, column i = qubit i."""
    import numpy as np

    rows = np.asarray(bits, dtype=np.int64)
    return counts_from_ints(rows @ (1 << np.arange(rows.shape[1], dtype=np.int64)))
