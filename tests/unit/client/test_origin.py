"""qharbor.origin keeps pyqpanda3's cloud names, and imports without pyqpanda3."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys

import pytest
from pyqpanda3 import qcloud

from qharbor import errors, origin
from qharbor.client.origin import _measured_clbits, _origin_counts

OURS = [
    origin.QCloudService,
    origin.QCloudBackend,
    origin.QCloudJob,
    origin.QCloudResult,
    origin.QCloudOptions,
    origin.ChipInfo,
    origin.SingleQubitInfo,
    origin.DoubleQubitsInfo,
]
# What qharbor adds on top of pyqpanda3's interface.
ADDITIONS = {"close"}


@pytest.mark.parametrize("cls", OURS, ids=lambda c: c.__name__)
def test_every_public_method_is_one_pyqpanda3_has(cls: type) -> None:
    theirs = getattr(qcloud, cls.__name__)
    ours = {
        name
        for name, _ in inspect.getmembers(cls, inspect.isfunction)
        if not name.startswith("_") and name not in ADDITIONS
    }
    assert ours, cls
    missing = sorted(name for name in ours if not hasattr(theirs, name))
    assert not missing, f"{cls.__name__}: pyqpanda3 has no {missing}"


@pytest.mark.parametrize("enum_name", ["JobStatus", "DataBase"])
def test_enums_have_pyqpanda3s_members(enum_name: str) -> None:
    ours = {m.name for m in getattr(origin, enum_name)}
    theirs = set(getattr(qcloud, enum_name).__members__)
    assert ours == theirs


def test_results_are_keyed_by_measured_bits_highest_first() -> None:
    source = "QINIT 3\nCREG 4\nMEASURE q[0],c[3]\nMEASURE q[1], c[1]\n"
    measured = _measured_clbits(source)
    assert measured == [1, 3]
    # Centre counts put c[0] rightmost: '1010' is c3=1, c2=0, c1=1, c0=0.
    assert _origin_counts({"1010": 7, "0010": 3, "1000": 1}, measured) == {
        "11": 7,
        "01": 3,
        "10": 1,
    }
    assert _measured_clbits("QINIT 2\nCREG 2\nMEASURE q,c\n") == [0, 1]


def test_the_origin_module_imports_without_pyqpanda3_or_the_server() -> None:
    code = (
        "import json, sys\n"
        "sys.modules['pyqpanda3'] = None\n"
        "import qharbor.origin\n"
        "heavy = ['pyqpanda3', 'qiskit', 'fastapi', 'sqlalchemy', 'qharbor.api']\n"
        "print(json.dumps([m for m in heavy if sys.modules.get(m) is not None]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert json.loads(done.stdout) == []


class _FailedJob:
    job_id = "j-1"

    def status(self) -> str:
        return "FAILED"

    def result(self, timeout: float | None = None) -> object:
        raise errors.JobFailed("the engine ran out of memory", job_error={"code": "ENGINE_ERROR"})


def test_a_failed_job_gives_a_failed_result_with_the_reason() -> None:
    job = origin.QCloudJob(_FailedJob(), [[0]])  # type: ignore[arg-type]
    assert job.status() is origin.JobStatus.FAILED
    result = job.result()
    assert result.job_status() is origin.JobStatus.FAILED
    assert "out of memory" in result.error_message()
    assert result.get_counts() == {} and result.get_probs_list() == []
