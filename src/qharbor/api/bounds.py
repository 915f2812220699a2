"""The ranges every number and time the API accepts must lie in.

Each bound keeps a value inside what the centre can compute with and store: a
time stays a time after any time-zone shift or the arithmetic done on it, an
integer fits its database column on SQLite and PostgreSQL alike, and a duration
fits a ``timedelta``. docs/api.md lists them.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import AfterValidator

from qharbor.devices.twins import telemetry

#: The largest value of a 32-bit INTEGER column (shots, limits, audit sequence numbers).
INT32_MAX = 2**31 - 1

#: The longest lifetime of a token or session, in seconds (ten years).
MAX_LIFETIME_S = 10 * 365 * 86_400
#: The longest phase (rise, hold, recovery) of an injected warm-up, in seconds (30 days).
MAX_FAULT_PHASE_S = telemetry.MAX_PHASE_S
#: The longest a request may ask to wait for a job, in seconds (a day; the centre
#: answers sooner, at its own ``max_wait_seconds``, so clients that pass their own
#: long timeouts on are not refused).
MAX_WAIT_S = 86_400.0
#: The widest spacing of telemetry points, in seconds (a day).
MAX_STEP_S = 86_400.0
#: The largest device-time budget per period, in seconds.
MAX_BUDGET_S = 1e12
#: Estimator precision (target standard error): at least this ...
MIN_PRECISION = 1e-6
#: ... and at most this.
MAX_PRECISION = 1.0

#: The earliest time accepted (inclusive), UTC.
EARLIEST = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
#: The latest time accepted (exclusive), UTC: far from ``datetime.max``, so any
#: time-zone shift, window or default range around it still computes.
LATEST = dt.datetime(3000, 1, 1, tzinfo=dt.UTC)

TIME_RANGE = f"between {EARLIEST:%Y-%m-%dT%H:%M:%SZ} and {LATEST:%Y-%m-%dT%H:%M:%SZ}"


def utc_in_range(value: dt.datetime) -> dt.datetime:
    """The time in UTC (one without a zone is taken to be UTC), if within range.

    Raises:
        ValueError: outside the range, naming it.
    """
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    try:
        utc = value.astimezone(dt.UTC)
    except OverflowError:  # e.g. 9999-12-31T23:59:59-23:59 is past datetime.max in UTC
        utc = None
    if utc is None or not EARLIEST <= utc < LATEST:
        raise ValueError(f"the time must lie {TIME_RANGE}")
    return utc


def day_in_range(value: dt.date) -> dt.date:
    """The day, if within the range of times.

    Raises:
        ValueError: outside the range, naming it.
    """
    if not EARLIEST.date() <= value < LATEST.date():
        raise ValueError(f"the day must lie {TIME_RANGE}")
    return value


#: A time within range, in UTC.
Time = Annotated[dt.datetime, AfterValidator(utc_in_range)]
#: A day (UTC) within range.
Day = Annotated[dt.date, AfterValidator(day_in_range)]
