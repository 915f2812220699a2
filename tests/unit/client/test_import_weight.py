"""The client installs and imports without the server's dependencies."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

SERVER_SIDE = ["qiskit", "fastapi", "sqlalchemy", "uvicorn", "qharbor.api", "qharbor.store"]


@pytest.mark.parametrize(
    "statement",
    ["import qharbor", "import qharbor.client", "import qharbor.cli", "qharbor.HarborService"],
)
def test_client_imports_pull_in_no_server_module(statement: str) -> None:
    code = (
        "import json, sys\n"
        "import qharbor\n"
        f"{statement}\n"
        f"print(json.dumps([m for m in {SERVER_SIDE!r} if m in sys.modules]))\n"
    )

    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )

    assert json.loads(done.stdout) == []


def test_the_check_would_notice_a_server_import() -> None:
    # Guards the test above: importing the server side does show up in sys.modules.
    code = "import sys, qharbor.errors, sqlalchemy; print('sqlalchemy' in sys.modules)"

    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )

    assert done.stdout.strip() == "True"
