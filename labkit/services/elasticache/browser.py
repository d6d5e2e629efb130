"""ElastiCache in the browser edition: redis-py and pymemcache reach the nodes in-process.

Locally a learner's client connects to a node's endpoint (``127.0.0.1`` and a
port) through a socket, and the node's TCP front (:mod:`.servers`) serves it.
A browser tab has no sockets, and there the nodes are in-process servers
(:mod:`labkit.core.loopback`). So in the browser edition a client's connect
step gets, instead of a socket, a *pipe*: an object with the few socket
methods the client calls (``sendall``, ``recv``, ``settimeout``, ``close``...)
that hands the client's bytes to the node and gives back the node's reply
bytes. Everything above the connect step is the client's own code, as
locally: redis-py's RESP parser, its retries and pub/sub; pymemcache's
protocol and reconnection.

- :class:`RedisPipe` feeds a fakeredis connection on the node's dataset and
  encodes its replies as RESP, exactly as the node's TCP handler does; a
  replica refuses writes with ``READONLY``; a node that is down during a
  failover closes the connection at once; a failover, a replaced dataset or a
  stopped node drops the connection (the client's next read finds it closed).
- :class:`MemcachedPipe` feeds the node's command lines and data blocks to
  :meth:`.memcached.MemcachedNode.execute`, as the TCP front does; a node
  replacement drops it, and pymemcache reconnects to the new node.

Which node an address reaches is :func:`labkit.core.inprocess.server_at`'s
answer (the same names and ports as locally). Two seams install the pipes:
``redis.connection.Connection._connect`` and
``pymemcache.client.base.Client._connect``, in the browser edition only.

What no pipe can do: wait. A read that finds no reply yet fails at once with
a timeout when the client set one (nothing else runs in a browser tab, so no
reply could arrive later), and with a :class:`~labkit.core.platform.BrowserGap`
when it set none (``pubsub.listen()``, ``get_message(timeout=None)``).
"""

from __future__ import annotations

import errno
import socket
from typing import Any

from fakeredis._clients._tcp_server import _INTERNAL_CONNECTION_KWARGS, FakeRedisConnection, encode_reply
from fakeredis._typing import RaiseErrorTypes

from labkit.core import inprocess, loopback, platform
from labkit.core.offline import is_loopback
from labkit.core.seams import Seam
from labkit.services.elasticache.memcached import command_name
from labkit.services.elasticache.servers import HOST, MemcachedServer, RedisNode, guard_replica

WAIT_GAP = ("Waiting on a cache connection for a reply that no request of yours has produced "
            "(a subscriber's listen(), get_message() without a timeout, a blocking command with no timeout)",
            "in a browser tab nothing else runs while a cell waits, so no other client could send that reply; "
            "give the call a timeout, or publish before you read")


class _ServerSide:
    """What a node tracks for an in-process connection (as it tracks a socket
    locally): shutting it down is the node dropping the connection."""

    def __init__(self, pipe: _Pipe) -> None:
        self.pipe = pipe

    def shutdown(self, how: int = socket.SHUT_RDWR) -> None:
        self.pipe.drop()


