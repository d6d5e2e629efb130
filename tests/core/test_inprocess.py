"""The browser edition's network (labkit.core.inprocess): requests reaches the
sandbox's HTTP servers in-process, by the same names and addresses as locally,
with the same errors; an AWS URL moto does not answer is refused, never sent."""

from __future__ import annotations

import pytest
import requests

import labkit
from labkit.core import inprocess, names, platform
from labkit.core.httpfront import HttpFront, HttpResponse
from labkit.core.offline import OfflineError

NAME = "inprocess-test.example.com"


@pytest.fixture
def front(monkeypatch):
    monkeypatch.setenv(platform.VARIABLE, "1")
    labkit.start()
    inprocess.install()
    seen = []

    def handle(request):
        seen.append(request)
        if request.path == "/boom":
            raise ValueError("a bug in the plane")
        return HttpResponse(201, [("Content-Type", "text/plain; charset=utf-8"), ("X-Seen", request.host)],
                            f"{request.method} {request.target} {request.body.decode()}".encode())

    server = HttpFront(handle, name="inprocess-test")
    address = names.allocate_address("inprocess-test")
    names.bind(address, 80, server.port)
    names.claim("inprocess-test", lambda host: [address] if host == NAME else None)
    yield server, address, seen
    names.unclaim("inprocess-test")
    names.unbind(address)
    server.stop()


def test_requests_reach_an_in_process_front_by_name_and_by_address(front):
    server, address, seen = front
    answer = requests.get(f"http://{NAME}/items?id=7", timeout=5)
    assert (answer.status_code, answer.text, answer.headers["x-seen"]) == (201, "GET /items?id=7 ", NAME)
    assert answer.encoding == "utf-8" and answer.reason == "Created"
    posted = requests.post(f"http://{address}/orders", json={"n": 1}, timeout=5)
    assert posted.text == 'POST /orders {"n": 1}'
    assert seen[-1].header("content-type") == "application/json" and seen[-1].scheme == "http"
    assert requests.head(f"http://{NAME}/", timeout=5).content == b""


def test_a_plane_that_raises_answers_500_and_keeps_the_error(front):
    server, _, _ = front
    assert requests.get(f"http://{NAME}/boom", timeout=5).status_code == 500
    assert "a bug in the plane" in server.errors[-1]


def test_a_wrong_port_or_a_stopped_server_is_a_refused_connection(front):
    server, _, _ = front
    with pytest.raises(requests.ConnectionError, match="nothing there listens on port 81"):
        requests.get(f"http://{NAME}:81/", timeout=5)
    server.stop()
    with pytest.raises(requests.ConnectionError, match="nothing serves there now"):
        requests.get(f"http://{NAME}/", timeout=5)


def test_an_aws_url_moto_does_not_answer_is_refused_in_the_browser(front):
    with pytest.raises(OfflineError, match="labs never send requests to real AWS"):
        requests.get("https://nothing-here.lambda-url.us-east-1.on.aws/", timeout=5)


def test_locally_requests_go_through_the_socket(monkeypatch):
    monkeypatch.delenv(platform.VARIABLE, raising=False)
    labkit.start()
    inprocess.install()
    assert not isinstance(requests.Session().get_adapter(f"http://{NAME}/"), inprocess.SandboxAdapter)


def test_a_servers_own_loopback_address_reaches_it_in_process(front):
    server, _, seen = front
    assert inprocess.server_at("127.0.0.1", server.port).front is server
    answer = requests.get(server.url + "/direct", timeout=5)  # http://127.0.0.1:<virtual port>
    assert (answer.status_code, seen[-1].path, seen[-1].host) == (201, "/direct", "127.0.0.1")
    assert inprocess.server_at("localhost", 9) is None  # nothing in-process there: not the sandbox's to answer
    server.stop()
    assert inprocess.server_at("127.0.0.1", server.port) is None
