"""The book, built once for every module that reads it.

One build per test run, into the run's temporary folder, serves
``test_book.py`` and ``test_browser.py``, whose pages are read in shards on
several workers at once: the first worker to need the build makes it, and the
others wait for it and read it (:func:`build_once`).
The notebooks in ``notebooks/`` and ``labs/`` are not executed again: in a run
that also runs them under nbval (``make test``), their executed copies (see
``tests/notebooks/executions.py``) are put into the build's execution cache
first, and the build takes them from there. So are the book's own pages
(``book/*.md``, which draw diagrams) when ``tests/book/test_page_runs.py`` ran
them in the same run; otherwise the build executes them.

To read a book built earlier instead (while working on the pages or on these
tests), point ``LABKIT_BOOK_HTML`` at its ``_build/html`` folder: nothing is
built then, and the tests that are about the build itself skip. ``make test``
leaves it unset, so it always builds afresh.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from jupyter_cache import get_cache
from jupyter_cache.base import CacheBundleIn

from tests.notebooks import executions

ROOT = Path(__file__).resolve().parents[2]
#: A built book's ``_build/html`` folder to read instead of building one.
BOOK_HTML = "LABKIT_BOOK_HTML"
#: How long the build waits for notebooks still running under nbval on another worker.
WAIT_FOR_NOTEBOOKS = 1800
#: A book page's run, as the build would run it (``_config.yml``: ``execute.timeout``).
PAGE_TIMEOUT = 300
#: The MyST syntax the book's pages use (``_config.yml``: ``parse.myst_enable_extensions``).
MYST_EXTENSIONS = {"colon_fence", "deflist", "substitution", "attrs_inline"}


@dataclass
class Build:
    html: Path
    log: str
    cache: Path
    prefilled: dict[str, tuple[int, str]]  # notebook -> (cache record id, hash) put in before the build


def executed_by_the_build(log: str) -> set[str]:
    """The documents the build executed, from myst-nb's log lines
    (``/path/labs/sqs.ipynb: Executing notebook using local CWD [mystnb]``)."""
    found = set()
    for line in log.splitlines():
        match = re.match(r"(?:\x1b\[[0-9;]*m)*(\S+?): Executing notebook", line)
        if match:
            path = Path(match.group(1))
            found.add(path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else path.as_posix())
    return found


def page_notebook(path: Path) -> nbformat.NotebookNode:
    """A book page (``book/sqs.md``) as the notebook myst-nb reads from it."""
    from myst_nb.core.read import read_myst_markdown_notebook
    from myst_parser.config.main import MdParserConfig

    return read_myst_markdown_notebook(path.read_text(encoding="utf-8"),
                                       config=MdParserConfig(enable_extensions=MYST_EXTENSIONS),
                                       add_source_map=True, path=path)


def prefill(cache_dir: Path, notebooks: list[str]) -> dict[str, tuple[int, str]]:
    """Put each notebook's (or book page's) executed copy into the build's cache, keyed
    as myst-nb looks it up (a hash of the source's code cells and kernelspec)."""
    cache = get_cache(str(cache_dir))
    records = {}
    for notebook in notebooks:
        executed = nbformat.read(executions.copy_path(notebook), as_version=4)
        by = "tests/book/test_page_runs.py" if notebook.endswith(".md") else "nbval (make test)"
        record = cache.cache_notebook_bundle(
            CacheBundleIn(executed, str(ROOT / notebook), data={"executed_by": by}),
            check_validity=False, overwrite=True)
        source = (page_notebook(ROOT / notebook) if notebook.endswith(".md")
                  else nbformat.read(ROOT / notebook, as_version=4))
        assert cache.match_cache_notebook(source).pk == record.pk, f"{notebook}: its executed copy does not match it"
        records[notebook] = (record.pk, record.hashkey)
    return records


def existing_build(html: Path) -> Build:
    """A book built earlier (``LABKIT_BOOK_HTML``): its pages, no build log, nothing put in its cache."""
    if not (html / "index.html").is_file():
        pytest.fail(f"{BOOK_HTML}={html}: no index.html there (it names a book's _build/html folder)")
    return Build(html.resolve(), log="", cache=html.parent / ".jupyter_cache", prefilled={})


def build_once(in_session: list[str], folder: Path) -> Build:
    """Build the book into ``folder`` from the executed copies of ``in_session``, or read
    the build another worker of this run made there. The first worker to ask builds,
    holding a lock on the folder; the others wait for it and read its record (a failed
    build fails them all with its message, without building again)."""
    folder.mkdir(parents=True, exist_ok=True)
    record = folder / "build.json"
    with (folder / "build.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not record.exists():
            record.write_text(json.dumps(_build(in_session, folder)), encoding="utf-8")
    made = json.loads(record.read_text(encoding="utf-8"))
    if made.get("failure"):
        pytest.fail(made["failure"])
    prefilled = {notebook: (pk, hashkey) for notebook, (pk, hashkey) in made["prefilled"].items()}
    return Build(Path(made["html"]), made["log"], Path(made["cache"]), prefilled)


def _build(in_session: list[str], out: Path) -> dict[str, object]:
    """The build's record: where it is and its log, or why there is none."""
    statuses = executions.wait_for(in_session, WAIT_FOR_NOTEBOOKS)
    unfinished = {nb: status for nb, status in statuses.items() if status != executions.PASSED}
    if unfinished:
        return {"failure": "the book is built from the notebooks' runs under nbval, and these did not pass "
                           f"(see their own failures): {json.dumps(unfinished)}"}
    cache_dir = out / "_build" / ".jupyter_cache"
    prefilled = prefill(cache_dir, in_session)
    jb = Path(sys.executable).parent / "jupyter-book"
    result = subprocess.run(
        [str(jb), "build", str(ROOT), "--path-output", str(out), "--warningiserror", "--keep-going"],
        capture_output=True, text=True, env={**os.environ, "LABKIT_REQUIRE_GRAPHVIZ": "1"},
    )
    log = result.stdout + result.stderr
    if result.returncode != 0:
        return {"failure": "jupyter-book build failed:\n" + log[-6000:]}
    return {"html": str(out / "_build" / "html"), "log": log, "cache": str(cache_dir), "prefilled": prefilled}


@pytest.fixture(scope="session")
def build(request: pytest.FixtureRequest) -> Build:
    """The book, built once per run however many workers read it (see :func:`build_once`)."""
    if os.environ.get(BOOK_HTML):
        return existing_build(Path(os.environ[BOOK_HTML]))
    # The notebooks nbval runs in this session (on any worker), and the book's pages that
    # tests/book/test_page_runs.py runs: the build waits for their executed copies.
    in_session = sorted({executions.relative(item.path) for item in request.session.items
                         if executions.is_notebook_item(item)}
                        | {mark.args[0] for item in request.session.items
                           for mark in item.iter_markers("book_page")})
    return build_once(in_session, executions.executed_dir().parent / "book")
