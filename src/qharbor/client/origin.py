"""pyqpanda3's cloud interface, backed by a qharbor centre.

A pyqpanda3 cloud script switches by changing its import and the line that
makes the service; the rest (``service.backend(name).run(prog, shots)``,
``job.result().get_counts()``, ``backend.chip_info()``) stays as it is::

    from qharbor.origin import QCloudService      # was: from pyqpanda3.qcloud import ...
    service = QCloudService()                      # QHARBOR_URL/QHARBOR_TOKEN, or
    service = QCloudService(api_key=token, url="http://127.0.0.1:8000")

Programs are pyqpanda3 ``QProg`` objects, turned into OriginIR by pyqpanda3's
own writer (pyqpanda3 is imported only then), or OriginIR text. Results are
keyed as pyqpanda3 keys them: the measured classical bits only, the highest
index on the left (``c[2]c[1]c[0]``).

Backend names are the centre's device names; pyqpanda3's ``full_amplitude``
and ``origin_wukong`` name the centre's ``statevector`` simulator and its
72-qubit twin ``sc72``, so scripts keep their backend names too.
"""

from __future__ import annotations

import enum
import importlib
import re
from collections.abc import Mapping, Sequence
from typing import Any

from qharbor import errors
from qharbor.client.job import Job
from qharbor.client.origin_chip import ChipInfo
from qharbor.client.service import HarborService

#: pyqpanda3's cloud backend names, and the centre devices that stand in for them.
BACKEND_ALIASES: dict[str, str] = {
    "full_amplitude": "statevector",
    "origin_wukong": "sc72",
}

_MEASURE = re.compile(r"^\s*MEASURE\s+(.+?)\s*$", re.MULTILINE | re.IGNORECASE)
_CLBIT = re.compile(r"c\s*\[\s*(\d+)\s*\]")
_CREG = re.compile(r"^\s*CREG\s+(\d+)", re.MULTILINE)


class JobStatus(enum.Enum):
    """A job's status, named as pyqpanda3 names it."""

    WAITING = 0  # accepted, not yet queued
    COMPUTING = 1  # running
    FINISHED = 2  # done; the result is ready
    FAILED = 3  # failed or cancelled
    QUEUING = 4  # waiting in the device's queue


_STATUS = {
    "QUEUED": JobStatus.QUEUING,
    "RUNNING": JobStatus.COMPUTING,
    "DONE": JobStatus.FINISHED,
    "FAILED": JobStatus.FAILED,
    "CANCELLED": JobStatus.FAILED,
}


class DataBase(enum.Enum):
    """How result keys are written: binary (``"101"``) or hexadecimal (``"0x5"``)."""

    Binary = 0
    Hex = 1


class QCloudOptions:
    """pyqpanda3's run options, accepted so scripts run unchanged.

    The centre compiles every program for its device (layout, routing and
    optimisation), so ``mapping`` and ``optimization`` are always on, and a
    twin's readout errors are left in the counts (``amend`` has no effect).
    """

    def __init__(
        self,
        amend_flag: int = 0,
        use_cz_pattern: bool = False,
        mapping: bool = True,
        optimization: bool = True,
        point_label: int = 0,
        is_prob_counts: bool = True,
        specified_block: Sequence[int] = (),
    ) -> None:
        self._values: dict[str, Any] = {
            "amend_flag": amend_flag,
            "use_cz_pattern": use_cz_pattern,
            "mapping": mapping,
            "optimization": optimization,
            "point_label": point_label,
            "is_prob_counts": is_prob_counts,
            "specified_block": list(specified_block),
        }
        self._custom: dict[str, int | float | str | bool] = {}

    def set_amend(self, is_amend: bool) -> None:
        self._values["amend_flag"] = int(is_amend)

    def set_amend_flag(self, amend_flag: int) -> None:
        self._values["amend_flag"] = amend_flag

    def set_mapping(self, is_mapping: bool) -> None:
        self._values["mapping"] = is_mapping

    def set_optimization(self, is_optimization: bool) -> None:
        self._values["optimization"] = is_optimization

    def set_is_prob_counts(self, is_prob_counts: bool) -> None:
        self._values["is_prob_counts"] = is_prob_counts

    def set_point_label(self, point_label: int) -> None:
        self._values["point_label"] = point_label

    def set_use_cz_pattern(self, use_cz_pattern: bool) -> None:
        self._values["use_cz_pattern"] = use_cz_pattern

    def set_specified_block(self, specified_block: Sequence[int]) -> None:
        self._values["specified_block"] = list(specified_block)

    def set_custom_option(self, key: str, value: int | float | str | bool) -> None:
        self._custom[key] = value

    def get_custom_option(self, key: str) -> int | float | str | bool:
        return self._custom[key]

    def get_custom_options(self) -> dict[str, int | float | str | bool]:
        return dict(self._custom)

    def has_custom_option(self, key: str) -> bool:
        return key in self._custom

    def is_amend(self) -> bool:
        return bool(self._values["amend_flag"])

    def amend_flag(self) -> int:
        return int(self._values["amend_flag"])

    def is_mapping(self) -> bool:
        return bool(self._values["mapping"])

    def is_optimization(self) -> bool:
        return bool(self._values["optimization"])

    def is_prob_counts(self) -> bool:
        return bool(self._values["is_prob_counts"])

    def point_label(self) -> int:
        return int(self._values["point_label"])

    def use_cz_pattern(self) -> bool:
        return bool(self._values["use_cz_pattern"])

    def specified_block(self) -> list[int]:
        return list(self._values["specified_block"])

    def print(self) -> None:
        print({**self._values, **self._custom})


