"""The ``qharbor`` command: run a centre, and use one.

Every command is thin: it calls the SDK (:mod:`qharbor.client`) or, for ``serve``
and ``demo``, the server's factory, which is imported only then so the CLI works
without the ``server`` extra.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from qharbor import __version__, errors, render
from qharbor.client import HarborService, Job, JobResult
from qharbor.client.accounts import save_account
from qharbor.client.programs import program_from_file

SERVER_EXTRA_MESSAGE = "The centre needs the server extra: pip install 'qharbor[server]'"

app = typer.Typer(
    name="qharbor",
    help="qharbor: an open quantum cloud platform. Run a centre, submit jobs, read results.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)

F = TypeVar("F", bound=Callable[..., Any])
_LINE_BREAK = re.compile(r"\s*\n\s*")


@dataclass(frozen=True)
class Connection:
    """Where the commands send requests, from the global options."""

    url: str | None
    token: str | None
    account: str | None
    ca_bundle: Path | None = None

    def service(self) -> HarborService:
        return HarborService(self.url, self.token, name=self.account, ca_bundle=self.ca_bundle)


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


def show_result(job: Job, result: JobResult) -> None:
    """Print a finished job's counts and timings."""
    console.print(f"Job [bold]{job.job_id}[/bold] ", render.status_text("DONE"))
    for table in render.result_tables(result):
        console.print(table)
    if len(result.experiments) > 8:
        console.print(
            f"[dim]… and {len(result.experiments) - 8} more experiments (use --json)[/dim]"
        )
    console.print(render.timings_text(result))


JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON only.")]
JobIdArgument = Annotated[str, typer.Argument(metavar="ID", help="The job's id.")]


@app.callback()
def root(
    ctx: typer.Context,
    url: Annotated[
        str | None,
        typer.Option(help="The centre's URL. Default: $QHARBOR_URL, else the saved account."),
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(help="Bearer token. Default: $QHARBOR_TOKEN, else the saved account."),
    ] = None,
    account: Annotated[
        str | None, typer.Option(help="Use this saved account (see 'qharbor login').")
    ] = None,
    ca_bundle: Annotated[
        Path | None,
        typer.Option(
            help="PEM certificates to trust for an https:// centre. Default: $QHARBOR_CA_BUNDLE, "
            "else the system's."
        ),
    ] = None,
) -> None:
    """qharbor: an open quantum cloud platform."""
    ctx.obj = Connection(url=url, token=token, account=account, ca_bundle=ca_bundle)


# --- the centre -----------------------------------------------------------------------


def server_classes() -> tuple[Any, Any]:
    """``(CentreServer, Settings)``, or exit with a hint if the server extra is missing."""
    try:
        from qharbor.api.server import CentreServer
        from qharbor.settings import Settings
    except ImportError:
        fail(SERVER_EXTRA_MESSAGE)
    return CentreServer, Settings


@app.command()
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
        "tls_cert": tls_cert,
        "tls_key": tls_key,
    }
    # Only options given on the command line are passed, so QHARBOR_* variables still apply.
    options = {key: value for key, value in given.items() if value is not None}
    settings = settings_class(write_account_file=True, **options)
    centre_server(settings).serve_forever()


@app.command()
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


# --- using a centre -----------------------------------------------------------------------


@app.command()
@handles_errors
def devices(ctx: typer.Context, json_output: JsonOption = False) -> None:
    """List the centre's devices."""
    found = ctx.obj.service().devices()
    if json_output:
        print_json([d.to_json() for d in found])
    else:
        console.print(render.devices_table(found))


