"""The twin document: what the twin endpoint serves, typed, and back from its JSON."""

from __future__ import annotations

import json

import pytest

from qharbor.devices.twins.document import Timing, TwinDocument, read
from tests.unit.devices.twins.documents import SPECS, document


@pytest.mark.parametrize("name", sorted(SPECS))
def test_the_document_survives_its_json(name: str) -> None:
    doc = document(name, version=2)
    assert TwinDocument.from_json(json.loads(json.dumps(doc.to_json()))) == doc
    assert read(doc.to_json()) == doc
    assert read(doc) is doc


def test_the_json_carries_the_spec_and_the_snapshot() -> None:
    doc = document("sc25")
    data = doc.to_json()
    spec = SPECS["sc25"]
    assert data["device"] == "sc25"
    assert data["num_qubits"] == spec.num_qubits
    assert data["edges"] == [list(e) for e in spec.edges]
    assert data["timing"] == {
        "shot_overhead_us": spec.shot_overhead_us,
        "job_overhead_s": spec.job_overhead_s,
        "jitter": spec.jitter,
    }
    assert data["calibration"] == doc.calibration.to_json()
    assert doc.timing == Timing(spec.shot_overhead_us, spec.job_overhead_s, spec.jitter)


def test_gate_table_gives_errors_and_durations_in_seconds() -> None:
    doc = document("sc25")
    table = doc.gate_table()
    entry = next(g for g in doc.calibration.gates if g.gate == "cz")
    assert table["cz"][entry.qubits] == (entry.error, entry.duration_ns * 1e-9)
