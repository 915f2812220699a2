"""The CLI's contract with scripts: exit codes, stderr errors, JSON-only output."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from qharbor import __version__, cli
from qharbor.cli import connection
from qharbor.client import load_account
from tests.unit.client.scripted import ScriptedCentre, job_json, result_json

BELL = 'OPENQASM 2.0; include "qelib1.inc"; qreg q[2]; creg c[2]; h q[0]; measure q -> c;'

runner = CliRunner()


@pytest.fixture
def centre(monkeypatch: pytest.MonkeyPatch) -> ScriptedCentre:
    """A scripted centre that every command in the test talks to."""
    scripted = ScriptedCentre()
    monkeypatch.setattr(connection.Connection, "service", lambda _self: scripted.service())
    return scripted


def test_error_prints_code_and_message_on_stderr_and_exits_1() -> None:
    done = runner.invoke(cli.app, ["devices"])

    assert done.exit_code == 1
    assert done.stderr.startswith("NOT_CONFIGURED: ")
    assert "Traceback" not in done.output
    assert done.stdout == ""


def test_centre_error_is_shown_with_its_code(centre: ScriptedCentre) -> None:
    centre.answers.append(
        httpx.Response(404, json={"error": {"code": "JOB_NOT_FOUND", "message": "no job 'x'"}})
    )

    done = runner.invoke(cli.app, ["status", "x"])

    assert done.exit_code == 1
    assert done.stderr.strip() == "JOB_NOT_FOUND: no job 'x'"


def test_submit_json_prints_only_the_job_as_json(centre: ScriptedCentre, tmp_path: Path) -> None:
    program = tmp_path / "bell.qasm"
    program.write_text(BELL)
    centre.answers.append(httpx.Response(201, json=job_json("j7")))

    done = runner.invoke(
        cli.app, ["submit", str(program), "--shots", "10", "--tag", "a", "--tag", "b", "--json"]
    )

    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["id"] == "j7"
    sent = centre.body(0)
    assert sent["programs"] == [{"source": BELL, "format": "auto", "name": "bell"}]
    assert (sent["shots"], sent["tags"]) == (10, ["a", "b"])


def test_submit_wait_json_prints_only_the_result(centre: ScriptedCentre, tmp_path: Path) -> None:
    program = tmp_path / "bell.qasm3"
    program.write_text(BELL)
    centre.answers += [
        httpx.Response(201, json=job_json("j1")),
        httpx.Response(200, json=result_json("j1")),
    ]

    done = runner.invoke(cli.app, ["submit", str(program), "--wait", "--json"])

    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["experiments"][0]["counts"] == {"00": 60, "11": 40}
    assert centre.body(0)["programs"][0]["format"] == "qasm3"


def test_result_shows_counts_for_people(centre: ScriptedCentre) -> None:
    centre.answers += [
        httpx.Response(200, json=job_json("j1", status="DONE")),
        httpx.Response(200, json=result_json("j1", counts=[{"00": 60, "11": 40}])),
    ]

    done = runner.invoke(cli.app, ["result", "j1"])

    assert done.exit_code == 0, done.output
    assert "60" in done.stdout and "40.0%" in done.stdout


def test_jobs_json_is_a_list_of_jobs(centre: ScriptedCentre) -> None:
    centre.answers.append(
        httpx.Response(200, json={"jobs": [job_json("a"), job_json("b")], "next_cursor": None})
    )

    done = runner.invoke(cli.app, ["jobs", "--status", "queued", "--json"])

    assert done.exit_code == 0, done.output
    assert [j["id"] for j in json.loads(done.stdout)] == ["a", "b"]
    assert centre.query(0)["status"] == "QUEUED"


def test_jobs_filter_by_session_and_creation_time(centre: ScriptedCentre) -> None:
    centre.answers.append(httpx.Response(200, json={"jobs": [job_json("a")], "next_cursor": None}))

    done = runner.invoke(
        cli.app,
        ["jobs", "--session", "s1", "--since", "2026-11-01T00:00:00Z", "--until", "2026-12-01"],
    )

    assert done.exit_code == 0, done.output
    query = centre.query(0)
    assert query["session_id"] == "s1"
    assert query["created_after"] == "2026-11-01T00:00:00Z"
    assert query["created_before"] == "2026-12-01"


def test_login_without_verify_saves_the_account() -> None:
    done = runner.invoke(
        cli.app, ["login", "http://c.test/", "qh_x", "--name", "lab", "--no-verify"]
    )

    assert done.exit_code == 0, done.output
    account = load_account("lab")
    assert (account.url, account.token) == ("http://c.test", "qh_x")


def test_serve_without_the_server_extra_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "qharbor.api.server", None)  # makes the import fail

    done = runner.invoke(cli.app, ["serve"])

    assert done.exit_code == 1
    assert done.stderr.strip() == connection.SERVER_EXTRA_MESSAGE


def test_serve_passes_the_number_of_api_processes_to_the_centre(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from qharbor.cli import serve
    from qharbor.settings import Settings

    served: list[Settings] = []

    class Server:
        def __init__(self, settings: Settings) -> None:
            served.append(settings)

        def serve_forever(self) -> None:
            pass

    monkeypatch.setattr(serve, "server_classes", lambda: (Server, Settings))

    done = runner.invoke(cli.app, ["serve", "--api-processes", "3", "--data-dir", str(tmp_path)])

    assert done.exit_code == 0, done.output
    [settings] = served
    assert (settings.api_processes, settings.run_jobs) == (3, True)


def test_demo_without_the_server_extra_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "qharbor.api.server", None)

    done = runner.invoke(cli.app, ["demo", "--no-keep"])

    assert done.exit_code == 1
    assert connection.SERVER_EXTRA_MESSAGE in done.stderr


def test_version_prints_the_package_version() -> None:
    done = runner.invoke(cli.app, ["version"])

    assert done.stdout.strip() == f"qharbor {__version__}"
