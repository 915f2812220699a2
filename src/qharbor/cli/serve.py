"""``qharbor serve`` and ``qharbor demo``: run a centre on this host.

The server's modules are imported only when a command runs, so the CLI works
without the ``server`` extra and says how to get it.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from qharbor.cli.connection import server_classes
from qharbor.cli.output import console, fail, handles_errors


@handles_errors
def serve(
    host: Annotated[
        str | None, typer.Option(help="Interface to listen on [default: 127.0.0.1].")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on [default: 8000].")] = None,
    data_dir: Annotated[
        Path | None, typer.Option(help="Folder for the database and keys [default: ./.qharbor].")
    ] = None,
    database_url: Annotated[
        str | None, typer.Option(help="SQLAlchemy URL, e.g. postgresql://... [default: SQLite].")
    ] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, help="Worker processes [default: one per core].")
    ] = None,
    executor: Annotated[
        str | None,
        typer.Option(help="'local' (processes on this host) or 'ray' [default: local]."),
    ] = None,
    ray_address: Annotated[
        str | None, typer.Option(help="With --executor ray: the head's host:port, or auto.")
    ] = None,
    api_processes: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Processes serving the API on the port; the first also runs the jobs "
            "[default: 1].",
        ),
    ] = None,
    tls_cert: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="PEM certificate chain: serve HTTPS."),
    ] = None,
    tls_key: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="PEM private key for --tls-cert."),
    ] = None,
) -> None:
    """Run a centre in the foreground; Ctrl+C stops it. QHARBOR_* env vars also apply."""
    centre_server, settings_class = server_classes()
    if (tls_cert is None) != (tls_key is None):
        fail("give --tls-cert and --tls-key together")
    given = {
        "host": host,
        "port": port,
        "data_dir": data_dir,
        "database_url": database_url,
        "workers": workers,
        "executor": executor,
        "ray_address": ray_address,
        "api_processes": api_processes,
        "tls_cert": tls_cert,
        "tls_key": tls_key,
    }
    # Only options given on the command line are passed, so QHARBOR_* variables still apply.
    options = {key: value for key, value in given.items() if value is not None}
    settings = settings_class(write_account_file=True, **options)
    centre_server(settings).serve_forever()


@handles_errors
def demo(
    keep: Annotated[
        bool | None,
        typer.Option(
            "--keep/--no-keep",
            help="Keep the centre running after the demo [default: only in a terminal].",
        ),
    ] = None,
    workers: Annotated[int | None, typer.Option(min=1, help="Worker processes.")] = None,
) -> None:
    """Start a throwaway centre, run a tour of example jobs, and show the results."""
    server_classes()
    from qharbor.demo import run_demo

    keep_running = sys.stdout.isatty() if keep is None else keep
    run_demo(console, keep_running=keep_running, workers=workers)
