"""The ``qharbor admin`` commands: users, projects, tokens, quotas, audit log, recovery.

Thin, like the rest of the CLI: each command calls the SDK and prints the answer
as a table, or as JSON with ``--json``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from qharbor.cli.connection import server_classes
from qharbor.cli.output import (
    JsonOption,
    console,
    fail,
    handles_errors,
    print_json,
    show,
    show_quota,
)

admin_app = typer.Typer(
    name="admin",
    help="Run the centre: users, projects, tokens, quotas, audit log.",
    no_args_is_help=True,
)
users_app = typer.Typer(name="users", help="Users.", no_args_is_help=True)
projects_app = typer.Typer(name="projects", help="Projects.", no_args_is_help=True)
members_app = typer.Typer(
    name="members", help="Who belongs to which project.", no_args_is_help=True
)
tokens_app = typer.Typer(name="tokens", help="API tokens.", no_args_is_help=True)
quota_app = typer.Typer(name="quota", help="Budgets and limits.", no_args_is_help=True)
for sub in (users_app, projects_app, members_app, tokens_app, quota_app):
    admin_app.add_typer(sub)

RoleOption = Annotated[str, typer.Option(help="admin, project-admin, member or viewer.")]


def admin(ctx: typer.Context) -> Any:
    return ctx.obj.service().admin


# --- users, projects, members -------------------------------------------------------------

USER_COLUMNS = ["id", "name", "is_admin", "projects"]
PROJECT_COLUMNS = ["id", "name", "max_concurrent_jobs", "members"]
TOKEN_COLUMNS = ["id", "name", "user_id", "scopes", "expires_at", "revoked_at"]


@users_app.command("list")
@handles_errors
def users_list(ctx: typer.Context, json_output: JsonOption = False) -> None:
    """List every user."""
    show(admin(ctx).users_list(), json_output, USER_COLUMNS)


@users_app.command("create")
@handles_errors
def users_create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The user's unique name.")],
    project: Annotated[str | None, typer.Option(help="Also add them to this project.")] = None,
    role: RoleOption = "member",
    is_admin: Annotated[bool, typer.Option("--admin", help="A centre admin.")] = False,
    json_output: JsonOption = False,
) -> None:
    """Create a user (then give them a token with 'admin tokens create')."""
    user = admin(ctx).user_create(name, project=project, role=role, is_admin=is_admin)
    show(user, json_output, USER_COLUMNS)


@projects_app.command("list")
@handles_errors
def projects_list(ctx: typer.Context, json_output: JsonOption = False) -> None:
    """List every project and its members."""
    show(admin(ctx).projects_list(), json_output, PROJECT_COLUMNS)


@projects_app.command("create")
@handles_errors
def projects_create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The project's unique name.")],
    max_concurrent_jobs: Annotated[
        int | None, typer.Option(min=1, help="Most jobs queued or running at once.")
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Create a project."""
    show(admin(ctx).project_create(name, max_concurrent_jobs), json_output, PROJECT_COLUMNS)


@members_app.command("set")
@handles_errors
def members_set(
    ctx: typer.Context,
    project: Annotated[str, typer.Argument(help="Project id or name.")],
    user: Annotated[str, typer.Argument(help="User id or name.")],
    role: RoleOption = "member",
    json_output: JsonOption = False,
) -> None:
    """Add a user to a project, or change their role."""
    show(admin(ctx).member_set(project, user, role), json_output, PROJECT_COLUMNS)


@members_app.command("remove")
@handles_errors
def members_remove(
    ctx: typer.Context,
    project: Annotated[str, typer.Argument(help="Project id or name.")],
    user: Annotated[str, typer.Argument(help="User id or name.")],
    json_output: JsonOption = False,
) -> None:
    """Remove a user from a project; their tokens for it stop working at once."""
    show(admin(ctx).member_remove(project, user), json_output, PROJECT_COLUMNS)


# --- tokens -------------------------------------------------------------------------------


@tokens_app.command("list")
@handles_errors
def tokens_list(
    ctx: typer.Context,
    user: Annotated[str | None, typer.Option(help="Only this user's tokens.")] = None,
    json_output: JsonOption = False,
) -> None:
    """List tokens (metadata only: a token is shown once, when it is made)."""
    show(admin(ctx).tokens_list(user), json_output, TOKEN_COLUMNS)


