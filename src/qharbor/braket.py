"""Braket users' entry point: ``from qharbor.braket import QHarborDevice``.

Needs the ``braket`` extra (``pip install 'qharbor[braket]'``).
"""

from __future__ import annotations

from qharbor.client.braket import QHarborDevice
from qharbor.client.braket_properties import TwinDeviceCapabilities
from qharbor.client.braket_tasks import QHarborQuantumTask, QHarborQuantumTaskBatch

__all__ = [
    "QHarborDevice",
    "QHarborQuantumTask",
    "QHarborQuantumTaskBatch",
    "TwinDeviceCapabilities",
]
