"""Where commands send their requests, and the server classes for those that run a centre."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from qharbor.cli.output import fail
from qharbor.client import HarborService

SERVER_EXTRA_MESSAGE = "The centre needs the server extra: pip install 'qharbor[server]'"


@dataclass(frozen=True)
class Connection:
    """Where the commands send requests, from the global options."""

    url: str | None
    token: str | None
    account: str | None
    ca_bundle: Path | None = None

    def service(self) -> HarborService:
        return HarborService(self.url, self.token, name=self.account, ca_bundle=self.ca_bundle)


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


def server_classes() -> tuple[Any, Any]:
    """``(CentreServer, Settings)``, or exit with a hint if the server extra is missing."""
    try:
        from qharbor.api.server import CentreServer
        from qharbor.settings import Settings
    except ImportError:
        fail(SERVER_EXTRA_MESSAGE)
    return CentreServer, Settings
