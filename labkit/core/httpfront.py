"""A thin HTTP(S) front over a plane's request handler.

An HTTP plane (a load balancer's listener, an API Gateway stage, an
instance's web app) is a function first::

    def handle(request: HttpRequest) -> HttpResponse: ...

so tests and benchmarks can call it in-process. :class:`HttpFront` serves such
a function on 127.0.0.1 for real clients (``requests``, ``urllib``, a browser),
over HTTP/1.1 with keep-alive, and over TLS with the sandbox's local authority
(:mod:`labkit.core.tls`) when asked. It is a :class:`~labkit.core.loopback.LoopbackServer`,
so ``lab.reset()`` stops it.

What it takes care of, so no plane has to: parsing (a malformed request gets
``400`` and the server keeps serving), bodies by ``Content-Length`` or chunked,
a ``Date`` header, and a handler that raises (``500``, and the error is kept
in :attr:`HttpFront.errors` for a test to read).
"""

from __future__ import annotations

import socket
import socketserver
import ssl
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl

from labkit.core import platform
from labkit.core.loopback import LoopbackServer

#: Largest request body a front reads (a bigger one gets 413).
MAX_BODY = 16 * 1024 * 1024


@dataclass
class HttpRequest:
    """One HTTP request, as a plane sees it."""

    method: str
    path: str  # without the query string
    query: str = ""  # the raw query string, without "?"
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    client: tuple[str, int] = ("127.0.0.1", 0)
    scheme: str = "http"
    server_port: int = 0

    def header(self, name: str, default: str | None = None) -> str | None:
        """The first value of a header (case-insensitive), or ``default``."""
        name = name.lower()
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return default

    def header_values(self, name: str) -> list[str]:
        """Every value of a header, in order."""
        name = name.lower()
        return [value for key, value in self.headers if key.lower() == name]

    @property
    def host(self) -> str:
        """The ``Host`` header without its port, lower case."""
        host = (self.header("host") or "").strip().lower()
        if host.startswith("["):
            return host.split("]", 1)[0] + "]"
        return host.rsplit(":", 1)[0] if ":" in host else host

    @property
    def query_params(self) -> list[tuple[str, str]]:
        """The query string's (name, value) pairs, in order, decoded."""
        return parse_qsl(self.query, keep_blank_values=True)

    @property
    def target(self) -> str:
        """The path with its query string, as it appeared on the request line."""
        return self.path + ("?" + self.query if self.query else "")


