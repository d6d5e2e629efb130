"""labkit.core.httpfront: a plane's function served over HTTP/1.1, robust to bad clients."""

from __future__ import annotations

import socket

import pytest
import requests

from labkit.core import loopback
from labkit.core.httpfront import HttpFront, HttpRequest, HttpResponse


def echo(request: HttpRequest) -> HttpResponse:
    if request.path == "/boom":
        raise ValueError("a plane's bug")
    return HttpResponse.json(200, {"method": request.method, "path": request.path, "query": request.query_params,
                                   "body": request.body.decode(), "client": request.client[0],
                                   "agent": request.header("USER-AGENT")})


@pytest.fixture()
def front():
    server = HttpFront(echo, name="echo")
    yield server
    server.stop()


def raw(front, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", front.port), timeout=5) as conn:
        conn.sendall(data)
        return conn.recv(4096)


def test_the_handler_is_a_plain_function_callable_in_process():
    answer = echo(HttpRequest("GET", "/a", "x=1&y=", [("User-Agent", "t")]))
    assert answer.status == 200 and b'"query": [["x", "1"], ["y", ""]]' in answer.body


def test_methods_bodies_and_keep_alive(front):
    with requests.Session() as session:
        for method in ("GET", "POST", "DELETE", "PATCH", "PURGE"):
            answer = session.request(method, f"{front.url}/p?a=1", data=b"xyz" if method == "POST" else None, timeout=5)
            assert answer.status_code == 200 and answer.json()["method"] == method
        assert session.post(f"{front.url}/c", data=iter([b"ab", b"cd"]), timeout=5).json()["body"] == "abcd"  # chunked
    assert requests.head(f"{front.url}/h", timeout=5).content == b""


def test_malformed_requests_get_400_and_the_server_keeps_serving(front):
    for garbage in (b"GARBAGE\r\n\r\n", b"GET / HTTP/1.1\r\nContent-Length: nope\r\n\r\n",
                    b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + b"\x00" * 40 + b"\r\n\r\n"):
        assert raw(front, garbage).startswith(b"HTTP/1.1 400 ")
    assert requests.get(f"{front.url}/still", timeout=5).json()["path"] == "/still"


def test_a_handler_that_raises_answers_500_and_is_remembered(front):
    assert requests.get(f"{front.url}/boom", timeout=5).status_code == 500
    assert "a plane's bug" in front.errors[-1]
    assert requests.get(f"{front.url}/fine", timeout=5).status_code == 200


def test_stop_closes_the_port_and_reset_stops_every_front(lab):
    server = HttpFront(echo, name="echo")
    assert server in [s.front for s in loopback.live_servers() if hasattr(s, "front")]
    lab.reset()
    assert not server.running
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", server.port), timeout=1).close()
