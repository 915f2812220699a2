"""Braket users' entry point: ``from qharbor.braket import QHarborDevice``.

Needs the ``braket`` extra (``pip install 'qharbor[braket]'``).
"""

from __future__ import annotations

from qharbor.client.braket import QHarborDevice, QHarborQuantumTask

__all__ = ["QHarborDevice", "QHarborQuantumTask"]
