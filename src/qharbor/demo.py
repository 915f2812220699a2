"""``qharbor demo``: start a throwaway centre and take it through five kinds of job.

The programs are generated here as OpenQASM text, the same text a user would
send, and submitted through the public SDK; the centre is the real one, on a
free local port with a temporary data folder.
"""

from __future__ import annotations

import contextlib
import math
import shutil
import signal
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich import box
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from qharbor import render
from qharbor.client import HarborService, Job, JobResult

SWEEP_POINTS = 50
QFT_QUBITS = 12
QFT_VALUE = 1234  # the integer the QFT demo encodes in phases and reads back
GHZ_QUBITS = 20


# --- the programs ---------------------------------------------------------------------


def bell_qasm2() -> str:
    """A Bell pair in OpenQASM 2: counts split between ``00`` and ``11``."""
    return (
        "OPENQASM 2.0;\n"
        'include "qelib1.inc";\n'
        "qreg q[2];\ncreg c[2];\n"
        "h q[0];\ncx q[0],q[1];\n"
        "measure q -> c;\n"
    )


def ghz_qasm3(n: int = GHZ_QUBITS) -> str:
    """An ``n``-qubit GHZ state: all zeros or all ones."""
    lines = [
        "OPENQASM 3.0;",
        'include "stdgates.inc";',
        f"qubit[{n}] q;",
        f"bit[{n}] c;",
        "h q[0];",
    ]
    lines += [f"cx q[{i}], q[{i + 1}];" for i in range(n - 1)]
    lines.append("c = measure q;")
    return "\n".join(lines) + "\n"


