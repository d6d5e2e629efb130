"""The browser edition, run in a real browser: JupyterLite in Debian's Chromium.

``make test-lite`` runs this module (``make lite`` first fills the download
cache); ``make test`` skips it unless ``LABKIT_LITE=1``. A site is built from
the cache (:mod:`scripts.build_lite`: the notebooks that declare the browser
edition, and this folder's smoke notebook) and served on 127.0.0.1; set
``LABKIT_LITE_SITE`` to a built site (with ``tests/fixtures/lite``'s notebooks
and the labs' strict sources in it: ``build_lite.py --notebook``, see
:func:`strict_sources`) to test that one instead. The walkthroughs run as the
site has them; each lab runs as its source, solutions in and checks strict (a
failed check raises), since the site's own copy is the learners', answer
cells unsolved. Then, each notebook in a fresh browser context:

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

import json
import os
import re
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.lite.site import Proxy, Run, browser_with_proxy, run_notebook, serve

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

pytestmark = pytest.mark.notebook
if os.environ.get("LABKIT_LITE") != "1" and not os.environ.get(SITE_VARIABLE):
    pytest.skip("the browser edition's test runs in `make test-lite` (LABKIT_LITE=1)", allow_module_level=True)

sys.path.insert(0, str(ROOT / "scripts"))
import build_lite  # noqa: E402

#: The site's notebooks that declare the browser edition, and the smoke notebook.
DECLARED = sorted(build_lite.site_notebooks([], only_extra=False))
#: A lab runs here as its source (solutions in, checks strict: a check that fails raises), added
#: to the test's site as ``lab-<name>.ipynb``: the site's own copy of a lab is the learners', whose
#: answer cells are unsolved. Walkthroughs run as the site has them.
SOURCE_PREFIX = "lab-"
STRICT_CELL = 'import os\nos.environ["LABKIT_STRICT"] = "1"  # the course\'s tests: a failed check raises'
NOTEBOOKS = ["smoke.ipynb", *[path for path in DECLARED if not path.startswith("labs/")],
             *[f"{SOURCE_PREFIX}{Path(path).name}" for path in DECLARED if path.startswith("labs/")]]


def strict_sources(folder: Path) -> list[Path]:
    """The sources of the labs that declare the browser edition, each with a first cell that
    makes its checks strict, written into ``folder`` as ``lab-<name>.ipynb``."""
    import nbformat

    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for path in DECLARED:
        if not path.startswith("labs/"):
            continue
        nb = nbformat.read(ROOT / path, as_version=4)
        nb.cells.insert(0, nbformat.v4.new_code_cell(STRICT_CELL))
        target = folder / f"{SOURCE_PREFIX}{Path(path).name}"
        nbformat.write(nb, target)
        written.append(target)
    return written

@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    given = os.environ.get(SITE_VARIABLE)
    if given:
        path = Path(given).resolve()
        assert (path / "lab" / "index.html").exists(), f"{SITE_VARIABLE}={given}: no JupyterLite site there"
        return path
    work = tmp_path_factory.mktemp("lite")
    out = work / "site"
    try:
        build_lite.build(out, [SMOKE, CANARY, *strict_sources(work / "sources")], only_extra=False)
    except build_lite.BuildError as error:
        pytest.fail(f"the site could not be built (run `make lite` first, which fills the download cache): {error}",
                    pytrace=False)
    return out


@pytest.fixture(scope="module")
def origin(site: Path) -> Iterator[str]:
    with serve(site) as address:
        yield address


@pytest.fixture(scope="module")
def browser_and_proxy() -> Iterator[tuple[object, Proxy]]:
    with browser_with_proxy() as pair:
        yield pair


@pytest.fixture(scope="module")
def browser(browser_and_proxy: tuple[object, Proxy]) -> object:
    return browser_and_proxy[0]


@pytest.fixture(scope="module")
def proxy(browser_and_proxy: tuple[object, Proxy]) -> Proxy:
    return browser_and_proxy[1]


def chromium_service(line: str) -> bool:
    """Whether a request line the proxy saw (``CONNECT host:443 HTTP/1.1``, ``GET http://host/...``) is Chromium's own."""
    target = line.split()[1] if len(line.split()) > 1 else ""
    host = target.split("://", 1)[-1].split("/", 1)[0].rsplit(":", 1)[0]
    return host in CHROMIUM_SERVICES


def errors_of(run: Run) -> list[str]:
    """Each failed cell: its first line, the error, and the traceback's last lines (where it was raised)."""
    found = []
    for cell in run.cells:
        for output in cell["outputs"]:
            if output.get("output_type") == "error":
                trace = [re.sub(r"\x1b\[[0-9;]*m", "", line) for line in output.get("traceback", [])]
                where = "\n".join(trace[-4:-1])
                found.append(f"cell {cell['index']} ({cell['source'].splitlines()[0] if cell['source'] else ''!r}): "
                             f"{output.get('ename')}: {output.get('evalue')}\n{where}")
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


def test_the_sites_python_is_bytecode_and_labkit_keeps_its_source(site: Path) -> None:
    """The notebooks' runs above import from these wheels: a .pyc of another Python would fail them."""
    pyodide = site / "static" / "pyodide"

    def names(dist: str) -> list[str]:
        with zipfile.ZipFile(next(pyodide.glob(f"{dist}-*.whl"))) as archive:
            return archive.namelist()

    for dist in ("boto3", "botocore", "moto", "ipython"):
        files = names(dist)
        assert not [name for name in files if name.endswith(".py")], dist
        assert len([name for name in files if name.endswith(".pyc")]) > 10, dist
    labkit = names("labkit")
    sources = {name for name in labkit if name.endswith(".py")}
    compiled = {name.replace("__pycache__/", "").rsplit(".", 2)[0] + ".py" for name in labkit if name.endswith(".pyc")}
    assert sources and sources == compiled
    moto = {name.split("/")[1] for name in names("moto") if name.count("/") >= 2}
    assert {"sqs", "stepfunctions", "awslambda", "core"} <= moto and not {"glue", "transcribe"} & moto
    assert not [name for name in names("jedi") if "/typeshed/stubs/" in name]


def test_the_labs_in_the_site_are_the_learners_copies(site: Path) -> None:
    for path in DECLARED:
        if not path.startswith("labs/"):
            continue
        nb = json.loads((site / "files" / path).read_text(encoding="utf-8"))
        tags = {tag for cell in nb["cells"] for tag in cell.get("metadata", {}).get("tags", [])}
        assert not {"solution", "hidden"} & tags, f"{path} in the site holds {tags}"
        assert nb["metadata"]["kernelspec"]["name"] == "python"
