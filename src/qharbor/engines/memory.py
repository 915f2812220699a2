"""How much memory a job adds to an idle worker: per engine, state form, precision and width.

A worker holding a state of ``n`` qubits needs memory in proportion to its
amplitudes (``2^n`` for a state vector, ``4^n`` for a density matrix), at a
number of bytes per amplitude that depends on the engine and the precision: the
state itself, and the scratch an engine keeps beside it (qulacs samples from a
cumulative distribution of one double per amplitude). The table below was
measured with ``python -m benchmarks.memory`` (the peak resident memory of a
worker subprocess above its idle level, at 18 to 24 qubits, fitted by least
squares); docs/operations.md lists the figures.

From :data:`LEAN_QUBITS` on, automatic selection leaves out engines whose
scratch is more than a quarter of the state (:func:`lean_refusal`): there the
scratch is gigabytes, and a 29-qubit state in double precision (8 GiB) then
runs in at most 1.25 times its size.

The estimate is the most any engine the job may run on needs, so it holds
whichever engine automatic selection picks. The catalogue's qubit limit and the
admission of jobs both come from :func:`job_bytes`, so they cannot disagree.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import psutil

#: Memory a job needs whatever its width: parsing, compiling, the result document
#: and allocator slack (bytes). The measured fixed terms were below 2 MiB.
FIXED_BYTES = 32 * 1024 * 1024
#: Bytes per amplitude, per engine and precision, when an engine samples a state
#: vector (measured: Aer 16.02 and 8.01, qulacs 24.0 (the state and a cumulative
#: distribution to sample from), qsim 8.01; rounded up).
_DENSE: dict[tuple[str, str], float] = {
    ("aer", "double"): 16.5,
    ("aer", "single"): 8.5,
    ("qulacs", "double"): 24.5,
    ("qsim", "single"): 8.5,
}
#: Bytes per amplitude of a state an engine that is not in the table keeps.
_DENSE_DEFAULT = 24.5
#: Bytes per entry of a density matrix (Aer; measured 16.03).
_DENSITY_BYTES = 16.5
#: Bytes per amplitude a result-type program adds for each final state it keeps
#: (a complex128 copy). Its counts are sampled from that copy in blocks, with a
#: few MiB of scratch (:mod:`qharbor.engines.sampling`).
STATE_COPY_BYTES = 16
#: Qubits from which automatic selection runs a state-vector circuit only on a
#: lean engine: at 27 qubits qulacs's cumulative distribution alone is 1 GiB.
LEAN_QUBITS = 27
#: The most a lean engine holds per amplitude, over the state's own bytes.
LEAN_RATIO = 1.25
#: Bytes per amplitude of the state itself, per precision.
_STATE_BYTES = {"double": 16, "single": 8}
#: Bytes per qubit squared of a stabilizer tableau (generous: a few bits each).
_TABLEAU_BYTES = 4
#: A matrix-product state's size depends on the entanglement, not the width;
#: this is what a job on it is assumed to need (bytes).
MPS_BYTES = 512 * 1024 * 1024


#: Memory an idle worker process holds (Python, Qiskit, the engines), in bytes:
#: measured at 265 MiB; rounded up.
WORKER_IDLE_BYTES = 320 * 1024 * 1024


def host_capacity(
    limit_bytes: int | None = None,
    fraction: float = 0.8,
    workers: int = 0,
    total_bytes: int | None = None,
) -> int:
    """The memory the jobs of this host may use together, in bytes.

    Args:
        limit_bytes: the operator's figure; used as it is when given.
        fraction: share of the host's total memory for the workers, the rest
            being left to the system, the centre and the database.
        workers: worker processes, whose idle memory comes out of that share.
        total_bytes: the host's memory; the machine's total when omitted.
    """
    if limit_bytes is not None:
        return limit_bytes
    total = total_bytes if total_bytes is not None else psutil.virtual_memory().total
    return max(0, int(total * fraction) - workers * WORKER_IDLE_BYTES)


@dataclass(frozen=True)
class Workload:
    """One circuit of a job, as far as memory is concerned.

    Attributes:
        width: its qubits (for a device twin: the active qubits it simulates).
        states: final states the worker keeps for it (result types: one per
            parameter binding), besides the engine's own.
    """

    width: int
    states: int = 0


def amplitudes(form: str, width: int) -> float:
    """Entries of the state of ``width`` qubits in a ``dense`` or ``density`` form."""
    if width >= 1024:
        return float("inf")
    return float(1 << (2 * width if form == "density" else width))


def form_of(method: str) -> str:
    """The state's form for a device method: dense, density, tableau or mps."""
    return {
        "density_matrix": "density",
        "twin": "density",  # twins simulate their active qubits' density matrix
        "stabilizer": "tableau",
        "matrix_product_state": "mps",
    }.get(method, "dense")


