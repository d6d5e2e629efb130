"""The browser edition's claim, tested without a browser.

A notebook declares the editions it runs in (``metadata["labkit"]["editions"]``:
``"local"``, and ``"browser"`` when it runs in JupyterLite). Every notebook
that declares ``"browser"`` runs here, top to bottom (a lab's source, so every
check must pass), in a CPython process that behaves like Pyodide
(:mod:`tests.lite.pyodide_like`): browser mode on, no threads, no sockets, no
subprocesses, no Graphviz, no ``cryptography`` or ``trustme``. A claim is
therefore tested twice: here, quickly and without a browser (``make test-lite``
runs these notebook runs beside ``tests/lite/test_lite.py``, which runs the same
notebooks in a real browser; set ``LABKIT_LITE=1`` to run them alone, the inner
loop of a chapter's browser work), and in Chromium.

The harness itself is tested first: each thing it takes away is really gone
in its process, so a notebook that passes here did not need it.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import sys
from pathlib import Path

import nbformat
import pytest

from tests.lite import pyodide_like

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb")) + sorted((ROOT / "labs").glob("*.ipynb"))

# Each notebook is a process of its own, long and independent: one xdist slot each (tests/harness.py).
SPREAD = True


#: What the browser site installs for labkit (helper packages of the kernel aside).
REQUIREMENTS = ROOT / "lite" / "requirements.txt"

#: Modules the site has without lite/requirements.txt: the kernel's (IPython and what it brings) and labkit's own wheel.
#: (cryptography and rfc3987_syntax: labkit's stand-ins; cython_runtime: made by a compiled module's loader,
#: whose pure-Python fallback the browser uses.)
KERNEL_MODULES = {"IPython", "labkit", "cryptography", "rfc3987_syntax", "cython_runtime"}


#: What the site installs for the kernel itself (IPython, comm...): available to every notebook.
KERNEL_REQUIREMENTS = ROOT / "lite" / "kernel-requirements.txt"


def required(path: Path = REQUIREMENTS) -> dict[str, str]:
    """A requirements file as {normalized distribution name: version}."""
    pins = {}
    if not path.exists():
        return pins
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            pins[re.sub(r"[-_.]+", "-", name).lower()] = version
    return pins


def distributions_of(modules: list[str]) -> dict[str, set[str]]:
    """The installed distributions that provide ``modules`` (standard library and kernel modules left out)."""
    provided = importlib.metadata.packages_distributions()
    found: dict[str, set[str]] = {}
    for module in modules:
        if module in sys.stdlib_module_names or module.startswith("_") or module in KERNEL_MODULES:
            continue
        for name in provided.get(module, [f"<no distribution provides {module}>"]):
            found.setdefault(re.sub(r"[-_.]+", "-", name).lower(), set()).add(module)
    return found


def editions(path: Path) -> list[str]:
    return list(json.loads(path.read_text())["metadata"].get("labkit", {}).get("editions", []))


BROWSER = [path for path in NOTEBOOKS if "browser" in editions(path)]


def test_every_notebook_declares_its_editions():
    for path in NOTEBOOKS:
        declared = editions(path)
        assert declared, f"{path.relative_to(ROOT)}: no metadata.labkit.editions"
        assert declared[0] == "local" and set(declared) <= {"local", "browser"} and len(set(declared)) == len(declared), (
            f"{path.relative_to(ROOT)}: editions {declared} (expected ['local'] or ['local', 'browser'])")


def test_the_sqs_chapter_runs_in_the_browser():
    assert {ROOT / "notebooks" / "sqs.ipynb", ROOT / "labs" / "sqs.ipynb"} <= set(BROWSER)


@pytest.mark.notebook
@pytest.mark.skipif(os.environ.get("LABKIT_LITE") != "1", reason="the browser edition's runs are in `make test-lite`")
@pytest.mark.parametrize("path", BROWSER, ids=[f"{p.parent.name}/{p.stem}" for p in BROWSER])
def test_a_browser_notebook_runs_where_pyodide_would(path):
    run = pyodide_like.run(path)
    assert run.ok, run.failure()
    code_cells = [i for i, cell in enumerate(nbformat.read(path, as_version=4).cells) if cell.cell_type == "code"]
    assert [cell["cell"] for cell in run.cells] == code_cells, "every code cell ran"
    pins = required()
    available = {**required(KERNEL_REQUIREMENTS), **pins}
    missing = {name: modules for name, modules in distributions_of(run.modules).items() if name not in available}
    assert not missing, f"imported in the browser but not in lite/requirements.txt: {missing}"
    for name in pins:
        assert importlib.metadata.version(name) == pins[name], f"lite/requirements.txt pins {name} to another version than .venv"
    # (graphviz, the pure-Python package, only writes a state machine's source there; the diagrams package stays out)
    assert not {"diagrams", "trustme", "nbclient", "nbformat"} & set(run.modules), "local-only imports stay lazy"


def test_the_requirements_are_what_the_browser_notebooks_import_and_nothing_else():
    """Every pin is used by some browser notebook or by a pinned distribution (checked by the runs above);
    here: the file is well formed and names no compiled-only package."""
    pins = required()
    assert pins and all(re.fullmatch(r"[0-9][0-9a-z.+]*", version) for version in pins.values()), pins
    assert not {"cryptography", "trustme", "cffi", "diagrams"} & set(pins)


PROBE = r'''
import errno, os, shutil, socket, subprocess, sys, threading

def fails(action, kind, text=""):
    try:
        action()
    except kind as error:
        assert text in str(error), (text, str(error))
        return type(error).__name__ + ": " + str(error)
    raise AssertionError(f"{action} did not fail")

report = {
    "thread": fails(lambda: threading.Thread(target=print).start(), RuntimeError, "can't start new thread"),
    "listen": fails(lambda: socket.socket().listen(), OSError, "Operation not supported"),
    "bind": fails(lambda: socket.socket().bind(("127.0.0.1", 0)), OSError),
    "connect": fails(lambda: socket.create_connection(("127.0.0.1", 9), timeout=1), OSError),
    "subprocess": fails(lambda: subprocess.run(["true"]), OSError),
    "cryptography": fails(lambda: __import__("cryptography.x509"), ImportError),
    "trustme": fails(lambda: __import__("trustme"), ImportError),
    "dot": shutil.which("dot"),
    "thread_time": hasattr(__import__("time"), "thread_time"),
    "mode": os.environ.get("LABKIT_BROWSER_MODE"),
}
import labkit.core.platform
report["in_browser"] = labkit.core.platform.in_browser()
print("@@probe " + __import__("json").dumps(report))
'''


def test_the_harness_takes_away_what_pyodide_lacks(tmp_path):
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(PROBE)])
    path = tmp_path / "probe.ipynb"
    nbformat.write(notebook, path)
    run = pyodide_like.run(path)
    assert run.ok, run.failure()
    line = next(line for line in run.output.splitlines() if line.startswith("@@probe "))
    report = json.loads(line[len("@@probe "):])
    assert report["dot"] is None and report["mode"] == "1" and report["in_browser"] is True
    assert report["thread_time"] is False
    assert "138" in report["listen"] and "cryptography" in report["cryptography"], report


def test_the_harness_reports_a_failing_cell(tmp_path):
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("x = 1"),
        nbformat.v4.new_code_cell("import threading\nthreading.Timer(1, print).start()"),
        nbformat.v4.new_code_cell("never = True"),
    ])
    path = tmp_path / "thread.ipynb"
    nbformat.write(notebook, path)
    run = pyodide_like.run(path)
    assert not run.ok
    assert [cell["ok"] for cell in run.cells] == [True, False], "the run stops at the first failure"
    assert "can't start new thread" in run.cells[1]["error"]


def test_without_browser_mode_the_sqs_walkthrough_fails_there():
    """The negative control: the same notebook, the same restrictions, browser mode off.
    labkit then imports moto as locally, and moto needs cryptography, which is not there."""
    run = pyodide_like.run(ROOT / "notebooks" / "sqs.ipynb", env={"LABKIT_BROWSER_MODE": "0"})
    assert not run.ok
    failed = [cell for cell in run.cells if not cell["ok"]]
    assert failed and "cryptography" in failed[0]["error"], run.failure()
