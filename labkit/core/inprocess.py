"""Reaching the sandbox's servers in-process: the browser edition's network.

Locally a learner's client reaches a plane through a socket:
``requests.get("http://" + lb["DNSName"] + "/")`` resolves the name
(:mod:`labkit.core.names`), connects to 127.0.0.1 and talks HTTP to a
:class:`~labkit.core.httpfront.HttpFront`. In a browser tab no socket can
connect, so each kind of client gets a seam that skips the socket and calls the
plane's function instead, with the same names, addresses and ports:

- :func:`server_at` finds the in-process server behind ``(host, port)``, by the
  same rules a connection follows (a claimed name or a bound address leads to
  a loopback port; :func:`labkit.core.loopback.in_process` holds the server);
- :func:`http_exchange` sends one :class:`~labkit.core.httpfront.HttpRequest`
  to the HTTP front there and returns its answer;
- :class:`SandboxAdapter` is a ``requests`` transport adapter built on it, and
  :func:`install` makes every ``requests`` session use it for the sandbox's
  names (an AWS name the sandbox does not know is refused, as the offline
  guard refuses it locally; every other address is left to ``requests``).

A service whose clients speak another protocol (Redis, Memcached, DNS) adds
its own seam on :func:`server_at`. This module knows no service.
"""

from __future__ import annotations

import io
from typing import Any
from urllib.parse import urlsplit

from labkit.core import loopback, names, platform
from labkit.core.httpfront import HttpFront, HttpRequest, HttpResponse
from labkit.core.offline import OfflineError, is_loopback
from labkit.core.seams import Seam


class NotListening(ConnectionRefusedError):
    """``(host, port)`` is the sandbox's, but no in-process server answers there."""


def server_at(host: str, port: int) -> loopback.LoopbackServer | None:
    """The in-process server a connection to ``host:port`` would reach, or
    ``None`` when ``host`` is not the sandbox's. A loopback address
    (``127.0.0.1``, ``localhost``) reaches the in-process server on that
    virtual port, and is ``None`` when there is none.

    Raises:
        socket.gaierror: ``host`` is a sandbox name that does not exist.
        ConnectionRefusedError: the name or address is the sandbox's, but
            nothing serves on ``port`` (the same error a local client gets).
    """
    if is_loopback(host):  # a server's own address (``front.url``): its virtual port, if one serves there
        return loopback.in_process(port)
    targets = names.connect_targets(host, port)
    if targets is None:
        return None
    for _ip, local_port in targets:
        server = loopback.in_process(local_port)
        if server is not None:
            return server
    raise NotListening(f"{host}:{port} is in the lab sandbox, but nothing serves there now "
                       "(a stopped server, a deleted resource, a wrong port).")


def http_exchange(host: str, port: int, request: HttpRequest) -> HttpResponse:
    """Send ``request`` to the HTTP front at ``host:port``, in-process."""
    server = server_at(host, port)
    front = getattr(server, "front", None)
    if server is None or not isinstance(front, HttpFront):
        raise NotListening(f"{host}:{port} does not serve HTTP in the lab sandbox.")
    return front.dispatch(request)


def _default_port(scheme: str) -> int:
    return 443 if scheme == "https" else 80


class SandboxAdapter:
    """A ``requests`` transport adapter that answers the sandbox's URLs
    in-process. It is what ``requests`` uses for them in the browser edition
    (:func:`install`); locally the sockets do the same work.

    A refused connection or a name that does not exist raises
    ``requests.ConnectionError``, as it does locally.
    """

    def send(self, request: Any, stream: bool = False, timeout: Any = None, verify: Any = True,
             cert: Any = None, proxies: Any = None) -> Any:
        import requests
        from requests.structures import CaseInsensitiveDict
        from requests.utils import get_encoding_from_headers

        url = urlsplit(request.url)
        host = url.hostname or ""
        port = url.port or _default_port(url.scheme)
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode("utf-8")
        elif not isinstance(body, bytes):  # a file or a generator: read it all
            body = b"".join(chunk if isinstance(chunk, bytes) else str(chunk).encode() for chunk in body)
        headers = [(key, str(value)) for key, value in request.headers.items()]
        if not any(key.lower() == "host" for key, _ in headers):
            default = port == _default_port(url.scheme)
            headers.insert(0, ("Host", host if default else f"{host}:{port}"))
        message = HttpRequest(method=request.method or "GET", path=url.path or "/", query=url.query,
                              headers=headers, body=body)
        try:
            answer = http_exchange(host, port, message)
        except OSError as error:
            raise requests.ConnectionError(error, request=request) from error
        response = requests.Response()
        response.status_code = answer.status
        response.headers = CaseInsensitiveDict(answer.headers)
        response.headers.setdefault("Content-Length", str(len(answer.body)))
        response.encoding = get_encoding_from_headers(response.headers)
        content = b"" if message.method == "HEAD" else answer.body
        response.raw = io.BytesIO(content)
        response._content = content  # read already: no stream to consume
        response.reason = _reason(answer.status)
        response.url = request.url
        response.request = request
        response.connection = self
        return response

    def close(self) -> None:
        pass


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


_ADAPTER = SandboxAdapter()


class _AwsGuard:
    """The adapter for an AWS URL the sandbox does not claim: moto answers it
    when it emulates it (a presigned URL, a query API); otherwise it is refused,
    never sent (locally the offline guard refuses it at the socket)."""

    def __init__(self, adapter: Any) -> None:
        self.adapter = adapter

    def send(self, request: Any, **kwargs: Any) -> Any:
        from moto.core.models import responses_mock

        match, _ = responses_mock.get_registry().find(request)
        if match is None:
            host = urlsplit(request.url).hostname or ""
            raise OfflineError(
                f"labkit stopped a request to {host}: nothing in the lab sandbox answers that AWS URL, "
                "and labs never send requests to real AWS. Use the names the sandbox gives you "
                "(a load balancer's DNSName, an API's invoke URL, a record in a hosted zone), "
                "and use boto3 for AWS APIs.")
        return self.adapter.send(request, **kwargs)

    def close(self) -> None:
        pass


def _get_adapter(original: Any, session: Any, url: str) -> Any:
    """``requests.Session.get_adapter``: the sandbox's URLs go to :class:`SandboxAdapter`
    (browser edition); an unknown AWS name is refused; anything else as ``requests`` would."""
    if platform.in_browser():
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port or _default_port(parts.scheme)
        try:
            mine = names.connect_targets(host, port) is not None or (is_loopback(host) and server_at(host, port) is not None)
        except OSError:  # the sandbox's name, but no such name or nobody listening: the adapter says so
            mine = True
        if mine:
            return _ADAPTER
        if names.is_aws_name(host):
            return _AwsGuard(original(session, url))
    return original(session, url)


SEAMS = (
    Seam("requests.sessions", "Session.get_adapter", ("self", "url"), _get_adapter),
    Seam("moto.core.models", "responses_mock", None),  # called: does moto answer an AWS URL?
)


def install() -> None:
    """Route ``requests`` to the in-process servers (the sandbox calls this in the
    browser edition; locally it changes nothing, but is not installed)."""
    from labkit.core import seams

    seams.install(SEAMS, owner="labkit.core.inprocess")


__all__ = ["NotListening", "SandboxAdapter", "http_exchange", "install", "server_at"]