def engine_bytes(engine: str, method: str, precision: str, width: int) -> float:
    """Bytes one engine adds to a worker to run one circuit of ``width`` qubits.

    Args:
        engine: the registered engine name.
        method: the device's method (``statevector``, ``density_matrix``, ...).
        precision: the precision the engine computes in (``double`` or ``single``).
        width: the circuit's qubits.
    """
    form = "tableau" if engine == "stim" else form_of(method)
    if form == "tableau":
        return FIXED_BYTES + _TABLEAU_BYTES * width * width
    if form == "mps":
        return FIXED_BYTES + MPS_BYTES
    if form == "density":
        per = _DENSITY_BYTES if precision == "double" else _DENSITY_BYTES / 2
        return FIXED_BYTES + per * amplitudes("density", width)
    # A single-precision job on a double-only engine runs in double.
    per = _DENSE.get((engine, precision)) or _DENSE.get((engine, "double"), _DENSE_DEFAULT)
    return FIXED_BYTES + per * amplitudes("dense", width)


def lean_refusal(engine: str, method: str, precision: str, width: int) -> str | None:
    """Why automatic selection leaves ``engine`` out for a circuit of ``width`` qubits.

    From :data:`LEAN_QUBITS` on, a state-vector engine must hold at most
    :data:`LEAN_RATIO` times the state's own bytes (in the job's precision: a
    single-precision job on a double-only engine holds twice its state).

    Args:
        engine: the registered engine name.
        method: the device's method.
        precision: the job's precision.
        width: the circuit's qubits.
    """
    if width < LEAN_QUBITS or form_of(method) != "dense":
        return None
    state = _STATE_BYTES.get(precision, 16)
    held = (engine_bytes(engine, method, precision, width) - FIXED_BYTES) / amplitudes(
        "dense", width
    )
    if held <= LEAN_RATIO * state:
        return None
    return (
        f"{engine} holds {held / state:.2g} times a {width}-qubit state; from "
        f"{LEAN_QUBITS} qubits automatic selection uses engines that hold at most "
        f"{LEAN_RATIO:g} times it"
    )


def job_bytes(
    engines: Iterable[tuple[str, str]],
    method: str,
    workloads: Iterable[Workload],
    *,
    automatic: bool = False,
) -> int:
    """The most memory a job needs at once, over the engines that may run it (bytes).

    The worker runs one circuit at a time, so the engines' share is the widest
    circuit's; the final states result-type programs keep add up, since the
    worker holds them all until the result is built.

    Args:
        engines: (engine, the job's precision) for each engine that may run
            the job: the pinned one, or every candidate of the device.
        method: the device's method.
        workloads: the job's circuits.
        automatic: the engines are the candidates of automatic selection, which
            runs wide circuits on lean ones only (:func:`lean_refusal`), when
            there is one.
    """
    loads = list(workloads) or [Workload(0)]
    pairs = list(engines)
    running = max(
        engine_bytes(e, method, p, w.width)
        for w in loads
        for e, p in _may_run(pairs, method, w.width, automatic)
    )
    kept = sum(w.states * STATE_COPY_BYTES * amplitudes("dense", w.width) for w in loads)
    total = running + kept
    return int(min(total, 2**62))


def _may_run(
    pairs: list[tuple[str, str]], method: str, width: int, automatic: bool
) -> list[tuple[str, str]]:
    """The (engine, precision) pairs that may run a circuit of ``width`` qubits."""
    if not automatic:
        return pairs
    lean = [(e, p) for e, p in pairs if lean_refusal(e, method, p, width) is None]
    return lean or pairs


def widest(
    engines: Iterable[tuple[str, str]], method: str, capacity_bytes: int, *, automatic: bool = False
) -> int:
    """The widest one-circuit job whose need fits in ``capacity_bytes`` (0 if none)."""
    pairs = list(engines)
    width = 0
    while (
        width < 1023
        and job_bytes(pairs, method, [Workload(width + 1)], automatic=automatic) <= capacity_bytes
    ):
        width += 1
    return width


def describe(nbytes: float) -> str:
    """``12.5 GiB``, ``310 MiB``: short, for messages."""
    if nbytes >= 1024**3:
        return f"{nbytes / 1024**3:.1f} GiB"
    return f"{nbytes / 1024**2:.0f} MiB"
