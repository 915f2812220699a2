"""Schemathesis fuzzes every operation of the OpenAPI schema against a running centre.

Every answer must be documented (status, content type, headers and body shape) and
none may be a 5xx. The centre is this module's own, on SQLite, so what the fuzzer
creates, changes or deletes harms no other test. It is driven with the bootstrap
admin's token, which reaches every route. The self-destructive routes cannot
undo the run: ``DELETE /v1/me`` is refused to a centre admin, and the token's
own id, user and project are never in the schema for the fuzzer to draw (it
sends ids it makes up, which answer 404), so no route is left out; the last
check proves the token still works.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from qharbor.api.app import create_app
from qharbor.settings import Settings
from tests.integration.conftest import start_centre

#: Examples per operation and generation mode; the module stays under about three
#: minutes on two cores.
EXAMPLES = 30


#: Every check runs but these two, which assume the schema is all the validation there
#: is. The centre coerces as pydantic's lax mode does (``until=0`` is 1970-01-01, ``0``
#: is false), and it checks meaning beyond the schema (an unknown device is 404, a
#: time it cannot parse 422); both are documented answers, which the other checks hold
#: to their schemas.
EXCLUDED = [negative_data_rejection, positive_data_acceptance]


class FuzzedCentre:
    def __init__(self, url: str, token: str) -> None:
        self.url = url
        self.headers = {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def fuzzed() -> Iterator[FuzzedCentre]:
    with tempfile.TemporaryDirectory() as tmp:
        server, _ = start_centre(
            "sqlite",
            Path(tmp),
            workers=1,
            # A generated ?wait= may ask for up to a day; the centre answers sooner.
            max_wait_seconds=0.5,
        )
        assert server.bootstrap_token is not None
        try:
            yield FuzzedCentre(server.url, server.bootstrap_token)
        finally:
            server.stop()


def _openapi() -> dict[str, Any]:
    """The schema as a centre serves it; building the app starts nothing."""
    document: dict[str, Any] = create_app(Settings()).openapi()
    return document


schema = schemathesis.openapi.from_dict(_openapi())


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_no_operation_answers_a_server_error_or_an_undocumented_status(
    case: Any, fuzzed: FuzzedCentre
) -> None:
    case.call_and_validate(
        base_url=fuzzed.url, headers=fuzzed.headers, timeout=30, excluded_checks=EXCLUDED
    )


def test_the_fuzzed_schema_is_the_one_the_centre_serves(fuzzed: FuzzedCentre) -> None:
    assert httpx.get(f"{fuzzed.url}/openapi.json").json() == _openapi()


def test_the_fuzzing_token_still_works(fuzzed: FuzzedCentre) -> None:
    response = httpx.get(f"{fuzzed.url}/v1/me", headers=fuzzed.headers)
    assert response.status_code == 200, response.text
    assert response.json()["is_admin"] is True


def test_every_operation_documents_its_errors_in_the_one_shape() -> None:
    document = _openapi()
    error_ref = {"$ref": "#/components/schemas/ErrorResponse"}
    assert "HTTPValidationError" not in document["components"]["schemas"]
    public = {
        ("get", "/v1/health"),
        ("get", "/v1/health/live"),
        ("get", "/v1/health/ready"),
        ("get", "/v1/keys"),
        ("get", "/openapi.json"),
    }
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            errors = {s: r for s, r in operation["responses"].items() if s[0] in "45"}
            if (method, path) in public:
                # No token, so no auth errors; health's 503 carries the health body itself.
                assert not {"401", "403"} & set(errors), (method, path)
                if path in ("/v1/health", "/v1/health/ready"):
                    assert set(errors) == {"503"}, errors
                    health = {"$ref": "#/components/schemas/Health"}
                    assert errors["503"]["content"]["application/json"]["schema"] == health
                else:
                    assert not errors, (method, path)
                continue
            if path.startswith("/auth/"):
                # Single sign-on is how a caller gets a token: no token, so no 401/403/429.
                for status, response in errors.items():
                    schema_ = response["content"]["application/json"]["schema"]
                    assert schema_ == error_ref, (method, path, status)
                continue
            assert {"401", "403", "422", "429"} <= set(errors), (method, path)
            for status, response in errors.items():
                schema_ = response["content"]["application/json"]["schema"]
                assert schema_ == error_ref, (method, path, status)


def test_a_method_a_path_does_not_take_is_a_405_listing_every_method_it_does(
    fuzzed: FuzzedCentre,
) -> None:
    response = httpx.request("PATCH", f"{fuzzed.url}/v1/me", headers=fuzzed.headers)
    assert response.status_code == 405, response.text
    assert response.json()["error"]["code"] == "METHOD_NOT_ALLOWED"
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "DELETE"}
