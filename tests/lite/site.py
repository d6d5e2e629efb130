"""Serving a JupyterLite site on loopback and running its notebooks in Chromium.

Shared by the browser edition's test (tests/lite/test_lite.py) and its
benchmark (bench/bench_lite.py):

- :func:`serve`: the site on 127.0.0.1, with the types a browser insists on
  for ES modules and WebAssembly;
- :func:`browser_with_proxy`: Debian's Chromium, headless, sending every
  request that is not to loopback to a :class:`Proxy` that refuses it (403) and
  records it: a page's requests and its workers' alike (the kernel runs in a
  worker);
- :func:`run_notebook`: opens a notebook of the site in JupyterLite's
  JupyterLab in a fresh browser context (nothing cached), waits for the
  Pyodide kernel, runs every cell, and returns each code cell's outputs and
  when the first one finished.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import socketserver
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, playwright_or_fail

#: Opening a notebook, starting Pyodide and running every cell, at most (seconds).
NOTEBOOK_TIMEOUT = 300
#: The site's own files: one missing (404) is a build's fault. (JupyterLite's in-browser API,
#: /api/..., answers 404 when it looks for a file that is not there, by design.)
SHIPPED = ("/static/", "/build/", "/extensions/", "/lab/", "/files/")
#: Served to JupyterLite with the types a browser insists on for modules and WebAssembly.
TYPES = {".wasm": "application/wasm", ".mjs": "text/javascript", ".js": "text/javascript", ".json": "application/json",
         ".whl": "application/octet-stream", ".zip": "application/zip", ".ipynb": "application/json"}


class _Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, **TYPES}

    def log_message(self, *args: object) -> None:
        pass


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        """A tab closed while a file was on its way (a context closed after its notebook ran): not an error."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@contextlib.contextmanager
def serve(site: Path) -> Iterator[str]:
    """The site served on 127.0.0.1; yields its origin (``http://127.0.0.1:PORT``)."""
    server = _Server(("127.0.0.1", 0), functools.partial(_Handler, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Proxy:
    """A proxy that refuses every request (403) and records what was asked."""

    asked: list[str] = field(default_factory=list)
    port: int = 0


class _ProxyHandler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        line = self.rfile.readline(65536).decode("latin-1").strip()
        if line:
            self.server.proxy.asked.append(line)
        body = b"the course's browser test: no request may leave loopback\n"
        self.wfile.write(b"HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nConnection: close\r\n"
                         + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)


@contextlib.contextmanager
def browser_with_proxy() -> Iterator[tuple[object, Proxy]]:
    """Chromium (headless) whose every request not to loopback goes to a recording, refusing proxy."""
    sync_api = playwright_or_fail()
    recorded = Proxy()
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _ProxyHandler)
    server.daemon_threads = True
    server.proxy = recorded
    recorded.port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with sync_api.sync_playwright() as playwright:
            # Chromium never sends loopback's requests to a proxy: the site is reached directly.
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                                 args=[*CHROMIUM_ARGS, f"--proxy-server=http://127.0.0.1:{recorded.port}"])
            try:
                yield browser, recorded
            finally:
                browser.close()
    finally:
        server.shutdown()
        server.server_close()


#: Runs in the page: waits for the notebook and its kernel, runs every cell, and
#: returns each code cell's outputs and when the first cell finished.
RUN_ALL = """
async ([path, timeoutMs]) => {
  const t0 = performance.timeOrigin;
  const sleep = ms => new Promise(r => setTimeout(r, ms));
  const deadline = performance.now() + timeoutMs;
  while (!window.jupyterapp) { if (performance.now() > deadline) throw new Error('no window.jupyterapp'); await sleep(100); }
  const app = window.jupyterapp;
  await app.restored;
  let panel = null;
  while (true) {
    const w = app.shell.currentWidget;
    if (w && w.context && w.context.path === path) { panel = w; break; }
    if (performance.now() > deadline) throw new Error('the notebook did not open: ' + path);
    await sleep(100);
  }
  await panel.context.ready;
  await panel.sessionContext.ready;
  // Run only once the kernel is up: run-all on a kernel still starting asks which kernel to use.
  while (panel.sessionContext.kernelDisplayStatus !== 'idle') {
    if (performance.now() > deadline) throw new Error('the kernel did not start: ' + panel.sessionContext.kernelDisplayStatus);
    await sleep(100);
  }
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  const cells = panel.content.model.cells;
  let firstCode = -1;
  for (let i = 0; i < cells.length; i++) { if (cells.get(i).type === 'code') { firstCode = i; break; } }
  let firstDone = null;
  const watch = (async () => {
    while (firstDone === null && firstCode >= 0) {
      const c = cells.get(firstCode);
      if (c.executionCount !== null && c.executionCount !== undefined) { firstDone = performance.now(); break; }
      if (performance.now() > deadline) break;
      await sleep(50);
    }
  })();
  const ran = await Promise.race([
    app.commands.execute('notebook:run-all-cells'),
    (async () => { while (performance.now() < deadline) await sleep(500); return 'timeout'; })(),
  ]);
  await Promise.race([watch, sleep(1000)]);
  const out = [];
  for (let i = 0; i < cells.length; i++) {
    const c = cells.get(i);
    if (c.type !== 'code') continue;
    out.push({index: i, source: c.sharedModel.getSource(), count: c.executionCount,
              outputs: c.outputs.toJSON()});
  }
  return {ran, kernel: kernel ? kernel.name : null, firstCellMs: firstDone, cells: out};
}
"""


@dataclass
class Run:
    ran: object
    kernel: str | None
    first_cell_s: float | None
    cells: list[dict]
    missing: list[str]


def run_notebook(browser: object, origin: str, path: str, timeout: float = NOTEBOOK_TIMEOUT) -> Run:
    """Open ``path`` of the site in a fresh context, run all its cells, return what happened."""
    context = browser.new_context()
    missing: list[str] = []
    context.on("response", lambda response: missing.append(response.url) if response.status == 404
               and urlsplit(response.url).path.startswith(SHIPPED) else None)
    page = context.new_page()
    try:
        page.set_default_timeout(timeout * 1000)
        page.goto(f"{origin}/lab/index.html?path={path}", wait_until="load")
        result = page.evaluate(RUN_ALL, [path, timeout * 1000])
    finally:
        context.close()
    first = result["firstCellMs"]
    return Run(result["ran"], result["kernel"], None if first is None else first / 1000, result["cells"], missing)


