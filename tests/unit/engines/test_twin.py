"""The local twin: active qubits only, the device's noise, reproducible counts."""

from __future__ import annotations

import pytest
from qiskit import transpile

from qharbor.devices.twins.target import target
from qharbor.engines import twin
from tests.unit.devices.twins.documents import document, ghz


def test_compact_keeps_only_active_wires_and_names_their_physical_qubits() -> None:
    doc = document()
    compiled = transpile(ghz(3), target=target(doc), seed_transpiler=1)
    narrow, qubits = twin.compact(compiled)
    assert compiled.num_qubits == 25
    assert narrow.num_qubits == len(qubits) == 3


@pytest.mark.parametrize("name", ["sc25", "ion11", "nmr3"])
def test_same_seed_same_counts_and_noise_is_visible(name: str) -> None:
    doc = document(name)
    compiled = transpile(ghz(3), target=target(doc), seed_transpiler=1)
    local = twin.LocalTwin(doc)
    counts = local.run(compiled, shots=400, seed=3)
    assert counts == twin.LocalTwin(doc).run(compiled, shots=400, seed=3)
    assert set(counts) - {"000", "111"}  # noise puts some shots elsewhere


def test_the_document_and_its_json_give_the_same_counts() -> None:
    # Workers and clients hold the JSON; both must emulate the device identically.
    doc = document()
    compiled = transpile(ghz(3), target=target(doc), seed_transpiler=1)
    from_json = twin.LocalTwin(doc.to_json()).run(compiled, shots=300, seed=5)
    assert from_json == twin.LocalTwin(doc).run(compiled, shots=300, seed=5)


def test_a_ghz_14_that_the_flat_limit_refused_now_runs_and_says_how() -> None:
    doc = document("sc25")
    compiled = transpile(ghz(14), target=target(doc), seed_transpiler=1)
    local = twin.LocalTwin(doc)
    run = local.execute(*local.prepare(compiled), shots=500, seed=2)
    # A GHZ chain has bond dimension 2: an exact matrix product state is cheap.
    assert run.choice.method == "matrix_product_state" and not run.choice.approximate
    assert "bond dimension at most 2" in run.choice.reason
    ghz_share = (run.counts.get("0" * 14, 0) + run.counts.get("1" * 14, 0)) / 500
    assert 0.3 < ghz_share < 0.95  # dominated by the two GHZ outcomes, with visible noise
