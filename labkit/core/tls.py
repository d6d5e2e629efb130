"""HTTPS in the sandbox, verified: a local certificate authority.

An API Gateway invoke URL is ``https://...``, and a load balancer can have an
HTTPS listener. Real clients verify the server's certificate, and a course
should never teach ``verify=False``. So labkit makes its own certificate
authority (with ``trustme``) the first time a plane serves HTTPS, issues each
name its certificate on the fly (from the name the client asks for, SNI), and
makes this process trust the authority:

- ``REQUESTS_CA_BUNDLE`` (``requests``) and ``SSL_CERT_FILE`` (``urllib``,
  ``http.client``, anything using :func:`ssl.create_default_context`) point at
  one bundle file: the public authorities the process trusted before (the
  system's and ``certifi``'s) plus the local one. Public sites still verify.

The authority lives only in this process (its key is never written to disk)
and signs only names asked of a sandbox server.
"""

from __future__ import annotations

import atexit
import inspect
import os
import shutil
import ssl
import tempfile
import threading
from pathlib import Path
from typing import Any

from labkit.core import platform, threadenv

_lock = threading.Lock()
_ca: Any = None
_bundle: Path | None = None
_contexts: dict[str, ssl.SSLContext] = {}

#: The environment variables pointed at the bundle.
TRUST_VARIABLES = ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE")


def authority() -> Any:
    """The sandbox's certificate authority (a ``trustme.CA``), made on first use;
    making it makes the process trust it."""
    global _ca
    with _lock:
        if _ca is None:
            platform.require_local("HTTPS served by the sandbox (its local certificate authority)",
                                   "a browser tab cannot serve HTTPS, and the browser edition has no cryptography package")
            import trustme  # imported on first HTTPS use: labs without it never pay for it

            _ca = trustme.CA(organization_name="labkit sandbox")
            _trust(_ca)
        return _ca


def _public_bundles() -> list[Path]:
    """The CA files this process trusted before labkit's own."""
    found = []
    for variable in TRUST_VARIABLES:
        value = os.environ.get(variable)
        if value and Path(value).is_file():
            found.append(Path(value))
    default = ssl.get_default_verify_paths().cafile
    if default and Path(default).is_file():
        found.append(Path(default))
    try:
        import certifi

        found.append(Path(certifi.where()))
    except ImportError:
        pass
    unique: list[Path] = []
    for path in found:
        if path.resolve() not in [p.resolve() for p in unique]:
            unique.append(path)
    return unique


def _trust(ca: Any) -> None:
    global _bundle
    folder = Path(tempfile.mkdtemp(prefix="labkit-ca-"))
    atexit.register(shutil.rmtree, folder, True)
    bundle = folder / "trusted.pem"
    parts = [path.read_bytes() for path in _public_bundles()]
    parts.append(ca.cert_pem.bytes())
    bundle.write_bytes(b"\n".join(part.rstrip() + b"\n" for part in parts))
    for variable in TRUST_VARIABLES:
        threadenv.process()[variable] = str(bundle)
    _bundle = bundle
    _reuse_verified_contexts()


#: The parameters of urllib3's private ``connection._ssl_wrap_socket_and_match_hostname``
#: (urllib3 2.x, as tested) that :func:`_reuse_verified_contexts` reads or sets.
URLLIB3_SEAM_PARAMS = ("sock", "cert_reqs", "ca_certs", "assert_hostname", "ssl_context", "server_hostname")

#: urllib3's arguments that, when set, make a connection ask for more than "verify against the bundle".
_OTHER_TLS_ARGUMENTS = ("ca_cert_dir", "ca_cert_data", "cert_file", "key_file", "key_password", "assert_fingerprint",
                        "ssl_version", "ssl_minimum_version", "ssl_maximum_version")
_verified: dict[str, ssl.SSLContext] = {}


def _verified_context(bundle: str) -> ssl.SSLContext:
    """One client context that verifies against ``bundle``, made as urllib3 makes it for each connection."""
    with _lock:
        context = _verified.get(bundle)
        if context is None:
            from urllib3.util.ssl_ import create_urllib3_context

            context = create_urllib3_context(cert_reqs=ssl.CERT_REQUIRED)
            context.load_verify_locations(bundle)
            _verified[bundle] = context
        return context


def _reuse_verified_contexts() -> None:
    """urllib3 (under requests) makes a new SSL context for every connection and
    loads the whole CA file into it: some 60 ms of CPU per connection for this
    bundle, most of an HTTPS request to a local plane. A connection that only
    verifies against labkit's bundle reuses one context that has it loaded."""
    try:
        import urllib3.connection as connection
        from urllib3.util.ssl_ import resolve_cert_reqs
    except ImportError:
        return
    original = getattr(connection, "_ssl_wrap_socket_and_match_hostname", None)
    if original is None or getattr(original, "__labkit_original__", None) is not None:
        return
    if not set(URLLIB3_SEAM_PARAMS) <= set(inspect.signature(original).parameters):
        return  # urllib3 moved: every connection loads the bundle again (slower, still verified); a test says so

    def wrap(sock: Any, **kwargs: Any) -> Any:
        bundle = kwargs.get("ca_certs")
        if (_bundle is not None and bundle == str(_bundle) and kwargs.get("ssl_context") is None
                and kwargs.get("assert_hostname") is None and not any(kwargs.get(k) for k in _OTHER_TLS_ARGUMENTS)
                and resolve_cert_reqs(kwargs.get("cert_reqs")) == ssl.CERT_REQUIRED):
            kwargs.update(ssl_context=_verified_context(bundle), ca_certs=None)
        return original(sock, **kwargs)

    wrap.__labkit_original__ = original  # type: ignore[attr-defined]
    connection._ssl_wrap_socket_and_match_hostname = wrap


def retrust() -> None:
    """Point the trust variables at the bundle again, if something reset the
    environment since the authority was made (``labkit.start()`` calls this)."""
    if _bundle is not None:
        environ = threadenv.process()
        for variable in TRUST_VARIABLES:
            if environ.get(variable) != str(_bundle):
                environ[variable] = str(_bundle)


def ca_bundle() -> str:
    """The path of the bundle this process trusts (made on first use)."""
    authority()
    assert _bundle is not None
    return str(_bundle)


def ca_pem() -> bytes:
    """The local authority's certificate (PEM), for a client that wants only it."""
    return authority().cert_pem.bytes()


def context_for(name: str) -> ssl.SSLContext:
    """A server context whose certificate names ``name`` (cached per name)."""
    name = (name or "localhost").rstrip(".").lower()
    with _lock:
        context = _contexts.get(name)
    if context is None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        authority().issue_cert(name).configure_cert(context)
        with _lock:
            context = _contexts.setdefault(name, context)
    return context


def server_context() -> ssl.SSLContext:
    """A server context that presents, to each client, a certificate for the
    name the client asked for (SNI); ``localhost`` when it asked for none."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    authority().issue_cert("localhost", "127.0.0.1").configure_cert(context)

    def choose(connection: ssl.SSLObject | ssl.SSLSocket, server_name: str | None, _: ssl.SSLContext) -> None:
        if server_name:
            connection.context = context_for(server_name)

    context.sni_callback = choose
    return context
