"""The qharbor SDK: talk to a centre over its HTTP API.

Layered like qiskit-ibm-runtime, top to bottom:

- :class:`HarborService` (``service.py``): the entry point; devices, ``run``, jobs.
- :class:`Job` (``job.py``) and :class:`JobResult` (``results.py``): typed handles and values.
- :class:`HarborClient` (``client.py``): one method per HTTP route, JSON in and out.
- :class:`RestSession` (``rest.py``): auth, timeouts, retries with backoff, error mapping.
- ``accounts.py``: where the URL and token come from.

Nothing here imports the server, FastAPI, SQLAlchemy or Qiskit.
"""

from __future__ import annotations

from qharbor.client.accounts import Account, load_account, resolve_account, save_account
from qharbor.client.client import FINAL_STATUSES, HarborClient
from qharbor.client.job import Job
from qharbor.client.rest import RestSession, RetryPolicy
from qharbor.client.results import DeviceInfo, ExperimentResult, JobResult
from qharbor.client.service import HarborService
from qharbor.client.sse import ServerSentEvent

__all__ = [
    "FINAL_STATUSES",
    "Account",
    "DeviceInfo",
    "ExperimentResult",
    "HarborClient",
    "HarborService",
    "Job",
    "JobResult",
    "RestSession",
    "RetryPolicy",
    "ServerSentEvent",
    "load_account",
    "resolve_account",
    "save_account",
]
