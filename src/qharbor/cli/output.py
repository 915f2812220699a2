"""What every command shares: the consoles, errors, JSON, spinners and tables.

Human output goes to stdout through Rich; with ``--json`` stdout carries JSON
only, and spinners and errors go to stderr.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from qharbor import errors

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)

F = TypeVar("F", bound=Callable[..., Any])
_LINE_BREAK = re.compile(r"\s*\n\s*")

JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON only.")]


def fail(message: str, code: int = 1) -> NoReturn:
    """Print ``message`` in red on stderr and exit with ``code``."""
    err_console.print(f"[red]{escape(message)}[/red]", soft_wrap=True)
    raise typer.Exit(code)


def handles_errors(command: F) -> F:
    """Turn qharbor errors into ``CODE: message`` on stderr and exit status 1."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except errors.QHarborError as exc:
            # Some default messages are wrapped docstrings; print them as one line.
            message = _LINE_BREAK.sub(" ", exc.message)
            fail(f"{exc.code}: {message}")
        except KeyboardInterrupt:
            fail("Interrupted.", code=130)

    return wrapper  # type: ignore[return-value]


def print_json(value: Any) -> None:
    """Machine-readable output: JSON only, on stdout."""
    typer.echo(json.dumps(value, indent=2, sort_keys=True))


@contextmanager
def waiting(message: str, quiet: bool, job_id: str | None = None) -> Iterator[None]:
    """A spinner on stderr while waiting (none with ``--json``, so stdout stays JSON).

    Ctrl+C stops only the waiting; the job goes on, and the hint says how to get back to it.
    """
    try:
        if quiet:
            yield
        else:
            with err_console.status(message, spinner="dots"):
                yield
    except KeyboardInterrupt:
        if job_id is None:
            raise
        fail(f"Stopped waiting; job {job_id} goes on. Get it later: qharbor result {job_id}", 130)


def table(rows: list[dict[str, Any]], columns: list[str], title: str | None = None) -> Table:
    """A Rich table of ``rows`` showing ``columns``."""
    out = Table(title=title)
    for column in columns:
        out.add_column(column)
    for row in rows:
        out.add_row(*(_cell(row.get(column)) for column in columns))
    return out


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, list):
        return ", ".join(
            f"{v['name']} ({v['role']})" if isinstance(v, dict) else str(v) for v in value
        )
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return str(value)


def show(
    value: dict[str, Any] | list[dict[str, Any]], json_output: bool, columns: list[str]
) -> None:
    if json_output:
        print_json(value)
    else:
        console.print(table(value if isinstance(value, list) else [value], columns))


BUDGET_COLUMNS = ["device_class", "period", "budget_s", "used_s", "reserved_s", "remaining_s"]


def show_quota(quota: dict[str, Any], json_output: bool) -> None:
    if json_output:
        print_json(quota)
        return
    limit = quota.get("max_concurrent_jobs")
    console.print(
        f"Concurrent jobs: {quota.get('active_jobs', 0)} of {limit if limit else 'no limit'}"
    )
    if quota.get("budgets"):
        console.print(table(quota["budgets"], BUDGET_COLUMNS, "Budgets (device-seconds)"))
    else:
        console.print("[dim]No budgets: device time is not limited.[/dim]")
