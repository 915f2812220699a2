"""The request and response models: the API's surface stays as published, and a job
submission becomes the jobs service's typed value."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qharbor import errors
from qharbor.api.app import create_app
from qharbor.api.schemas.jobs import JobCreate, read_programs
from qharbor.jobs.request import ProgramSpec
from qharbor.settings import Settings

SURFACE = Path(__file__).with_name("openapi_surface.json")
BELL = 'OPENQASM 2.0; include "qelib1.inc"; qreg q[2]; h q[0]; cx q[0],q[1];'
SEALED = {
    "algorithm": "ML-KEM-768+AES-256-GCM",
    "key_id": "k",
    "encapsulated": "ZQ==",
    "nonce": "bg==",
    "ciphertext": "Yw==",
}


def test_the_openapi_document_names_the_same_models_and_operations(tmp_path: Path) -> None:
    document = create_app(Settings(data_dir=tmp_path)).openapi()
    surface = {
        "schemas": sorted(document["components"]["schemas"]),
        "operations": sorted(
            f"{m.upper()} {p}" for p, ops in document["paths"].items() for m in ops
        ),
    }

    assert surface == json.loads(SURFACE.read_text())


def test_a_submission_carries_its_programs_and_the_header_key() -> None:
    body = JobCreate.model_validate(
        {
            "device": "statevector",
            "programs": [BELL, {"source": BELL, "format": "qasm2", "parameters": [[0.5]]}],
            "tags": ["t"],
        }
    )

    submission = body.to_submission("key-1")

    assert submission.sealed is None
    assert submission.request.idempotency_key == "key-1"
    assert submission.request.tags == ("t",)
    assert submission.request.programs == (
        ProgramSpec(BELL),
        ProgramSpec(BELL, "qasm2", None, ([0.5],)),
    )


def test_an_idempotency_key_in_both_header_and_body_must_agree() -> None:
    body = JobCreate.model_validate(
        {"device": "statevector", "programs": [BELL], "idempotency_key": "a"}
    )

    assert body.to_submission("a").request.idempotency_key == "a"
    with pytest.raises(errors.InvalidRequest, match="differ"):
        body.to_submission("b")


def test_a_sealed_submission_is_fingerprinted_by_its_ciphertext_not_its_key() -> None:
    def fingerprint(**fields: object) -> str:
        body = JobCreate.model_validate({"device": "statevector", "sealed": SEALED, **fields})
        submission = body.to_submission()
        assert submission.sealed is not None
        assert submission.sealed.envelope == body.model_dump()["sealed"]
        assert submission.request.programs == ()
        return submission.sealed.fingerprint

    assert fingerprint() == fingerprint(idempotency_key="x")
    assert fingerprint() != fingerprint(shots=7)
    assert fingerprint() != fingerprint(sealed=dict(SEALED, ciphertext="ZA=="))


def test_opened_programs_are_validated_as_programs_would_be() -> None:
    assert read_programs([BELL, {"source": BELL, "name": "bell"}]) == (
        ProgramSpec(BELL),
        ProgramSpec(BELL, "auto", "bell"),
    )
    with pytest.raises(errors.SealedPayloadInvalid) as caught:
        read_programs([{"source": BELL, "format": "quil"}])

    assert caught.value.detail["errors"][0]["loc"][:2] == [0, "ProgramIn"]