class QCloudResult:
    """A finished job's counts and probabilities, keyed as pyqpanda3 keys them."""

    def __init__(
        self,
        job_id: str,
        status: JobStatus,
        counts: Sequence[Mapping[str, int]] = (),
        error: str = "",
    ) -> None:
        self._job_id = job_id
        self._status = status
        self._counts = [dict(c) for c in counts]
        self._error = error

    def job_id(self) -> str:
        return self._job_id

    def job_status(self) -> JobStatus:
        return self._status

    def error_message(self) -> str:
        """Why the job failed; empty if it did not."""
        return self._error

    def get_counts(self, base: DataBase = DataBase.Binary) -> dict[str, int]:
        """The first program's counts."""
        return self.get_counts_list(base)[0] if self._counts else {}

    def get_counts_list(self, base: DataBase = DataBase.Binary) -> list[dict[str, int]]:
        """Counts of every program, in the order they were run."""
        return [{_key(k, base): n for k, n in c.items()} for c in self._counts]

    def get_probs(self, base: DataBase = DataBase.Binary) -> dict[str, float]:
        """The first program's observed frequencies (counts divided by shots)."""
        return self.get_probs_list(base)[0] if self._counts else {}

    def get_probs_list(self, base: DataBase = DataBase.Binary) -> list[dict[str, float]]:
        out = []
        for counts in self._counts:
            total = sum(counts.values()) or 1
            out.append({_key(k, base): n / total for k, n in counts.items()})
        return out

    def __repr__(self) -> str:
        return f"<QCloudResult {self._job_id} {self._status.name}>"


def _key(bits: str, base: DataBase) -> str:
    return hex(int(bits, 2)) if base is DataBase.Hex and bits else bits


class QCloudJob:
    """A submitted job; ``result()`` waits for it."""

    def __init__(self, job: Job, measured: Sequence[list[int]]) -> None:
        self._job = job
        self._measured = [list(m) for m in measured]

    def job_id(self) -> str:
        return self._job.job_id

    def status(self) -> JobStatus:
        return _STATUS.get(self._job.status(), JobStatus.WAITING)

    def cancel(self) -> bool:
        """Ask the centre to cancel the job; False if it had already finished."""
        try:
            self._job.cancel()
        except errors.JobAlreadyFinal:
            return False
        return True

    def query(self) -> QCloudResult:
        """The result if the job is done, else an empty result with its status now."""
        status = self.status()
        if status in (JobStatus.FINISHED, JobStatus.FAILED):
            return self.result()
        return QCloudResult(self.job_id(), status)

    def result(self, timeout: float | None = None) -> QCloudResult:
        """Wait for the job and return its result.

        A failed or cancelled job gives a result whose ``job_status()`` is
        ``FAILED``, with the reason in ``error_message()``, as pyqpanda3 does.
        """
        try:
            result = self._job.result(timeout)
        except (errors.JobFailed, errors.JobCancelled) as exc:
            return QCloudResult(self.job_id(), JobStatus.FAILED, error=str(exc))
        counts = [
            _origin_counts(e.counts, measured)
            for e, measured in zip(result.experiments, self._measured, strict=False)
        ]
        return QCloudResult(self.job_id(), JobStatus.FINISHED, counts)

    def __repr__(self) -> str:
        return f"<QCloudJob {self.job_id()}>"


def _origin_counts(counts: Mapping[str, int], measured: list[int]) -> dict[str, int]:
    """Centre counts (every classical bit, c[0] rightmost) over the measured bits only."""
    order = sorted(set(measured), reverse=True)
    out: dict[str, int] = {}
    for bits, n in counts.items():
        flat = bits.replace(" ", "")
        key = "".join(flat[-1 - c] if c < len(flat) else "0" for c in order)
        out[key] = out.get(key, 0) + n
    return out


