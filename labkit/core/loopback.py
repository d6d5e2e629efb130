"""Loopback servers: a thin TCP front over a plane's in-process logic.

A plane's behaviour is a function first (a request in, an answer out); when a
learner's client needs a real address (a Redis or Memcached client, a
database driver), :class:`LoopbackServer` serves that function on 127.0.0.1.
Every server started here is tracked, so ``lab.reset()`` can stop them all and
a test can prove that none is left listening.

In the browser edition no socket can listen and no thread can serve. There a
server is *in-process*: it takes a virtual port (the same numbers, never
bound), no thread, and :func:`in_process` finds it by that port. A client
seam of the service that owns it (a ``requests`` adapter for HTTP, a Redis or
Memcached connection, a DNS query) then calls the plane directly, with the
same addresses a local client would use (see :mod:`labkit.core.inprocess`).
"""

from __future__ import annotations

import errno
import socket
import socketserver
import threading
import weakref
from typing import Any

from labkit.core import platform

HOST = "127.0.0.1"

_LIVE: weakref.WeakSet[LoopbackServer] = weakref.WeakSet()
_LIVE_LOCK = threading.Lock()


class _TCPServer(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


class _VirtualServer:
    """What a server is in the browser edition: attributes a plane may set
    (``owner``, ``configure``'s settings), and nothing that listens."""

    server_address: tuple[str, int]

    def shutdown(self) -> None:
        pass

    def server_close(self) -> None:
        pass


#: In-process servers by virtual port (browser edition).
_IN_PROCESS: dict[int, LoopbackServer] = {}
#: Virtual ports start here (where no privileged port is; the numbers are never bound).
_FIRST_VIRTUAL_PORT = 20000
_LAST_VIRTUAL_PORT = 65535
_next_virtual_port = _FIRST_VIRTUAL_PORT


def _virtual_port(wanted: int) -> int:
    """``wanted`` when it is free among in-process servers, else the next free
    number after the last one handed out. As with a system's ephemeral ports,
    the port of a server that stopped is not handed out again at once, so a
    client of the stopped server is refused instead of reaching a newer one."""
    global _next_virtual_port
    if wanted and wanted not in _IN_PROCESS:
        return wanted
    port = _next_virtual_port
    for _ in range(_LAST_VIRTUAL_PORT - _FIRST_VIRTUAL_PORT + 1):
        if port > _LAST_VIRTUAL_PORT:
            port = _FIRST_VIRTUAL_PORT
        if port not in _IN_PROCESS:
            _next_virtual_port = port + 1
            return port
        port += 1
    raise OSError(errno.EADDRINUSE, "every virtual port is in use: stop some servers (lab.reset())")


class LoopbackServer:
    """Serve ``handler_class`` (a ``socketserver.BaseRequestHandler``) on
    127.0.0.1 in a background thread.

    Args:
        handler_class: the request handler; it can reach this object as
            ``self.server.owner``.
        port: 0 picks a free port; a fixed port lets an endpoint come back on
            the same address (after a failover).
        name: the thread's name (``labkit-<name>-<port>``).
        server_class: a ``socketserver.TCPServer`` subclass, for servers that
            bring their own (fakeredis).
    """

    def __init__(self, handler_class: type[socketserver.BaseRequestHandler], *, port: int = 0,
                 name: str = "server", server_class: type[socketserver.TCPServer] | None = None,
                 configure: Any = None) -> None:
        self.handler_class = handler_class
        self.connections: set[socket.socket] = set()
        self._stopped = False
        if platform.in_browser():
            self._start_in_process(port, name, configure)
            return
        cls = server_class or _TCPServer
        server = cls((HOST, port), handler_class, bind_and_activate=False)
        server.allow_reuse_address = True
        if isinstance(server, socketserver.ThreadingMixIn):
            server.daemon_threads = True
        if configure is not None:
            configure(server)
        server.owner = self  # type: ignore[attr-defined]
        try:
            server.server_bind()
            server.server_activate()
        except OSError:
            server.server_close()
            raise
        self._server: Any = server
        self.port: int = server.server_address[1]
        self.address = (HOST, self.port)
        self._thread: threading.Thread | None = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True, name=f"labkit-{name}-{self.port}")
        self._thread.start()
        with _LIVE_LOCK:
            _LIVE.add(self)

    def _start_in_process(self, port: int, name: str, configure: Any) -> None:
        """The browser edition's server: a virtual port, no socket, no thread."""
        server = _VirtualServer()
        with _LIVE_LOCK:
            self.port = _virtual_port(port)
            _IN_PROCESS[self.port] = self
            _LIVE.add(self)
        server.server_address = (HOST, self.port)
        if configure is not None:
            configure(server)
        server.owner = self  # type: ignore[attr-defined]
        self._server = server
        self.address = (HOST, self.port)
        self._thread = None
        self.name = name

    @property
    def in_process(self) -> bool:
        """True for a browser-edition server, which no socket reaches (see :func:`in_process`)."""
        return self._thread is None

    def track(self, connection: socket.socket) -> None:
        """Remember an open connection, so :meth:`stop` can close it."""
        self.connections.add(connection)

    def untrack(self, connection: socket.socket) -> None:
        self.connections.discard(connection)

    @property
    def running(self) -> bool:
        return not self._stopped

    def stop(self) -> None:
        """Stop listening, drop every open connection, and end the thread."""
        if self._stopped:
            return
        self._stopped = True
        self._server.shutdown()
        self._server.server_close()
        for connection in list(self.connections):
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join(timeout=2)
        with _LIVE_LOCK:
            _LIVE.discard(self)
            if _IN_PROCESS.get(self.port) is self:
                del _IN_PROCESS[self.port]


def in_process(port: int) -> LoopbackServer | None:
    """The in-process server (browser edition) on virtual ``port``, or ``None``."""
    with _LIVE_LOCK:
        server = _IN_PROCESS.get(int(port))
    return server if server is not None and server.running else None


def live_servers() -> list[LoopbackServer]:
    """Every loopback server still listening."""
    with _LIVE_LOCK:
        return [server for server in _LIVE if server.running]


def stop_all() -> None:
    """Stop every loopback server (``lab.reset()`` does this after the planes reset)."""
    for server in live_servers():
        server.stop()
