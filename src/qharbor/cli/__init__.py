"""The ``qharbor`` command: run a centre, and use one.

Every command is thin: it calls the SDK (:mod:`qharbor.client`) or, for ``serve``
and ``demo``, the server's factory, which is imported only then so the CLI works
without the ``server`` extra. One module per command group; :mod:`.output` holds
what they share.
"""

from __future__ import annotations

import os
import sys

import typer
from rich.markup import escape

from qharbor import __version__
from qharbor.cli import (
    account,
    admin,
    connection,
    devices,
    engines,
    jobs,
    programs,
    ray,
    reservations,
    serve,
    sessions,
)
from qharbor.cli.output import err_console

__all__ = ["app", "main"]


def version() -> None:
    """Print the client's version."""
    typer.echo(f"qharbor {__version__}")


app = typer.Typer(
    name="qharbor",
    help="qharbor: an open quantum cloud platform. Run a centre, submit jobs, read results.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.callback()(connection.root)

# The order here is the order of 'qharbor --help'.
app.command()(serve.serve)
app.command()(serve.demo)
app.command()(devices.devices)
app.command()(jobs.submit)
app.command()(jobs.status)
app.command()(jobs.result)
app.command()(jobs.verify)
app.command()(jobs.jobs)
app.command()(jobs.cancel)
app.command()(account.login)
app.command()(version)
app.add_typer(admin.admin_app)
app.add_typer(account.me_app)
app.add_typer(engines.engines_app)
app.add_typer(reservations.reservations_app)
app.add_typer(ray.ray_app)
app.add_typer(programs.programs_app)
app.command("usage")(account.usage)
app.command("accounting")(account.accounting)
app.add_typer(sessions.session_app)


def main() -> None:
    """The console-script entry point."""
    try:
        app(prog_name="qharbor")
    except Exception as exc:  # a bug, not a user error: say so without a traceback
        if os.environ.get("QHARBOR_DEBUG"):
            raise
        err_console.print(
            f"[red]INTERNAL: {escape(type(exc).__name__)}: {escape(str(exc))}[/red]\n"
            "[dim]This is a bug in qharbor; run again with QHARBOR_DEBUG=1 for the traceback.[/dim]"
        )
        sys.exit(1)