class _Pipe:
    """The client's end of an in-process connection to ``server``: the socket
    methods redis-py and pymemcache call. Subclasses serve the bytes."""

    def __init__(self, server: loopback.LoopbackServer, host: str, port: int, timeout: float | None) -> None:
        self.server = server
        self.peer = (host, int(port))
        self.timeout = timeout
        self.server_side = _ServerSide(self)
        self.dropped = False  # the node closed the connection: reads end with b""
        self.closed = False  # the client closed its end
        self._ended = False
        self._out = bytearray()  # reply bytes the client has not read yet

    # -- the socket methods the clients use ------------------------------------
    def settimeout(self, timeout: float | None) -> None:
        self.timeout = timeout

    def gettimeout(self) -> float | None:
        return self.timeout

    def setsockopt(self, *args: Any) -> None:
        """Socket options (``TCP_NODELAY``, keep-alive) mean nothing in-process."""

    def connect(self, address: Any) -> None:
        """Already connected: the pipe is made by the connect step."""

    def getpeername(self) -> tuple[str, int]:
        return self.peer

    def getsockname(self) -> tuple[str, int]:
        return (HOST, 0)

    def sendall(self, data: bytes | bytearray | memoryview) -> None:
        if self.closed:
            raise OSError(errno.EBADF, "Bad file descriptor (the connection was closed)")
        if self.dropped:
            return  # the node is gone: as on a socket, the write goes nowhere and the next read says so
        self.serve(bytes(data))

    def send(self, data: bytes | bytearray | memoryview) -> int:
        self.sendall(data)
        return len(data)

    def recv(self, size: int) -> bytes:
        if self.closed:
            raise OSError(errno.EBADF, "Bad file descriptor (the connection was closed)")
        self.collect()
        if self._out:
            chunk = bytes(self._out[:size])
            del self._out[:size]
            return chunk
        if self.dropped:
            return b""  # closed by the node
        if self.timeout == 0:
            raise BlockingIOError(errno.EWOULDBLOCK, "Resource temporarily unavailable")
        if self.timeout is not None:
            raise TimeoutError("timed out")  # socket.timeout: nothing could arrive while we wait
        raise platform.gap(*WAIT_GAP)

    def recv_into(self, buffer: Any, nbytes: int = 0) -> int:
        data = self.recv(nbytes or len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def shutdown(self, how: int = socket.SHUT_RDWR) -> None:
        self.end()

    def close(self) -> None:
        self.end()
        self.closed = True

    def __enter__(self) -> _Pipe:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the node's side ----------------------------------------------------------
    def drop(self) -> None:
        """The node closes the connection (a failover, a replacement, a stop)."""
        self.dropped = True
        self.end()

    def end(self) -> None:
        """The connection ends, for the node (once)."""
        if not self._ended:
            self._ended = True
            self.server.untrack(self.server_side)  # type: ignore[arg-type]
            self.finish()

    def reply(self, data: bytes) -> None:
        self._out += data

    def serve(self, data: bytes) -> None:
        """Hand ``data`` (bytes the client sent) to the node."""
        raise NotImplementedError

    def collect(self) -> None:
        """Gather replies the node pushed since (pub/sub messages)."""

    def finish(self) -> None:
        """Release what the node holds for this connection."""


class RedisPipe(_Pipe):
    """A redis-py connection's pipe to a :class:`.servers.RedisNode`: what the
    node's TCP handler does, without the socket."""

    def __init__(self, node: RedisNode, host: str, port: int, timeout: float | None) -> None:
        super().__init__(node, host, port, timeout)
        self.client: Any = None
        if node.down:  # the endpoint does not serve now: the connection closes at once
            self.dropped = self._ended = True
            return
        self.client = FakeRedisConnection(server=node.dataset, **_INTERNAL_CONNECTION_KWARGS)
        guard_replica(self.client.get_socket(), node)
        node.track(self.server_side)  # type: ignore[arg-type]

    def serve(self, data: bytes) -> None:
        if self.client is None:
            return
        try:
            self.client.get_socket().sendall(data)
        except ConnectionError:  # the node ends the connection (as its TCP handler does)
            self.drop()
            return
        except Exception as error:  # noqa: BLE001  (the handler writes the error, then ends the connection)
            self.reply(encode_reply(error, self._protocol()))
            self.drop()
            return
        self.collect()

    def collect(self) -> None:
        while self.client is not None and self.client.can_read():
            try:
                response = self.client.read_response()
            except RaiseErrorTypes as error:  # an error reply: sent, and the connection goes on
                response = error
            self.reply(encode_reply(response, self._protocol()))

    def _protocol(self) -> int:
        """The RESP version the connection negotiated (2 until the client sends HELLO 3)."""
        return int(self.client.get_socket()._client_info.protocol_version) if self.client is not None else 2

    def finish(self) -> None:
        client, self.client = self.client, None
        if client is not None:
            client.disconnect()


class MemcachedPipe(_Pipe):
    """A pymemcache client's pipe to a :class:`.servers.MemcachedServer`: what
    the server's TCP handler does, without the socket. It serves the node the
    server had when the connection was made (a replacement drops it)."""

    def __init__(self, server: MemcachedServer, host: str, port: int, timeout: float | None) -> None:
        super().__init__(server, host, port, timeout)
        self.node = server.node
        self._in = b""
        self.node.connections += 1
        server.track(self.server_side)  # type: ignore[arg-type]

    def serve(self, data: bytes) -> None:
        self._in += data
        while not self.dropped:
            end = self._in.find(b"\n")
            if end < 0:
                return  # an incomplete line: wait for the rest
            line = self._in[: end + 1]
            if command_name(line) == b"quit":
                self.drop()
                return
            length = self.node.data_length(line)
            rest = self._in[end + 1:]
            block = b""
            if length is not None:
                if len(rest) < length + 2:
                    return  # the data block has not all arrived
                block, rest = rest[:length], rest[length + 2:]
            self._in = rest
            try:
                answer = self.node.execute(line, block)
            except (OSError, ValueError):
                self.drop()
                return
            if answer:
                self.reply(answer)

    def finish(self) -> None:
        self.node.connections -= 1


# --------------------------------------------------------------------------- #
# Which node an address reaches
# --------------------------------------------------------------------------- #
def node_at(host: str, port: int, kind: type[loopback.LoopbackServer], protocol: str) -> Any:
    """The in-process server of ``kind`` at ``host:port``, or ``None`` when the
    address is not the sandbox's (then the client's own socket answers).

    Raises ``ConnectionRefusedError`` (as a socket would) when nothing of the
    sandbox serves there, or something that does not speak ``protocol``, and
    ``socket.gaierror`` for a sandbox name that does not exist.
    """
    server = inprocess.server_at(host, port)
    if server is None and is_loopback(host):
        server = loopback.in_process(port)
        if server is None:
            raise ConnectionRefusedError(
                errno.ECONNREFUSED, f"Connection refused: nothing serves on {host}:{port} in the lab sandbox "
                "(a deleted or stopped cache node, or a wrong port)")
    if server is None:
        return None
    if not isinstance(server, kind):
        raise ConnectionRefusedError(
            errno.ECONNREFUSED, f"Connection refused: {host}:{port} in the lab sandbox is not a {protocol} node")
    return server


def connect_memcached(host: str, port: int, timeout: float | None = None) -> MemcachedPipe:
    """A pipe to the Memcached node at ``host:port`` (browser edition), for a raw-protocol helper."""
    server = node_at(host, port, MemcachedServer, "Memcached")
    if server is None:
        raise ConnectionRefusedError(errno.ECONNREFUSED, f"{host}:{port} is not a cache node of the lab sandbox")
    return MemcachedPipe(server, host, port, timeout)


# --------------------------------------------------------------------------- #
# The seams
# --------------------------------------------------------------------------- #
def _redis_connect(original: Any, self: Any) -> Any:
    """``redis.connection.Connection._connect``: a pipe to an in-process node (browser edition)."""
    if platform.in_browser():
        node = node_at(self.host, self.port, RedisNode, "Redis")
        if node is not None:
            return RedisPipe(node, self.host, self.port, self.socket_timeout)
    return original(self)


def _memcache_connect(original: Any, self: Any) -> None:
    """``pymemcache.client.base.Client._connect``: a pipe to an in-process node (browser edition)."""
    if platform.in_browser() and isinstance(self.server, tuple):
        host, port = self.server
        server = node_at(host, port, MemcachedServer, "Memcached")
        if server is not None:
            self.close()
            self.sock = MemcachedPipe(server, host, port, self.timeout)
            return
    original(self)


#: What the browser edition patches in the clients (and the fakeredis names the pipe calls).
SEAMS: tuple[Seam, ...] = (
    Seam("redis.connection", "Connection._connect", ("self",), _redis_connect),
    Seam("redis.connection", "Connection.socket_timeout", None, instance=True),
    Seam("pymemcache.client.base", "Client._connect", ("self",), _memcache_connect),
    Seam("pymemcache.client.base", "Client.sock", None, instance=True),
    Seam("fakeredis._clients._tcp_server", "encode_reply", ("value", "protocol", "nested")),
    Seam("fakeredis._clients._tcp_server", "_INTERNAL_CONNECTION_KWARGS", None),
    Seam("fakeredis._clients._tcp_server", "FakeRedisConnection", None),
    Seam("fakeredis._typing", "RaiseErrorTypes", None),
    Seam("fakeredis._socket._base", "BaseFakeSocket._client_info", None, instance=True),
)


def install() -> None:
    """Route redis-py and pymemcache to the in-process nodes (browser edition
    only; idempotent). Raises :class:`labkit.core.seams.SeamMoved` if a client
    library moved what is patched."""
    if platform.in_browser():
        from labkit.core import seams

        seams.install(SEAMS, owner="labkit.services.elasticache.browser")


__all__ = ["SEAMS", "MemcachedPipe", "RedisPipe", "connect_memcached", "install", "node_at"]
