"""OTLP authentication and TLS: off by default, one setting each to turn on.

With HYPERTOOL_OTLP_AUTH=on, the collector refuses exports without the bearer token and
accepts them with it; with HYPERTOOL_OTLP_TLS=on, it speaks TLS with the operator's
certificate, which agents trust through OTEL_EXPORTER_OTLP_CERTIFICATE. The agent is the
real library in its own process, configured only by the standard OpenTelemetry variables;
the CA and the certificate are made by the test.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from hypertool_agent import names as n
from hypertool_agent import spool_status
from hypertool_tools import contract as c
from tests.conftest import NativeStack, Sample, running_stack
from tests.e2e._producers import JOB, assert_settled

pytestmark = pytest.mark.e2e

TOKENS = c.TOKENS_USED.prometheus_name
#: One agent process: 40 tokens as a persona the test names, then exit (which exports).
AGENT = """
    import os
    from hypertool_agent import PersonaMetricsCollector
    PersonaMetricsCollector().record_token_usage(os.environ["PERSONA"], "secure", "gpt-4o", 40)
"""
#: Requests the collector refused for want of a valid token, in its own telemetry (the
#: auth overlay publishes it at the detailed level).
UNAUTHENTICATED = (
    'sum(rpc_server_call_duration_count{job="otel-collector",'
    'rpc_response_status_code="UNAUTHENTICATED"})'
)


@dataclass(frozen=True)
class Pki:
    """A throwaway CA, and a server certificate it signed for 127.0.0.1 and localhost."""

    ca: Path
    cert: Path
    key: Path
    other_ca: Path


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _certificate(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: x509.Certificate | None,
    issuer_key: ec.EllipticCurvePrivateKey,
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer.subject if issuer else name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
    )
    if issuer is None:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=0), True)
    else:
        names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
        builder = builder.add_extension(x509.SubjectAlternativeName(names), False)
    return builder.sign(issuer_key, hashes.SHA256())


def _pem(path: Path, certificate: x509.Certificate) -> Path:
    path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return path


def make_pki(folder: Path) -> Pki:
    """A CA and its server certificate, and an unrelated CA."""
    ca_key, other_key, server_key = _key(), _key(), _key()
    ca = _certificate("hypertool test CA", ca_key, None, ca_key)
    other = _certificate("some other CA", other_key, None, other_key)
    server = _certificate("hypertool collector", server_key, ca, ca_key)
    key = folder / "collector-key.pem"
    key.write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key.chmod(0o600)
    return Pki(
        ca=_pem(folder / "ca.pem", ca),
        cert=_pem(folder / "collector.pem", server),
        key=key,
        other_ca=_pem(folder / "other-ca.pem", other),
    )


@pytest.fixture(scope="module")
def token(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """A random token, and the file the collector reads it from."""
    value = secrets.token_urlsafe(24)
    path = tmp_path_factory.mktemp("token") / "otlp-token"
    path.write_text(value + "\n")
    path.chmod(0o600)
    return value, path


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """The test's CA and the collector's certificate."""
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def secured(
    tmp_path_factory: pytest.TempPathFactory, token: tuple[str, Path], pki: Pki
) -> Iterator[NativeStack]:
    """A stack with both on: bearer token and TLS."""
    env = {
        "HYPERTOOL_OTLP_AUTH": "on",
        "HYPERTOOL_OTLP_TOKEN_FILE": str(token[1]),
        "HYPERTOOL_OTLP_TLS": "on",
        "HYPERTOOL_OTLP_TLS_CERT_FILE": str(pki.cert),
        "HYPERTOOL_OTLP_TLS_KEY_FILE": str(pki.key),
    }
    with running_stack(tmp_path_factory.mktemp("secured"), "1s", collector_env=env) as native:
        yield native


def agent(stack: NativeStack, persona: str, **env: str) -> None:
    """Run one agent process against ``stack`` over TLS, configured by ``env`` alone."""
    endpoint = f"https://127.0.0.1:{stack.stack.ports.otlp_grpc}"
    stack.run_python(AGENT, PERSONA=persona, OTEL_EXPORTER_OTLP_ENDPOINT=endpoint, **env)


def refusals(stack: NativeStack) -> float:
    """Requests refused as unauthenticated so far."""
    samples = stack.prometheus.query(UNAUTHENTICATED)
    return samples[0].value if samples else 0.0


def counted(stack: NativeStack, persona: str) -> list[Sample]:
    """The persona's token series, as Prometheus has it now."""
    return stack.prometheus.query(f'{TOKENS}{{{JOB},{n.PERSONA}="{persona}"}}')


