"""HTTPS endpoints: the request goes to the address that was checked, but TLS
verifies the certificate against the URL's host name, never skipping the check."""

import shutil
import ssl
import subprocess

import pytest
from pytest_httpserver import HTTPServer

from tests.factories import CustomerFactory
from tests.helpers import issued_invoice
from webhooks import relay, sending, services
from webhooks.models import WebhookAttempt

pytestmark = pytest.mark.django_db


@pytest.fixture
def tls_receiver(tmp_path):
    """A receiver on loopback speaking HTTPS with a self-signed certificate for
    "localhost", and that certificate's file."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a certificate")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    files = ["-keyout", str(key), "-out", str(cert)]
    subject = ["-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"]
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            *files,
            *subject,
        ],
        check=True,
        capture_output=True,
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = HTTPServer(ssl_context=context)
    server.start()
    server.expect_request("/hooks", method="POST").respond_with_data("thanks", status=200)
    yield server, cert
    server.clear()
    server.stop()


def send_one(manager, url):
    services.endpoint_create(url=url, event_types=["invoice.issued"], actor=manager)
    issued_invoice(CustomerFactory(), manager, "100.00")
    relay.relay()
    assert sending.deliver_due() == 1
    return WebhookAttempt.objects.get()


def test_a_certificate_nobody_vouches_for_is_refused(manager, tls_receiver):
    server, _ = tls_receiver
    attempt = send_one(manager, server.url_for("/hooks"))
    assert attempt.status_code is None
    assert "CERTIFICATE_VERIFY_FAILED" in attempt.error
    assert server.log == []


def test_a_trusted_certificate_for_the_url_s_host_is_accepted_at_the_checked_address(
    manager, tls_receiver, monkeypatch
):
    server, cert = tls_receiver
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # trust it, as a real CA would be
    attempt = send_one(manager, server.url_for("/hooks"))
    assert (attempt.status_code, attempt.response_body) == (200, "thanks")
    assert len(server.log) == 1
    assert server.log[0][0].headers["Host"].startswith("localhost:")
