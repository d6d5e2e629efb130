"""The book's own pages with code (``book/*.md``, which draw the diagrams), each run once
before the build, so that the build finds every page already executed.

``jupyter-book build`` would execute these pages one after another once every
notebook has run (the build waits for the notebooks' executed copies). Run here,
each page is a test of its own, handed out to whichever worker is free while the
last notebooks still run; its executed copy goes where the notebooks' go
(:mod:`tests.notebooks.executions`), and ``tests/book/conftest.py`` puts it into
the build's cache. Each page runs as myst-nb runs it: read from its MyST text,
executed by jupyter-cache's executor in the page's folder, errors not allowed.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from jupyter_cache.executors.utils import single_nb_execution

from tests.book.conftest import PAGE_TIMEOUT, page_notebook
from tests.notebooks import executions

ROOT = Path(__file__).resolve().parents[2]
#: The book's pages that hold code cells.
PAGES = sorted(path.relative_to(ROOT).as_posix() for path in (ROOT / "book").glob("*.md")
               if "{code-cell}" in path.read_text(encoding="utf-8"))
#: Each page on its own (any free worker), handed out with the notebooks (tests/harness.py).
SPREAD = True
RUNS_WITH_NOTEBOOKS = True

pytestmark = pytest.mark.notebook


def test_the_book_has_pages_with_code():
    assert len(PAGES) > 10 and "book/sqs.md" in PAGES


@pytest.mark.parametrize("page", [pytest.param(page, marks=pytest.mark.book_page(page)) for page in PAGES])
def test_page_runs(page):
    path = ROOT / page
    notebook = page_notebook(path)
    result = single_nb_execution(notebook, cwd=str(path.parent), allow_errors=False, timeout=PAGE_TIMEOUT,
                                 meta_override=True)
    executions.record(page, executions.FAILED if result.err else executions.PASSED, notebook)
    assert result.err is None, f"{page} failed to run:\n{result.exc_string}"
