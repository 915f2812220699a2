"""The ``qharbor reservations`` commands: book, list, show, cancel; admins approve, preempt."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import typer

from qharbor import wire
from qharbor.cli.output import JsonOption, fail, handles_errors, show

reservations_app = typer.Typer(
    name="reservations",
    help="Reserve a device for a window of time; only your project's jobs run on it then.",
    no_args_is_help=True,
)

COLUMNS = ["id", "project", "device", "start", "end", "status", "charged_s", "reason"]
IdArgument = Annotated[str, typer.Argument(metavar="ID", help="The reservation's id.")]


def _call(ctx: typer.Context, verb: str, *args: Any, **kwargs: Any) -> Any:
    """Call ``service.reservations.<verb>`` and close the connection."""
    with ctx.obj.service() as service:
        return getattr(service.reservations, verb)(*args, **kwargs)


def _time(value: str, option: str) -> dt.datetime:
    if value == "now":
        return wire.utcnow()
    try:
        return wire.parse_iso(value)
    except ValueError:
        fail(f"{option}: {value!r} is not a time; give ISO 8601, e.g. 2026-05-04T09:00Z, or 'now'")


@reservations_app.command("book")
@handles_errors
def book(
    ctx: typer.Context,
    device: Annotated[str, typer.Argument(metavar="DEVICE", help="The device to reserve.")],
    start: Annotated[
        str, typer.Option(help="When the window begins: ISO 8601 (no zone = UTC), or 'now'.")
    ] = "now",
    end: Annotated[str | None, typer.Option(help="When it ends: ISO 8601 (no zone = UTC).")] = None,
    duration: Annotated[
        float | None, typer.Option(min=1, help="Or its length, in seconds.")
    ] = None,
    note: Annotated[str | None, typer.Option(help="What the window is for.")] = None,
    project: Annotated[str | None, typer.Option(help="Admins: book for another project.")] = None,
    json_output: JsonOption = False,
) -> None:
    """Book DEVICE for your project; it is REQUESTED until an admin approves it, unless the
    centre approves bookings at once."""
    if (end is None) == (duration is None):
        fail("give either --end or --duration")
    begins = _time(start, "--start")
    ends = begins + dt.timedelta(seconds=duration) if duration is not None else None
    if end is not None:
        ends = _time(end, "--end")
    assert ends is not None
    booked = _call(ctx, "create", device, begins, ends, note=note, project=project)
    show(booked, json_output, COLUMNS)


@reservations_app.command("list")
@handles_errors
def list_(
    ctx: typer.Context,
    device: Annotated[str | None, typer.Option(help="Only this device.")] = None,
    status: Annotated[
        str | None,
        typer.Option(help="Only REQUESTED, APPROVED, CANCELLED, PREEMPTED or COMPLETED."),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """List your project's reservations (an admin's token: every project's)."""
    show(_call(ctx, "list", device=device, status=status), json_output, COLUMNS)


@reservations_app.command("show")
@handles_errors
def show_(ctx: typer.Context, reservation_id: IdArgument, json_output: JsonOption = False) -> None:
    """Show one reservation."""
    show(_call(ctx, "get", reservation_id), json_output, COLUMNS)


@reservations_app.command("cancel")
@handles_errors
def cancel(
    ctx: typer.Context,
    reservation_id: IdArgument,
    reason: Annotated[str | None, typer.Option(help="Why; the project sees it.")] = None,
    json_output: JsonOption = False,
) -> None:
    """Cancel a reservation: free before it begins, charged in full once it has begun."""
    show(_call(ctx, "cancel", reservation_id, reason), json_output, COLUMNS)


@reservations_app.command("approve")
@handles_errors
def approve(
    ctx: typer.Context,
    reservation_id: IdArgument,
    reason: Annotated[str | None, typer.Option(help="A note for the project.")] = None,
    json_output: JsonOption = False,
) -> None:
    """Admins: approve a REQUESTED reservation."""
    show(_call(ctx, "approve", reservation_id, reason), json_output, COLUMNS)


@reservations_app.command("preempt")
@handles_errors
def preempt(
    ctx: typer.Context,
    reservation_id: IdArgument,
    reason: Annotated[str, typer.Option(help="Why the centre takes it back.")],
    json_output: JsonOption = False,
) -> None:
    """Admins: take an APPROVED reservation back now; charged only for the time it ran."""
    show(_call(ctx, "preempt", reservation_id, reason), json_output, COLUMNS)
