"""The book builds with warnings as errors, from the notebooks' executed copies,
and its pages show what the readers need.

The build (``tests/book/conftest.py``) is shared with ``test_browser.py``,
which reads the same pages in a browser.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest
from jupyter_cache import get_cache

from labkit.check import RESULT_MIME
from labkit.grading.release import read_notebook, student_copy
from tests.book.conftest import Build, executed_by_the_build
from tests.notebooks import executions

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted(p.relative_to(ROOT).as_posix() for folder in ("notebooks", "labs")
                   for p in (ROOT / folder).glob("*.ipynb"))
#: With test_browser.py: one worker, one build.
GROUP = "book"

pytestmark = pytest.mark.notebook


def page(build: Build, name: str) -> str:
    return (build.html / f"{name}.html").read_text(encoding="utf-8")


def test_the_build_executed_none_of_the_notebooks_nbval_ran(build):
    if not build.prefilled:
        pytest.skip("no notebook ran under nbval in this session (run the book test with them: make test)")
    executed = executed_by_the_build(build.log)
    assert not executed & set(build.prefilled), f"executed again by the build: {executed & set(build.prefilled)}"
    for notebook in build.prefilled:
        assert f"{ROOT / notebook}: Using cached notebook" in build.log, notebook
    # myst-nb replaces a record when it executes a notebook: each one is still the one put in.
    cache = get_cache(str(build.cache))
    for notebook, (pk, hashkey) in build.prefilled.items():
        assert cache.get_cache_record(pk).hashkey == hashkey, notebook


def test_in_a_full_run_every_notebook_comes_from_nbval(build, request):
    ran_all = {executions.relative(item.path) for item in request.session.items
               if executions.is_notebook_item(item)} >= set(NOTEBOOKS)
    if not ran_all:
        pytest.skip("not every notebook runs in this session")
    assert sorted(nb for nb in build.prefilled if nb.endswith(".ipynb")) == NOTEBOOKS
    # The book's own pages (which draw diagrams) ran before the build too (test_page_runs.py),
    # when this session ran them; the build executed only those it did not.
    pages = {item.callspec.params["page"] for item in request.session.items if item.get_closest_marker("book_page")}
    assert {nb for nb in build.prefilled if nb.endswith(".md")} == pages
    executed = executed_by_the_build(build.log)
    assert all(doc.startswith("book/") and doc not in pages for doc in executed), executed


def test_every_toc_entry_became_a_page(build):
    toc = (ROOT / "_toc.yml").read_text()
    for name in re.findall(r"file:\s*(\S+)", toc) + [re.search(r"root:\s*(\S+)", toc).group(1)]:
        assert (build.html / f"{name}.html").exists(), name


def test_diagrams_are_images_with_alt_text(build):
    for name, minimum in (("book/intro", 1), ("book/sqs", 2), ("notebooks/sqs", 1)):
        figures = re.findall(r'<figure class="labkit-diagram"><img src="data:image/png;base64,[^"]+" alt="([^"]+)"',
                             page(build, name))
        assert len(figures) >= minimum, name
        assert all(len(alt) > 40 for alt in figures), name


def test_lab_page_hides_solutions_and_grading_checks(build):
    lab = page(build, "labs/sqs")
    # Each solution is there for self-learners, collapsed behind a click.
    solutions = re.findall(r'<div class="cell tag_solution tag_ex:(\w+) tag_hide-input[^"]*">\s*'
                           r'<details class="(?:admonition )?hide above-input">', lab)
    assert solutions == ["idempotent", "redrive", "orders"]
    assert 'class="nf">redrive</span>' in lab
    # Hidden (grading) checks are not in the page; visible checks show their report.
    assert "(grading)" not in lab
    assert re.search(r"Exercise 1: a payment consumer that survives redelivery: (\d+)/\1 points", lab)
    # The grader's JSON is for machines only.
    assert RESULT_MIME not in lab


def test_a_labs_download_is_the_learners_copy(build):
    """The download button serves ``_sources/labs/<lab>.ipynb``: the student copy,
    with neither the worked solutions nor a hidden check in it."""
    labs = sorted((ROOT / "labs").glob("*.ipynb"))
    for lab in labs:
        copies = list((build.html / "_sources" / "labs").glob(f"{lab.stem}.ipynb*"))
        assert copies, f"no downloadable copy of {lab.stem}"
        for copy in copies:
            text = copy.read_text(encoding="utf-8")
            assert "BEGIN SOLUTION" not in text and '"hidden"' not in text and "(grading)" not in text, copy
            assert text == nbformat.writes(student_copy(read_notebook(lab))) + "\n", copy
    walkthrough = (build.html / "_sources" / "notebooks" / "sqs.ipynb").read_text(encoding="utf-8")
    assert walkthrough == (ROOT / "notebooks" / "sqs.ipynb").read_text(encoding="utf-8")


def test_no_page_loads_thebe(build):
    """Nothing runs code in the browser, so no page carries thebe's scripts (they
    name a public CDN and, declared twice, threw an error in every page)."""
    pages = sorted(build.html.rglob("*.html"))
    assert len(pages) > 20
    for path in pages:
        text = path.read_text(encoding="utf-8")
        assert "THEBE_JS_URL" not in text and "sphinx-thebe.js" not in text and "unpkg.com" not in text, path


def test_quiz_works_without_a_kernel(build):
    """The quiz is in the page itself: its container, its questions as data, and
    the script that draws them into the container."""
    lab = page(build, "labs/sqs")
    containers = re.findall(r'<div id="(\w+)" data-shufflequestions=', lab)
    assert len(containers) == 1, "one quiz container on the lab page"
    assert re.search(rf'<div id="{containers[0]}"[^>]*data-shuffleanswers="True"', lab), "answers are shuffled in the page"
    quiz_id = containers[0]
    scripts = [s for s in re.findall(r"<script[^>]*>(.*?)</script>", lab, re.S) if f"var questions{quiz_id}=" in s]
    assert len(scripts) == 1, "the quiz's questions are in one script of the page"
    script = scripts[0]
    start = script.index(f"var questions{quiz_id}=") + len(f"var questions{quiz_id}=")
    questions, _ = json.JSONDecoder().raw_decode(script[start:])
    assert len(questions) >= 3
    fifo = next(q for q in questions if "FIFO queue" in q["question"])
    assert [a["answer"] for a in fifo["answers"] if a["correct"]] == ["Messages with the same MessageGroupId"]
    assert all(any(a["correct"] for a in q["answers"]) and all(a["feedback"] for a in q["answers"])
               for q in questions), "every question has a right answer and feedback on every answer"
    assert "function show_questions(" in script and f"show_questions(questions{quiz_id}, {quiz_id})" in script
