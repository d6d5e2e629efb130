"""Loopback servers: a thin TCP front over a plane's in-process logic.

A plane's behaviour is a function first (a request in, an answer out); when a
learner's client needs a real address (a Redis or Memcached client, a
database driver), :class:`LoopbackServer` serves that function on 127.0.0.1.
Every server started here is tracked, so ``lab.reset()`` can stop them all and
a test can prove that none is left listening. In the browser edition no server
starts: :class:`~labkit.core.platform.BrowserGap` names the gap instead.
"""

from __future__ import annotations

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
        platform.require_local(f"A server listening on 127.0.0.1 ({name})",
                               "a browser tab can neither listen on a port nor start the thread that serves it")
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
        self._server = server
        self.connections: set[socket.socket] = set()
        self.port: int = server.server_address[1]
        self.address = (HOST, self.port)
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True, name=f"labkit-{name}-{self.port}")
        self._stopped = False
        self._thread.start()
        with _LIVE_LOCK:
            _LIVE.add(self)

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
        self._thread.join(timeout=2)
        with _LIVE_LOCK:
            _LIVE.discard(self)


def live_servers() -> list[LoopbackServer]:
    """Every loopback server still listening."""
    with _LIVE_LOCK:
        return [server for server in _LIVE if server.running]


def stop_all() -> None:
    """Stop every loopback server (``lab.reset()`` does this after the planes reset)."""
    for server in live_servers():
        server.stop()
