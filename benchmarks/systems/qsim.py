"""qsim through qsimcirq in-process, single precision, with one thread per core.

qsimcirq defaults to one thread; ``qsim_options={"t": os.cpu_count()}`` uses all.
"""

from __future__ import annotations

import os
from importlib import metadata

import qsimcirq

from benchmarks.systems.cirq import CirqLike


def versions() -> dict[str, str]:
    return {"qsimcirq": metadata.version("qsimcirq"), "cirq-core": metadata.version("cirq-core")}


class Runner(CirqLike):
    def __init__(self) -> None:
        self.simulator = qsimcirq.QSimSimulator(qsim_options={"t": os.cpu_count() or 1}, seed=1234)
        self.notes: list[str] = []