def _measured_clbits(source: str) -> list[int]:
    """The classical bits an OriginIR program writes (``MEASURE q,c`` writes every one)."""
    bits: list[int] = []
    for match in _MEASURE.finditer(source):
        operands = match[1].replace(" ", "")
        if operands == "q,c":
            creg = _CREG.search(source)
            bits.extend(range(int(creg[1]) if creg else 0))
        else:
            bits.extend(int(b) for b in _CLBIT.findall(operands))
    return sorted(set(bits))


def _originir(program: Any) -> str:
    if isinstance(program, str):
        return program
    # A pyqpanda3 QProg: its own writer gives the text, exact to 17 digits.
    compiler: Any = importlib.import_module("pyqpanda3.intermediate_compiler")
    return str(compiler.convert_qprog_to_originir(program, 17))


class QCloudBackend:
    """A centre device, used the way pyqpanda3 uses a cloud backend."""

    def __init__(self, service: HarborService, name: str, device: str) -> None:
        self._service = service
        self._name = name
        self._device = device

    def name(self) -> str:
        return self._name

    def run(
        self,
        prog: Any,
        shots: int = 1000,
        options: Any = None,
        enable_binary_encoding: bool = False,
        batch_id: str = "",
        task_form: int = 4,
        *,
        seed: int | None = None,
    ) -> QCloudJob:
        """Run one program or a list of them.

        Args:
            prog: a pyqpanda3 ``QProg``, OriginIR text, or a list of these.
            shots: shots per program.
            options: a :class:`QCloudOptions` or pyqpanda3's own; accepted, see there.
            enable_binary_encoding: accepted for pyqpanda3's signature; programs
                always travel as OriginIR text.
            batch_id: a label, kept as a tag on the job.
            task_form: accepted for pyqpanda3's signature.
            seed: a sampling seed, for reproducible counts (qharbor only).
        """
        programs = list(prog) if isinstance(prog, list | tuple) else [prog]
        if not programs:
            raise errors.InvalidRequest("run() needs at least one program")
        sources = [_originir(p) for p in programs]
        measured = [_measured_clbits(s) for s in sources]
        job = self._service.run(
            [{"source": s, "format": "originir"} for s in sources],
            device=self._device,
            shots=shots,
            seed=seed,
            tags=[f"batch:{batch_id}"] if batch_id else None,
        )
        return QCloudJob(job, measured)

    def chip_info(self) -> ChipInfo:
        """The device's chip: qubits, coupling, native gates, calibrated fidelities."""
        device = self._service.client.device_get(self._device)
        calibration = None
        if device.get("twin"):
            calibration = self._service.calibration(self._device)
        return ChipInfo(device, calibration)

    def __repr__(self) -> str:
        return f"<QCloudBackend {self._name}>"


class QCloudService:
    """A centre, used the way pyqpanda3 uses Origin's quantum cloud.

    Args:
        api_key: the centre token; else ``QHARBOR_TOKEN``, else the saved account.
        url: the centre's URL; else ``QHARBOR_URL``, else the saved account.
        service: a connected :class:`HarborService` to use instead.
    """

    def __init__(
        self,
        api_key: str | None = None,
        url: str | None = None,
        *,
        service: HarborService | None = None,
    ) -> None:
        self._service = service or HarborService(url=url, token=api_key)

    def backends(self) -> dict[str, bool]:
        """Every device by name, True where it is online now (aliases included)."""
        online = {d.name: d.status == "ONLINE" for d in self._service.devices()}
        aliases = {a: online[d] for a, d in BACKEND_ALIASES.items() if d in online}
        return {**online, **aliases}

    def backend(self, backend_name: str) -> QCloudBackend:
        """One backend by name (a device name, or ``full_amplitude``/``origin_wukong``).

        Raises:
            errors.DeviceNotFound: The centre has no device of that name.
        """
        device = BACKEND_ALIASES.get(backend_name, backend_name)
        self._service.device(device)  # raises DeviceNotFound with the names on offer
        return QCloudBackend(self._service, backend_name, device)

    def close(self) -> None:
        """Close the connection pool (a qharbor addition; also ``with QCloudService() as s:``)."""
        self._service.close()

    def __enter__(self) -> QCloudService:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def setup_logging(self, *args: Any, **kwargs: Any) -> None:
        """Accepted for pyqpanda3's interface; the client logs through ``logging``."""

    def __repr__(self) -> str:
        return f"<QCloudService {self._service.url}>"
