"""The HTTPS front of every REST API: one server, every invoke URL.

``https://{api-id}.execute-api.{region}.amazonaws.com`` is a name AWS
resolves for any API id (unknown ones answer 403 ``Forbidden``). labkit
claims the same names (:func:`labkit.core.names.claim`): each resolves to one
virtual address whose port 443 is bound to this front, a
:class:`~labkit.core.httpfront.HttpFront` with TLS from the sandbox's local
authority, serving :func:`.plane.handle`. So ``requests.get(invoke_url + "/items/42")``
verifies the certificate and reaches the plane, with the ``Host`` header intact.

The server starts the first time such a name is resolved, and ``lab.reset()``
stops it (the next name resolved starts it again). In the browser edition the
front is in-process (:mod:`labkit.core.loopback`): the same names and address,
no socket and no TLS, and ``requests`` reaches it through
:mod:`labkit.core.inprocess`.
"""

from __future__ import annotations

import threading

from labkit.core import names, platform, tls
from labkit.core.httpfront import HttpFront

from . import plane

_LOCK = threading.Lock()
_FRONT: HttpFront | None = None
_ADDRESS: str | None = None

#: The port invoke URLs use (AWS serves execute-api over HTTPS only).
HTTPS_PORT = 443


def ensure_front() -> tuple[str, HttpFront]:
    """The front's virtual address and server, started if needed."""
    global _FRONT, _ADDRESS
    with _LOCK:
        if _FRONT is None or not _FRONT.running:
            _FRONT = HttpFront(plane.handle, name="apigateway", tls=True)
            _ADDRESS = None
        if _ADDRESS is None or names.bound(_ADDRESS, HTTPS_PORT) != _FRONT.port:
            _ADDRESS = names.allocate_address("apigateway")
            names.bind(_ADDRESS, HTTPS_PORT, _FRONT.port)
        return _ADDRESS, _FRONT


def resolver(host: str) -> list[str] | None:
    """The claim: every ``*.execute-api.{region}.amazonaws.com`` name."""
    if plane.parse_host(host) is None:
        return None
    address, _front = ensure_front()
    return [address]


def front() -> HttpFront | None:
    """The running front, if any."""
    return _FRONT if _FRONT is not None and _FRONT.running else None


def install() -> None:
    """Claim the names, and make the process trust the sandbox's authority now:
    ``requests`` reads its CA bundle before it resolves the first name. (In the
    browser edition the front is in-process: no socket, so no TLS and no
    authority; ``requests`` reaches it through :mod:`labkit.core.inprocess`.)"""
    if not platform.in_browser():
        tls.ca_bundle()
    names.claim("apigateway", resolver)


def stop() -> None:
    global _FRONT, _ADDRESS
    with _LOCK:
        if _FRONT is not None:
            _FRONT.stop()
        if _ADDRESS is not None:
            names.unbind(_ADDRESS)
        _FRONT = None
        _ADDRESS = None