@tokens_app.command("create")
@handles_errors
def tokens_create(
    ctx: typer.Context,
    user: Annotated[str, typer.Argument(help="User id or name.")],
    project: Annotated[str, typer.Argument(help="Project id or name (the user's).")],
    name: Annotated[str, typer.Option(help="A label for the token.")] = "token",
    scope: Annotated[
        list[str] | None, typer.Option(help="read, submit or admin (repeatable).")
    ] = None,
    expires_in: Annotated[
        float | None, typer.Option(help="Seconds until the token expires.")
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Make a token for a user in a project. It is printed once; keep it safe."""
    issued = admin(ctx).token_create(
        user, project, name=name, scopes=scope, expires_in_s=expires_in
    )
    if json_output:
        print_json(issued)
        return
    console.print(
        f"Token {issued['id']} (shown once): [bold]{issued['token']}[/bold]", soft_wrap=True
    )


@tokens_app.command("revoke")
@handles_errors
def tokens_revoke(
    ctx: typer.Context,
    token_id: Annotated[str, typer.Argument(metavar="ID", help="The token's id.")],
    json_output: JsonOption = False,
) -> None:
    """Revoke a token; the next request with it is refused."""
    show(admin(ctx).token_revoke(token_id), json_output, TOKEN_COLUMNS)


# --- quotas and audit ---------------------------------------------------------------------


@quota_app.command("show")
@handles_errors
def quota_show(
    ctx: typer.Context,
    project: Annotated[str, typer.Argument(help="Project id or name.")],
    json_output: JsonOption = False,
) -> None:
    """Show a project's limits, and what is used and reserved this period."""
    show_quota(admin(ctx).quota_get(project), json_output)


@quota_app.command("set")
@handles_errors
def quota_set(
    ctx: typer.Context,
    project: Annotated[str, typer.Argument(help="Project id or name.")],
    simulator_s: Annotated[
        float | None, typer.Option(min=0, help="Simulator device-seconds per period.")
    ] = None,
    qpu_s: Annotated[
        float | None, typer.Option(min=0, help="QPU and twin device-seconds per period.")
    ] = None,
    period: Annotated[str, typer.Option(help="day, week or month.")] = "month",
    max_concurrent_jobs: Annotated[
        int | None, typer.Option(min=1, help="Most jobs queued or running at once.")
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Set a project's budgets and concurrent-job limit (options left out are unchanged)."""
    limits: dict[str, Any] = {}
    if simulator_s is not None:
        limits["simulator"] = {"budget_s": simulator_s, "period": period}
    if qpu_s is not None:
        limits["qpu"] = {"budget_s": qpu_s, "period": period}
    if max_concurrent_jobs is not None:
        limits["max_concurrent_jobs"] = max_concurrent_jobs
    if not limits:
        fail("Nothing to set: give --simulator-s, --qpu-s or --max-concurrent-jobs.")
    show_quota(admin(ctx).quota_set(project, **limits), json_output)


AUDIT_COLUMNS = ["seq", "at", "action", "actor_id", "target", "status"]


@admin_app.command("audit")
@handles_errors
def audit(
    ctx: typer.Context,
    actor: Annotated[str | None, typer.Option(help="Only entries by this user id.")] = None,
    action: Annotated[
        str | None, typer.Option(help="Only this action, e.g. http.write, result.read.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Most entries.")] = 50,
    json_output: JsonOption = False,
) -> None:
    """Show the audit log, newest first."""
    page = admin(ctx).audit_list(actor=actor, action=action, limit=limit)
    show(page["entries"], json_output, AUDIT_COLUMNS)


# --- recovery, on the centre's host ---------------------------------------------------------


@admin_app.command("recover")
@handles_errors
def recover(
    data_dir: Annotated[
        Path | None,
        typer.Option(help="The centre's data folder, as given to 'qharbor serve' [./.qharbor]."),
    ] = None,
    database_url: Annotated[
        str | None, typer.Option(help="The centre's database URL, if not SQLite in the folder.")
    ] = None,
    user: Annotated[
        str | None, typer.Option(help="Restore this user [default: the first admin].")
    ] = None,
    project: Annotated[str, typer.Option(help="Their admin membership's project.")] = "default",
    json_output: JsonOption = False,
) -> None:
    """Restore admin access when no admin token works: run on the centre's host.

    Needs the centre's database and its key-encryption key (in the data folder, or
    QHARBOR_KEY_ENCRYPTION_KEY), as 'qharbor serve' does; no running centre or token.
    Makes the user a centre admin with the admin role in the project, prints a new
    admin token once, and records the recovery in the audit log.
    """
    server_classes()
    from qharbor.security.audit import AuditLog
    from qharbor.security.identity import Identity
    from qharbor.security.keys import KeyStore, load_key_encryption_key
    from qharbor.settings import Settings
    from qharbor.store import Database

    # Only options given on the command line are passed, so QHARBOR_* variables still apply.
    given: dict[str, Any] = {"data_dir": data_dir, "database_url": database_url}
    settings = Settings(**{key: value for key, value in given.items() if value is not None})
    if settings.database_url is None and not settings.sqlite_path.exists():
        fail(
            f"no centre in {settings.data_dir.resolve()}: give --data-dir the folder "
            "'qharbor serve' uses (or --database-url)"
        )
    if settings.key_encryption_key is None and not settings.key_encryption_key_path.exists():
        fail(
            f"no key-encryption key in {settings.data_dir.resolve()} and no "
            "QHARBOR_KEY_ENCRYPTION_KEY: recovery needs the centre's own key, as serving does"
        )
    db = Database(settings.resolved_database_url())
    try:
        db.migrate()
        # Opening the centre's keys proves this KEK is the centre's (KEY_ENCRYPTION_KEY_INVALID).
        KeyStore(db, load_key_encryption_key(settings)).ensure()
        user_id, token = Identity(db).recover(user, project)
        AuditLog(db).record(
            "admin.recover", actor_id=user_id, target=f"user:{user_id}", detail={"project": project}
        )
        name = Identity(db).user(user_id)["name"]
    finally:
        db.dispose()
    if json_output:
        print_json({"user": name, "user_id": user_id, "project": project, "token": token})
    else:
        console.print(f"Restored admin access for user {name!r} in project {project!r}.")
        console.print(f"Admin token (shown once): {token}", soft_wrap=True)
