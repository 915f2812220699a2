"""pyqpanda3 cloud users' entry point: ``from qharbor.origin import QCloudService``.

pyqpanda3 itself is needed only to pass ``QProg`` objects (``pip install
'qharbor[origin]'``); OriginIR text works with the plain client.
"""

from __future__ import annotations

from qharbor.client.origin import (
    BACKEND_ALIASES,
    ChipInfo,
    DataBase,
    DoubleQubitsInfo,
    JobStatus,
    QCloudBackend,
    QCloudJob,
    QCloudOptions,
    QCloudResult,
    QCloudService,
    SingleQubitInfo,
)

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