@dataclass
class HttpResponse:
    """One HTTP response, as a plane returns it."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def header(self, name: str, default: str | None = None) -> str | None:
        name = name.lower()
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return default

    @classmethod
    def text(cls, status: int, text: str, content_type: str = "text/plain; charset=utf-8") -> HttpResponse:
        return cls(status, [("Content-Type", content_type)], text.encode())

    @classmethod
    def json(cls, status: int, document: Any) -> HttpResponse:
        import json

        return cls(status, [("Content-Type", "application/json")], json.dumps(document).encode())


Handler = Callable[[HttpRequest], HttpResponse]


class _Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
    tls: ssl.SSLContext | None = None

    def get_request(self) -> tuple[socket.socket, Any]:
        connection, address = self.socket.accept()
        # Headers and body leave as two writes; without this, the second waits
        # for the client's delayed acknowledgement (about 40 ms on Linux).
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.tls is not None:
            # The handshake happens in the connection's own thread (first read),
            # so one slow or garbage client cannot hold up the accept loop.
            connection = self.tls.wrap_socket(connection, server_side=True, do_handshake_on_connect=False)
        return connection, address

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that vanished mid-request is not the server's problem


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "labkit"
    sys_version = ""

    def setup(self) -> None:
        front: HttpFront = self.server.owner.front  # type: ignore[attr-defined]
        self.front = front
        self.server.owner.track(self.request)  # type: ignore[attr-defined]
        if isinstance(self.request, ssl.SSLSocket):
            self.request.settimeout(front.timeout)
            try:
                self.request.do_handshake()
            except (ssl.SSLError, OSError):
                self.close_connection = True
                self.rfile = self.wfile = None  # type: ignore[assignment]
                return
        self.request.settimeout(front.timeout)
        super().setup()

    def handle(self) -> None:
        if self.rfile is None:
            return
        try:
            super().handle()
        except (ConnectionError, TimeoutError, ssl.SSLError, OSError):
            pass

    def finish(self) -> None:
        self.server.owner.untrack(self.request)  # type: ignore[attr-defined]
        if self.rfile is not None:
            try:
                super().finish()
            except OSError:
                pass

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass  # quiet: a notebook is not a server console

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        # Malformed requests (bad request line, bad headers, unsupported version):
        # answer in HTTP/1.1 even when the garbage looked like HTTP/0.9.
        self.request_version = "HTTP/1.1"
        self._write(HttpResponse.text(code, f"{code} {HTTPStatus(code).phrase}\n"), close=True)

    def _body(self) -> bytes | None:
        if (self.headers.get("Transfer-Encoding") or "").lower() == "chunked":
            chunks = []
            size = 0
            while True:
                line = self.rfile.readline(65537)
                try:
                    length = int(line.split(b";", 1)[0].strip() or b"x", 16)
                except ValueError:
                    return None
                if length == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                size += length
                if size > MAX_BODY:
                    return None
                chunks.append(self.rfile.read(length))
                self.rfile.readline(3)
        length_text = self.headers.get("Content-Length")
        if not length_text:
            return b""
        try:
            length = int(length_text)
        except ValueError:
            return None
        if length < 0 or length > MAX_BODY:
            return None
        return self.rfile.read(length)

    def _serve(self) -> None:
        body = self._body()
        if body is None:
            self._write(HttpResponse.text(400, "400 Bad Request\n"), close=True)
            return
        path, _, query = self.path.partition("?")
        request = HttpRequest(
            method=self.command, path=path or "/", query=query,
            headers=list(self.headers.items()), body=body,
            client=(self.client_address[0], self.client_address[1]))
        self._write(self.front.dispatch(request), head=self.command == "HEAD")

    def _write(self, response: HttpResponse, *, close: bool = False, head: bool = False) -> None:
        try:
            self.send_response_only(response.status, HTTPStatus(response.status).phrase
                                    if response.status in HTTPStatus._value2member_map_ else "")
            names = {key.lower() for key, _ in response.headers}
            for key, value in response.headers:
                if key.lower() in ("content-length", "transfer-encoding"):
                    continue
                self.send_header(key, value)
            if "date" not in names:
                self.send_header("Date", formatdate(usegmt=True))
            self.send_header("Content-Length", str(len(response.body)))
            if close or (response.header("connection") or "").lower() == "close":
                self.close_connection = True
                if "connection" not in names:
                    self.send_header("Connection", "close")
            self.end_headers()
            if not head and response.body:
                self.wfile.write(response.body)
            self.wfile.flush()
        except OSError:
            self.close_connection = True

    def __getattr__(self, name: str) -> Any:
        if name.startswith("do_"):
            return self._serve  # every method, including ones HTTP does not define
        raise AttributeError(name)


class HttpFront:
    """Serve ``handler`` over HTTP (or HTTPS with ``tls=True``) on 127.0.0.1.

    Args:
        handler: the plane's function, ``HttpRequest -> HttpResponse``.
        name: for the server thread's name.
        tls: serve HTTPS with certificates from the sandbox's authority.
        port: 0 picks a free port.
        timeout: seconds a connection may stay idle before the front closes it.
    """

    def __init__(self, handler: Handler, *, name: str = "http", tls: bool = False, port: int = 0,
                 timeout: float = 60.0) -> None:
        self.handler = handler
        self.tls = tls
        self.timeout = timeout
        self.errors: list[str] = []
        context = None
        if tls and not platform.in_browser():  # in-process (browser edition): no socket to wrap
            from labkit.core import tls as authority

            context = authority.server_context()

        def configure(server: Any) -> None:
            server.tls = context

        self._server = LoopbackServer(_RequestHandler, port=port, name=name, server_class=_Server, configure=configure)
        self._server.front = self  # type: ignore[attr-defined]
        self.port = self._server.port
        self.address = self._server.address

    def dispatch(self, request: HttpRequest) -> HttpResponse:
        """Answer ``request`` with the plane's function, as the server does for
        each request it reads (and as the browser edition calls it, in-process).
        A handler that raises gives ``500``; its error is kept in :attr:`errors`."""
        request.scheme = "https" if self.tls else "http"
        request.server_port = self.port
        try:
            return self.handler(request)
        except Exception as error:  # noqa: BLE001  (a plane's bug must not stop the server)
            self.errors.append("".join(traceback.format_exception(error)))
            return HttpResponse.text(500, "500 Internal Server Error\n")

    @property
    def running(self) -> bool:
        return self._server.running

    def stop(self) -> None:
        """Stop listening and close every open connection."""
        self._server.stop()

    @property
    def url(self) -> str:
        """``http(s)://127.0.0.1:<port>``."""
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"
