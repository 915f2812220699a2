"""qharbor: an open quantum cloud platform.

The top-level package holds only the client's public names, loaded lazily, so
that ``import qharbor`` stays cheap and never pulls in the server (FastAPI,
SQLAlchemy, Qiskit). A plain ``pip install qharbor`` gives the SDK and the CLI;
the centre itself is the ``server`` extra.

Example:
    >>> from qharbor import HarborService
    >>> service = HarborService("http://127.0.0.1:8000", "qh_...")  # doctest: +SKIP
    >>> service.run(bell_qasm, shots=1000).result().get_counts()    # doctest: +SKIP
    {'00': 507, '11': 493}
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from qharbor.errors import QHarborError

if TYPE_CHECKING:
    from qharbor.client import HarborService, Job, JobResult

__version__ = "0.1.0"

__all__ = ["HarborService", "Job", "JobResult", "QHarborError", "__version__"]

# Loaded on first use: the server imports ``qharbor.*`` too, and must not pay for httpx.
_LAZY = {"HarborService": "qharbor.client", "Job": "qharbor.client", "JobResult": "qharbor.client"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'qharbor' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
