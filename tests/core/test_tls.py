"""labkit.core.tls: HTTPS to sandbox names verifies against a local authority."""

from __future__ import annotations

import os
import socket
import ssl
import threading
import urllib.request
from pathlib import Path

import pytest
import requests

from labkit.core import names, tls
from labkit.core.httpfront import HttpFront, HttpResponse

NAME = "secure.tls-test.example.net"  # a name no service claims


@pytest.fixture()
def secure(lab):
    front = HttpFront(lambda request: HttpResponse.text(200, f"hello {request.scheme}"), name="tls", tls=True)
    address = names.allocate_address("test")
    names.bind(address, 443, front.port)
    names.claim("test-tls", lambda host: [address] if host == NAME else None)
    yield front
    names.unclaim("test-tls")
    front.stop()


def test_requests_and_urllib_verify_the_certificate_without_verify_false(secure):
    assert requests.get(f"https://{NAME}/prod/items", timeout=5).text == "hello https"
    with urllib.request.urlopen(f"https://{NAME}/prod/items", timeout=5) as response:
        assert response.read() == b"hello https"
    assert os.environ["REQUESTS_CA_BUNDLE"] == os.environ["SSL_CERT_FILE"] == tls.ca_bundle()


def test_the_certificate_names_the_host_the_client_asked_for(secure):
    context = ssl.create_default_context(cafile=None)
    context.load_verify_locations(cadata=tls.ca_pem().decode())
    with socket.create_connection(("127.0.0.1", secure.port), timeout=5) as raw, context.wrap_socket(raw, server_hostname=NAME) as conn:
        subject_names = [value for kind, value in conn.getpeercert()["subjectAltName"] if kind == "DNS"]
    assert subject_names == [NAME]
    import certifi  # the public authorities alone do not vouch for it: only the local one does

    with socket.create_connection(("127.0.0.1", secure.port), timeout=5) as raw, pytest.raises(ssl.SSLCertVerificationError):
        ssl.create_default_context(cafile=certifi.where()).wrap_socket(raw, server_hostname=NAME)


def test_trust_survives_an_environment_reset_at_the_next_start(secure, monkeypatch):
    import labkit

    monkeypatch.delenv("REQUESTS_CA_BUNDLE")
    labkit.start()
    assert requests.get(f"https://{NAME}/", timeout=5).status_code == 200


def test_the_bundle_keeps_the_public_authorities(lab):
    import certifi

    bundle = Path(tls.ca_bundle()).read_bytes()
    first_public = Path(certifi.where()).read_bytes().split(b"-----END CERTIFICATE-----")[0]
    assert first_public in bundle and tls.ca_pem().strip() in bundle


def test_garbage_on_the_tls_port_does_not_stop_the_server(secure):
    with socket.create_connection(("127.0.0.1", secure.port), timeout=5) as raw:
        raw.sendall(b"GET / HTTP/1.1\r\n\r\n")  # plain text to a TLS port
        raw.recv(100)
    assert requests.get(f"https://{NAME}/", timeout=5).status_code == 200


def test_connections_share_one_verifying_context_and_still_refuse_a_stranger(secure, lab):
    """urllib3 loads the whole bundle into a new context per connection; labkit
    lends it one context with the bundle loaded (a patch of urllib3's private
    _ssl_wrap_socket_and_match_hostname, checked here: if urllib3 moves it, this
    fails and connections are only slower). Verification is unchanged."""
    import trustme
    import urllib3.connection

    assert getattr(urllib3.connection._ssl_wrap_socket_and_match_hostname, "__labkit_original__", None) is not None
    for _ in range(3):
        with requests.Session() as session:  # a new connection each time
            assert session.get(f"https://{NAME}/x", timeout=5).status_code == 200
    assert list(tls._verified) == [tls.ca_bundle()]
    # A server whose certificate comes from another authority is refused, as before.
    stranger = trustme.CA().issue_cert("stranger.tls-test.example.net")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    stranger.configure_cert(context)
    listener = socket.create_server(("127.0.0.1", 0))

    def serve_once() -> None:
        connection, _ = listener.accept()
        try:
            context.wrap_socket(connection, server_side=True).close()
        except (ssl.SSLError, OSError):
            connection.close()  # the client refused the certificate: what this test wants

    server = threading.Thread(target=serve_once, daemon=True)
    server.start()
    address = names.allocate_address("test")
    names.bind(address, 443, listener.getsockname()[1])
    names.claim("test-stranger", lambda host: [address] if host == "stranger.tls-test.example.net" else None)
    try:
        with pytest.raises(requests.exceptions.SSLError):
            requests.get("https://stranger.tls-test.example.net/", timeout=5)
    finally:
        names.unclaim("test-stranger")
        server.join(5)
        listener.close()
