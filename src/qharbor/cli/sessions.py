"""``qharbor session``: open, list and close sessions, and tie one to a Slurm job."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import time
from typing import Annotated, Any

import typer
from rich.markup import escape

from qharbor import errors
from qharbor.cli.output import JsonOption, console, err_console, handles_errors, print_json, show
from qharbor.client.slurm import DEFAULT_IDLE_TTL_S, SlurmJob

session_app = typer.Typer(
    name="session",
    help="Sessions (priority for iterative work) and batches; Slurm job sessions.",
    no_args_is_help=True,
)

COLUMNS = ["id", "device", "mode", "status", "slurm_job_id", "created_at", "close_reason"]
#: Runs the ``qharbor`` command in a child process, whichever way this one was started.
_MAIN = "from qharbor.cli import main; main()"
#: Seconds between the watcher's looks at the batch script's process.
WATCH_POLL_S = 1.0


@session_app.command("open")
@handles_errors
def open_session(
    ctx: typer.Context,
    device: Annotated[str, typer.Argument(help="The device its jobs run on.")],
    mode: Annotated[str, typer.Option(help="'session' or 'batch'.")] = "session",
    slurm: Annotated[
        bool,
        typer.Option(
            "--slurm",
            help="Tie it to this Slurm job (SLURM_JOB_ID): usage is reported per Slurm job, "
            "and a watcher closes it when the job script ends.",
        ),
    ] = False,
    max_ttl: Annotated[
        float | None, typer.Option(help="Lifetime in seconds (the centre's limit if unset).")
    ] = None,
    idle_ttl: Annotated[
        float | None,
        typer.Option(help=f"Idle timeout in seconds (with --slurm: {DEFAULT_IDLE_TTL_S:g})."),
    ] = None,
    watch: Annotated[
        bool,
        typer.Option("--watch/--no-watch", help="With --slurm: start the watcher (default: yes)."),
    ] = True,
    shell: Annotated[
        bool,
        typer.Option(
            "--shell",
            help="Print shell code for eval: export QHARBOR_SESSION and close it on exit "
            "and on SIGTERM.",
        ),
    ] = False,
    json_output: JsonOption = False,
) -> None:
    """Open a session; with --slurm, one that lives as long as this Slurm job.

    In a batch script: eval "$(qharbor session open DEVICE --slurm --shell)".
    """
    if slurm and idle_ttl is None:
        idle_ttl = DEFAULT_IDLE_TTL_S
    service = ctx.obj.service()
    details = service.open_session(
        device, mode=mode, max_ttl_s=max_ttl, idle_ttl_s=idle_ttl, slurm=slurm
    )
    if slurm and watch:
        # The batch script (Slurm names its pid), else whoever ran us (an salloc shell).
        script = os.environ.get("SLURM_TASK_PID", "")
        _start_watcher(details["id"], int(script) if script.isdigit() else os.getppid())
    if shell:
        session_id = shlex.quote(details["id"])
        close = f"qharbor session close {session_id} >/dev/null 2>&1 || true"
        typer.echo(f"export QHARBOR_SESSION={session_id}")
        typer.echo(f"trap {shlex.quote(close)} EXIT")
        # SIGTERM (scancel, the time limit) ends the script through its EXIT trap.
        typer.echo("trap 'exit 143' TERM")
        return
    if json_output:
        print_json(details)
        return
    tied = (
        f" for Slurm job {escape(details['slurm_job_id'])}" if details.get("slurm_job_id") else ""
    )
    console.print(f"Opened session [bold]{details['id']}[/bold] on {escape(device)}{tied}")


def _start_watcher(session_id: str, pid: int) -> None:
    """Start ``qharbor session watch`` in the background, outliving this command."""
    subprocess.Popen(
        [sys.executable, "-c", _MAIN, "session", "watch", session_id, "--pid", str(pid)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        close_fds=True,
        env=os.environ.copy(),
    )


@session_app.command("watch", hidden=True)
@handles_errors
def watch_session(
    ctx: typer.Context,
    session_id: Annotated[str, typer.Argument(help="The session to close.")],
    pid: Annotated[int, typer.Option(help="Close it once this process has ended.")],
) -> None:
    """Wait until a process ends (or SIGTERM, SIGHUP, SIGINT comes), then close the session."""
    stop = False

    def on_signal(_signum: int, _frame: Any) -> None:
        nonlocal stop
        stop = True

    for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(signum, on_signal)
    service = ctx.obj.service()
    while not stop and _alive(pid):
        try:
            if service.session(session_id)["status"] != "OPEN":
                return  # closed by the script, the epilog, or its timeout
        except errors.QHarborError:
            pass  # the centre is briefly unreachable: keep watching
        time.sleep(WATCH_POLL_S)
    service.close_session(session_id)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@session_app.command("close")
@handles_errors
def close_session(
    ctx: typer.Context,
    session_id: Annotated[
        str | None, typer.Argument(help="The session; omit with --slurm-job.")
    ] = None,
    slurm_job: Annotated[
        str | None,
        typer.Option(
            "--slurm-job",
            help="Close every session this Slurm job opened ('-': $SLURM_JOB_ID); for epilogs.",
        ),
    ] = None,
    cluster: Annotated[str | None, typer.Option(help="With --slurm-job: its cluster.")] = None,
    all_projects: Annotated[
        bool, typer.Option("--all-projects", help="Admins: every project's (an epilog).")
    ] = False,
    json_output: JsonOption = False,
) -> None:
    """Close a session (its queued jobs fail), or every session of a Slurm job."""
    service = ctx.obj.service()
    if slurm_job is not None:
        job = SlurmJob.from_environment(None if slurm_job == "-" else slurm_job)
        closed = service.close_slurm_job(job.job_id, cluster, all_projects=all_projects)
        if json_output:
            print_json(closed)
        else:
            console.print(f"Closed {len(closed)} session(s) of Slurm job {escape(job.job_id)}")
        return
    if session_id is None:
        err_console.print("[red]Name a session, or pass --slurm-job.[/red]")
        raise typer.Exit(2)
    details = service.close_session(session_id)
    show(details, json_output, COLUMNS)


@session_app.command("list")
@handles_errors
def list_sessions(
    ctx: typer.Context,
    status: Annotated[str | None, typer.Option(help="OPEN, CLOSED or EXPIRED.")] = None,
    json_output: JsonOption = False,
) -> None:
    """Your project's sessions and batches, newest first."""
    show(ctx.obj.service().sessions(status=status), json_output, COLUMNS)
