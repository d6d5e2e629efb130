"""The TCP fronts of the cache nodes: what a learner's client connects to.

Each is a :class:`labkit.core.loopback.LoopbackServer` on 127.0.0.1, so
``lab.reset()`` stops it and a test can count it:

- :class:`MemcachedServer` serves a :class:`.memcached.MemcachedNode`: it
  reads a command line (and its data block), calls the node, writes the reply;
- :class:`RedisNode` serves a fakeredis dataset (``fakeredis.FakeServer``, the
  in-process Redis/Valkey plane) through fakeredis's own TCP handler. A node
  may be a read-only replica (write commands get Redis's ``READONLY`` error),
  and may be *down* until a moment on the sandbox clock: a connection made
  then is closed at once, as a client sees an endpoint during a failover.

In the browser edition these servers are in-process (no socket, no thread:
:mod:`labkit.core.loopback`), and :mod:`.browser` gives redis-py and pymemcache
pipes that do what the handlers below do.

fakeredis reads the time for key expiry from ``time.time()``; :func:`use_sandbox_clock`
points it at the sandbox clock, so that ``lab.clock.advance(60)`` expires a
key set with ``ex=60``, as it does a Memcached item.
"""

from __future__ import annotations

import json
import socket
import socketserver
import time
from functools import cache
from importlib import resources
from typing import Any

from fakeredis import FakeServer, TcpFakeServer
from fakeredis._clients._tcp_server import TCPFakeRequestHandler
from fakeredis._helpers import SimpleError

from labkit.core.clock import clock
from labkit.core.loopback import HOST, LoopbackServer
from labkit.services.elasticache.memcached import MemcachedNode, command_name

READONLY_MESSAGE = "READONLY You can't write against a read only replica."


def _drop(connections: set[socket.socket]) -> None:
    for connection in list(connections):
        try:
            connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


# --------------------------------------------------------------------------- #
# Memcached
# --------------------------------------------------------------------------- #
class _MemcachedHandler(socketserver.StreamRequestHandler):
    server: Any

    def handle(self) -> None:
        front: MemcachedServer = self.server.owner
        node = front.node
        front.track(self.connection)
        node.connections += 1
        try:
            while True:
                line = self.rfile.readline()
                if not line or command_name(line) == b"quit":
                    return
                length = node.data_length(line)
                data = self.rfile.read(length + 2)[:length] if length is not None else b""
                reply = node.execute(line, data)
                if reply:
                    self.wfile.write(reply)
                    self.wfile.flush()
        except (ConnectionError, OSError, ValueError):
            pass
        finally:
            node.connections -= 1
            front.untrack(self.connection)


class MemcachedServer(LoopbackServer):
    """A Memcached node on 127.0.0.1 (a thin TCP front over :class:`MemcachedNode`).

    Args:
        node: the node it serves.
        port: 0 picks a free port; a fixed port keeps an endpoint's address.
    """

    def __init__(self, node: MemcachedNode, port: int = 0) -> None:
        self.node = node
        super().__init__(_MemcachedHandler, port=port, name="memcached")

    def replace_node(self, node: MemcachedNode) -> None:
        """Serve ``node`` from now on, at the same address; open connections drop."""
        self.node = node
        _drop(self.connections)


# --------------------------------------------------------------------------- #
# Redis / Valkey: fakeredis
# --------------------------------------------------------------------------- #
@cache
def write_commands() -> frozenset[str]:
    """The Redis commands that write (from fakeredis's command table)."""
    table = json.loads(resources.files("fakeredis").joinpath("commands.json").read_text())
    return frozenset(name for name, spec in table.items() if " " not in name and "write" in spec[2])


def new_dataset(engine: str) -> FakeServer:
    """An empty Redis OSS or Valkey dataset, in-process (``fakeredis.FakeRedis(server=...)`` reads it)."""
    return FakeServer(server_type="valkey" if engine == "valkey" else "redis")


class _FakeRedisTCPServer(TcpFakeServer):
    """fakeredis's TCP server with the constructor ``socketserver`` servers have."""

    def __init__(self, server_address: tuple[str, int], handler_class: type[socketserver.BaseRequestHandler],
                 bind_and_activate: bool = True) -> None:
        super().__init__(server_address, bind_and_activate=bind_and_activate)
        self.RequestHandlerClass = handler_class


def guard_replica(fake: Any, node: RedisNode) -> None:
    """Make one connection's fakeredis socket answer write commands with
    ``READONLY`` while ``node`` is a replica (read on every command: a failover
    turns a replica into the primary)."""
    original = fake._process_command

    def guarded(fields: list[bytes]) -> None:
        name = fields[0].decode("utf-8", "replace").lower() if fields else ""
        if node.readonly and name in write_commands():
            fake.put_response(SimpleError(READONLY_MESSAGE))
            return
        original(fields)

    fake._process_command = guarded


class _RedisHandler(TCPFakeRequestHandler):
    server: Any

    def setup(self) -> None:
        super().setup()
        node: RedisNode = self.server.owner
        node.track(self.connection)
        guard_replica(self.current_client.get_socket(), node)

    def handle(self) -> None:
        if self.server.owner.down:
            return  # the endpoint does not serve now: the connection closes at once
        super().handle()

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.owner.untrack(self.connection)


class RedisNode(LoopbackServer):
    """A Redis OSS or Valkey node on 127.0.0.1 serving a (possibly shared) dataset.

    Args:
        dataset: the ``fakeredis.FakeServer`` holding the data.
        port: 0 picks a free port; a fixed port keeps an endpoint's address.
        readonly: refuse write commands with ``READONLY`` (a replica).
    """

    def __init__(self, dataset: FakeServer, port: int = 0, readonly: bool = False) -> None:
        self.dataset = dataset
        self.readonly = readonly
        self.down_until = 0.0  # sandbox epoch seconds until which connections are closed
        super().__init__(_RedisHandler, port=port, name="redis", server_class=_FakeRedisTCPServer,
                         configure=lambda server: setattr(server, "fake_server", dataset))

    @property
    def down(self) -> bool:
        """True while the node refuses to serve (until ``down_until`` on the sandbox clock)."""
        return clock.now() < self.down_until

    def go_down(self, seconds: float) -> float:
        """Drop every open connection and close new ones for ``seconds`` of
        sandbox time; returns the moment it serves again."""
        self.down_until = max(self.down_until, clock.now() + seconds)
        _drop(self.connections)
        return self.down_until

    def replace_dataset(self, dataset: FakeServer) -> None:
        """Serve ``dataset`` from now on, at the same address; open connections drop."""
        self.dataset = dataset
        self._server.fake_server = dataset  # type: ignore[attr-defined]
        _drop(self.connections)


class _SandboxTime:
    """The ``time`` module as fakeredis's command loop sees it: ``time()`` is the
    sandbox clock (read with ``peek()``: fakeredis holds its server lock there, so
    no scheduled action may run)."""

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)

    @staticmethod
    def time() -> float:
        return clock.peek()


def use_sandbox_clock() -> None:
    """Make fakeredis expire keys by the sandbox clock. Idempotent."""
    import fakeredis._socket._base as base

    if not isinstance(base.time, _SandboxTime):
        base.time = _SandboxTime()  # type: ignore[assignment]


__all__ = [
    "HOST",
    "READONLY_MESSAGE",
    "MemcachedServer",
    "RedisNode",
    "guard_replica",
    "new_dataset",
    "use_sandbox_clock",
    "write_commands",
]
