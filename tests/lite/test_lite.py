"""The browser edition, run in a real browser: JupyterLite in Debian's Chromium.

``make test-lite`` runs this module (``make lite`` first fills the download
cache); ``make test`` skips it unless ``LABKIT_LITE=1``. A site is built from
the cache (:mod:`scripts.build_lite`: the notebooks that declare the browser
edition, and this folder's smoke notebook) and served on 127.0.0.1; set
``LABKIT_LITE_SITE`` to a built site (with ``tests/fixtures/lite``'s notebooks
in it: ``build_lite.py --notebook``) to test that one instead. Then, each notebook in a fresh browser context:

- opens in JupyterLite's JupyterLab (``lab/index.html?path=...``), its kernel
  is Pyodide's, and every cell is run (JupyterLab's "run all"): the test fails
  on a cell's error, and names the cell;
- no request leaves loopback. Chromium is sent through a proxy that answers
  every request 403 and records it (the site's own address, 127.0.0.1, is not
  proxied): a page's requests and its workers' alike, where the kernel runs.
  The test fails if the proxy saw any but Chromium's own background services
  (:data:`CHROMIUM_SERVICES`). A canary notebook asks for an outside address
  from the kernel, and the test checks that the proxy saw it;
- nothing the page asks of the site's own files answers 404 (a wheel or a
  Pyodide file the build left out).

The time from the page's load to the first cell's completion is printed (the
benchmark, bench/bench_lite.py, is where speed is judged).
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import socketserver
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, playwright_or_fail

ROOT = Path(__file__).resolve().parents[2]
#: Added to the test's site: the smoke notebook (boto3, moto, the standard library's parts, labkit's
#: sandbox and SQS), and the canary that asks for an address outside loopback.
FIXTURES = ROOT / "tests" / "fixtures" / "lite"
SMOKE, CANARY = FIXTURES / "smoke.ipynb", FIXTURES / "outside.ipynb"
#: The canary's address (TEST-NET-2: never routed).
CANARY_ADDRESS = "198.51.100.7"
#: Chromium's own background services, which it calls whatever the page does (updates,
#: sign-in, autofill): refused by the proxy like the rest, but not the page's requests.
CHROMIUM_SERVICES = ("update.googleapis.com", "accounts.google.com", "content-autofill.googleapis.com",
                     "optimizationguide-pa.googleapis.com", "clients2.google.com", "edgedl.me.gvt1.com",
                     "safebrowsingohttpgateway.googleapis.com", "www.googleapis.com")
#: A built site to test instead of building one.
SITE_VARIABLE = "LABKIT_LITE_SITE"
#: Opening a notebook, starting Pyodide and running every cell, at most (seconds).
NOTEBOOK_TIMEOUT = 300

pytestmark = pytest.mark.notebook
if os.environ.get("LABKIT_LITE") != "1" and not os.environ.get(SITE_VARIABLE):
    pytest.skip("the browser edition's test runs in `make test-lite` (LABKIT_LITE=1)", allow_module_level=True)

sys.path.insert(0, str(ROOT / "scripts"))
import build_lite  # noqa: E402

#: The site's notebooks that declare the browser edition, and the smoke notebook.
DECLARED = sorted(build_lite.site_notebooks([], only_extra=False))
NOTEBOOKS = ["smoke.ipynb", *DECLARED]

#: The site's own files: one missing (404) is a build's fault. (JupyterLite's in-browser API,
#: /api/..., answers 404 when it looks for a file that is not there, by design.)
SHIPPED = ("/static/", "/build/", "/extensions/", "/lab/", "/files/")
#: Served to JupyterLite with the types a browser insists on for modules and WebAssembly.
TYPES = {".wasm": "application/wasm", ".mjs": "text/javascript", ".js": "text/javascript", ".json": "application/json",
         ".whl": "application/octet-stream", ".zip": "application/zip", ".ipynb": "application/json"}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    given = os.environ.get(SITE_VARIABLE)
    if given:
        path = Path(given).resolve()
        assert (path / "lab" / "index.html").exists(), f"{SITE_VARIABLE}={given}: no JupyterLite site there"
        return path
    out = tmp_path_factory.mktemp("lite") / "site"
    try:
        build_lite.build(out, [SMOKE, CANARY], only_extra=False)
    except build_lite.BuildError as error:
        pytest.fail(f"the site could not be built (run `make lite` first, which fills the download cache): {error}",
                    pytrace=False)
    return out


class _Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, **TYPES}

    def log_message(self, *args: object) -> None:
        pass


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


@pytest.fixture(scope="module")
def origin(site: Path) -> Iterator[str]:
    server = _Server(("127.0.0.1", 0), functools.partial(_Handler, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
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


@pytest.fixture(scope="module")
def proxy() -> Iterator[Proxy]:
    recorded = Proxy()
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _ProxyHandler)
    server.daemon_threads = True
    server.proxy = recorded
    recorded.port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield recorded
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser(proxy: Proxy) -> Iterator[object]:
    sync_api = playwright_or_fail()
    with sync_api.sync_playwright() as playwright:
        # Every request goes to the proxy, except loopback's (Chromium never proxies those).
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=[*CHROMIUM_ARGS, f"--proxy-server=http://127.0.0.1:{proxy.port}"])
        yield browser
        browser.close()


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


def chromium_service(line: str) -> bool:
    """Whether a request line the proxy saw (``CONNECT host:443 HTTP/1.1``, ``GET http://host/...``) is Chromium's own."""
    target = line.split()[1] if len(line.split()) > 1 else ""
    host = target.split("://", 1)[-1].split("/", 1)[0].rsplit(":", 1)[0]
    return host in CHROMIUM_SERVICES


def errors_of(run: Run) -> list[str]:
    found = []
    for cell in run.cells:
        for output in cell["outputs"]:
            if output.get("output_type") == "error":
                found.append(f"cell {cell['index']} ({cell['source'].splitlines()[0] if cell['source'] else ''!r}): "
                             f"{output.get('ename')}: {output.get('evalue')}")
    return found


@pytest.mark.parametrize("path", NOTEBOOKS)
def test_every_cell_runs_in_the_browser_and_nothing_leaves_loopback(browser: object, origin: str, proxy: Proxy,
                                                                   path: str) -> None:
    before = len(proxy.asked)
    started = time.monotonic()
    run = run_notebook(browser, origin, path)
    print(f"{path}: first cell done {run.first_cell_s:.1f} s after the page's start; "
          f"all cells in {time.monotonic() - started:.1f} s" if run.first_cell_s else f"{path}: no cell finished")
    assert run.kernel == "python", f"{path} did not start JupyterLite's Pyodide kernel (kernel: {run.kernel})"
    assert not errors_of(run), f"{path}: cells failed in the browser:\n" + "\n".join(errors_of(run))
    assert run.ran is True, f"{path}: run-all did not finish ({run.ran!r})"
    not_run = [cell["index"] for cell in run.cells if cell["count"] is None]
    assert not not_run, f"{path}: cells never ran: {not_run}"
    outside = [line for line in proxy.asked[before:] if not chromium_service(line)]
    assert outside == [], f"{path}: requests that left loopback: {outside}"
    assert run.missing == [], f"{path}: files the site lacks (404): {run.missing}"


def test_a_request_from_the_kernel_to_an_outside_address_is_seen_and_refused(browser: object, origin: str,
                                                                           proxy: Proxy) -> None:
    before = len(proxy.asked)
    run = run_notebook(browser, origin, CANARY.name)
    assert not errors_of(run), errors_of(run)
    assert [line for line in proxy.asked[before:] if CANARY_ADDRESS in line], proxy.asked[before:]
    printed = "".join(output.get("text", "") for cell in run.cells for output in cell["outputs"])
    assert "refused:" in printed, printed


def test_the_site_ships_only_what_its_lock_names_and_no_compiled_package(site: Path) -> None:
    pyodide = site / "static" / "pyodide"
    lock = json.loads((pyodide / "pyodide-lock.json").read_text(encoding="utf-8"))["packages"]
    wheels = {path.name for path in pyodide.glob("*.whl")}
    assert wheels == {entry["file_name"] for entry in lock.values()}
    assert all(name.endswith("-none-any.whl") for name in wheels), sorted(wheels)
    assert not any(name.startswith(("cryptography", "trustme")) for name in wheels)
    assert {"labkit", "boto3", "moto", "ipython", "pyodide-kernel", "piplite"} <= set(lock)
    config = json.loads((site / "jupyter-lite.json").read_text(encoding="utf-8"))["jupyter-config-data"]
    kernel = config["litePluginSettings"][build_lite.KERNEL_PLUGIN]
    assert kernel["disablePyPIFallback"] is True
    assert sorted(kernel["loadPyodideOptions"]["packages"]) == sorted(lock)
    assert kernel["pyodideUrl"] == "./static/pyodide/pyodide.mjs"


def test_the_labs_in_the_site_are_the_learners_copies(site: Path) -> None:
    for path in DECLARED:
        if not path.startswith("labs/"):
            continue
        nb = json.loads((site / "files" / path).read_text(encoding="utf-8"))
        tags = {tag for cell in nb["cells"] for tag in cell.get("metadata", {}).get("tags", [])}
        assert not {"solution", "hidden"} & tags, f"{path} in the site holds {tags}"
        assert nb["metadata"]["kernelspec"]["name"] == "python"
