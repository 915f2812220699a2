"""The ``qharbor`` command end to end: ``qharbor serve`` in its own process, and every
other command run as a user would, in a subprocess, against it."""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import json
import os
import re
import signal
import socket
import sqlite3
import stat
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from tests.programs import BELL, ghz, slow

QHARBOR = Path(sys.executable).parent / "qharbor"
TWINS = {"sc25", "sc72", "nmr3", "ion11"}
SIMULATORS = {"statevector", "density-matrix", "mps", "stabilizer"}
TOKEN_LINE = re.compile(r"Admin token \(shown once\): (\S+)")
# uvicorn shuts down gracefully on SIGTERM, then re-raises the signal, so the process
# ends "killed by SIGTERM" rather than with status 0; both are a clean stop.
CLEAN_EXITS = (0, -signal.SIGTERM)
FINAL = ("DONE", "FAILED", "CANCELLED")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def environment(account_file: Path, **extra: str) -> dict[str, str]:
    """The caller's environment without any QHARBOR_* setting, plus ours."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("QHARBOR_")}
    # Wide enough that Rich never wraps a line we look for (paths, URLs).
    env["COLUMNS"] = "200"
    env["QHARBOR_ACCOUNT_FILE"] = str(account_file)
    env["QHARBOR_KEY_DIR"] = str(account_file.parent / "keys")
    env.update(extra)
    return env


def run_qharbor(
    *args: str, account_file: Path, timeout: float = 120, **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(QHARBOR), *args],
        env=environment(account_file, **env),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def describe(done: subprocess.CompletedProcess[str]) -> str:
    return f"exit {done.returncode}\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"


def succeeded(done: subprocess.CompletedProcess[str]) -> str:
    """The stdout of a command that must have worked."""
    assert done.returncode == 0, describe(done)
    assert "Traceback" not in done.stderr, describe(done)
    return done.stdout


def assert_fails_with(done: subprocess.CompletedProcess[str], code: str) -> str:
    """A user error: exit 1, ``CODE: message`` on stderr, nothing on stdout, no traceback."""
    assert done.returncode == 1, describe(done)
    assert done.stderr.startswith(f"{code}: "), describe(done)
    assert done.stdout == "", describe(done)
    assert "Traceback" not in done.stderr, describe(done)
    return done.stderr


class ServeProcess:
    """``qharbor serve`` in its own process group, its output in a log file."""

    def __init__(self, port: int, data_dir: Path, account_file: Path, log: Path) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.log = log
        self._log_file = log.open("wb")
        self.process = subprocess.Popen(
            [str(QHARBOR), "serve", "--port", str(port), "--data-dir", str(data_dir)],
            env=environment(account_file, QHARBOR_WORKERS="2"),
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            self._wait_until_healthy(timeout=120)
        except BaseException:
            self.stop()
            raise

    @property
    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def _wait_until_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"qharbor serve exited with {self.process.returncode}:\n{self.output}")
            try:
                if httpx.get(f"{self.url}/v1/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        pytest.fail(f"qharbor serve did not answer within {timeout} s:\n{self.output}")

    def workers(self) -> list[psutil.Process]:
        return psutil.Process(self.process.pid).children(recursive=True)

    def stop(self) -> int:
        """SIGTERM, then SIGKILL to the group if it does not stop; returns the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=30)
        self._log_file.close()
        return self.process.returncode


@dataclass
class CliCentre:
    """The module's centre: started once, stopped with SIGTERM, started again on its data."""

    url: str
    account_file: Path
    first_output: str
    first_exit: int
    first_workers: list[psutil.Process]
    orphaned_workers: list[psutil.Process]
    server: ServeProcess

    @property
    def token(self) -> str:
        saved = json.loads(self.account_file.read_text())
        return str(saved["accounts"][saved["default"]]["token"])

    def cli(self, *args: str, timeout: float = 120, **env: str) -> subprocess.CompletedProcess[str]:
        """Run ``qharbor ARGS`` with only the account file that ``serve`` wrote."""
        return run_qharbor(*args, account_file=self.account_file, timeout=timeout, **env)

    def cli_json(self, *args: str, timeout: float = 120) -> Any:
        return json.loads(succeeded(self.cli(*args, "--json", timeout=timeout)))


