"""Stored results: read back exactly as written, and remembered briefly once written.

A signed result is stored as canonical JSON, so reading it back checks that the
text the database holds is still what was signed. Results this process stored in
the last few seconds are kept in memory, so the request waiting for one is
answered without reading back what was just written.
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from qharbor import errors, wire
from qharbor.jobs.job import Job
from qharbor.store.tables import results

#: How long a stored result is remembered (seconds). Short, so a deletion by
#: another centre sharing the database is seen within seconds.
_RECENT_S = 5.0
_RECENT_MAX = 1024


def read_result(conn: Any, job_id: str) -> dict[str, Any]:
    """A DONE job's stored result, read as the text the database holds and checked."""
    row = conn.execute(
        sa.select(
            sa.cast(results.c.data, sa.Text).label("data"),
            sa.cast(results.c.signature, sa.Text).label("signature"),
        ).where(results.c.job_id == job_id)
    ).one()
    return stored_result(job_id, row.data, row.signature)


def stored_result(job_id: str, data_text: str, signature_text: str | None) -> dict[str, Any]:
    """A stored result from its column texts; a signed one must be exactly as written.

    Signed results are stored as canonical JSON, so any changed byte either changes
    a value (and the signature no longer verifies) or leaves text that is no longer
    canonical, caught here.

    Raises:
        errors.ResultCorrupt: the stored text was altered.
    """
    try:
        data = json.loads(data_text)
        if signature_text is None:
            return dict(data)
        signature = json.loads(signature_text)
    except ValueError:
        raise errors.ResultCorrupt(job_id=job_id) from None
    if wire.canonical_json(data) != data_text or wire.canonical_json(signature) != signature_text:
        raise errors.ResultCorrupt(job_id=job_id)
    return {**data, "signature": signature}


def signature_context(job_row: Any, data: dict[str, Any]) -> dict[str, Any]:
    """What a result's signature binds it to, besides the result itself.

    The calibration snapshot id is read from the result's metadata, where devices
    with a calibration record it; it is None for devices without one.
    """
    metadata = data.get("metadata") or {}
    return {
        "job_id": job_row.id,
        "project": job_row.project_name,
        "device": job_row.device,
        "calibration_snapshot_id": metadata.get("calibration_snapshot_id"),
        "input_hash": job_row.request_hash,
    }


class RecentResults:
    """The DONE jobs this process stored in the last few seconds, with their results.

    Safe from any thread.
    """

    def __init__(self) -> None:
        # job id -> (monotonic time stored, the DONE job, its result with signature)
        self._entries: OrderedDict[str, tuple[float, Job, dict[str, Any]]] = OrderedDict()
        self._lock = threading.Lock()

    def remember(self, job: Job, data: dict[str, Any]) -> None:
        now = time.monotonic()
        with self._lock:
            self._entries[job.id] = (now, job, data)
            while self._entries and (
                len(self._entries) > _RECENT_MAX
                or now - next(iter(self._entries.values()))[0] > _RECENT_S
            ):
                self._entries.popitem(last=False)

    def get(self, project_id: str, job_id: str) -> tuple[Job, dict[str, Any]] | None:
        """The job and its result, if stored moments ago and in the project."""
        with self._lock:
            entry = self._entries.get(job_id)
        if entry is None:
            return None
        stored_at, job, data = entry
        if job.project_id != project_id or time.monotonic() - stored_at > _RECENT_S:
            return None
        return job, data

    def forget(self, job_ids: Iterable[str]) -> None:
        with self._lock:
            for job_id in job_ids:
                self._entries.pop(job_id, None)