def test_with_the_token_and_the_ca_the_export_counts(
    secured: NativeStack, token: tuple[str, Path], pki: Pki
) -> None:
    """Token in OTEL_EXPORTER_OTLP_HEADERS, CA in OTEL_EXPORTER_OTLP_CERTIFICATE: counted."""
    agent(
        secured,
        "with-token",
        OTEL_EXPORTER_OTLP_HEADERS=f"Authorization=Bearer%20{token[0]}",
        OTEL_EXPORTER_OTLP_CERTIFICATE=str(pki.ca),
    )
    assert_settled(
        secured, [(f'sum({TOKENS}{{{JOB},{n.PERSONA}="with-token"}})', None, {"": 40.0})]
    )


def test_without_the_token_the_export_is_refused_and_counted(
    secured: NativeStack, token: tuple[str, Path], pki: Pki
) -> None:
    """No token, or a wrong one: refused, not counted; each refusal in the collector telemetry."""
    before = refusals(secured)
    agent(secured, "no-token", OTEL_EXPORTER_OTLP_CERTIFICATE=str(pki.ca))
    agent(
        secured,
        "wrong-token",
        OTEL_EXPORTER_OTLP_HEADERS="Authorization=Bearer%20not-the-token",
        OTEL_EXPORTER_OTLP_CERTIFICATE=str(pki.ca),
    )
    # Each process exports once at exit; the SDK does not retry an auth refusal.
    secured.prometheus.wait_for(UNAUTHENTICATED, lambda r: bool(r) and r[0].value == before + 2)
    assert counted(secured, "no-token") == counted(secured, "wrong-token") == []


def test_without_the_ca_tls_fails(
    secured: NativeStack, token: tuple[str, Path], pki: Pki, tmp_path: Path
) -> None:
    """A CA that did not sign the collector's certificate: refused; its usage stays spooled."""
    agent(
        secured,
        "wrong-ca",
        OTEL_EXPORTER_OTLP_HEADERS=f"Authorization=Bearer%20{token[0]}",
        OTEL_EXPORTER_OTLP_CERTIFICATE=str(pki.other_ca),
        # A spool of its own: the next agent would otherwise send it, with the right CA.
        HYPERTOOL_SPOOL_DIR=str(tmp_path),
    )
    assert [s.points for s in spool_status(tmp_path)] == [1]
    # A correct export right after, which must show up: the wrong one had its chance.
    agent(
        secured,
        "right-ca",
        OTEL_EXPORTER_OTLP_HEADERS=f"Authorization=Bearer%20{token[0]}",
        OTEL_EXPORTER_OTLP_CERTIFICATE=str(pki.ca),
    )
    assert_settled(secured, [(f'sum({TOKENS}{{{JOB},{n.PERSONA}="right-ca"}})', None, {"": 40.0})])
    assert counted(secured, "wrong-ca") == []


def test_half_set_security_is_a_clear_error(tmp_path: Path) -> None:
    """HYPERTOOL_OTLP_AUTH=on without a token file: the launcher says what is missing."""
    from hypertool_tools.stack.build import StackError
    from hypertool_tools.stack.launcher import Stack

    stack = Stack(
        Path(__file__).resolve().parents[2],
        state_dir=tmp_path,
        collector_env={"HYPERTOOL_OTLP_AUTH": "on", "HYPERTOOL_OTLP_TOKEN_FILE": ""},
    )
    with pytest.raises(StackError, match="HYPERTOOL_OTLP_TOKEN_FILE"):
        stack.services()


def test_otlp_http_takes_the_same_token_and_certificate(
    secured: NativeStack, token: tuple[str, Path], pki: Pki
) -> None:
    """OTLP/HTTP over TLS: 401 without the token, 200 with it; the CA verifies the server."""
    import ssl
    import urllib.error
    import urllib.request

    from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
        ExportMetricsServiceRequest,
    )

    context = ssl.create_default_context(cafile=str(pki.ca))
    url = f"https://127.0.0.1:{secured.stack.ports.otlp_http}/v1/metrics"
    body = ExportMetricsServiceRequest().SerializeToString()

    def post(headers: dict[str, str]) -> int:
        request = urllib.request.Request(
            url,
            data=body,
            method="POST",
            headers={"Content-Type": "application/x-protobuf", **headers},
        )
        try:
            with urllib.request.urlopen(request, timeout=10, context=context) as answer:  # noqa: S310 - https to the test's collector
                return int(answer.status)
        except urllib.error.HTTPError as exc:
            return exc.code

    assert post({}) == 401
    assert post({"Authorization": "Bearer not-the-token"}) == 401
    assert post({"Authorization": f"Bearer {token[0]}"}) == 200