@pytest.fixture(scope="module")
def centre(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CliCentre]:
    root = tmp_path_factory.mktemp("cli-centre")
    port = free_port()
    data_dir = root / "data"
    account_file = root / "accounts.json"

    first = ServeProcess(port, data_dir, account_file, root / "first.log")
    try:
        first_workers = first.workers()
    finally:
        first_exit = first.stop()
    _gone, orphans = psutil.wait_procs(first_workers, timeout=15)
    for orphan in orphans:  # ours, and they must not outlive the test run
        with contextlib.suppress(psutil.NoSuchProcess):
            orphan.kill()

    # The same data folder and port again: the saved URL and token still work.
    second = ServeProcess(port, data_dir, account_file, root / "second.log")
    try:
        yield CliCentre(
            url=second.url,
            account_file=account_file,
            first_output=first.output,
            first_exit=first_exit,
            first_workers=first_workers,
            orphaned_workers=orphans,
            server=second,
        )
    finally:
        exit_status = second.stop()
    assert exit_status in CLEAN_EXITS, f"exit {exit_status}:\n{second.output}"
    assert "Traceback" not in second.output, second.output


def program(tmp_path: Path, name: str, source: str) -> str:
    path = tmp_path / name
    path.write_text(source, encoding="utf-8")
    return str(path)


def wait_for_status(centre: CliCentre, job_id: str, wanted: set[str], timeout: float) -> str:
    deadline = time.monotonic() + timeout
    status = "?"
    while time.monotonic() < deadline:
        status = centre.cli_json("status", job_id)["status"]
        if status in wanted:
            return str(status)
        assert status not in FINAL, f"job {job_id} ended {status} before reaching {wanted}"
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} is still {status}, not {wanted}, after {timeout} s")


# --- the centre ---------------------------------------------------------------------------


def test_first_start_prints_the_admin_token_once_and_saves_it_for_the_owner_only(
    centre: CliCentre,
) -> None:
    tokens = TOKEN_LINE.findall(centre.first_output)
    assert len(tokens) == 1, centre.first_output
    token = tokens[0]
    assert token.startswith("qh_")
    assert centre.first_output.count(token) == 1, centre.first_output
    assert stat.S_IMODE(centre.account_file.stat().st_mode) == 0o600
    saved = json.loads(centre.account_file.read_text())
    assert saved["accounts"][saved["default"]] == {"url": centre.url, "token": token}


def test_restart_of_the_same_data_dir_prints_no_new_token(centre: CliCentre) -> None:
    output = centre.server.output
    assert f"qharbor centre at {centre.url}" in output
    assert "Admin token" not in output, output
    assert not TOKEN_LINE.search(output)
    # The token from the first start is still the one in force.
    assert centre.token in centre.first_output


def test_first_start_makes_a_key_encryption_key_for_the_owner_only_and_says_so(
    centre: CliCentre,
) -> None:
    kek = centre.account_file.parent / "data" / "key-encryption-key"

    assert stat.S_IMODE(kek.stat().st_mode) == 0o600
    assert "key-encryption key" in centre.first_output and str(kek) in centre.first_output
    assert "key-encryption key" not in centre.server.output  # only on first start


def test_serve_with_another_key_encryption_key_refuses_to_start(centre: CliCentre) -> None:
    data_dir = centre.account_file.parent / "data"
    other = base64.b64encode(os.urandom(32)).decode()

    done = run_qharbor(
        *("serve", "--port", str(free_port()), "--data-dir", str(data_dir)),
        account_file=centre.account_file,
        QHARBOR_KEY_ENCRYPTION_KEY=other,
        QHARBOR_WORKERS="1",
    )

    assert done.returncode == 1, describe(done)
    assert "KEY_ENCRYPTION_KEY_INVALID: " in done.stderr, describe(done)


def test_sigterm_stops_the_centre_and_its_workers_cleanly(centre: CliCentre) -> None:
    assert centre.first_exit in CLEAN_EXITS, centre.first_output
    assert "Application shutdown complete" in centre.first_output
    assert "Traceback" not in centre.first_output
    assert len(centre.first_workers) >= 2, "QHARBOR_WORKERS=2 should start two workers"
    assert centre.orphaned_workers == []


# --- using it -----------------------------------------------------------------------------


