"""Your own account: ``qharbor login``, ``qharbor usage`` and ``qharbor me``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from qharbor import wire
from qharbor.cli.output import (
    JsonOption,
    console,
    fail,
    handles_errors,
    print_json,
    show_quota,
    table,
)
from qharbor.client import HarborService
from qharbor.client.accounts import save_account
from qharbor.client.rest import NO_RETRIES, RestSession
from qharbor.client.sso import DeviceLogin, SsoTokens

me_app = typer.Typer(name="me", help="Your own account and data.", no_args_is_help=True)


@handles_errors
def login(
    url: Annotated[str, typer.Argument(help="The centre's URL, e.g. http://127.0.0.1:8000.")],
    token: Annotated[
        str | None, typer.Argument(help="Your bearer token (qh_...); not with --sso.")
    ] = None,
    sso: Annotated[
        bool,
        typer.Option(
            "--sso", help="Sign in through the centre's identity provider (a code and a link)."
        ),
    ] = False,
    name: Annotated[str, typer.Option(help="Save the account under this name.")] = "default",
    verify: Annotated[
        bool, typer.Option("--verify/--no-verify", help="Check the token with the centre first.")
    ] = True,
) -> None:
    """Save a centre's URL and token, so other commands and the SDK find them.

    With --sso, sign in through the centre's identity provider instead: open the
    link it prints, confirm the code, and the tokens are saved (and refreshed
    before they expire).
    """
    sso_tokens = None
    if sso:
        if token is not None:
            fail("Give either a token or --sso, not both.")
        sso_tokens = _device_login(url)
        token = sso_tokens.id_token
    elif token is None:
        fail("Give your token (qharbor login URL TOKEN), or sign in with --sso.")
    assert token is not None
    who = ""
    if verify:
        with HarborService(url, token) as service:
            me = service.me()
        who = " as " + ", ".join(
            f"{key} {escape(str(me[key]))}" for key in ("user", "project", "role") if me.get(key)
        )
    path = save_account(
        url, token, name=name, sso=None if sso_tokens is None else sso_tokens.to_json()
    )
    console.print(f"Saved account [bold]{escape(name)}[/bold] for {escape(url)}{who} in {path}")


def _device_login(url: str) -> SsoTokens:
    """Run the device grant at the centre's provider: print the code and link, then wait."""
    with RestSession(url, retry=NO_RETRIES) as rest:
        config = rest.get("/auth/sso")
    device = DeviceLogin(config)
    try:
        code = device.start()
        link = code.verification_uri_complete or code.verification_uri
        console.print(
            f"To sign in, open [bold]{escape(link)}[/bold]\n"
            f"and confirm the code [bold cyan]{escape(code.user_code)}[/bold cyan]",
            soft_wrap=True,
        )
        with console.status("Waiting for you to confirm the sign-in ..."):
            return device.wait(code)
    finally:
        device.close()


@handles_errors
def usage(
    ctx: typer.Context,
    since: Annotated[str | None, typer.Option(help="First day, YYYY-MM-DD.")] = None,
    until: Annotated[str | None, typer.Option(help="Last day, YYYY-MM-DD.")] = None,
    device: Annotated[str | None, typer.Option(help="Only this device.")] = None,
    project: Annotated[str | None, typer.Option(help="Admins: another project.")] = None,
    all_projects: Annotated[bool, typer.Option("--all", help="Admins: every project.")] = False,
    json_output: JsonOption = False,
) -> None:
    """Show device-seconds used per project, device and day, and your quota."""
    report = ctx.obj.service().usage(
        since=since, until=until, device=device, project=project, all_projects=all_projects
    )
    if json_output:
        print_json(report)
        return
    rows = report.get("usage", [])
    if rows:
        console.print(table(rows, ["day", "project", "device", "jobs", "device_s"], "Usage"))
    else:
        console.print("[dim]No usage recorded.[/dim]")
    if report.get("quota"):
        show_quota(report["quota"], False)


@handles_errors
def accounting(
    ctx: typer.Context,
    start: Annotated[
        str | None, typer.Option("--from", help="First moment, ISO 8601 (UTC if no zone).")
    ] = None,
    end: Annotated[str | None, typer.Option("--to", help="The moment after the period.")] = None,
    output_format: Annotated[
        str, typer.Option("--format", "-f", help="'table', 'csv' or 'json'.")
    ] = "table",
    project: Annotated[str | None, typer.Option(help="Admins: another project.")] = None,
    all_projects: Annotated[bool, typer.Option("--all", help="Admins: every project.")] = False,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file, not stdout.")
    ] = None,
) -> None:
    """Device-seconds per project, user, Slurm job and device in a period (for billing)."""
    if output_format not in ("table", "csv", "json"):
        fail(f"--format must be table, csv or json, not {output_format!r}", 2)
    rows = ctx.obj.service().accounting(start, end, project=project, all_projects=all_projects)
    if output_format == "table" and output is None:
        if rows:
            console.print(table(rows, list(wire.ACCOUNTING_COLUMNS), "Accounting"))
        else:
            console.print("[dim]No usage in this period.[/dim]")
        return
    text = wire.accounting_csv(rows) if output_format == "csv" else json.dumps(rows, indent=2)
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        console.print(f"Wrote {len(rows)} rows to {escape(str(output))}")


@me_app.command("export")
@handles_errors
def me_export(
    ctx: typer.Context,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file, not stdout.")
    ] = None,
) -> None:
    """Download everything the centre holds about you, as one JSON file."""
    archive = ctx.obj.service().export_my_data()
    text = json.dumps(archive, indent=2, sort_keys=True)
    if output is None:
        typer.echo(text)
    else:
        output.write_text(text + "\n")
        jobs = len(archive.get("jobs", []))
        console.print(f"Wrote your account and {jobs} job(s) to {output}", soft_wrap=True)


@me_app.command("erase")
@handles_errors
def me_erase(
    ctx: typer.Context,
    yes: Annotated[bool, typer.Option("--yes", help="Confirm: this cannot be undone.")] = False,
) -> None:
    """Erase your account, jobs, results and tokens at the centre."""
    if not yes:
        fail("This erases your account and all your jobs for good; add --yes to confirm.")
    erased = ctx.obj.service().erase_my_account()
    console.print(f"Erased your account and {erased['jobs']} job(s).")
