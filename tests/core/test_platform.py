"""Browser mode (labkit.core.platform): chosen by itself under Pyodide, by
LABKIT_BROWSER_MODE in tests; what needs a server, a thread or a certificate
says so, naming the gap and the local edition, instead of failing deep inside."""

from __future__ import annotations

import socket
import socketserver
import threading

import pytest

import labkit
from labkit.core import loopback, platform, tls


@pytest.fixture
def browser(monkeypatch):
    monkeypatch.setenv(platform.VARIABLE, "1")


def test_browser_mode_follows_pyodide_and_the_variable(monkeypatch):
    monkeypatch.delenv(platform.VARIABLE, raising=False)
    assert not platform.in_browser() and platform.edition() == "local"
    platform.require_local("anything")  # locally: nothing to say
    monkeypatch.setattr(platform.sys, "platform", "emscripten")
    assert platform.in_browser() and platform.edition() == "browser"
    monkeypatch.setattr(platform.sys, "platform", "linux")
    for value, expected in (("1", True), ("true", True), ("0", False), ("", False)):
        monkeypatch.setenv(platform.VARIABLE, value)
        assert platform.in_browser() is expected


def test_a_gap_names_what_and_the_local_edition(browser):
    with pytest.raises(labkit.NotEmulated) as caught:
        platform.require_local("A DNS server", "a browser tab cannot listen on a port")
    assert isinstance(caught.value, platform.BrowserGap)
    message = str(caught.value)
    assert message.startswith("A DNS server is not available in the browser edition")
    assert "cannot listen on a port" in message and "local edition" in message


class _Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        self.request.sendall(self.request.recv(100))


def test_a_server_in_the_browser_is_in_process_and_listens_nowhere(browser):
    threads = threading.active_count()
    server = loopback.LoopbackServer(_Echo, name="echo", configure=lambda s: setattr(s, "setting", 7))
    try:
        assert server.in_process and server.running and server in loopback.live_servers()
        assert loopback.in_process(server.port) is server and server._server.setting == 7
        assert threading.active_count() == threads, "no thread serves it"
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", server.port)) != 0 or not server.in_process
        second = loopback.LoopbackServer(_Echo, port=server.port, name="echo-2")
        assert second.port != server.port, "a taken virtual port is not handed out twice"
        second.stop()
    finally:
        server.stop()
    assert loopback.in_process(server.port) is None and server not in loopback.live_servers()


def test_a_server_starts_locally(monkeypatch):
    monkeypatch.delenv(platform.VARIABLE, raising=False)
    server = loopback.LoopbackServer(_Echo, name="echo")
    try:
        assert server.running and server.port
    finally:
        server.stop()


def test_no_certificate_authority_in_the_browser(browser, monkeypatch):
    monkeypatch.setattr(tls, "_ca", None)
    with pytest.raises(platform.BrowserGap, match="HTTPS served by the sandbox"):
        tls.authority()
    assert tls._ca is None


def test_diagrams_in_browser_mode_outside_a_browser_show_their_alt_text_and_why(browser, monkeypatch):
    """Browser mode in CPython: no dot is used, and Graphviz's WebAssembly build has no JavaScript to run in
    (tests/notebook/test_diagrams_browser.py covers the drawing itself)."""
    from labkit.notebook import diagrams

    monkeypatch.setattr(diagrams, "graphviz_available", lambda: True)  # even where dot exists, the browser has none
    figure = diagrams.draw("Orders", alt="A producer sends orders to a queue.",
                           nodes={"p": ("client", "producer"), "q": ("sqs", "orders")}, edges=[("p", "q")],
                           require_graphviz=True)
    assert figure.png is None and figure.svg is None and "outside a browser tab" in figure.problem
    assert "A producer sends orders to a queue." in figure._repr_html_()
    # What only dot draws (state machines) still says so in the browser.
    assert diagrams.placeholder_if_no_graphviz("ASL", "a state machine", True).problem == diagrams.BROWSER_HINT
    with pytest.raises(KeyError, match="no icon for 'sqss'"):
        diagrams.draw("Typo", alt="x", nodes={"q": ("sqss", "orders")})


def test_a_thread_pool_runs_each_call_in_turn_in_the_browser(browser):
    pool = platform.thread_pool(4, "t")
    assert isinstance(pool, platform.InlineExecutor)
    seen = []
    with pool:
        assert list(pool.map(lambda n: seen.append(threading.get_ident()) or n * n, [1, 2, 3])) == [1, 4, 9]
        failed = pool.submit(lambda: 1 / 0)
    assert set(seen) == {threading.get_ident()} and failed.done()
    with pytest.raises(ZeroDivisionError):
        failed.result()


def test_a_thread_pool_is_a_real_one_locally(monkeypatch):
    monkeypatch.delenv(platform.VARIABLE, raising=False)
    with platform.thread_pool(2, "t") as pool:
        assert not isinstance(pool, platform.InlineExecutor)
        assert pool.submit(threading.get_ident).result() != threading.get_ident()


def test_a_stand_in_finder_answers_its_names_and_their_submodules_only():
    import sys
    import types

    made = []

    def make(name):
        made.append(name)
        return types.ModuleType(name, "a stand-in")

    finder = platform.StandInFinder({"labkit_standin_demo", "labkit_standin_demo.sub"}, make)
    sys.meta_path.insert(0, finder)
    try:
        import labkit_standin_demo.sub  # noqa: F401

        assert made == ["labkit_standin_demo", "labkit_standin_demo.sub"]
        assert sys.modules["labkit_standin_demo"].__path__ == []
        assert finder.find_spec("json") is None
    finally:
        sys.meta_path.remove(finder)
        for name in ("labkit_standin_demo.sub", "labkit_standin_demo"):
            sys.modules.pop(name, None)
