"""Where a batch job's CPU goes: ``batch5u3``'s programs admitted and run in one process.

Run: python -m benchmarks.batch_path [--runs 3]

Admits the 1000 programs of the ``batch5u3`` case as the centre does (parse,
limits, device checks, the stored form: a gate list for these plain programs;
here, without the sandbox, so one process holds all the work), then runs them
as the worker does, and prints the CPU seconds
of each (``time.process_time``, which a loaded machine disturbs much less than
wall time), best and spread over the runs. Every run uses fresh program text,
so no parse is reused. It also times the OpenQASM 2 front end alone on 80-gate
programs (to a gate list, and to a circuit), against Qiskit's ``qasm2.loads``
on the same text. The end-to-end
figure, HTTP and storage included, is ``benchmarks.run --cases batch5u3``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

from benchmarks import cases
from benchmarks.systems.qharbor import qasm2 as program_text
from qharbor.devices import catalogue
from qharbor.jobs import preparation
from qharbor.jobs.claims import Claim
from qharbor.jobs.parsed import ParsedProgram
from qharbor.jobs.request import JobRequest, PreparedJob, ProgramSpec
from qharbor.programs import qasm2
from qharbor.workers.circuits import execute_circuits

DEVICE = "statevector"
SHOTS = 100


def _device() -> Any:
    return next(d for d in catalogue.simulator_devices() if d.name == DEVICE)


def admit(texts: list[str]) -> PreparedJob:
    """The programs admitted as one job, in this process."""
    request = JobRequest(
        device=DEVICE, programs=tuple(ProgramSpec(source=t) for t in texts), shots=SHOTS, seed=7
    )
    return preparation.prepare(
        request, _device(), max_program_bytes=1 << 20, max_experiments=1_000_000
    )


def run(prepared: PreparedJob) -> Any:
    """The admitted job run as its worker runs it."""
    stored = [p.to_json() for p in prepared.programs]
    claim = Claim("batch", 1, DEVICE, SHOTS, 7, stored).prepared(_device())
    return execute_circuits(claim, [ParsedProgram.from_json(body) for body in stored])


def _cpu(work: Callable[[], Any]) -> tuple[float, Any]:
    started = time.process_time()
    value = work()
    return time.process_time() - started, value


def _summary(values: list[float], scale: float, unit: str) -> str:
    return (
        f"best {min(values) * scale:.3f} {unit} "
        f"(spread {min(values) * scale:.3f}-{max(values) * scale:.3f})"
    )


def eighty_gate_programs(texts: list[str]) -> list[str]:
    """The header, the first 80 gates and the measurements of each program."""
    out = []
    for index, text in enumerate(texts):
        lines = text.splitlines()
        out.append("\n".join([*lines[:84], "measure q -> c;", f"// {index}"]) + "\n")
    return out


def _qiskit_parse(text: str) -> Any:
    from qiskit import qasm2 as qiskit_qasm2

    return qiskit_qasm2.loads(
        text,
        include_path=(),
        custom_instructions=qiskit_qasm2.LEGACY_CUSTOM_INSTRUCTIONS,
        strict=False,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    work = cases.CASES["batch5u3"].work(False)
    texts = [program_text(c) for c in work.circuits]
    run(admit(texts[:20]))  # imports and first-call costs, untimed
    admitted, ran = [], []
    for attempt in range(args.runs):
        fresh = [f"{t}// run {attempt}\n" for t in texts]
        seconds, prepared = _cpu(lambda fresh=fresh: admit(fresh))
        admitted.append(seconds)
        ran.append(_cpu(lambda prepared=prepared: run(prepared))[0])
    print(f"{len(texts)} programs of batch5u3, CPU seconds")
    print(f"  admission (parse, limits, checks, stored form)  {_summary(admitted, 1, 's')}")
    print(f"  worker (load, compile, select, run)             {_summary(ran, 1, 's')}")
    short = eighty_gate_programs(texts[:300])
    print(f"OpenQASM 2 front end, {len(short)} programs of 80 gates, CPU ms per program")
    for label, parse in (
        ("qasm2.parse_plain (gate list)", qasm2.parse_plain),
        ("qasm2.parse (circuit)", qasm2.parse),
        ("qiskit.qasm2.loads", _qiskit_parse),
    ):
        timed = []
        for _ in range(max(args.runs, 3)):
            seconds, _value = _cpu(lambda parse=parse: [parse(t) for t in short])
            timed.append(seconds / len(short))
        print(f"  {label:30s} {_summary(timed, 1000, 'ms')}")


if __name__ == "__main__":
    main()
