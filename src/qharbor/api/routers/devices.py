"""Devices: what the centre offers, with status and queue lengths."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from qharbor.api.deps import CentreDep, CurrentPrincipal
from qharbor.api.schemas import DeviceList, DevicePublic
from qharbor.devices import Device

router = APIRouter(prefix="/v1/devices", tags=["devices"])


def _public(device: Device, lengths: dict[str, dict[str, int]]) -> dict[str, Any]:
    data = device.to_json()
    data.pop("options", None)
    counts = lengths.get(device.name, {})
    data["queue_length"] = counts.get("queued", 0)
    data["running"] = counts.get("running", 0)
    return data


@router.get("", response_model=DeviceList)
def list_devices(centre: CentreDep, _principal: CurrentPrincipal) -> dict[str, Any]:
    """Every device, with its limits, status and queue length."""
    lengths = centre.jobs.queue_lengths()
    return {"devices": [_public(d, lengths) for d in centre.catalogue]}


@router.get("/{name}", response_model=DevicePublic)
def get_device(name: str, centre: CentreDep, _principal: CurrentPrincipal) -> dict[str, Any]:
    """One device."""
    device = centre.catalogue.get(name)
    return _public(device, centre.jobs.queue_lengths())