def test_devices_lists_the_simulators_and_twins_with_only_the_account_file(
    centre: CliCentre,
) -> None:
    table = succeeded(centre.cli("devices"))
    for name in SIMULATORS | TWINS:
        assert name in table

    devices = centre.cli_json("devices")
    assert {d["name"] for d in devices} == SIMULATORS | TWINS
    assert {d["name"] for d in devices if d["kind"] == "simulator"} == SIMULATORS
    assert {d["name"] for d in devices if d["kind"] == "twin"} == TWINS
    assert {d["status"] for d in devices if d["kind"] == "simulator"} == {"ONLINE"}


def test_submit_wait_json_prints_only_the_result_as_json(centre: CliCentre, tmp_path: Path) -> None:
    bell = program(tmp_path, "bell.qasm", BELL)

    result = centre.cli_json("submit", bell, "--device", "statevector", "--shots", "100", "--wait")

    assert result["device"] == "statevector"
    assert result["shots"] == 100
    [experiment] = result["experiments"]
    assert experiment["name"] == "bell"
    assert set(experiment["counts"]) == {"00", "11"}
    assert sum(experiment["counts"].values()) == 100
    assert {"queued_s", "compile_s", "run_s"} <= set(result["timings"])
    # The result itself carries no status; the job it belongs to is DONE.
    assert centre.cli_json("status", result["job_id"])["status"] == "DONE"


def test_submit_wait_shows_the_job_done_with_counts_and_timings(
    centre: CliCentre, tmp_path: Path
) -> None:
    bell = program(tmp_path, "bell.qasm", BELL)

    shown = succeeded(centre.cli("submit", bell, "--shots", "200", "--wait"))

    job_id = re.search(r"Job (\w+)\s+DONE", shown)
    assert job_id, shown
    assert centre.cli_json("status", job_id[1])["status"] == "DONE"
    outcomes = set(re.findall(r"^\s*([01]{2})\s+\d+\s", shown, re.MULTILINE))
    assert outcomes == {"00", "11"}, shown
    for word in ("queue", "compile", "run"):
        assert word in shown


def test_submit_of_two_files_makes_one_job_with_both_programs(
    centre: CliCentre, tmp_path: Path
) -> None:
    bell = program(tmp_path, "bell.qasm", BELL)
    ghz3 = program(tmp_path, "ghz3.qasm", ghz(3))

    job = centre.cli_json("submit", bell, ghz3, "--shots", "300")
    assert job["num_programs"] == 2
    assert job["status"] in ("QUEUED", "RUNNING", "DONE")

    result = centre.cli_json("result", job["id"], "--timeout", "120", timeout=180)
    assert result["job_id"] == job["id"]
    assert [e["name"] for e in result["experiments"]] == ["bell", "ghz3"]
    bell_counts, ghz_counts = (e["counts"] for e in result["experiments"])
    assert set(bell_counts) == {"00", "11"}
    assert set(ghz_counts) == {"000", "111"}
    assert sum(bell_counts.values()) == sum(ghz_counts.values()) == 300


def test_status_shows_the_jobs_state_and_details(centre: CliCentre, tmp_path: Path) -> None:
    bell = program(tmp_path, "bell.qasm", BELL)
    job_id = centre.cli_json("submit", bell, "--shots", "50", "--wait")["job_id"]

    shown = succeeded(centre.cli("status", job_id))
    assert job_id in shown
    assert "DONE" in shown
    assert "statevector" in shown

    job = centre.cli_json("status", job_id)
    assert (job["id"], job["status"], job["device"], job["shots"]) == (
        job_id,
        "DONE",
        "statevector",
        50,
    )


def test_result_json_of_a_bell_job_has_only_00_and_11(centre: CliCentre, tmp_path: Path) -> None:
    bell = program(tmp_path, "bell.qasm", BELL)
    job_id = centre.cli_json("submit", bell, "--shots", "500")["id"]

    result = centre.cli_json("result", job_id, "--timeout", "120", timeout=180)

    assert result["job_id"] == job_id
    [experiment] = result["experiments"]
    assert set(experiment["counts"]) == {"00", "11"}
    assert sum(experiment["counts"].values()) == 500


