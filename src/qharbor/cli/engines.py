"""The ``qharbor engines`` commands: list a centre's engines, benchmark this host's cost models."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from qharbor.cli.output import JsonOption, console, fail, handles_errors, print_json

engines_app = typer.Typer(
    name="engines",
    help="Engines and the cost models that choose among them.",
    no_args_is_help=True,
)


@engines_app.command("list")
@handles_errors
def list_engines(ctx: typer.Context, json_output: JsonOption = False) -> None:
    """The centre's engines, precisions, and whether their costs were measured on its host."""
    found = ctx.obj.service().engines()
    if json_output:
        print_json(found)
        return
    console.print(models_table(found))
    state = "benchmarked on this host" if found["calibrated"] else "shipped defaults"
    console.print(f"[dim]Host {found['fingerprint']}: {state}.[/dim]")


@engines_app.command("calibrate", hidden=True, deprecated=True)
@engines_app.command("benchmark")
def benchmark(
    path: Annotated[
        Path | None,
        typer.Option(
            help="The fits file; default $QHARBOR_ENGINE_COSTS_PATH or "
            "~/.cache/qharbor/engine-costs.json."
        ),
    ] = None,
    engine: Annotated[
        list[str] | None, typer.Option("--engine", "-e", help="Only this engine (repeatable).")
    ] = None,
    passes: Annotated[
        int,
        typer.Option(
            min=1, max=10, help="Measure N times, keep each probe's fastest (a busy host)."
        ),
    ] = 1,
    defaults_file: Annotated[
        Path | None,
        typer.Option(
            help="Also write the fit as the package's shipped defaults "
            "(src/qharbor/engines/default_costs.json), for maintainers."
        ),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Measure the engines on this host (a few seconds each) and store the fitted cost models.

    Runs locally, on the machine that will run the jobs; needs the server extras.
    """
    try:
        from qharbor.engines import benchmarking, costs
    except ImportError as exc:
        fail(
            f"benchmarking needs the server extras ({exc.name} is missing): "
            "pip install 'qharbor[server]'"
        )
    target = path or costs.default_path()
    names = list(engine) if engine else None
    total = benchmarking.probe_count(names) * passes
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
        disable=json_output,
        transient=True,
    ) as progress:
        task = progress.add_task("Measuring engines", total=total)

        def step(key: str, label: str) -> None:
            progress.update(task, advance=1, description=f"{key}: {label}")

        fit = benchmarking.benchmark(names, on_probe=step, passes=passes)
    written = costs.save_fit(fit, target)
    if defaults_file is not None:
        shipped = fit.to_json()
        shipped["note"] = (
            "Shipped defaults, measured with `qharbor engines benchmark --passes "
            f"{passes}` on a quiet 2-core host; a centre uses them only until its "
            "own host is benchmarked."
        )
        defaults_file.write_text(json.dumps(shipped, indent=1, sort_keys=True) + "\n")
    report = {**fit.to_json(), "path": str(written)}
    if json_output:
        print_json(report)
        return
    shown = {
        "engines": [
            {"name": key.split(":")[0], "models": {key: {**m.to_json(), "source": "host"}}}
            for key, m in sorted(fit.models.items())
        ]
    }
    console.print(models_table(shown))
    console.print(
        f"Fitted {len(fit.models)} models in {fit.took_s:.1f} s for host {fit.fingerprint} "
        f"({fit.host['cpu']}, {fit.host['cores']} cores); written to {written}"
    )


#: The cost model's terms, in the order the table shows them.
_TERMS = ("call", "circuit", "gate", "run", "work", "amplitude", "shot", "frame", "bind")


def models_table(data: dict[str, Any]) -> Table:
    """One row per model: its coefficients in readable units, fit error and source."""
    out = Table(title="Engine cost models (time = sum of coefficient × term)")
    out.add_column("model", no_wrap=True)
    for column in (*_TERMS, "fit error"):
        out.add_column(column, justify="right", no_wrap=True)
    out.add_column("source")
    for entry in data["engines"]:
        if not entry.get("models"):
            why = entry.get("why") or "no model"
            out.add_row(entry["name"], *(["-"] * (len(_TERMS) + 1)), why)
            continue
        for key, model in entry["models"].items():
            c = model["coefficients"]
            out.add_row(
                key,
                *(_seconds(c.get(term, 0.0)) for term in _TERMS),
                f"{100 * model.get('rel_error', 0.0):.0f}%",
                model.get("source", "-"),
            )
    return out


def _seconds(value: float) -> str:
    if value == 0:
        return "0"
    if value >= 1e-3:
        return f"{value * 1e3:.3g} ms"
    if value >= 1e-6:
        return f"{value * 1e6:.3g} µs"
    return f"{value * 1e9:.3g} ns"
