"""What users see: named devices with limits, native operations and a status.

Device twins add a calibration that drifts, maintenance, telemetry and faults."""

from __future__ import annotations

from qharbor.devices.catalogue import Catalogue, default_catalogue
from qharbor.devices.device import Device, DeviceStatus

__all__ = ["Catalogue", "Device", "DeviceStatus", "default_catalogue"]