def test_a_sealed_job_submitted_from_the_cli_runs_and_verifies(
    centre: CliCentre, tmp_path: Path
) -> None:
    bell = program(tmp_path, "bell.qasm", BELL)

    try:
        result = centre.cli_json(
            "submit", bell, "--shots", "100", "--sealed", "--wait", "--timeout", "120", timeout=180
        )
        shown = succeeded(centre.cli("verify", result["job_id"]))
        checked = centre.cli_json("verify", result["job_id"])
    finally:
        # Registering a key seals all later results to it; leave the centre as it was.
        httpx.delete(
            f"{centre.url}/v1/me/keys", headers={"Authorization": f"Bearer {centre.token}"}
        )

    assert set(result["experiments"][0]["counts"]) <= {"00", "11"}
    assert "Signature valid" in shown and result["job_id"] in shown
    assert checked["valid"] is True and checked["job_id"] == result["job_id"]
    assert (centre.account_file.parent / "keys").is_dir()


def test_verify_of_a_result_altered_in_the_database_fails(
    centre: CliCentre, tmp_path: Path
) -> None:
    bell = program(tmp_path, "bell.qasm", BELL)
    job_id = centre.cli_json("submit", bell, "--shots", "100", "--seed", "1", "--wait")["job_id"]
    database = centre.account_file.parent / "data" / "qharbor.db"
    with contextlib.closing(sqlite3.connect(database)) as conn, conn:
        (text,) = conn.execute("SELECT data FROM results WHERE job_id = ?", (job_id,)).fetchone()
        # One digit of the run time, which every result (sealed or not) shows in clear.
        altered = re.sub(
            r'"run_s":(\d)', lambda m: f'"run_s":{(int(m[1]) + 1) % 10}', text, count=1
        )
        assert altered != text
        conn.execute("UPDATE results SET data = ? WHERE job_id = ?", (altered, job_id))

    # A changed value fails the signature; a change that leaves text no longer
    # canonical (9 -> 0 can) is refused by the centre as it reads the row.
    done = centre.cli("verify", job_id)
    code = done.stderr.split(":", 1)[0]
    assert code in ("SIGNATURE_INVALID", "RESULT_CORRUPT"), describe(done)
    assert_fails_with(done, code)


def test_jobs_lists_the_submitted_job(centre: CliCentre, tmp_path: Path) -> None:
    bell = program(tmp_path, "bell.qasm", BELL)
    tag = f"acceptance-{uuid.uuid4().hex[:8]}"
    job_id = centre.cli_json("submit", bell, "--shots", "10", "--tag", tag)["id"]

    assert job_id in succeeded(centre.cli("jobs"))
    tagged = centre.cli_json("jobs", "--tag", tag)
    assert [job["id"] for job in tagged] == [job_id]
    assert tagged[0]["tags"] == [tag]


def test_cancel_stops_a_running_job(centre: CliCentre, tmp_path: Path) -> None:
    busy = program(tmp_path, "slow.qasm", slow())
    job_id = centre.cli_json("submit", busy, "--shots", "10")["id"]
    wait_for_status(centre, job_id, {"RUNNING"}, timeout=120)

    shown = succeeded(centre.cli("cancel", job_id))

    assert job_id in shown
    assert "being stopped" in shown or "CANCELLED" in shown, shown
    # Waiting for the result ends, and says the job was cancelled.
    waited = centre.cli("result", job_id, "--timeout", "120", timeout=180)
    assert_fails_with(waited, "JOB_CANCELLED")
    job = centre.cli_json("status", job_id)
    assert job["status"] == "CANCELLED"
    assert job["cancel_requested"] is True
    # The worker that ran it is free again (or replaced): new jobs still run.
    bell = program(tmp_path, "bell.qasm", BELL)
    after = centre.cli_json("submit", bell, "--shots", "20", "--wait", "--timeout", "120")
    assert sum(after["experiments"][0]["counts"].values()) == 20


