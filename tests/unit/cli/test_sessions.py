"""``qharbor session`` and ``qharbor accounting``: what a batch script and a billing run see."""

from __future__ import annotations

import csv
import io
import subprocess

import httpx
import pytest
from typer.testing import CliRunner

from qharbor import cli
from qharbor.cli import connection
from tests.unit.client.scripted import ScriptedCentre

runner = CliRunner()

SESSION = {
    "id": "s1",
    "device": "sc25",
    "mode": "session",
    "status": "OPEN",
    "slurm_job_id": "4817",
    "slurm_cluster": "lumi",
}


@pytest.fixture
def centre(monkeypatch: pytest.MonkeyPatch) -> ScriptedCentre:
    scripted = ScriptedCentre()
    monkeypatch.setattr(connection.Connection, "service", lambda _self: scripted.service())
    return scripted


def test_a_slurm_session_is_tied_to_the_job_and_prints_shell_code_that_closes_it(
    centre: ScriptedCentre, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLURM_JOB_ID", "4817")
    monkeypatch.setenv("SLURM_CLUSTER_NAME", "lumi")
    centre.answers.append(httpx.Response(201, json=SESSION))

    done = runner.invoke(cli.app, ["session", "open", "sc25", "--slurm", "--no-watch", "--shell"])

    assert done.exit_code == 0, done.output
    assert centre.body(0) == {
        "device": "sc25",
        "mode": "session",
        "idle_ttl_s": 300.0,
        "slurm_job_id": "4817",
        "slurm_cluster": "lumi",
    }
    # The printed code is valid bash that exports the id and traps EXIT and TERM.
    script = done.stdout + 'echo "$QHARBOR_SESSION"; trap -p EXIT; trap -p TERM'
    shown = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True)
    lines = shown.stdout.splitlines()
    assert lines[0] == "s1"
    assert "qharbor session close s1" in lines[1]
    assert "exit 143" in lines[2]


def test_a_slurm_session_outside_a_slurm_job_is_a_clear_error(
    centre: ScriptedCentre, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)

    done = runner.invoke(cli.app, ["session", "open", "sc25", "--slurm"])

    assert done.exit_code == 1
    assert done.stderr.startswith("NOT_IN_SLURM_JOB: ")
    assert centre.requests == []


def test_the_epilog_closes_every_session_of_a_slurm_job(
    centre: ScriptedCentre, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLURM_JOB_ID", "4817")
    centre.answers.append(httpx.Response(200, json={"sessions": [SESSION]}))

    done = runner.invoke(cli.app, ["session", "close", "--slurm-job", "-", "--all-projects"])

    assert done.exit_code == 0, done.output
    assert centre.requests[0].url.path == "/v1/sessions:close-slurm-job"
    assert centre.body(0) == {"slurm_job_id": "4817", "all_projects": True}
    assert "Closed 1 session(s) of Slurm job 4817" in done.stdout


def test_accounting_writes_csv_for_a_period(centre: ScriptedCentre) -> None:
    row = {
        "project": "physics",
        "user": "alice",
        "slurm_cluster": "lumi",
        "slurm_job_id": "4817",
        "device": "sc25",
        "jobs": 100,
        "device_s": 412.5,
        "first_charged_at": "2026-05-03T08:14:02.118000Z",
        "last_charged_at": "2026-05-03T08:49:40.551000Z",
    }
    outside = {**row, "user": "bob", "slurm_cluster": None, "slurm_job_id": None}
    centre.answers.append(httpx.Response(200, json={"rows": [row, outside]}))

    done = runner.invoke(
        cli.app, ["accounting", "--from", "2026-05-01", "--to", "2026-06-01", "-f", "csv"]
    )

    assert done.exit_code == 0, done.output
    assert centre.query(0) == {"from": "2026-05-01", "to": "2026-06-01"}
    parsed = list(csv.DictReader(io.StringIO(done.stdout)))
    assert parsed[0]["slurm_job_id"] == "4817"
    assert parsed[0]["device_s"] == "412.5"
    assert parsed[1]["slurm_job_id"] == ""
