"""A plain ``pip install qharbor`` (no extras) is a working client: the SDK and the CLI
talk to a centre, and nothing of the server stack comes with it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

import qharbor
from qharbor.api.server import CentreServer
from qharbor.settings import Settings
from tests.programs import BELL

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

REPO = Path(__file__).resolve().parents[2]
# Import names of the server extra's packages; none may come with the client.
SERVER_MODULES = ("qiskit", "qiskit_aer", "fastapi", "sqlalchemy", "uvicorn", "alembic", "psycopg")
# Their distribution names (and pydantic's): the client must not depend on any of them.
SERVER_DISTRIBUTIONS = {
    "qiskit",
    "qiskit-aer",
    "qiskit-qasm3-import",
    "fastapi",
    "uvicorn",
    "sqlalchemy",
    "alembic",
    "psycopg",
    "psutil",
    "pydantic",
    "pydantic-settings",
}
SERVER_EXTRA_HINT = "pip install 'qharbor[server]'"


def describe(done: subprocess.CompletedProcess[str]) -> str:
    return f"exit {done.returncode}\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"


@dataclass
class ClientVenv:
    """A virtual environment with only ``pip install <repo>`` in it."""

    root: Path
    workdir: Path

    @property
    def python(self) -> Path:
        return self.root / "bin" / "python"

    @property
    def qharbor(self) -> Path:
        return self.root / "bin" / "qharbor"

    def run(
        self, *command: str | Path, timeout: float = 120, **env: str
    ) -> subprocess.CompletedProcess[str]:
        """Run a command with the venv's tools, away from the repository's source tree."""
        base = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("QHARBOR_", "PYTHON")) and k != "VIRTUAL_ENV"
        }
        base.update(QHARBOR_ACCOUNT_FILE=str(self.workdir / "accounts.json"), COLUMNS="200")
        base.update(env)
        return subprocess.run(
            [str(part) for part in command],
            cwd=self.workdir,
            env=base,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def python_json(self, script: str, **env: str) -> object:
        done = self.run(self.python, "-c", textwrap.dedent(script), **env)
        assert done.returncode == 0, describe(done)
        return json.loads(done.stdout)


@pytest.fixture(scope="module")
def client_venv(tmp_path_factory: pytest.TempPathFactory) -> ClientVenv:
    base = tmp_path_factory.mktemp("client-only")
    workdir = base / "work"
    workdir.mkdir()
    venv = ClientVenv(base / "venv", workdir)
    created = venv.run(sys.executable, "-m", "venv", venv.root, timeout=300)
    assert created.returncode == 0, describe(created)
    installed = venv.run(
        venv.python, "-m", "pip", "install", "--disable-pip-version-check", REPO, timeout=900
    )
    assert installed.returncode == 0, describe(installed)
    return venv


@pytest.fixture(scope="module")
def centre(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CentreServer]:
    settings = Settings(
        port=0, data_dir=tmp_path_factory.mktemp("centre"), workers=2, log_level="warning"
    )
    server = CentreServer(settings)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def token_of(server: CentreServer) -> str:
    assert server.bootstrap_token is not None
    return server.bootstrap_token


def test_client_install_imports_qharbor_and_the_sdk_from_the_venv(
    client_venv: ClientVenv,
) -> None:
    found = client_venv.python_json(
        """
        import json
        import qharbor
        from qharbor import HarborService
        print(json.dumps({"file": qharbor.__file__, "version": qharbor.__version__,
                          "service": HarborService.__name__}))
        """
    )

    assert isinstance(found, dict)
    assert Path(found["file"]).is_relative_to(client_venv.root), found
    assert found["version"] == qharbor.__version__
    assert found["service"] == "HarborService"


def test_client_install_brings_none_of_the_server_stack(client_venv: ClientVenv) -> None:
    found = client_venv.python_json(
        """
        import importlib.metadata, importlib.util, json, os, re, sys
        import qharbor, qharbor.cli
        from qharbor import HarborService

        def needs(dist):  # what installing dist pulls in, without extras
            return [r for r in dist.requires or [] if "extra ==" not in r]

        names = json.loads(os.environ["MODULES"])
        client = importlib.metadata.distribution("qharbor")
        pydantic = re.compile(r"^pydantic(?![-_.\\w])")  # not pydantic-core & co.
        print(json.dumps({
            "installed": sorted(n for n in names if importlib.util.find_spec(n) is not None),
            "imported": sorted(n for n in names if n in sys.modules),
            "qharbor_needs": sorted(re.match(r"[\\w.-]+", r)[0] for r in needs(client)),
            "pydantic_needed_by": sorted(
                d.metadata["Name"].lower() for d in importlib.metadata.distributions()
                if any(pydantic.match(r) for r in needs(d))
            ),
        }))
        """,
        MODULES=json.dumps([*SERVER_MODULES, "pydantic"]),
    )

    assert isinstance(found, dict)
    assert [name for name in found["installed"] if name != "pydantic"] == [], found
    assert found["imported"] == [], found  # importing the client loads none of them
    assert "httpx" in found["qharbor_needs"], found
    assert not SERVER_DISTRIBUTIONS & set(found["qharbor_needs"]), found
    # pydantic may be there only because a client dependency needs it: Typer >= 0.29 does.
    if "pydantic" in found["installed"]:
        assert found["pydantic_needed_by"], found
        assert "qharbor" not in found["pydantic_needed_by"], found


def test_client_install_has_a_working_qharbor_command(client_venv: ClientVenv) -> None:
    helped = client_venv.run(client_venv.qharbor, "--help")
    assert helped.returncode == 0, describe(helped)
    for command in ("serve", "demo", "devices", "submit", "result", "login"):
        assert command in helped.stdout

    version = client_venv.run(client_venv.qharbor, "version")
    assert version.returncode == 0, describe(version)
    assert version.stdout.strip() == f"qharbor {qharbor.__version__}"


def test_client_sdk_runs_a_bell_job_on_a_centre(
    client_venv: ClientVenv, centre: CentreServer
) -> None:
    found = client_venv.python_json(
        """
        import json, os
        from qharbor import HarborService
        with HarborService() as service:  # from QHARBOR_URL and QHARBOR_TOKEN
            job = service.run(os.environ["BELL_PROGRAM"], shots=200, seed=11)
            result = job.result(timeout=120)
        print(json.dumps({"job_id": job.job_id, "counts": result.get_counts()}))
        """,
        QHARBOR_URL=centre.url,
        QHARBOR_TOKEN=token_of(centre),
        BELL_PROGRAM=BELL,
    )

    assert isinstance(found, dict)
    assert set(found["counts"]) == {"00", "11"}, found
    assert sum(found["counts"].values()) == 200
    # The centre holds the job as done.
    headers = {"Authorization": f"Bearer {token_of(centre)}"}
    with httpx.Client(base_url=centre.url, headers=headers, timeout=30) as http:
        job = http.get(f"/v1/jobs/{found['job_id']}").json()
    assert job["status"] == "DONE"


def test_client_cli_submits_a_job_and_waits_for_its_counts(
    client_venv: ClientVenv, centre: CentreServer
) -> None:
    bell = client_venv.workdir / "bell.qasm"
    bell.write_text(BELL, encoding="utf-8")

    done = client_venv.run(
        client_venv.qharbor,
        *("--url", centre.url, "--token", token_of(centre)),
        *("submit", bell, "--shots", "100", "--wait", "--json"),
        timeout=180,
    )

    assert done.returncode == 0, describe(done)
    counts = json.loads(done.stdout)["experiments"][0]["counts"]
    assert set(counts) == {"00", "11"}
    assert sum(counts.values()) == 100


@pytest.mark.parametrize("command", [("serve", "--port", "0"), ("demo", "--no-keep")])
def test_client_install_explains_that_the_centre_needs_the_server_extra(
    client_venv: ClientVenv, command: tuple[str, ...]
) -> None:
    done = client_venv.run(client_venv.qharbor, *command, timeout=60)

    assert done.returncode == 1, describe(done)
    assert SERVER_EXTRA_HINT in done.stderr, describe(done)
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


def test_client_install_seals_a_job_and_verifies_its_result(
    client_venv: ClientVenv, centre: CentreServer
) -> None:
    # Last in the module: from here on the admin's results are sealed to this key.
    found = client_venv.python_json(
        """
        import json, os
        from qharbor import HarborService
        with HarborService() as service:
            job = service.run(os.environ["BELL_PROGRAM"], shots=100, seed=3, sealed=True)
            result = job.result(timeout=120)
            checked = service.verify(result)
        print(json.dumps({"job_id": job.job_id, "sealed": job.data["sealed"],
                          "counts": result.get_counts(), "verified": checked.job_id}))
        """,
        QHARBOR_URL=centre.url,
        QHARBOR_TOKEN=token_of(centre),
        QHARBOR_KEY_DIR=str(client_venv.workdir / "keys"),
        BELL_PROGRAM=BELL,
    )

    assert isinstance(found, dict)
    assert found["sealed"] is True and found["verified"] == found["job_id"], found
    assert set(found["counts"]) <= {"00", "11"} and sum(found["counts"].values()) == 100
