"""``qharbor devices``: the centre's devices."""

from __future__ import annotations

import typer

from qharbor import render
from qharbor.cli.output import JsonOption, console, handles_errors, print_json


@handles_errors
def devices(ctx: typer.Context, json_output: JsonOption = False) -> None:
    """List the centre's devices."""
    found = ctx.obj.service().devices()
    if json_output:
        print_json([d.to_json() for d in found])
    else:
        console.print(render.devices_table(found))
