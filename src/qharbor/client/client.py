"""The centre's HTTP API as methods, one per route, named verb-last like the routes.

These methods take and return the API's JSON (dicts); the typed objects live a
layer up, in :mod:`qharbor.client.service` and :mod:`qharbor.client.job`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

from qharbor import errors
from qharbor.client.rest import RestSession
from qharbor.client.sse import ServerSentEvent, parse_events

FINAL_STATUSES = frozenset({"DONE", "FAILED", "CANCELLED"})
# Extra read time on top of a long poll, so the socket outlives the server's wait.
_LONG_POLL_MARGIN_S = 15.0


class HarborClient:
    """A thin, typed-by-convention wrapper over the v1 HTTP routes.

    Args:
        session: The HTTP session (auth, retries, error mapping).
    """

    def __init__(self, session: RestSession) -> None:
        self.session = session

    @property
    def url(self) -> str:
        """The centre's base URL."""
        return self.session.url

    def close(self) -> None:
        """Close the HTTP session."""
        self.session.close()

    # --- centre ---------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        """``GET /v1/health``: ``{"status": "ok", "version": ...}``; needs no token."""
        return dict(self.session.get("/v1/health"))

    def me(self) -> dict[str, Any]:
        """``GET /v1/me``: the caller's user, project and role."""
        return dict(self.session.get("/v1/me"))

    # --- keys ------------------------------------------------------------------------------

    def keys_list(self) -> dict[str, Any]:
        """``GET /v1/keys``: the centre's signing and sealing public keys; needs no token."""
        return dict(self.session.get("/v1/keys"))

    def me_key_get(self) -> dict[str, Any]:
        """``GET /v1/me/keys``: your registered ML-KEM public key.

        Raises:
            errors.NotFound: You have registered none.
        """
        return dict(self.session.get("/v1/me/keys"))

    def me_key_register(self, public_key_b64: str) -> dict[str, Any]:
        """``POST /v1/me/keys``: register your ML-KEM-768 public key (base64).

        Registering the same key again is harmless, so this POST may be retried.
        """
        return dict(
            self.session.post(
                "/v1/me/keys",
                json={"algorithm": "ML-KEM-768", "public_key": public_key_b64},
                idempotent=True,
            )
        )

    def usage_get(self, **params: Any) -> dict[str, Any]:
        """``GET /v1/usage``: device-seconds per project, device and day, and the quota."""
        return dict(self.session.get("/v1/usage", params=params))

    def usage_accounting(self, **params: Any) -> dict[str, Any]:
        """``GET /v1/usage/accounting``: device-seconds per project, user and Slurm job."""
        return dict(self.session.get("/v1/usage/accounting", params=params))

    def me_export(self) -> dict[str, Any]:
        """``GET /v1/me/export``: everything the centre holds about the caller."""
        return dict(self.session.get("/v1/me/export"))

    def me_erase(self) -> dict[str, Any]:
        """``DELETE /v1/me``: erase the caller's account, jobs, results and tokens."""
        return dict(self.session.request("DELETE", "/v1/me", idempotent=True))

    def my_tokens_list(self) -> list[dict[str, Any]]:
        """``GET /v1/me/tokens``: the caller's tokens' metadata."""
        return list(self.session.get("/v1/me/tokens")["tokens"])

    def my_token_create(self, body: dict[str, Any]) -> dict[str, Any]:
        """``POST /v1/me/tokens``: a new token for the caller (shown once)."""
        return dict(self.session.post("/v1/me/tokens", json=body))

    def my_token_revoke(self, token_id: str) -> dict[str, Any]:
        """``POST /v1/me/tokens/{id}/revoke``."""
        return dict(
            self.session.post(f"/v1/me/tokens/{_segment(token_id)}/revoke", idempotent=True)
        )

    # --- devices -----------------------------------------------------------------------

    def devices_list(self) -> list[dict[str, Any]]:
        """``GET /v1/devices``: every device the centre offers."""
        body = self.session.get("/v1/devices")
        return list(body["devices"])

    def engines_list(self) -> dict[str, Any]:
        """``GET /v1/engines``: engines, precisions and fitted cost models."""
        return dict(self.session.get("/v1/engines"))

    def device_get(self, name: str) -> dict[str, Any]:
        """``GET /v1/devices/{name}``: one device."""
        return dict(self.session.get(f"/v1/devices/{_segment(name)}"))

    def device_twin(self, name: str, snapshot: str | None = None) -> dict[str, Any]:
        """``GET /v1/devices/{name}/twin``: the twin document (target, noise, calibration)."""
        params = {"snapshot": snapshot} if snapshot else None
        return dict(self.session.get(f"/v1/devices/{_segment(name)}/twin", params=params))

    def device_calibration(
        self, name: str, at: str | None = None, snapshot: str | None = None
    ) -> dict[str, Any]:
        """``GET /v1/devices/{name}/calibration``: now, ``at`` a time, or by snapshot id."""
        params = {k: v for k, v in {"at": at, "snapshot": snapshot}.items() if v}
        return dict(
            self.session.get(f"/v1/devices/{_segment(name)}/calibration", params=params or None)
        )

    def job_dry_run(self, body: dict[str, Any]) -> dict[str, Any]:
        """``POST /v1/jobs:dry-run``: validate, compile and estimate; nothing is queued."""
        return dict(self.session.post("/v1/jobs:dry-run", json=body, idempotent=True))

    # --- jobs ----------------------------------------------------------------------------

    def job_submit(
        self, body: dict[str, Any], idempotency_key: str | None = None, wait: float | None = None
    ) -> dict[str, Any]:
        """``POST /v1/jobs``: submit a job and return it (status ``QUEUED``).

        An ``Idempotency-Key`` is always sent (a fresh uuid4 if none is given), so
        the session may safely retry the submission after a network failure: the
        centre answers a repeat with the job the first try created.

        With ``wait`` (seconds) the centre answers once the job is final or the time
        is up; a job DONE in time carries its ``result``.
        """
        key = idempotency_key or uuid.uuid4().hex
        return dict(
            self.session.post(
                "/v1/jobs",
                params={"wait": _seconds(wait) if wait else None},
                json=body,
                headers={"Idempotency-Key": key},
                timeout=_read_timeout(self.session.timeout, wait) if wait else None,
            )
        )

    def job_get(self, job_id: str, wait: float | None = None) -> dict[str, Any]:
        """``GET /v1/jobs/{id}``; with ``wait`` (seconds) a long poll until final."""
        return dict(
            self.session.get(
                f"/v1/jobs/{_segment(job_id)}",
                params={"wait": _seconds(wait)},
                timeout=_read_timeout(self.session.timeout, wait),
            )
        )

    def job_result(self, job_id: str, wait: float | None = None) -> dict[str, Any]:
        """``GET /v1/jobs/{id}/result``; with ``wait`` (seconds) a long poll until final.

        Raises:
            errors.JobNotFinished: The job is still queued or running.
            errors.JobFailed: The job failed; its own error is in ``detail``.
            errors.JobCancelled: The job was cancelled.
        """
        return dict(
            self.session.get(
                f"/v1/jobs/{_segment(job_id)}/result",
                params={"wait": _seconds(wait)},
                timeout=_read_timeout(self.session.timeout, wait),
            )
        )

    def job_cancel(self, job_id: str) -> dict[str, Any]:
        """``POST /v1/jobs/{id}/cancel``: cancel a job and return it.

        Cancelling is idempotent on the centre (a cancelled job is returned
        unchanged), so this POST may be retried.
        """
        return dict(self.session.post(f"/v1/jobs/{_segment(job_id)}/cancel", idempotent=True))

    def jobs_list(
        self,
        status: str | None = None,
        device: str | None = None,
        tag: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        session_id: str | None = None,
        created_after: str | None = None,
        created_before: str | None = None,
    ) -> dict[str, Any]:
        """``GET /v1/jobs``: one page of the project's jobs, newest first.

        Args:
            created_after: ISO 8601; only jobs created at or after it.
            created_before: ISO 8601; only jobs created before it.

        Returns:
            ``{"jobs": [...], "next_cursor": str | None}``.
        """
        params = {
            "status": status,
            "device": device,
            "tag": tag,
            "limit": limit,
            "cursor": cursor,
            "session_id": session_id,
            "created_after": created_after,
            "created_before": created_before,
        }
        return dict(self.session.get("/v1/jobs", params=params))

    # --- sessions and batches ------------------------------------------------------------

    def session_create(self, body: dict[str, Any]) -> dict[str, Any]:
        """``POST /v1/sessions``: open a session or batch (``{"device", "mode", ...}``)."""
        return dict(self.session.post("/v1/sessions", json=body))

    def session_get(self, session_id: str) -> dict[str, Any]:
        """``GET /v1/sessions/{id}``: a session with its jobs counted by status."""
        return dict(self.session.get(f"/v1/sessions/{_segment(session_id)}"))

    def sessions_list(
        self, mode: str | None = None, status: str | None = None, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """``GET /v1/sessions``: the project's sessions and batches, newest first."""
        body = self.session.get(
            "/v1/sessions", params={"mode": mode, "status": status, "limit": limit}
        )
        return list(body["sessions"])

    def session_close(self, session_id: str) -> dict[str, Any]:
        """``DELETE /v1/sessions/{id}``: close it (idempotent, so it may be retried)."""
        return dict(
            self.session.request("DELETE", f"/v1/sessions/{_segment(session_id)}", idempotent=True)
        )

    def sessions_close_slurm_job(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        """``POST /v1/sessions:close-slurm-job``: close a Slurm job's sessions (idempotent)."""
        answer = self.session.post("/v1/sessions:close-slurm-job", json=body, idempotent=True)
        return list(answer["sessions"])

    def job_events(
        self, job_id: str, read_timeout: float | None = 300.0
    ) -> Iterator[ServerSentEvent]:
        """``GET /v1/jobs/{id}/events``: the job's status changes as server-sent events.

        Each ``status`` event's ``data`` is the job object. The stream ends after
        the job's final state. If the connection drops before that, the client
        reconnects (the centre starts every stream with the current state).

        Args:
            job_id: The job.
            read_timeout: Seconds without any bytes (events or keep-alives)
                after which the stream is reopened; None waits forever.
        """
        failures = 0
        while True:
            finished = False
            try:
                with self.session.stream(
                    f"/v1/jobs/{_segment(job_id)}/events", read_timeout=read_timeout
                ) as response:
                    for event in parse_events(response.iter_lines()):
                        failures = 0
                        yield event
                        if _is_final(event):
                            finished = True
                # A stream that ends cleanly ends after the final state.
                return
            except errors.ConnectionFailed:
                if finished:
                    return
                if failures >= self.session.retry.retries:
                    raise
                self.session.pause(failures)
                failures += 1


def _is_final(event: ServerSentEvent) -> bool:
    return isinstance(event.data, dict) and event.data.get("status") in FINAL_STATUSES


def _segment(value: str) -> str:
    """``value`` quoted as one URL path segment, so ids cannot change the route."""
    return quote(str(value), safe="")


def _seconds(wait: float | None) -> str | None:
    if wait is None:
        return None
    return f"{max(0.0, wait):g}"


def _read_timeout(default: float, wait: float | None) -> float | None:
    if wait is None:
        return None
    return max(default, wait + _LONG_POLL_MARGIN_S)
