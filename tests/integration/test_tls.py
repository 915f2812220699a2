"""``serve`` over HTTPS with a certificate made here, trusted by the test's client."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from qharbor import HarborService, errors
from qharbor.api.server import CentreServer
from tests.integration.conftest import start_centre


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost, and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "qharbor test centre")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture(scope="module")
def tls_centre(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[CentreServer, Path]]:
    tmp = tmp_path_factory.mktemp("tls")
    cert, key = self_signed(tmp)
    server, _schema = start_centre("sqlite", tmp, tls_cert=cert, tls_key=key)
    try:
        yield server, cert
    finally:
        server.stop()


def test_the_centre_serves_https_to_a_client_that_trusts_its_certificate(
    tls_centre: tuple[CentreServer, Path],
) -> None:
    server, cert = tls_centre
    assert server.url.startswith("https://127.0.0.1:")

    with httpx.Client(verify=ssl.create_default_context(cafile=str(cert))) as client:
        response = client.get(f"{server.url}/v1/keys")

    assert response.status_code == 200
    assert response.json()["signing_key_id"].startswith("mldsa65-")


def test_a_client_that_does_not_trust_the_certificate_is_refused(
    tls_centre: tuple[CentreServer, Path],
) -> None:
    server, _cert = tls_centre

    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        httpx.get(f"{server.url}/v1/health")


def test_plain_http_to_the_tls_port_gets_no_answer(
    tls_centre: tuple[CentreServer, Path],
) -> None:
    server, _cert = tls_centre

    with pytest.raises(httpx.HTTPError):
        httpx.get(server.url.replace("https://", "http://") + "/v1/health", timeout=5)


def test_the_sdk_runs_and_verifies_a_job_over_https_with_a_ca_bundle(
    tls_centre: tuple[CentreServer, Path], tmp_path: Path
) -> None:
    server, cert = tls_centre
    assert server.bootstrap_token is not None

    with HarborService(server.url, server.bootstrap_token, ca_bundle=cert) as service:
        job = service.run("OPENQASM 2.0; qreg q[1]; creg c[1]; measure q -> c;", shots=10)
        result = job.result(timeout=120)
        checked = service.verify(result)

    assert result.get_counts() == {"0": 10}
    assert checked.job_id == job.job_id
    with (
        HarborService(server.url, server.bootstrap_token) as untrusting,
        pytest.raises(errors.ConnectionFailed, match="does not trust"),
    ):
        untrusting.health()
