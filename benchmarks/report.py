"""Ratios against the targets, and the Rich tables that show them."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

#: Peers at each precision, compared with qharbor's row of that precision.
DOUBLE_PEERS = ("aer", "qulacs", "pyqpanda3", "braket")
SINGLE_PEERS = ("qsim", "cirq")
#: Column order of the main table.
COLUMNS = (*DOUBLE_PEERS, *SINGLE_PEERS, "qharbor", "qharbor-single", "qharbor-jobs")
#: A case whose fastest peer takes longer than this (seconds) must be matched (1.0×);
#: faster cases, which also pay for HTTP, may take up to 1.5×.
SLOW_CASE_S = 0.3
#: Round trip and throughput targets, and the batch target against qulacs.
P50_TARGET_MS = 5.0
P99_TARGET_MS = 20.0
THROUGHPUT_TARGET = 500.0
BATCH_TARGET = 1.5
#: The batch cases, each held to BATCH_TARGET against qulacs in-process.
BATCH_CASES = ("batch5u3", "jobs5x1000")
#: Peak resident memory of a worker over its double-precision state (memory29).
MEMORY_TARGET = 1.25


def _median(result: dict[str, Any] | None) -> float | None:
    """A system's median seconds, if it ran and every run was correct."""
    if not result or not result.get("ok"):
        return None
    median = result.get("median_s")
    return float(median) if median is not None else None


def ratio(results: dict[str, Any], ours: str, peers: tuple[str, ...]) -> dict[str, Any] | None:
    """qharbor's median over the fastest correct peer's, with the target it is held to."""
    timed = {p: _median(results.get(p)) for p in peers}
    timed = {p: t for p, t in timed.items() if t is not None}
    if not timed or ours not in results:
        return None
    fastest = min(timed, key=lambda p: timed[p])
    target = 1.0 if timed[fastest] > SLOW_CASE_S else 1.5
    mine = _median(results.get(ours))
    value = None if mine is None else mine / timed[fastest]
    return {
        "system": ours,
        "fastest_peer": fastest,
        "fastest_peer_s": timed[fastest],
        "value": value,
        "target": target,
        "met": value is not None and value <= target,
    }


def ratios(case: str, results: dict[str, Any]) -> dict[str, Any]:
    out = {
        "double": ratio(results, "qharbor", DOUBLE_PEERS),
        "single": ratio(results, "qharbor-single", SINGLE_PEERS),
    }
    if case in BATCH_CASES:
        batch = ratio(results, "qharbor", ("qulacs",))
        if batch is not None:
            batch["target"] = BATCH_TARGET
            batch["met"] = batch["value"] is not None and batch["value"] <= BATCH_TARGET
        out["batch_vs_qulacs"] = batch
    return out


