"""How many threads a simulator library may use for one circuit.

qulacs and qsim parallelise with OpenMP. On a small state a parallel region
costs more than it saves, and on a shared host the spinning worker threads
compete with other jobs: a 12-qubit parameter sweep on qulacs ran 30 times
slower with two OpenMP threads than with one on our loaded 2-core host. So
narrow circuits run on one thread and wide ones on every core this process
is given: the cores it may run on, or fewer where ``OMP_NUM_THREADS`` says so.
A Ray task of one CPU sets it to 1 (:mod:`qharbor.executors.ray_driver`): two
1-CPU tasks of 20 qubits on a 2-core host otherwise ran two threads each, and
each ran at half speed.

Known gap: qulacs 0.6 reads its own thread count once, when first used (from
``QULACS_NUM_THREADS``, else OpenMP's default), and sets it itself around each
gate of a wide state, so :func:`openmp_setter`'s call does not hold a wide qulacs
run to fewer threads (``docs/benchmarks.md``, "Random circuits in double precision").
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Callable
from pathlib import Path

#: Qubits from which a state is large enough (2^16 amplitudes, 1 MiB in double)
#: for several threads to pay off.
PARALLEL_QUBITS = 16


#: The variable that caps the threads of one process (OpenMP's own).
BUDGET_ENV = "OMP_NUM_THREADS"


def host_threads() -> int:
    """The CPU cores this process may use: its affinity, capped by ``OMP_NUM_THREADS``.

    Read on every call, not once: a Ray worker process runs tasks that ask for
    different numbers of CPUs, and each task sets the budget before it runs.
    """
    try:
        cores = max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        cores = max(1, os.cpu_count() or 1)
    budget = os.environ.get(BUDGET_ENV, "").strip()
    if budget.isdigit() and int(budget) > 0:
        return min(cores, int(budget))
    return cores


def threads_for(num_qubits: int) -> int:
    """Threads to simulate a state of ``num_qubits`` qubits with."""
    return host_threads() if num_qubits >= PARALLEL_QUBITS else 1


def openmp_setter(folder: Path) -> Callable[[int], None] | None:
    """``omp_set_num_threads`` of the OpenMP runtime a wheel bundles, if it bundles one.

    Wheels built with auditwheel carry their own renamed ``libgomp`` in
    ``<package>.libs`` (``folder``); each library's runtime must be told
    separately. The setting holds for the calling thread, so it is made before
    every run.
    """
    for library in sorted(folder.glob("libgomp*.so*")):
        try:
            setter: Callable[[int], None] = ctypes.CDLL(str(library)).omp_set_num_threads
        except (OSError, AttributeError):
            continue
        return setter
    return None
