"""A description of the machine a benchmark ran on, for the results file."""

from __future__ import annotations

import os
import platform
from importlib import metadata
from typing import Any

#: Distributions whose versions are recorded with every run.
PACKAGES = (
    "qharbor",
    "qiskit",
    "qiskit-aer",
    "qulacs",
    "qsimcirq",
    "cirq-core",
    "stim",
    "pyqpanda3",
    "amazon-braket-sdk",
    "amazon-braket-default-simulator",
    "numpy",
)


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gib() -> float | None:
    try:
        import psutil

        return round(psutil.virtual_memory().total / 2**30, 1)
    except ImportError:
        return None


def describe() -> dict[str, Any]:
    """CPU model, cores, memory (GiB), OS, Python, library versions and the load now."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": _memory_gib(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "versions": versions,
    }