def targets(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The performance targets, one row each: what, the figure, the target, met or not.

    ``met`` is None for a row whose case did not run (or failed) in this run.
    """
    found = document.get("cases", {})
    load = document.get("load", {})
    rows: list[dict[str, Any]] = []

    def add(what: str, figure: str | None, target: str, met: bool | None) -> None:
        rows.append({"what": what, "figure": figure or "not run", "target": target, "met": met})

    for name in BATCH_CASES:
        entry = found.get(name, {}).get("ratios", {}).get("batch_vs_qulacs")
        title = found.get(name, {}).get("title", name)
        if entry is None or entry["value"] is None:
            add(f"{name}: {title}", None, f"≤ {BATCH_TARGET:g}× qulacs", None)
            continue
        ours = _median(found[name]["results"].get("qharbor"))
        add(
            f"{name}: {title}; ÷ qulacs in-process",
            f"{seconds(ours)} s against {seconds(entry['fastest_peer_s'])} s: "
            f"{entry['value']:.2f}×",
            f"≤ {BATCH_TARGET:g}×",
            bool(entry["met"]),
        )
    trip = load.get("roundtrip") or {}
    ok = bool(trip.get("ok"))
    for key, label, limit in (
        ("p50_ms", "p50", P50_TARGET_MS),
        ("p99_ms", "p99", P99_TARGET_MS),
    ):
        value = trip.get(key)
        add(
            f"tiny job round trip, one client{_cores(trip)}, {label}",
            None if value is None else f"{value:.1f} ms",
            f"≤ {limit:g} ms",
            None if value is None else ok and value <= limit,
        )
    rate = load.get("throughput8") or {}
    value = rate.get("jobs_per_s")
    add(
        f"tiny jobs from 8 client processes{_cores(rate)}",
        None if value is None else f"{value:.0f} jobs/s",
        f"≥ {THROUGHPUT_TARGET:g} jobs/s",
        None if value is None else bool(rate.get("ok")) and value >= THROUGHPUT_TARGET,
    )
    for name, label in (
        ("qft26", "QFT-26 state"),
        ("qft22", "QFT-22 state"),
        ("random20", "random-20, 1000 shots"),
        ("ansatz12", "ansatz-12, 200 sets"),
    ):
        entry = found.get(name, {}).get("ratios", {}).get("double")
        if entry is None or entry["value"] is None:
            add(f"{label}, double, against the fastest double peer", None, "", None)
            continue
        add(
            f"{label}, double, against the fastest double peer",
            f"{entry['value']:.2f}× ({entry['fastest_peer']})",
            f"≤ {entry['target']:g}×",
            bool(entry["met"]),
        )
    memory = load.get("memory29") or {}
    value = memory.get("peak_over_state")
    qubits = memory.get("qubits", 29)
    figure = None
    if value is not None:
        figure = f"peak RSS {memory['peak_bytes'] / 2**30:.2f} GiB: {value:.2f}× the state"
    elif memory.get("error"):
        figure = memory["error"]
    add(
        f"{qubits}-qubit state vector, double ({(16 << qubits) / 2**30:g} GiB): worker peak RSS",
        figure,
        f"≤ {MEMORY_TARGET:g}× the state",
        None if value is None else value <= MEMORY_TARGET,
    )
    return rows


def _cores(load: dict[str, Any]) -> str:
    """Where a load case's clients ran: the cores they kept busy, of the centre's host."""
    runs = [r for r in load.get("runs") or [] if "client_cores" in r]
    if not runs:
        return ""
    used = max(r["client_cores"] for r in runs)
    host = runs[-1].get("host_cores")
    if host is None:  # a results file from before the clients' CPU was measured
        return f", clients on the centre's {used:g} cores"
    return f" (clients on the centre's {host} cores, using up to {used:.2f} of them)"


def targets_table(document: dict[str, Any]) -> Table:
    grid = Table(title="Targets", title_justify="left")
    grid.add_column("what")
    grid.add_column("figure", justify="right")
    grid.add_column("target")
    grid.add_column("")
    for row in targets(document):
        mark = {True: "[green]met[/]", False: "[red]missed[/]", None: "[dim]—[/]"}[row["met"]]
        grid.add_row(row["what"], row["figure"], row["target"], mark)
    return grid


def seconds(value: float | None) -> str:
    """Seconds with three significant figures or three decimals, whichever says more."""
    if value is None:
        return "?"
    return f"{value:.3f}" if value >= 0.01 else f"{value:.2g}"


def _cell(result: dict[str, Any] | None) -> str:
    if result is None:
        return "[dim]—[/]"
    if result.get("error"):
        return "[red]error[/]"
    text = seconds(result.get("median_s"))
    return text if result.get("ok") else f"[red]{text} wrong[/]"


def _ratio_cell(entry: dict[str, Any] | None) -> str:
    if entry is None:
        return "[dim]—[/]"
    if entry["value"] is None:
        return "[red]n/a[/]"
    colour = "green" if entry["met"] else "red"
    mark = "✓" if entry["met"] else "✗"
    return f"[{colour}]{entry['value']:.2f}× {mark}[/] [dim]{entry['fastest_peer']}[/]"


def table(document: dict[str, Any]) -> Table:
    """Rows are cases; median seconds per system; ratios against the targets."""
    present = [
        c for c in COLUMNS if any(c in case["results"] for case in document["cases"].values())
    ]
    title = "Median seconds" + (" (quick sizes)" if document["quick"] else "")
    caption = (
        f"Ratios: qharbor's median over the fastest correct peer's at the same precision "
        f"(named); target ≤ 1.0× where that peer takes over {SLOW_CASE_S:g} s, else ≤ 1.5×."
    )
    grid = Table(title=title, title_justify="left", caption=caption, caption_justify="left")
    grid.add_column("case")
    for column in present:
        grid.add_column(column, justify="right")
    grid.add_column("qharbor ÷ fastest double")
    grid.add_column("qharbor single ÷ fastest single")
    for name, case in document["cases"].items():
        cells = [_cell(case["results"].get(c)) for c in present]
        grid.add_row(
            name,
            *cells,
            _ratio_cell(case["ratios"]["double"]),
            _ratio_cell(case["ratios"]["single"]),
        )
    return grid


def load_table(load: dict[str, Any]) -> Table:
    grid = Table(title="Load (qharbor, tiny Bell-pair jobs)", title_justify="left")
    grid.add_column("case")
    grid.add_column("figure", justify="right")
    grid.add_column("target")
    trip = load.get("roundtrip")
    if trip:
        p50 = trip.get("p50_ms")
        met = p50 is not None and p50 <= P50_TARGET_MS and trip.get("ok")
        colour = "green" if met else "red"
        text = f"p50 {p50:.1f} ms, p99 {trip.get('p99_ms', 0):.1f} ms" if p50 else "error"
        grid.add_row(
            "round trip, one client", f"[{colour}]{text}[/]", f"p50 ≤ {P50_TARGET_MS:g} ms"
        )
    rate = load.get("throughput8")
    if rate:
        value = rate.get("jobs_per_s")
        met = value is not None and value >= THROUGHPUT_TARGET and rate.get("ok")
        colour = "green" if met else "red"
        text = f"{value:.0f} jobs/s" if value else "error"
        grid.add_row(
            "8 client processes", f"[{colour}]{text}[/]", f"≥ {THROUGHPUT_TARGET:g} jobs/s"
        )
    return grid


def show(document: dict[str, Any], console: Console | None = None) -> None:
    if console is None:
        console = Console()
        if not console.is_terminal:  # a log file: wide enough for every column
            console = Console(width=220)
    if document["cases"]:
        console.print(table(document))
    if document["load"]:
        console.print(load_table(document["load"]))
    console.print(targets_table(document))
    for note in document.get("notes", []):
        console.print(f"[yellow]note:[/] {note}")


def _md_cell(result: dict[str, Any] | None) -> str:
    if result is None:
        return "—"
    if result.get("error"):
        return "error"
    text = seconds(result.get("median_s"))
    return text if result.get("ok") else f"{text} (wrong)"


def _md_ratio(entry: dict[str, Any] | None) -> str:
    if entry is None:
        return "—"
    if entry["value"] is None:
        return f"n/a (≤ {entry['target']:g})"
    mark = "met" if entry["met"] else "**missed**"
    return f"{entry['value']:.2f}× vs {entry['fastest_peer']} (≤ {entry['target']:g}, {mark})"


def markdown(document: dict[str, Any]) -> str:
    """The results as Markdown tables, for docs/benchmarks.md."""
    present = [
        c for c in COLUMNS if any(c in case["results"] for case in document["cases"].values())
    ]
    header = ["case", *present, "qharbor ÷ fastest double", "qharbor single ÷ fastest single"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, case in document["cases"].items():
        cells = [_md_cell(case["results"].get(c)) for c in present]
        ratios = case["ratios"]
        cells += [_md_ratio(ratios["double"]), _md_ratio(ratios["single"])]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    load = document.get("load") or {}
    if load:
        lines += ["", "| load case | figure | target |", "|---|---|---|"]
        trip = load.get("roundtrip") or {}
        if "p50_ms" in trip:
            lines.append(
                f"| round trip, one client | p50 {trip['p50_ms']:.1f} ms, "
                f"p99 {trip['p99_ms']:.1f} ms | p50 ≤ {P50_TARGET_MS:g} ms |"
            )
        rate = load.get("throughput8") or {}
        if "jobs_per_s" in rate:
            lines.append(
                f"| 8 client processes | {rate['jobs_per_s']:.0f} jobs/s "
                f"| ≥ {THROUGHPUT_TARGET:g} jobs/s |"
            )
    lines += ["", "| what | figure | target | |", "|---|---|---|---|"]
    for row in targets(document):
        mark = {True: "met", False: "**missed**", None: "—"}[row["met"]]
        lines.append(f"| {row['what']} | {row['figure']} | {row['target']} | {mark} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    import json
    import sys

    with open(sys.argv[1] if len(sys.argv) > 1 else "benchmarks/results/latest.json") as file:
        print(markdown(json.load(file)), end="")
