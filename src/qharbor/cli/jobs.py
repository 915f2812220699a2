"""The job commands: submit, status, result, verify, jobs and cancel."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated

import typer

from qharbor import render
from qharbor.cli.output import JsonOption, console, handles_errors, print_json, waiting
from qharbor.client import Job, JobResult
from qharbor.client.programs import program_from_file

JobIdArgument = Annotated[str, typer.Argument(metavar="ID", help="The job's id.")]


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
    session: Annotated[
        str | None,
        typer.Option(
            envvar="QHARBOR_SESSION",
            help="Run in this open session or batch (its id); 'qharbor session open "
            "--shell' sets QHARBOR_SESSION.",
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
            session=session,
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
