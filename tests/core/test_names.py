"""labkit.core.names: AWS names reach local planes; other AWS names are refused."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request

import pytest
import requests

import labkit
from labkit.core import names
from labkit.core.httpfront import HttpFront, HttpResponse


@pytest.fixture()
def plane(lab):
    """A claimed name, ``web-1.us-east-1.elb.amazonaws.com``, served by an echo front on port 80."""
    def echo(request):
        return HttpResponse.json(200, {"host": request.header("host"), "target": request.target})

    front = HttpFront(echo, name="echo")
    address = names.allocate_address("test")
    names.bind(address, 80, front.port)
    names.claim("test", lambda host: [address] if host == "web-1.us-east-1.elb.amazonaws.com" else None)
    yield address
    names.unclaim("test")
    front.stop()


def test_virtual_addresses_are_never_routed_and_never_repeat(lab):
    first, second = names.allocate_address("a"), names.allocate_address("b")
    assert first != second
    for address in (first, second):
        assert names.VIRTUAL_NETWORK.network_address < __import__("ipaddress").ip_address(address)
        assert address.startswith("198.1")
    assert names.owner_of(first) == "a"


def test_requests_and_urllib_reach_the_claimed_name_with_the_host_header_intact(plane):
    url = "http://web-1.us-east-1.elb.amazonaws.com/api/cart?item=42"
    answer = requests.get(url, timeout=5).json()
    assert answer == {"host": "web-1.us-east-1.elb.amazonaws.com", "target": "/api/cart?item=42"}
    with urllib.request.urlopen(url, timeout=5) as response:
        assert json.load(response) == answer


def test_getaddrinfo_answers_the_bound_loopback_port(plane):
    (family, kind, _, _, address), = socket.getaddrinfo("web-1.us-east-1.elb.amazonaws.com", 80, type=socket.SOCK_STREAM)
    assert family == socket.AF_INET and kind == socket.SOCK_STREAM
    assert address == ("127.0.0.1", names.bound(plane, 80))
    assert names.connect_targets(plane, 80) == [address]  # the virtual address itself is bound too


def test_a_port_nobody_listens_on_is_refused_with_a_message(plane):
    with pytest.raises(names.NoListener, match="nothing there listens on port 8080"):
        socket.getaddrinfo("web-1.us-east-1.elb.amazonaws.com", 8080)
    with pytest.raises(requests.ConnectionError, match="port 8080"):
        requests.get("http://web-1.us-east-1.elb.amazonaws.com:8080/", timeout=5)


def test_other_aws_names_are_refused_before_any_lookup(lab):
    for url in ("http://unknown-7.us-east-1.elb.amazonaws.com/", "https://sqs.us-east-1.amazonaws.com/"):
        with pytest.raises(labkit.OfflineError, match="never send requests to real AWS"):
            urllib.request.urlopen(url, timeout=5)
    with pytest.raises(labkit.OfflineError):
        socket.getaddrinfo("example.us-east-1.on.aws", 443)


def test_requests_to_an_aws_url_moto_cannot_answer_are_refused_not_faked(lab):
    with pytest.raises(labkit.OfflineError):
        requests.get("https://nosuchservice.us-east-1.amazonaws.com/", timeout=5)


def test_loopback_and_other_hosts_are_left_alone(lab):
    assert socket.getaddrinfo("127.0.0.1", 80)[0][4][0] == "127.0.0.1"
    assert socket.getaddrinfo("localhost", 80, socket.AF_INET)[0][4][0].startswith("127.")
    assert names.connect_targets("www.example.org", 80) is None


def test_reset_forgets_bindings_and_restarts_the_address_pool(plane, lab):
    assert names.bindings()
    lab.reset()
    assert names.bindings() == {}
    with pytest.raises(names.NoListener):
        socket.getaddrinfo("web-1.us-east-1.elb.amazonaws.com", 80)


def test_the_registry_seam_matches_moto():
    from labkit.core import seams

    assert seams.check(names.SEAMS) == []


def test_a_name_its_owner_says_does_not_exist_fails_as_dns_does(lab):
    names.claim("test-nx", lambda host: names.NO_SUCH_NAME if host.endswith(".nx.example.com") else None)
    try:
        with pytest.raises(socket.gaierror, match="NXDOMAIN"):
            socket.getaddrinfo("www.nx.example.com", 80)
        with pytest.raises(requests.ConnectionError):
            requests.get("http://www.nx.example.com/", timeout=5)
        assert names.resolve("www.nx.example.com") == [] and names.resolve("www.nx.example.com") is names.NO_SUCH_NAME
    finally:
        names.unclaim("test-nx")