def qft_qasm3(n: int = QFT_QUBITS, value: int = QFT_VALUE) -> str:
    """Encode ``value`` as the Fourier state QFT|value>, then undo it with the inverse QFT.

    The phase on qubit j is 2π·value·2^j / 2^n, which is exactly QFT|value> in
    Qiskit's (little-endian) convention; the inverse QFT then returns
    ``|value>``, so every shot reads ``value`` in binary.
    """
    size = 2**n
    lines = ["OPENQASM 3.0;", 'include "stdgates.inc";', f"qubit[{n}] q;", f"bit[{n}] c;"]
    for j in range(n):
        angle = 2 * math.pi * ((value * 2**j) % size) / size
        lines += [f"h q[{j}];", f"p({angle!r}) q[{j}];"]
    # Inverse QFT: Qiskit's QFT (with swaps), reversed and with negated angles.
    lines += [f"swap q[{i}], q[{n - 1 - i}];" for i in range(n // 2)]
    for j in range(n):
        for k in range(j):
            lines.append(f"cp({-math.pi / 2 ** (j - k)!r}) q[{j}], q[{k}];")
        lines.append(f"h q[{j}];")
    lines.append("c = measure q;")
    return "\n".join(lines) + "\n"


def feed_forward_qasm3() -> str:
    """A mid-circuit measurement steering a later gate: ``00`` or ``11``, never mixed."""
    return (
        "OPENQASM 3.0;\n"
        'include "stdgates.inc";\n'
        "qubit[2] q;\nbit[2] c;\n"
        "h q[0];\n"
        "c[0] = measure q[0];\n"
        "if (c[0]) x q[1];\n"
        "c[1] = measure q[1];\n"
    )


def rotation_qasm3() -> str:
    """One qubit rotated by an input angle ``theta``: P(1) = sin²(θ/2)."""
    return (
        "OPENQASM 3.0;\n"
        'include "stdgates.inc";\n'
        "input float[64] theta;\n"
        "qubit[1] q;\nbit[1] c;\n"
        "rx(theta) q[0];\n"
        "c[0] = measure q[0];\n"
    )


def sweep_values(points: int = SWEEP_POINTS) -> list[float]:
    """``points`` angles from 0 to 2π inclusive, in radians."""
    return [2 * math.pi * i / (points - 1) for i in range(points)]


@dataclass(frozen=True)
class Example:
    """One demo job: what it shows, what to submit, and how to read its result."""

    title: str
    programs: list[Any]
    shots: int
    note: str


def examples() -> list[Example]:
    """The demo's jobs, in the order they are shown."""
    value_bits = format(QFT_VALUE, f"0{QFT_QUBITS}b")
    return [
        Example(
            "Bell pair (OpenQASM 2)", [bell_qasm2()], 1000, "expect 00 and 11, about half each"
        ),
        Example(
            f"GHZ state on {GHZ_QUBITS} qubits", [ghz_qasm3()], 1000, "expect all 0s or all 1s"
        ),
        Example(
            f"QFT on {QFT_QUBITS} qubits",
            [qft_qasm3()],
            1000,
            f"{QFT_VALUE} is encoded in phases; the inverse QFT reads back {value_bits}",
        ),
        Example(
            "Mid-circuit measurement + feed-forward",
            [feed_forward_qasm3()],
            1000,
            "if (c[0]) x q[1]; copies the first outcome: expect 00 and 11 only",
        ),
        Example(
            f"Parameter sweep, {SWEEP_POINTS} angles, compiled once",
            [{"source": rotation_qasm3(), "parameters": [[v] for v in sweep_values()]}],
            2000,
            "P(1) should follow sin²(θ/2)",
        ),
    ]


# --- running it --------------------------------------------------------------------------


def run_demo(console: Console, keep_running: bool, workers: int | None = None) -> None:
    """Start a local centre, run the examples through the SDK, and show the results.

    Args:
        console: Where to print.
        keep_running: After the tour, keep the centre up until Ctrl+C.
        workers: Worker processes for the centre; by default the server's choice.

    Raises:
        ImportError: The server extra is not installed.
    """
    from qharbor.api.server import CentreServer
    from qharbor.settings import Settings

    data_dir = Path(tempfile.mkdtemp(prefix="qharbor-demo-"))
    options: dict[str, Any] = {"workers": workers} if workers is not None else {}
    settings = Settings(
        host="127.0.0.1",
        port=0,
        data_dir=data_dir,
        write_account_file=False,
        log_level="warning",  # the demo's own output is the show; keep uvicorn's quiet
        **options,
    )
    server = CentreServer(settings)
    try:
        with console.status("Starting a centre…", spinner="dots"):
            server.start()
        console.print(f"[bold green]Centre up[/bold green] at {server.url} (data in {data_dir})")
        with HarborService(server.url, server.bootstrap_token) as service:
            tour(console, service)
            console.print(f"\nAPI docs: [link={server.url}/docs]{server.url}/docs[/link]")
            if keep_running:
                console.print(
                    f"\n[bold]Centre running at {server.url}, press Ctrl+C to stop[/bold]\n"
                    "Use it from another terminal:\n"
                    f"  export QHARBOR_URL={server.url}\n"
                    f"  export QHARBOR_TOKEN={server.bootstrap_token}\n"
                    "  qharbor devices"
                )
                _block_until_interrupted()
    finally:
        with console.status("Stopping the centre…", spinner="dots"):
            server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


def tour(console: Console, service: HarborService) -> None:
    """Submit every example, wait for all of them, then show each result."""
    chosen = examples()
    jobs: list[Job] = []
    results: list[JobResult] = []
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("Submitting", total=len(chosen) * 2)
        for number, example in enumerate(chosen):
            jobs.append(
                service.run(example.programs, shots=example.shots, seed=7 + number, tags=["demo"])
            )
            progress.advance(task)
        for example, job in zip(chosen, jobs, strict=True):
            progress.update(task, description=f"Waiting for {example.title}")
            results.append(job.result(timeout=300))
            progress.advance(task)
    for example, job, result in zip(chosen, jobs, results, strict=True):
        show_example(console, example, job, result)


def show_example(console: Console, example: Example, job: Job, result: JobResult) -> None:
    """Print one example's outcome: counts (or the sweep table), timings and engine."""
    console.print()
    console.rule(f"[bold]{example.title}[/bold]", align="left")
    console.print(f"[dim]{example.note}\njob {job.job_id}[/dim]")
    if len(result.experiments) > 1:
        console.print(sweep_table(result))
    else:
        console.print(render.counts_table(result.experiments[0].counts, top=4))
    console.print(render.timings_text(result))


def sweep_table(result: JobResult, rows: int = 11) -> Table:
    """P(1) against θ for a sweep, with the exact value, at ``rows`` evenly spread angles."""
    table = Table(box=box.SIMPLE_HEAD)
    table.add_column("θ (rad)", justify="right")
    table.add_column("P(1)", justify="right")
    table.add_column("sin²(θ/2)", justify="right", style="dim")
    table.add_column("", no_wrap=True)
    experiments = result.experiments
    last = len(experiments) - 1
    picked = sorted({round(i * last / max(1, rows - 1)) for i in range(rows)})
    for index in picked:
        experiment = experiments[index]
        theta = _first_parameter(experiment.parameters)
        p1 = experiment.probabilities().get("1", 0.0)
        exact = math.sin(theta / 2) ** 2 if theta is not None else float("nan")
        table.add_row(
            f"{theta:.3f}" if theta is not None else "?",
            f"{p1:.3f}",
            f"{exact:.3f}",
            render.bar(p1, width=20),
        )
    return table


def _first_parameter(parameters: Any) -> float | None:
    if isinstance(parameters, dict) and parameters:
        return float(next(iter(parameters.values())))
    if isinstance(parameters, list | tuple) and parameters:
        return float(parameters[0])
    return None


def _block_until_interrupted() -> None:
    """Sleep until Ctrl+C or SIGTERM; the caller's ``finally`` then stops the centre."""

    def _terminate(_signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminate)
    stop = threading.Event()
    with contextlib.suppress(KeyboardInterrupt):
        while not stop.wait(1.0):
            pass
