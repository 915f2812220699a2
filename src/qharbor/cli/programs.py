"""The ``qharbor programs`` commands: list the centre's programs, run one, follow, cancel."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.markup import escape

from qharbor.cli.output import JsonOption, console, err_console, fail, handles_errors, print_json

programs_app = typer.Typer(
    name="programs",
    help="Hybrid programs that run on the centre, next to its devices (docs/programs.md).",
    no_args_is_help=True,
)

NameArgument = Annotated[str, typer.Argument(metavar="NAME", help="The program's name.")]
RunArgument = Annotated[str, typer.Argument(metavar="RUN_ID", help="The run's id.")]


def _inputs(pairs: list[str], inputs_json: str | None) -> dict[str, Any]:
    """``--inputs '{...}'`` and ``-i key=value`` pairs (values read as JSON where they are)."""
    inputs: dict[str, Any] = {}
    if inputs_json:
        try:
            inputs = dict(json.loads(inputs_json))
        except (ValueError, TypeError):
            fail(f"--inputs: {inputs_json!r} is not a JSON object")
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            fail(f"-i {pair!r}: give key=value, e.g. -i iterations=50")
        try:
            inputs[key] = json.loads(value)
        except ValueError:
            inputs[key] = value
    return inputs


def _line(run: dict[str, Any]) -> str:
    progress = run.get("progress") or {}
    if not progress:
        return f"{run['program']} {run['id'][:8]}: {run['status']}"
    return (
        f"{run['program']} {run['id'][:8]}: {run['status']}  iteration {progress['iteration']}"
        f"  value {progress['value']:.6g}  best {progress['best']:.6g}"
    )


@programs_app.command("list")
@handles_errors
def list_programs(ctx: typer.Context, json_output: JsonOption = False) -> None:
    """The programs this centre runs."""
    with ctx.obj.service() as service:
        found = service.programs.list()
    if json_output:
        print_json(found)
        return
    for program in found:
        console.print(
            f"[bold]{escape(program['name'])}[/bold] {escape(program['version'])}: "
            f"{escape(program['summary'])}"
        )


@programs_app.command("run")
@handles_errors
def run(
    ctx: typer.Context,
    name: NameArgument,
    device: Annotated[str, typer.Option(help="The device its jobs run on.")] = "statevector",
    inputs: Annotated[
        list[str] | None, typer.Option("-i", "--input", help="An input as key=value.")
    ] = None,
    inputs_json: Annotated[
        str | None, typer.Option("--inputs", help="All inputs as one JSON object.")
    ] = None,
    detach: Annotated[bool, typer.Option(help="Start it and return at once.")] = False,
    json_output: JsonOption = False,
) -> None:
    """Run program NAME on the centre, showing a live line of its progress until it ends."""
    with ctx.obj.service() as service:
        handle = service.programs.run(name, device, _inputs(inputs or [], inputs_json))
        if detach:
            print_json(handle.data) if json_output else console.print(_line(handle.data))
            return
        try:
            if json_output:
                handle.wait()
            else:
                with err_console.status(_line(handle.data), spinner="dots") as status:
                    for event in handle.events():
                        status.update(escape(_line(event)))
        except KeyboardInterrupt:
            fail(
                f"Stopped following; run {handle.id} goes on. Cancel it with: "
                f"qharbor programs cancel {name} {handle.id}",
                130,
            )
        if handle.status != "DONE":
            error = handle.data.get("error") or {}
            fail(f"run {handle.id} ended {handle.status}: {error.get('message') or ''}".strip())
        result = handle.result()
    if json_output:
        print_json(result)
        return
    console.print(_line(handle.data))
    output = {k: v for k, v in result["output"].items() if not isinstance(v, list)}
    console.print_json(json.dumps(output))
    console.print(
        f"[dim]{len(result['jobs'])} jobs; signed by {result['signature']['key_id']}[/dim]"
    )


@programs_app.command("status")
@handles_errors
def status(
    ctx: typer.Context, name: NameArgument, run_id: RunArgument, json_output: JsonOption = False
) -> None:
    """A run's status and latest progress."""
    with ctx.obj.service() as service:
        data = service.programs.run_of(name, run_id).data
    print_json(data) if json_output else console.print(_line(data))


@programs_app.command("cancel")
@handles_errors
def cancel(
    ctx: typer.Context, name: NameArgument, run_id: RunArgument, json_output: JsonOption = False
) -> None:
    """Cancel a run; its running job is cancelled too."""
    with ctx.obj.service() as service:
        data = service.programs.run_of(name, run_id).cancel().data
    print_json(data) if json_output else console.print(_line(data))
