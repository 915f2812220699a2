"""The centre's Prometheus metrics, served at ``GET /metrics``.

Two kinds of figures, in one registry per app (tests build many apps side by side):

* **Events**, counted by this process as they happen: jobs ending, by final
  status and error code, and how long their stages took (histograms). The job
  store calls :meth:`CentreMetrics.job_ended` once per job it finishes; with
  several API processes on one database each counts the jobs its own scheduler
  (or its own cancel requests) ended, so sum over instances.
* **State**, read from the centre when Prometheus scrapes: queue depth per device
  and project, workers in use, device status, calibration age, cryostat
  temperatures and other twin telemetry, usage against quota. These are the same
  for every instance sharing the database.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from qharbor import wire
from qharbor.centre import Centre
from qharbor.devices.device import DeviceStatus
from qharbor.jobs.endings import JobEnding
from qharbor.jobs.job import JobStatus

log = logging.getLogger(__name__)

#: Seconds; from a fast simulator job to a long queue wait on a busy QPU.
STAGE_BUCKETS = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    300.0,
    900.0,
    3600.0,
    14400.0,
)

#: Temperature units the twins' telemetry uses, and their factor to kelvin.
_KELVIN = {"K": 1.0, "mK": 1e-3}


class CentreMetrics:
    """The metrics of one centre: its registry, event counters and state collector.

    Args:
        centre: the centre whose state is read at scrape time.
    """

    def __init__(self, centre: Centre) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.jobs_finished = Counter(
            "qharbor_jobs_finished",
            "Jobs that reached a final status, by device, project, status and error code.",
            ["device", "project", "status", "error_code"],
            registry=self.registry,
        )
        self.stage_seconds = Histogram(
            "qharbor_job_stage_seconds",
            "Time jobs spent in each stage (seconds): queued (submission to start), running "
            "(start to end), total (submission to end), and, for DONE jobs, compile and run "
            "as the worker measured them.",
            ["device", "stage"],
            buckets=STAGE_BUCKETS,
            registry=self.registry,
        )
        self.registry.register(StateCollector(centre))

    def job_ended(self, ending: JobEnding) -> None:
        """Count one job's end; the job store calls this once per job."""
        self.jobs_finished.labels(
            ending.device, ending.project, str(ending.status), ending.error_code or ""
        ).inc()
        stages = {
            "queued": ending.queued_s,
            "running": ending.running_s,
            "total": ending.total_s,
        }
        if ending.status is JobStatus.DONE:
            stages.update(compile=ending.compile_s, run=ending.run_s)
        for stage, seconds in stages.items():
            if seconds is not None:
                self.stage_seconds.labels(ending.device, stage).observe(max(0.0, seconds))


class StateCollector(Collector):
    """Reads the centre's state at scrape time, through its read-only interfaces."""

    def __init__(self, centre: Centre) -> None:
        self._centre = centre

    def describe(self) -> list[Metric]:
        # Nothing to describe ahead of a scrape: the families depend on the state.
        return []

    def collect(self) -> Iterator[Metric]:
        yield from self._queues()
        yield from self._workers()
        yield from self._devices()
        yield from self._quotas()

    def _queues(self) -> Iterator[Metric]:
        queued = GaugeMetricFamily(
            "qharbor_queue_depth",
            "Jobs waiting in the queue, by device and project.",
            labels=["device", "project"],
        )
        running = GaugeMetricFamily(
            "qharbor_jobs_running",
            "Jobs running now, by device and project.",
            labels=["device", "project"],
        )
        for device, project, status, count in self._centre.jobs.queue_depths():
            family = queued if status == JobStatus.QUEUED.value else running
            family.add_metric([device, project], count)
        yield queued
        yield running

    def _workers(self) -> Iterator[Metric]:
        executor = self._centre.executor
        total = self._centre.settings.workers
        workers = GaugeMetricFamily(
            "qharbor_workers",
            "Worker processes of this host's executor, by state.",
            labels=["state"],
        )
        busy = 0 if executor is None else len(executor.running())
        idle = 0 if executor is None else executor.free_slots()
        workers.add_metric(["busy"], busy)
        workers.add_metric(["idle"], idle)
        # Neither busy nor idle: starting, or being replaced after a crash.
        workers.add_metric(["starting"], max(0, total - busy - idle))
        yield workers
        utilisation = GaugeMetricFamily(
            "qharbor_executor_utilisation",
            "Share of this host's workers running a job (0 to 1).",
        )
        utilisation.add_metric([], busy / total if total else 0.0)
        yield utilisation
        if executor is not None and executor.memory_capacity() is not None:
            memory = GaugeMetricFamily(
                "qharbor_executor_memory_bytes",
                "Memory the running jobs of this host may use (capacity) and have left (free).",
                labels=["kind"],
            )
            memory.add_metric(["capacity"], float(executor.memory_capacity() or 0))
            memory.add_metric(["free"], float(executor.free_memory() or 0))
            yield memory

    def _devices(self) -> Iterator[Metric]:
        fleet = self._centre.fleet
        status = GaugeMetricFamily(
            "qharbor_device_status",
            "1 for the device's current status, 0 for the others.",
            labels=["device", "status"],
        )
        for device in self._centre.catalogue:
            current = fleet.status(device.name)
            for candidate in DeviceStatus:
                status.add_metric(
                    [device.name, str(candidate)], 1.0 if candidate is current else 0.0
                )
        yield status
        age = GaugeMetricFamily(
            "qharbor_device_calibration_age_seconds",
            "Seconds since the device's calibration in force was taken.",
            labels=["device"],
        )
        temperature = GaugeMetricFamily(
            "qharbor_cryostat_temperature_kelvin",
            "Cryostat stage temperatures from the device's telemetry (kelvin).",
            labels=["device", "stage"],
        )
        other = GaugeMetricFamily(
            "qharbor_device_telemetry",
            "Other telemetry channels, in the unit the label names.",
            labels=["device", "channel", "unit"],
        )
        now = wire.utcnow()
        for name in fleet.twins():
            taken = fleet.calibrated_at(name)
            age.add_metric([name], max(0.0, (now - taken).total_seconds()))
            for channel, unit, value in fleet.readings(name):
                if unit in _KELVIN:
                    temperature.add_metric([name, channel], value * _KELVIN[unit])
                else:
                    other.add_metric([name, channel, unit], value)
        yield age
        yield temperature
        yield other

    def _quotas(self) -> Iterator[Metric]:
        labels = ["project", "device_class", "period"]
        budget = GaugeMetricFamily(
            "qharbor_quota_budget_seconds",
            "Each project's device-second budget per period, by device class.",
            labels=labels,
        )
        used = GaugeMetricFamily(
            "qharbor_quota_used_seconds",
            "Device-seconds used in the current period, against the budget.",
            labels=labels,
        )
        reserved = GaugeMetricFamily(
            "qharbor_quota_reserved_seconds",
            "Device-seconds reserved by unfinished jobs, against the budget.",
            labels=labels,
        )
        for project, standing in self._centre.quotas.standings():
            key = [project, str(standing.device_class), str(standing.period)]
            budget.add_metric(key, standing.budget_s)
            used.add_metric(key, standing.used_s)
            reserved.add_metric(key, standing.reserved_s)
        yield budget
        yield used
        yield reserved
