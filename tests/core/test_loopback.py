"""labkit.core.loopback: a TCP front on 127.0.0.1, tracked, with a clean stop."""

from __future__ import annotations

import socket
import socketserver

import pytest

from labkit.core import loopback
from labkit.core.loopback import LoopbackServer


class Upper(socketserver.StreamRequestHandler):
    """Answers each line in capitals; its connection is tracked by the server."""

    def handle(self) -> None:
        owner = self.server.owner
        owner.track(self.connection)
        try:
            for line in self.rfile:
                self.wfile.write(line.upper())
        finally:
            owner.untrack(self.connection)


@pytest.fixture()
def servers():
    started = []
    yield started
    for server in started:
        server.stop()


def start(servers, **kwargs) -> LoopbackServer:
    server = LoopbackServer(Upper, name="upper", **kwargs)
    servers.append(server)
    return server


def ask(sock: socket.socket, line: bytes) -> bytes:
    sock.sendall(line)
    return sock.recv(100)


def refused(address) -> bool:
    try:
        socket.create_connection(address, timeout=1).close()
    except OSError:
        return True
    return False


def test_a_server_serves_its_handler_on_loopback(servers):
    server = start(servers)
    assert server.address == ("127.0.0.1", server.port) and server.port > 0 and server.running
    assert server in loopback.live_servers()
    assert server._thread.name == f"labkit-upper-{server.port}" and server._thread.daemon
    with socket.create_connection(server.address, timeout=5) as sock:
        assert ask(sock, b"hello\n") == b"HELLO\n"


def test_stop_closes_connections_stops_listening_and_ends_the_thread(servers):
    server = start(servers)
    sock = socket.create_connection(server.address, timeout=5)
    assert ask(sock, b"one\n") == b"ONE\n"
    server.stop()
    assert sock.recv(100) == b"", "the open connection was closed under the client"
    sock.close()
    assert refused(server.address)
    assert not server.running and server not in loopback.live_servers()
    assert not server._thread.is_alive()
    server.stop()  # twice is fine


def test_a_fixed_port_can_be_served_again_after_a_stop(servers):
    first = start(servers)
    first.stop()
    again = start(servers, port=first.port)
    with socket.create_connection(again.address, timeout=5) as sock:
        assert ask(sock, b"back\n") == b"BACK\n"


def test_configure_sees_the_server_before_it_listens(servers):
    seen = []
    server = start(servers, configure=lambda tcp: seen.append((tcp.server_address[1], tcp.allow_reuse_address)))
    assert seen == [(0, True)] and server.port != 0


def test_stop_all_stops_every_server(servers):
    started = [start(servers), start(servers)]
    loopback.stop_all()
    assert loopback.live_servers() == []
    assert all(refused(server.address) for server in started)


def test_in_the_browser_a_stopped_servers_port_is_not_handed_out_again_at_once(servers, monkeypatch):
    from labkit.core import platform

    monkeypatch.setenv(platform.VARIABLE, "1")
    first = start(servers)
    first.stop()
    second = start(servers)
    assert second.in_process and second.port != first.port  # a client of the stopped one is refused
    assert loopback.in_process(first.port) is None and loopback.in_process(second.port) is second
    again = start(servers, port=first.port)  # a fixed port comes back when asked for
    assert again.port == first.port
    taken = start(servers, port=second.port)  # ...and is another number while it is taken
    assert taken.port not in (first.port, second.port)
