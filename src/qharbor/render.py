"""Rich renderings of client values, shared by the CLI and the demo.

Only the client's plain values come in (job JSON, :class:`DeviceInfo`,
:class:`JobResult`); nothing here talks to a centre.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich import box
from rich.table import Table
from rich.text import Text

from qharbor.client.results import DeviceInfo, JobResult

STATUS_STYLES = {
    "QUEUED": "yellow",
    "RUNNING": "cyan",
    "DONE": "green",
    "FAILED": "bold red",
    "CANCELLED": "magenta",
    "ONLINE": "green",
    "OFFLINE": "red",
    "MAINTENANCE": "yellow",
}


def status_text(status: str | None) -> Text:
    """A status word in its colour."""
    word = status or "?"
    return Text(word, style=STATUS_STYLES.get(word.upper(), "white"))


def devices_table(devices: Iterable[DeviceInfo]) -> Table:
    """One row per device: name, engine method, limits, status and load."""
    table = Table(box=box.SIMPLE_HEAD, title="Devices", title_justify="left", pad_edge=False)
    table.add_column("name", style="bold", no_wrap=True)
    table.add_column("engine")
    table.add_column("qubits", justify="right", no_wrap=True)
    table.add_column("shots", justify="right", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("load")
    for d in devices:
        engine = " ".join(x for x in (d.engine, d.method) if x) or "-"
        if d.noisy:
            engine += " (noisy)"
        if d.kind != "simulator":
            engine = f"{d.kind}: {engine}"
        table.add_row(
            d.name,
            engine,
            _number(d.max_qubits),
            _compact(d.max_shots),
            status_text(d.status),
            load_text(d.queue_length, d.running),
        )
    return table


def jobs_table(jobs: Iterable[dict[str, Any]]) -> Table:
    """One row per job (job JSON): id, status, device, created (UTC), tags."""
    table = Table(
        box=box.SIMPLE_HEAD,
        title="Jobs",
        title_justify="left",
        pad_edge=False,
        collapse_padding=True,
    )
    # Ids are never shortened: people copy them into the next command.
    table.add_column("id", style="bold", no_wrap=True, min_width=32)
    table.add_column("status", no_wrap=True, min_width=9)
    table.add_column("device", no_wrap=True, overflow="ellipsis")
    table.add_column("created", no_wrap=True, min_width=11)
    table.add_column("tags", min_width=8)
    for job in jobs:
        table.add_row(
            str(job.get("id")),
            status_text(job.get("status")),
            str(job.get("device", "")),
            short_time(job.get("created_at"))[5:16],
            ", ".join(job.get("tags") or []),
        )
    return table


def progress_text(progress: dict[str, Any]) -> str:
    """A fanned-out job's progress, as ``done 340 of 1000``."""
    return f"done {progress['done']} of {progress['total']}"


def job_table(job: dict[str, Any]) -> Table:
    """The fields of one job (job JSON) as a two-column table."""
    table = Table(box=box.SIMPLE, show_header=False, title=f"Job {job.get('id')}")
    table.add_column("field", style="dim")
    table.add_column("value")
    table.add_row("status", status_text(job.get("status")))
    if job.get("queue_position") is not None:
        table.add_row("queue position", str(job["queue_position"]))
    progress = job.get("progress")
    if progress:
        table.add_row("progress", progress_text(progress))
    if job.get("cancel_requested"):
        table.add_row("cancel requested", "yes")
    for key in ("device", "project", "shots", "seed", "num_programs", "num_experiments"):
        if job.get(key) is not None:
            table.add_row(key.removeprefix("num_"), str(job[key]))
    if job.get("tags"):
        table.add_row("tags", ", ".join(job["tags"]))
    for key in ("created_at", "started_at", "finished_at"):
        if job.get(key):
            table.add_row(key.replace("_at", ""), str(job[key]))
    if job.get("attempt", 1) not in (None, 1):
        table.add_row("attempt", str(job["attempt"]))
    error = job.get("error")
    if error:
        table.add_row("error", Text(f"{error.get('code')}: {error.get('message')}", style="red"))
    return table


def counts_table(counts: dict[str, int], top: int = 10, title: str | None = None) -> Table:
    """The most frequent outcomes with their share of shots and a bar."""
    total = sum(counts.values()) or 1
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    table = Table(box=box.SIMPLE_HEAD, title=title, title_justify="left")
    table.add_column("outcome", style="bold", no_wrap=True)
    table.add_column("count", justify="right")
    table.add_column("share", justify="right")
    table.add_column("", no_wrap=True)
    for outcome, count in ranked[:top]:
        share = count / total
        table.add_row(outcome, str(count), f"{share:6.1%}", bar(share))
    if len(ranked) > top:
        rest = sum(count for _, count in ranked[top:])
        table.add_row(
            Text(f"… {len(ranked) - top} more", style="dim"),
            str(rest),
            f"{rest / total:6.1%}",
            "",
        )
    return table


def result_tables(result: JobResult, top: int = 10) -> list[Table]:
    """A counts table per experiment (at most 8, then a note)."""
    tables = []
    for index, experiment in enumerate(result.experiments[:8]):
        label = experiment.name or f"experiment {index}"
        if experiment.parameters is not None:
            label += f" {experiment.parameters}"
        tables.append(counts_table(experiment.counts, top=top, title=label))
    return tables


def timings_text(result: JobResult) -> Text:
    """Where the time went (queue, compile, run, total) and on which engine, in one line."""
    timings = result.timings
    parts = [
        f"{name} {seconds(timings[key])}"
        for name, key in (
            ("queue", "queued_s"),
            ("compile", "compile_s"),
            ("run", "run_s"),
            ("total", "total_s"),
        )
        if key in timings
    ]
    engine = "/".join(
        str(result.metadata[k]) for k in ("engine", "method") if result.metadata.get(k)
    )
    if engine:
        parts.append(engine)
    return Text(" · ".join(parts), style="dim")


def load_text(queued: int, running: int) -> Text:
    """A device's load in words: ``idle``, ``2 queued``, ``1 running``, ..."""
    parts = [f"{n} {word}" for n, word in ((queued, "queued"), (running, "running")) if n]
    return Text(", ".join(parts), style="yellow") if parts else Text("idle", style="dim")


def seconds(value: float) -> str:
    """A duration in seconds, in the unit a person reads best."""
    if value < 1e-3:
        return f"{value * 1e6:.0f} µs"
    if value < 0.1:
        return f"{value * 1e3:.1f} ms"
    if value < 1:
        return f"{value * 1e3:.0f} ms"
    return f"{value:.2f} s"


def bar(share: float, width: int = 24) -> str:
    """A horizontal bar for a share between 0 and 1, with eighth-block resolution."""
    eighths = round(max(0.0, min(1.0, share)) * width * 8)
    full, part = divmod(eighths, 8)
    return "█" * full + ("", "▏", "▎", "▍", "▌", "▋", "▊", "▉")[part]


def short_time(value: str | None) -> str:
    """An ISO timestamp as ``YYYY-MM-DD HH:MM:SS``."""
    if not value:
        return ""
    return value.replace("T", " ")[:19]


def _compact(value: Any) -> str:
    """A count with a k/M suffix when round (1,000,000 as 1M)."""
    if not isinstance(value, int):
        return _number(value)
    for size, suffix in ((1_000_000, "M"), (1_000, "k")):
        if value >= size and value % size == 0:
            return f"{value // size}{suffix}"
    return f"{value:,}"


def _number(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)
