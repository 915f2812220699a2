"""The Braket adapter's tables against Braket's and the centre's own definitions."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from braket.circuits import Circuit
from qiskit import QuantumCircuit
from qiskit.circuit.library import get_standard_gate_name_mapping
from qiskit.quantum_info import Operator

from qharbor.client import braket_properties
from qharbor.client.braket_results import _braket_time, _measurements
from qharbor.client.braket_tasks import _state
from qharbor.programs import braket as dialect

ANGLE = 0.37


def test_every_listed_operation_is_one_the_centre_reads_and_vice_versa() -> None:
    listed = set(braket_properties.SUPPORTED_OPERATIONS)
    readable = set(dialect.GATE_DEFINITIONS) | set(dialect.STDGATES) | {"U"}
    assert listed <= readable, listed - readable
    # Braket lists its U gate as OpenQASM's "U"; the dialect also reads a lowercase "u".
    assert set(dialect.GATE_DEFINITIONS) - {"u"} <= listed


@pytest.mark.parametrize("qiskit_name", sorted(braket_properties.BRAKET_GATE_NAMES))
def test_renamed_native_gates_have_braket_s_matrices(qiskit_name: str) -> None:
    braket_name = braket_properties.BRAKET_GATE_NAMES[qiskit_name]
    gate = get_standard_gate_name_mapping()[qiskit_name]
    params = [ANGLE] * len(gate.params)
    ours = QuantumCircuit(gate.num_qubits)
    ours.append(gate.base_class(*params), range(gate.num_qubits))
    theirs = getattr(Circuit(), braket_name)(*range(gate.num_qubits), *params)
    # Braket's matrices put qubit 0 first (most significant); Qiskit's last.
    assert Operator(ours).reverse_qargs().equiv(Operator(theirs.to_unitary()), atol=1e-9)


@pytest.mark.parametrize(
    ("job", "state"),
    [
        ({"status": "QUEUED"}, "QUEUED"),
        ({"status": "RUNNING"}, "RUNNING"),
        ({"status": "RUNNING", "cancel_requested": True}, "CANCELLING"),
        ({"status": "DONE"}, "COMPLETED"),
        ({"status": "FAILED"}, "FAILED"),
        ({"status": "CANCELLED", "cancel_requested": True}, "CANCELLED"),
    ],
)
def test_job_statuses_read_as_braket_task_states(job: dict[str, object], state: str) -> None:
    assert _state(job) == state


def test_times_are_written_to_the_millisecond_as_braket_does() -> None:
    assert _braket_time("2026-12-04T22:03:32.651503Z") == "2026-12-04T22:03:32.651Z"
    assert _braket_time("2026-12-04T22:03:32Z") == "2026-12-04T22:03:32.000Z"
    assert _braket_time(None) is None


def test_measurements_follow_the_program_s_measure_lines() -> None:
    source = "bit[2] b;\nqubit[6] q;\nh q[0];\nb[0] = measure q[5];\nb[1] = measure q[0];\n"
    # The centre's "01" has c[0] = 1 (rightmost): qubit 5 read 1, qubit 0 read 0.
    measured, rows = _measurements(source, {"01": 3, "10": 1}, seed=1)
    assert measured == [5, 0]
    assert sorted(rows) == [[0, 1], [1, 0], [1, 0], [1, 0]]


def test_the_braket_adapter_imports_no_server_code() -> None:
    server = ["qharbor.programs", "qharbor.engines", "qharbor.jobs", "qharbor.api", "sqlalchemy"]
    code = (
        "import json, sys\n"
        "import qharbor.client\n"
        "plain = 'braket' in sys.modules\n"
        "import qharbor.braket\n"
        f"print(json.dumps([plain, [m for m in {server!r} if m in sys.modules]]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert json.loads(done.stdout) == [False, []]
