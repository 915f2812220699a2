"""The stored side of device twins: calibration history and maintenance windows.

This is the only code that writes the ``calibrations`` and
``maintenance_windows`` tables.
"""

from __future__ import annotations

import datetime as dt
import uuid

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from qharbor.devices.twins.calibration import Calibration
from qharbor.devices.twins.spec import Window
from qharbor.store import Database
from qharbor.store.tables import calibrations, maintenance_windows


class DeviceRecords:
    """Reads and writes calibration snapshots and maintenance windows."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def add_calibration(self, calibration: Calibration) -> bool:
        """Store a recalibration's snapshot.

        Returns:
            False if that device already has this version (another centre sharing
            the database wrote it first); nothing is written then.
        """
        try:
            with self.db.write() as conn:
                conn.execute(
                    calibrations.insert().values(
                        id=calibration.id,
                        device=calibration.device,
                        version=calibration.version,
                        taken_at=calibration.taken_at,
                        reason=calibration.reason,
                        data=calibration.to_json(),
                    )
                )
        except IntegrityError:
            return False
        return True

    def latest(self, device: str, at: dt.datetime | None = None) -> Calibration | None:
        """The newest snapshot taken at or before ``at`` (or ever), if any."""
        query = sa.select(calibrations.c.data).where(calibrations.c.device == device)
        if at is not None:
            query = query.where(calibrations.c.taken_at <= at)
        query = query.order_by(calibrations.c.version.desc()).limit(1)
        with self.db.read() as conn:
            data = conn.execute(query).scalar_one_or_none()
        return Calibration.from_json(dict(data)) if data is not None else None

    def version(self, device: str, version: int) -> Calibration | None:
        with self.db.read() as conn:
            data = conn.execute(
                sa.select(calibrations.c.data).where(
                    calibrations.c.device == device, calibrations.c.version == version
                )
            ).scalar_one_or_none()
        return Calibration.from_json(dict(data)) if data is not None else None

    def history(self, device: str, limit: int = 50) -> list[Calibration]:
        """The device's recalibrations, newest first."""
        with self.db.read() as conn:
            rows = conn.execute(
                sa.select(calibrations.c.data)
                .where(calibrations.c.device == device)
                .order_by(calibrations.c.version.desc())
                .limit(limit)
            ).scalars()
            return [Calibration.from_json(dict(r)) for r in rows]

    def add_window(self, device: str, window: Window) -> str:
        window_id = uuid.uuid4().hex
        with self.db.write() as conn:
            conn.execute(
                maintenance_windows.insert().values(
                    id=window_id,
                    device=device,
                    start_at=window.start,
                    end_at=window.end,
                    reason=window.reason,
                    created_at=dt.datetime.now(dt.UTC),
                )
            )
        return window_id

    def windows(self, after: dt.datetime) -> dict[str, list[Window]]:
        """Per device, the stored windows that end after ``after``."""
        with self.db.read() as conn:
            rows = conn.execute(
                sa.select(maintenance_windows).where(maintenance_windows.c.end_at > after)
            ).all()
        found: dict[str, list[Window]] = {}
        for row in rows:
            found.setdefault(row.device, []).append(Window(row.start_at, row.end_at, row.reason))
        return found
