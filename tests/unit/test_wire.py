"""The formats the client and the centre share."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import subprocess
import sys

import pytest
from cryptography.hazmat.primitives.asymmetric import mlkem

from qharbor import errors, wire
from qharbor.jobs.options import JobOptions
from qharbor.jobs.request import JobRequest


def test_iso_is_utc_with_a_z() -> None:
    paris = dt.timezone(dt.timedelta(hours=1))
    assert wire.iso(dt.datetime(2025, 3, 1, 13, 0, tzinfo=paris)) == "2025-03-01T12:00:00.000000Z"
    assert wire.iso(None) is None


def test_iso_takes_a_naive_time_as_utc() -> None:
    assert wire.iso(dt.datetime(2025, 3, 1, 13, 0)) == "2025-03-01T13:00:00.000000Z"


def test_parse_iso_reads_what_iso_writes() -> None:
    moment = dt.datetime(2025, 3, 1, 12, 0, 0, 250000, tzinfo=dt.UTC)
    assert wire.parse_iso(wire.iso(moment)) == moment
    assert wire.parse_iso("2025-03-01T13:00:00+01:00") == dt.datetime(2025, 3, 1, 12, tzinfo=dt.UTC)


def test_utcnow_is_aware_utc() -> None:
    assert wire.utcnow().utcoffset() == dt.timedelta(0)


def test_canonical_json_is_sorted_compact_ascii_and_round_trips() -> None:
    value = {"b": [1.5, "é", None], "a": {"y": 2, "x": 0.1}}
    text = wire.canonical_json(value)
    assert text == '{"a":{"x":0.1,"y":2},"b":[1.5,"\\u00e9",null]}'
    assert wire.canonical(value) == text.encode("ascii")
    assert json.loads(text) == value


def test_key_id_is_the_algorithm_and_a_sha256_prefix() -> None:
    public = b"\x01" * 32
    digest = hashlib.sha256(public).hexdigest()[:16]
    assert wire.key_id("ML-KEM-768", public) == f"mlkem768-{digest}"
    assert wire.key_id("ML-DSA-65", public) == f"mldsa65-{digest}"


def test_signed_message_leaves_out_the_signature_field() -> None:
    context = {"job_id": "j1"}
    with_signature = wire.signed_message({"a": 1, "signature": {"x": 1}}, context)
    assert with_signature == wire.signed_message({"a": 1}, context)
    assert with_signature == b'{"context":{"job_id":"j1"},"result":{"a":1}}'


def test_an_envelope_opens_only_with_its_key_and_purpose() -> None:
    private = mlkem.MLKEM768PrivateKey.generate()
    public = private.public_key().public_bytes_raw()
    envelope = wire.seal(public, "k1", {"x": [1, 2]}, wire.result_aad("j1"))
    assert envelope["algorithm"] == wire.SEAL_ALGORITHM
    assert envelope["key_id"] == "k1"

    key = wire.derive_key(private.decapsulate(wire.encapsulated_key(envelope)))
    assert wire.open_with_key(key, envelope, wire.result_aad("j1")) == {"x": [1, 2]}
    with pytest.raises(errors.SealedPayloadInvalid):
        wire.open_with_key(key, envelope, wire.PROGRAMS_AAD)
    with pytest.raises(errors.SealedPayloadInvalid):
        wire.encapsulated_key({**envelope, "algorithm": "RSA"})


def test_importing_wire_loads_no_server_library_nor_cryptography() -> None:
    heavy = ["cryptography", "sqlalchemy", "fastapi", "pydantic", "qiskit", "numpy", "httpx"]
    code = f"import sys, qharbor.wire\nprint([m for m in {heavy!r} if m in sys.modules])\n"
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, timeout=60
    )
    assert out.stdout.strip() == "[]"


def test_plain_gives_what_asdict_gives_and_a_fingerprint_is_unchanged() -> None:
    import dataclasses

    from qharbor.jobs.options import JobOptions
    from qharbor.jobs.request import JobRequest, ProgramSpec
    from qharbor.primitives import resilience as res

    options = JobOptions(
        engine="qulacs",
        resilience_level=2,
        resilience=res.ResilienceOptions(zne=res.ZneOptions(noise_factors=(1.0, 3.0))),
    )
    request = JobRequest(
        device="statevector",
        programs=(ProgramSpec("OPENQASM 3.0;", parameters=({"a": 0.5}, [0.1, 0.2])),),
        tags=("x", "y"),
        idempotency_key="k",
        kind="estimator",
        pubs=({"circuit": "c", "observables": [{"ZZ": 1.0}], "shape": [2]},),
        options=options,
    )
    assert wire.plain(request) == dataclasses.asdict(request)
    assert options.to_json() == dataclasses.asdict(options)
    body = dataclasses.asdict(request)
    body.pop("idempotency_key")
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=list)
    assert request.fingerprint() == hashlib.sha256(canonical.encode()).hexdigest()


def test_plain_is_asdict_without_the_copy() -> None:
    program = {"format": "qasm2", "source": "OPENQASM 2.0;", "params": [0.5, 1.5]}
    request = JobRequest(
        device="statevector",
        programs=("OPENQASM 2.0;", program),
        tags=("a", "b"),
        pubs=({"observables": [["ZZ", 1.0]]},),
        options=JobOptions(optimization_level=2, engine="aer"),
    )
    plain = wire.plain(request)
    assert plain == dataclasses.asdict(request)
    assert type(plain["programs"]) is tuple and type(plain["pubs"][0]) is dict
    # Containers are new, leaves are shared: nothing the caller holds is mutated.
    assert plain["programs"][1] is not program
    assert plain["programs"][1]["params"] is not program["params"]
    assert plain["programs"][1]["source"] is program["source"]