@app.command()
@handles_errors
def submit(
    ctx: typer.Context,
    files: Annotated[
        list[Path],
        typer.Argument(
            exists=True,
            dir_okay=False,
            readable=True,
            help="Program files (.qasm, .qasm2, .qasm3, .ir for OriginIR, .qpy).",
        ),
    ],
    device: Annotated[
        str, typer.Option("--device", "-d", help="Device to run on.")
    ] = "statevector",
    shots: Annotated[int, typer.Option("--shots", "-s", min=1, help="Shots per circuit.")] = 1024,
    seed: Annotated[
        int | None, typer.Option(help="Sampling seed, for reproducible counts.")
    ] = None,
    tag: Annotated[
        list[str] | None, typer.Option("--tag", "-t", help="Tag the job (repeatable).")
    ] = None,
    wait: Annotated[
        bool, typer.Option("--wait", "-w", help="Wait for the result and show it.")
    ] = False,
    timeout: Annotated[
        float | None, typer.Option(help="With --wait: give up after this many seconds.")
    ] = None,
    sealed: Annotated[
        bool,
        typer.Option(
            "--sealed",
            help="Seal the programs to the centre's ML-KEM key, and the result to yours.",
        ),
    ] = False,
    engine: Annotated[
        str | None,
        typer.Option(
            "--engine",
            "-e",
            help="'auto' (default) picks the fastest engine per circuit; a name pins it "
            "(qharbor engines list).",
        ),
    ] = None,
    precision: Annotated[
        str | None,
        typer.Option(
            "--precision", help="'double' (default) or 'single' (allows single-precision engines)."
        ),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Submit program files as one job. The format comes from the extension (.qasm: auto)."""
    programs = [program_from_file(path) for path in files]
    service = ctx.obj.service()
    with waiting("Submitting…", json_output):
        job = service.run(
            programs,
            device=device,
            shots=shots,
            seed=seed,
            tags=tag,
            sealed=sealed,
            engine=engine,
            precision=precision,
        )
    if not wait:
        if json_output:
            print_json(job.data)
        else:
            status = render.status_text(job.data.get("status"))
            console.print(f"Submitted job [bold]{job.job_id}[/bold] ", status)
            console.print(f"[dim]See it with: qharbor result {job.job_id}[/dim]")
        return
    wait_and_show(job, timeout, json_output)


def wait_and_show(job: Job, timeout: float | None, json_output: bool) -> None:
    """Wait for the job's result with a spinner, then print it."""
    with waiting(f"Waiting for job {job.job_id}…", json_output, job.job_id):
        found = job.result(timeout=timeout)
    if json_output:
        print_json(found.to_json())
    else:
        show_result(job, found)


@app.command()
@handles_errors
def status(
    ctx: typer.Context,
    job_id: JobIdArgument,
    json_output: JsonOption = False,
) -> None:
    """Show a job's status and details."""
    job = ctx.obj.service().job(job_id)
    if json_output:
        print_json(job.data)
    else:
        console.print(render.job_table(job.data))


@app.command()
@handles_errors
def result(
    ctx: typer.Context,
    job_id: JobIdArgument,
    timeout: Annotated[
        float | None, typer.Option(help="Give up waiting after this many seconds.")
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Wait for a job to finish and show its result."""
    wait_and_show(ctx.obj.service().job(job_id), timeout, json_output)


@app.command()
@handles_errors
def verify(
    ctx: typer.Context,
    job_id: JobIdArgument,
    json_output: JsonOption = False,
) -> None:
    """Check a finished job's result against the centre's ML-DSA signature.

    Exits with status 1 and SIGNATURE_INVALID when it does not verify.
    """
    checked = ctx.obj.service().verify(job_id)
    if json_output:
        print_json({"valid": True, **dataclasses.asdict(checked)})
        return
    console.print(f"[green]Signature valid[/green] for job [bold]{checked.job_id}[/bold]")
    console.print(f"  signed by   {checked.key_id} (ML-DSA-65)")
    console.print(f"  project     {checked.project}")
    console.print(f"  device      {checked.device}")
    console.print(f"  calibration {checked.calibration_snapshot_id or '-'}")
    console.print(f"  input hash  {checked.input_hash}")


@app.command()
@handles_errors
def jobs(
    ctx: typer.Context,
    status: Annotated[
        str | None, typer.Option(help="Only QUEUED, RUNNING, DONE, FAILED or CANCELLED jobs.")
    ] = None,
    device: Annotated[str | None, typer.Option(help="Only jobs on this device.")] = None,
    tag: Annotated[str | None, typer.Option(help="Only jobs with this tag.")] = None,
    session: Annotated[
        str | None, typer.Option(help="Only jobs of this session or batch (its id).")
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="Only jobs created at or after this ISO 8601 time (UTC).")
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="Only jobs created before this ISO 8601 time (UTC).")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="Most jobs to show.")] = 20,
    json_output: JsonOption = False,
) -> None:
    """List your project's jobs, newest first."""
    found = ctx.obj.service().jobs(
        status=status,
        device=device,
        tag=tag,
        limit=limit,
        session=session,
        created_after=since,
        created_before=until,
    )
    if json_output:
        print_json([job.data for job in found])
    elif not found:
        console.print("[dim]No jobs.[/dim]")
    else:
        console.print(render.jobs_table(job.data for job in found))


@app.command()
@handles_errors
def cancel(
    ctx: typer.Context,
    job_id: JobIdArgument,
    json_output: JsonOption = False,
) -> None:
    """Cancel a queued or running job."""
    job = Job(ctx.obj.service().client, job_id)
    job.cancel()
    if json_output:
        print_json(job.data)
    elif job.data.get("status") == "CANCELLED":
        console.print(f"Job [bold]{job_id}[/bold] ", render.status_text("CANCELLED"))
    else:
        console.print(f"Job [bold]{job_id}[/bold] is being stopped (it was running).")


@app.command()
@handles_errors
def login(
    url: Annotated[str, typer.Argument(help="The centre's URL, e.g. http://127.0.0.1:8000.")],
    token: Annotated[str, typer.Argument(help="Your bearer token (qh_...).")],
    name: Annotated[str, typer.Option(help="Save the account under this name.")] = "default",
    verify: Annotated[
        bool, typer.Option("--verify/--no-verify", help="Check the token with the centre first.")
    ] = True,
) -> None:
    """Save a centre's URL and token, so other commands and the SDK find them."""
    who = ""
    if verify:
        with HarborService(url, token) as service:
            me = service.me()
        who = " as " + ", ".join(
            f"{key} {escape(str(me[key]))}" for key in ("user", "project", "role") if me.get(key)
        )
    path = save_account(url, token, name=name)
    console.print(f"Saved account [bold]{escape(name)}[/bold] for {escape(url)}{who} in {path}")


def _add_account_commands() -> None:
    """The admin, usage and me commands live in their own module."""
    from qharbor import cli_admin

    app.add_typer(cli_admin.admin_app)
    app.add_typer(cli_admin.me_app)
    from qharbor import cli_engines

    app.add_typer(cli_engines.engines_app)
    app.command("usage")(handles_errors(cli_admin.usage))


@app.command()
def version() -> None:
    """Print the client's version."""
    typer.echo(f"qharbor {__version__}")


_add_account_commands()


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
