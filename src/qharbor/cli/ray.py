"""``qharbor ray status``: the Ray cluster a centre runs its jobs on.

Run it on a host of the cluster (or with ``--address``); it needs the
``cluster`` extra (``pip install 'qharbor[cluster]'``).
"""

from __future__ import annotations

import logging
import os
from typing import Annotated, Any

import typer
from rich.table import Table

from qharbor.cli.output import JsonOption, console, fail, handles_errors, print_json

ray_app = typer.Typer(
    name="ray", help="The Ray cluster of a centre run with --executor ray.", no_args_is_help=True
)


def _gib(value: float) -> str:
    return f"{value / 2**30:.1f} GiB"


@ray_app.command("status")
@handles_errors
def status(
    address: Annotated[
        str | None,
        typer.Option(help="The head's host:port [default: QHARBOR_RAY_ADDRESS, else auto]."),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """The cluster's nodes, their resources (total and free), and the jobs running where."""
    try:
        import ray
    except ImportError:
        fail("Ray is not installed; pip install 'qharbor[cluster]'")
    where = address or os.environ.get("QHARBOR_RAY_ADDRESS") or "auto"
    try:
        ray.init(address=where, logging_level=logging.ERROR, log_to_driver=False)
    except Exception as exc:
        fail(f"cannot reach the Ray cluster at {where}: {exc}")
    try:
        nodes = ray.nodes()
        tasks = _running_tasks()
    finally:
        ray.shutdown()
    if json_output:
        print_json({"nodes": nodes, "tasks": tasks})
        return
    table = Table(title=f"Ray cluster at {where}")
    for column in ("node", "address", "state", "CPU", "GPU", "memory", "device resources", "jobs"):
        table.add_column(column)
    for node in nodes:
        resources = node.get("Resources") or {}
        devices = ", ".join(k for k in sorted(resources) if k.startswith("device:"))
        jobs = sorted({t["job"] for t in tasks if t["node_id"] == node["NodeID"]})
        table.add_row(
            node["NodeID"][:8],
            node["NodeManagerAddress"],
            "[green]alive[/green]" if node["Alive"] else "[red]dead[/red]",
            f"{resources.get('CPU', 0):g}",
            f"{resources.get('GPU', 0):g}",
            _gib(resources.get("memory", 0)),
            devices or "-",
            ", ".join(jobs) or "-",
        )
    console.print(table)


def _running_tasks() -> list[dict[str, Any]]:
    """The qharbor tasks running now, by job and node; empty without Ray's state API."""
    try:
        from ray.util.state import list_tasks

        found = list_tasks(filters=[("state", "=", "RUNNING")], limit=10_000, timeout=5)
    except Exception:  # the state API needs the head's dashboard process
        return []
    tasks = []
    for task in found:
        name = getattr(task, "name", "") or ""
        if name.startswith("qharbor:"):
            _prefix, job, attempt = name.split(":", 2)
            tasks.append({"job": job, "attempt": attempt, "node_id": task.node_id})
    return tasks