def test_login_saves_an_account_that_later_commands_use(centre: CliCentre, tmp_path: Path) -> None:
    account_file = tmp_path / "elsewhere" / "accounts.json"
    assert_fails_with(run_qharbor("devices", account_file=account_file), "NOT_CONFIGURED")

    shown = succeeded(run_qharbor("login", centre.url, centre.token, account_file=account_file))

    assert "admin" in shown
    assert str(account_file) in shown
    assert stat.S_IMODE(account_file.stat().st_mode) == 0o600
    saved = json.loads(account_file.read_text())
    assert saved["accounts"][saved["default"]] == {"url": centre.url, "token": centre.token}
    devices = json.loads(succeeded(run_qharbor("devices", "--json", account_file=account_file)))
    assert {d["name"] for d in devices} == SIMULATORS | TWINS
    bell = program(tmp_path, "bell.qasm", BELL)
    submitted = run_qharbor(
        "submit", bell, "--shots", "10", "--wait", "--json", account_file=account_file
    )
    job_id = json.loads(succeeded(submitted))["job_id"]
    listed = json.loads(succeeded(run_qharbor("jobs", "--json", account_file=account_file)))
    assert job_id in [job["id"] for job in listed]


def test_login_with_a_bad_token_is_refused_and_saves_nothing(
    centre: CliCentre, tmp_path: Path
) -> None:
    account_file = tmp_path / "accounts.json"

    done = run_qharbor("login", centre.url, "qh_not_a_token", account_file=account_file)

    assert_fails_with(done, "UNAUTHENTICATED")
    assert not account_file.exists()


# --- errors a user can cause ----------------------------------------------------------------

SYNTAX_ERROR_ON_LINE_5 = """OPENQASM 2.0;
include "qelib1.inc";
qreg q[2];
creg c[2];
cx q[0],,q[1];
measure q -> c;
"""


def test_program_syntax_error_exits_1_with_its_line_and_no_traceback(
    centre: CliCentre, tmp_path: Path
) -> None:
    bad = program(tmp_path, "bad.qasm", SYNTAX_ERROR_ON_LINE_5)

    tag = f"rejected-{uuid.uuid4().hex[:8]}"

    done = centre.cli("submit", bad, "--tag", tag, "--wait")

    message = assert_fails_with(done, "PROGRAM_SYNTAX")
    assert re.search(r"\bline 5\b", message), message
    assert centre.cli_json("jobs", "--tag", tag) == [], "a rejected program queues no job"


def test_program_syntax_error_message_has_no_stray_quote(centre: CliCentre, tmp_path: Path) -> None:
    bad = program(tmp_path, "bad.qasm", SYNTAX_ERROR_ON_LINE_5)

    message = assert_fails_with(centre.cli("submit", bad), "PROGRAM_SYNTAX")

    assert message.count("'") % 2 == 0, message


def test_unknown_device_is_device_not_found_and_names_the_real_ones(
    centre: CliCentre, tmp_path: Path
) -> None:
    bell = program(tmp_path, "bell.qasm", BELL)

    message = assert_fails_with(
        centre.cli("submit", bell, "--device", "no-such-device"), "DEVICE_NOT_FOUND"
    )

    assert "no-such-device" in message
    for name in SIMULATORS:
        assert name in message


def test_bad_token_is_refused_as_unauthenticated(centre: CliCentre) -> None:
    given = centre.cli("--url", centre.url, "--token", "qh_not_a_token", "devices")
    assert_fails_with(given, "UNAUTHENTICATED")

    from_environment = centre.cli("jobs", QHARBOR_URL=centre.url, QHARBOR_TOKEN="qh_not_a_token")
    assert_fails_with(from_environment, "UNAUTHENTICATED")


