"""A Network Load Balancer listener: a TCP proxy, bytes in and bytes out.

A Network Load Balancer works at layer 4. Each client connection is given to
one routable target of the listener's target group (round robin here; AWS
hashes the connection's addresses and ports) and the bytes are copied both
ways until either side closes. Nothing is parsed: there is no path, no host
header, no rule to route by, no ``X-Forwarded-For`` to add. A ``TLS`` listener
ends TLS with the sandbox's certificates and copies the decrypted bytes.

What the target learns about the client: on AWS, with client IP preservation,
the target sees the client's own address as the connection's source. On one
machine every connection comes from 127.0.0.1, so that cannot show. What can:
with the target group attribute ``proxy_protocol_v2.enabled`` set to
``true``, the proxy sends a proxy protocol version 2 header first, carrying
the client's address and port and the listener's address and port, as AWS
does. :func:`parse_proxy_v2` reads one.

With no routable target, a new connection is closed at once (the client sees
the connection reset).
"""

from __future__ import annotations

import ipaddress
import itertools
import select
import socket
import socketserver
import ssl
import struct
from collections import defaultdict
from typing import Any

from labkit.core.loopback import LoopbackServer
from labkit.services.elb import health, rules, state

#: The 12 bytes every proxy protocol v2 header starts with.
PROXY_V2_SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"

_COUNTERS: dict[str, itertools.count[int]] = defaultdict(itertools.count)


def proxy_v2_header(source: tuple[str, int], destination: tuple[str, int]) -> bytes:
    """A proxy protocol v2 header for a TCP over IPv4 connection (command PROXY)."""
    addresses = socket.inet_aton(source[0]) + socket.inet_aton(destination[0])
    payload = addresses + struct.pack("!HH", source[1], destination[1])
    return PROXY_V2_SIGNATURE + bytes([0x21, 0x11]) + struct.pack("!H", len(payload)) + payload


def parse_proxy_v2(data: bytes) -> tuple[tuple[str, int], tuple[str, int], bytes] | None:
    """``(client, listener, rest)`` from bytes that start with a proxy protocol
    v2 header (TCP over IPv4), or ``None`` when they do not."""
    if len(data) < 16 or not data.startswith(PROXY_V2_SIGNATURE) or data[12] != 0x21 or data[13] != 0x11:
        return None
    length = struct.unpack("!H", data[14:16])[0]
    if len(data) < 16 + length or length < 12:
        return None
    body = data[16:16 + length]
    source = (str(ipaddress.IPv4Address(body[0:4])), struct.unpack("!H", body[8:10])[0])
    destination = (str(ipaddress.IPv4Address(body[4:8])), struct.unpack("!H", body[10:12])[0])
    return source, destination, data[16 + length:]


def choose(lb_arn: str, port: int) -> tuple[Any, health.TargetHealth] | None:
    """The target group and target a new connection on ``port`` goes to."""
    lb = state.balancer(lb_arn)
    listener = None
    if lb is not None:
        listener = next((item for item in list(lb.listeners.values()) if int(item.port) == int(port)), None)
    if listener is None:
        return None
    action = rules.final_action(listener.default_actions)
    groups = state.forwarded_groups(action or {})
    if not groups:
        return None
    tg = state.target_group(groups[0][0])
    if tg is None:
        return None
    candidates = health.routable(tg.arn)
    if not candidates:
        return None
    return tg, candidates[next(_COUNTERS[tg.arn]) % len(candidates)]


def pipe(client: socket.socket, upstream: socket.socket, idle: float) -> None:
    """Copy bytes both ways until one side closes or nothing moves for ``idle`` seconds."""
    sockets = [client, upstream]
    while True:
        readable, _, _ = select.select(sockets, [], [], idle)
        if not readable:
            return
        for source in readable:
            other = upstream if source is client else client
            try:
                data = source.recv(65536)
            except (OSError, ssl.SSLError):
                return
            if not data:
                try:
                    other.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                sockets.remove(source)
                if not sockets or source is upstream:
                    return
                continue
            try:
                other.sendall(data)
            except OSError:
                return


class _Handler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        front: NlbListener = self.server.owner.front  # type: ignore[attr-defined]
        connection: socket.socket = self.request
        self.server.owner.track(connection)  # type: ignore[attr-defined]
        try:
            if front.tls is not None:
                connection.settimeout(10)
                try:
                    connection = front.tls.wrap_socket(connection, server_side=True)
                except (ssl.SSLError, OSError):
                    return
                connection.settimeout(None)
            chosen = choose(front.lb_arn, front.port)
            if chosen is None:
                return
            tg, record = chosen
            where = health.connect_address(record.target_id, record.port, tg)
            if where is None:
                return
            try:
                upstream = socket.create_connection(where, timeout=10)
            except OSError:
                return
            with upstream:
                upstream.settimeout(None)
                if state.tg_attribute(tg, "proxy_protocol_v2.enabled").lower() == "true":
                    client = self.client_address
                    upstream.sendall(proxy_v2_header((client[0], client[1]), (front.address, front.port)))
                pipe(connection, upstream, front.idle)
        finally:
            self.server.owner.untrack(self.request)  # type: ignore[attr-defined]
            try:
                connection.close()
            except OSError:
                pass


class NlbListener:
    """One NLB listener on 127.0.0.1 (a :class:`LoopbackServer`)."""

    def __init__(self, lb_arn: str, port: int, address: str, *, tls: bool = False, idle: float = 350.0) -> None:
        self.lb_arn = lb_arn
        self.port = int(port)
        self.address = address
        self.idle = idle
        self.tls: ssl.SSLContext | None = None
        if tls:
            from labkit.core import tls as authority

            self.tls = authority.server_context()
        self._server = LoopbackServer(_Handler, name="nlb")
        self._server.front = self  # type: ignore[attr-defined]
        self.local_port = self._server.port

    @property
    def running(self) -> bool:
        return self._server.running

    def stop(self) -> None:
        self._server.stop()


def reset() -> None:
    _COUNTERS.clear()
