"""A real centre behind real HTTP, on SQLite and on PostgreSQL."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from qharbor.api.server import CentreServer
from qharbor.centre import Centre
from qharbor.security.directory import Role
from qharbor.settings import Settings
from tests.conftest import database_url_for


class RunningCentre:
    """A centre under test, with an authenticated HTTP client."""

    def __init__(self, server: CentreServer) -> None:
        self.server = server
        self.url = server.url
        assert server.bootstrap_token is not None
        self.token = server.bootstrap_token
        self.http = httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {self.token}"}, timeout=120
        )
        self._clients: list[httpx.Client] = []

    @property
    def centre(self) -> Centre:
        centre: Centre = self.server.app.state.centre
        return centre

    def client_for(self, token: str) -> httpx.Client:
        client = httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {token}"}, timeout=120
        )
        self._clients.append(client)
        return client

    def new_user(self, name: str, project: str, role: Role = Role.MEMBER) -> httpx.Client:
        """A client for a new user in a (possibly new) project."""
        _user, token = self.centre.identity.create_user(name, project, role)
        return self.client_for(token)

    def submit(self, client: httpx.Client | None = None, **body: Any) -> dict[str, Any]:
        body.setdefault("device", "statevector")
        response = (client or self.http).post("/v1/jobs", json=body)
        assert response.status_code == 201, response.text
        job: dict[str, Any] = response.json()
        return job

    def wait(self, job_id: str, client: httpx.Client | None = None) -> dict[str, Any]:
        """Long-poll until the job is final."""
        for _ in range(20):
            job: dict[str, Any] = (
                (client or self.http).get(f"/v1/jobs/{job_id}", params={"wait": 30}).json()
            )
            if job["status"] in ("DONE", "FAILED", "CANCELLED"):
                return job
        raise AssertionError(f"job {job_id} did not finish: {job}")

    def result(self, job_id: str, client: httpx.Client | None = None) -> dict[str, Any]:
        response = (client or self.http).get(f"/v1/jobs/{job_id}/result", params={"wait": 60})
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()
        return data

    def close(self) -> None:
        for client in [self.http, *self._clients]:
            client.close()


def start_centre(kind: str, tmp: Path, **overrides: Any) -> tuple[CentreServer, Any]:
    url, schema = database_url_for(kind, tmp)
    settings = Settings(
        host="127.0.0.1",
        port=0,
        data_dir=tmp / "data",
        database_url=url,
        workers=overrides.pop("workers", 2),
        # Tests fire requests faster than people do; rate limits have their own tests.
        rate_limit_per_second=overrides.pop("rate_limit_per_second", 10_000.0),
        rate_limit_burst=overrides.pop("rate_limit_burst", 10_000),
        project_rate_limit_per_second=overrides.pop("project_rate_limit_per_second", 10_000.0),
        project_rate_limit_burst=overrides.pop("project_rate_limit_burst", 10_000),
        # Module-scoped centres share one admin across many tests' sessions.
        max_open_sessions_per_user=overrides.pop("max_open_sessions_per_user", 1000),
        max_open_sessions_per_project=overrides.pop("max_open_sessions_per_project", 1000),
        log_level="warning",
        # Module-scoped centres start before the per-test environment is set.
        engine_benchmark=overrides.pop("engine_benchmark", "off"),
        **overrides,
    )
    server = CentreServer(settings)
    server.start()
    return server, schema


@pytest.fixture(scope="module")
def running(module_database_kind: str) -> Iterator[RunningCentre]:
    """One centre per test module and database kind."""
    with tempfile.TemporaryDirectory() as tmp:
        server, schema = start_centre(module_database_kind, Path(tmp))
        running = RunningCentre(server)
        try:
            yield running
        finally:
            running.close()
            server.stop()
            if schema is not None:
                schema.drop()