def test_unreachable_centre_is_connection_failed(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there

    done = run_qharbor(
        "--url", url, "--token", "qh_anything", "devices", account_file=tmp_path / "none.json"
    )

    message = assert_fails_with(done, "CONNECTION_FAILED")
    assert url in message


def test_admin_commands_set_up_a_project_with_a_user_token_and_quota(
    centre: CliCentre, tmp_path: Path
) -> None:
    lab = f"lab-{uuid.uuid4().hex[:6]}"
    person = f"ada-{uuid.uuid4().hex[:6]}"
    project = centre.cli_json("admin", "projects", "create", lab)
    assert project["name"] == lab
    user = centre.cli_json("admin", "users", "create", person, "--project", lab)
    assert user["projects"] == [{"id": project["id"], "name": lab, "role": "member"}]
    issued = centre.cli_json("admin", "tokens", "create", person, lab, "--scope", "read")
    quota = centre.cli_json(
        "admin", "quota", "set", lab, "--simulator-s", "3600", "--period", "day"
    )
    assert quota["budgets"][0]["budget_s"] == 3600
    shown = succeeded(centre.cli("admin", "quota", "show", lab))
    assert "simulator" in shown and "3600" in shown
    as_user = ("--url", centre.url, "--token", issued["token"])
    usage = json.loads(succeeded(centre.cli(*as_user, "usage", "--json")))
    assert usage["quota"]["budgets"][0]["remaining_s"] == 3600
    program = tmp_path / "bell.qasm"
    program.write_text(BELL)
    assert_fails_with(centre.cli(*as_user, "submit", str(program)), "FORBIDDEN")
    export = json.loads(succeeded(centre.cli(*as_user, "me", "export")))
    assert export["user"]["name"] == person
    succeeded(centre.cli("admin", "tokens", "revoke", issued["id"]))
    assert_fails_with(centre.cli(*as_user, "usage"), "UNAUTHENTICATED")
    audit = centre.cli_json("admin", "audit", "--action", "admin.token.revoke")
    assert audit[0]["target"] == f"user:{user['id']}"


def test_admin_recover_on_the_host_restores_a_centre_whose_admin_tokens_lapsed(
    centre: CliCentre, tmp_path: Path
) -> None:
    """The lock-out no check can prevent (every admin token expired) is undone by the
    operator on the host, with the data folder and no token."""
    import sqlalchemy as sa

    from qharbor.store import Database
    from qharbor.store.tables import tokens

    data_dir = centre.account_file.parent / "data"
    db = Database(f"sqlite:///{data_dir / 'qharbor.db'}")
    old = centre.token
    admin_headers = {"Authorization": f"Bearer {old}"}
    assert httpx.get(f"{centre.url}/v1/admin/users", headers=admin_headers).status_code == 200
    with db.write() as conn:
        admins = conn.execute(
            sa.select(tokens.c.id, tokens.c.expires_at).where(tokens.c.scopes.contains("admin"))
        ).all()
        conn.execute(
            tokens.update()
            .where(tokens.c.id.in_([row.id for row in admins]))
            .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
        )
    try:
        # A change behind the centre's back holds once its authentication cache lets go
        # of the token (QHARBOR_AUTH_CACHE_SECONDS, 2 s by default).
        deadline = time.monotonic() + 10
        status = 200
        while status == 200 and time.monotonic() < deadline:
            status = httpx.get(f"{centre.url}/v1/admin/users", headers=admin_headers).status_code
            time.sleep(0.1)
        assert status == 401

        # Without the centre's data folder, or with another key-encryption key, it refuses.
        empty = tmp_path / "empty"
        done = centre.cli("admin", "recover", "--data-dir", str(empty))
        assert done.returncode == 1 and "no centre in" in done.stderr, describe(done)
        other = base64.b64encode(os.urandom(32)).decode()
        done = centre.cli(
            "admin", "recover", "--data-dir", str(data_dir), QHARBOR_KEY_ENCRYPTION_KEY=other
        )
        assert_fails_with(done, "KEY_ENCRYPTION_KEY_INVALID")

        output = succeeded(centre.cli("admin", "recover", "--data-dir", str(data_dir)))
        [token] = TOKEN_LINE.findall(output)
        assert output.count(token) == 1
        headers = {"Authorization": f"Bearer {token}"}
        me = httpx.get(f"{centre.url}/v1/me", headers=headers).json()
        assert (me["user"], me["project"], me["role"], me["is_admin"]) == (
            "admin",
            "default",
            "admin",
            True,
        )
        assert sorted(me["scopes"]) == ["admin", "read", "submit"]
        assert httpx.get(f"{centre.url}/v1/admin/users", headers=headers).status_code == 200
        audit = httpx.get(
            f"{centre.url}/v1/admin/audit", headers=headers, params={"action": "admin.recover"}
        ).json()["entries"]
        assert audit and audit[0]["detail"] == {"project": "default"}
    finally:
        with db.write() as conn:  # the module's other tests use the first admin token
            for row in admins:
                conn.execute(
                    tokens.update().where(tokens.c.id == row.id).values(expires_at=row.expires_at)
                )
        db.dispose()
