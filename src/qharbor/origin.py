"""pyqpanda3 cloud users' entry point: ``from qharbor.origin import QCloudService``.

pyqpanda3 itself is needed only to pass ``QProg`` objects (``pip install
'qharbor[origin]'``); OriginIR text works with the plain client.
"""

from __future__ import annotations

from qharbor.client.origin import (
    BACKEND_ALIASES,
    DataBase,
    JobStatus,
    QCloudBackend,
    QCloudJob,
    QCloudOptions,
    QCloudResult,
    QCloudService,
)
from qharbor.client.origin_chip import ChipInfo, DoubleQubitsInfo, SingleQubitInfo

__all__ = [
    "BACKEND_ALIASES",
    "ChipInfo",
    "DataBase",
    "DoubleQubitsInfo",
    "JobStatus",
    "QCloudBackend",
    "QCloudJob",
    "QCloudOptions",
    "QCloudResult",
    "QCloudService",
    "SingleQubitInfo",
]
