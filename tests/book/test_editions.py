"""The class edition publishes no worked solution, and both editions' lab
downloads are the learners' copy (``labkit.grading.book``).

The self-learner's edition is the book itself (tests/book/test_book.py checks
its lab pages and downloads). The class edition is built here, once for the
module, from a small book around the grader's mini lab, without executing it:
the extension works on the page's structure, not on outputs. The same small
book, configured with the course's own launch settings, carries the launch
buttons and the offline widget page that tests/book/test_launch.py reads.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from html import unescape
from pathlib import Path

import nbformat
import pytest
import yaml

from labkit.grading.book import STUDENT_BRANCH, WITHHELD, edition, launch_links
from labkit.grading.release import read_notebook, student_copy
from labkit.notebook.lambda_pricing import static_calculator

ROOT = Path(__file__).resolve().parents[2]
MINI_LAB = ROOT / "tests" / "fixtures" / "grading" / "mini_lab.ipynb"


def config() -> str:
    """The small book's _config.yml: no execution, the lab extension, and the
    course's own repository, launch buttons and page settings (from _config.yml)."""
    course = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    assert "labkit.grading.book" in course["sphinx"]["extra_extensions"]
    return yaml.safe_dump({
        "title": "editions",
        "execute": {"execute_notebooks": "off"},
        "repository": course["repository"],
        "launch_buttons": course["launch_buttons"],
        "sphinx": course["sphinx"],
    })


def walkthrough() -> nbformat.NotebookNode:
    """A walkthrough as it is once executed: the Lambda calculator's output (the
    widget, with its HTML alternative) and the widget state a kernel leaves."""
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"display_name": "Python 3", "language": "python",
                                                           "name": "python3"}})
    nb.cells = [nbformat.v4.new_markdown_cell("# A walkthrough\n\nThe calculator."),
                nbformat.v4.new_code_cell("lambda_pricing.calculator()", execution_count=1, outputs=[
                    nbformat.v4.new_output("execute_result", execution_count=1, data={
                        "text/plain": "Calculator(children=(...))",
                        "application/vnd.jupyter.widget-view+json": {"model_id": "m1", "version_major": 2,
                                                                      "version_minor": 0},
                        "text/html": static_calculator()})])]
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {
        "state": {"m1": {"model_name": "VBoxModel", "model_module": "@jupyter-widgets/controls",
                         "model_module_version": "2.0.0", "state": {}}},
        "version_major": 2, "version_minor": 0}}
    return nb


def build(folder: Path, name: str) -> subprocess.CompletedProcess:
    (folder / "labs").mkdir(parents=True, exist_ok=True)
    (folder / "notebooks").mkdir(parents=True, exist_ok=True)
    shutil.copy(MINI_LAB, folder / "labs" / "mini.ipynb")
    nbformat.write(walkthrough(), folder / "notebooks" / "walk.ipynb")
    (folder / "_config.yml").write_text(config())
    (folder / "_toc.yml").write_text("format: jb-book\nroot: intro\nchapters:\n  - file: notebooks/walk\n"
                                     "  - file: labs/mini\n  - file: page\n")
    (folder / "intro.md").write_text("# Editions\n\nA small book.\n")
    # A chapter page with code cells (a MyST notebook): the theme would give it launch buttons.
    (folder / "page.md").write_text("---\njupytext:\n  text_representation:\n    format_name: myst\nkernelspec:\n"
                                    "  name: python3\n  display_name: Python 3\n---\n"
                                    "# A chapter page\n\n```{code-cell} ipython3\n1 + 1\n```\n")
    jb = Path(sys.executable).parent / "jupyter-book"
    return subprocess.run([str(jb), "build", str(folder)], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "LABKIT_EDITION": name})


@pytest.fixture(scope="module")
def class_book(tmp_path_factory) -> Path:
    """The class edition of the small book: its HTML folder."""
    folder = tmp_path_factory.mktemp("class-book")
    result = build(folder, "class")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return folder / "_build" / "html"


@pytest.mark.notebook
def test_the_class_edition_withholds_every_solution(class_book):
    html = (class_book / "labs" / "mini.html").read_text(encoding="utf-8")
    withheld = re.findall(r'<div class="cell tag_solution [^"]*labkit-withheld[^"]*">\s*<p>([^<]*)</p>\s*</div>', html)
    assert withheld == [WITHHELD] * 3  # the mini lab's three solution cells, each replaced by one sentence
    download = class_book / "_sources" / "labs" / "mini.ipynb"
    assert download.read_text(encoding="utf-8") == nbformat.writes(student_copy(read_notebook(MINI_LAB))) + "\n"


def test_an_unknown_edition_is_refused_with_the_choices(monkeypatch):
    monkeypatch.setenv("LABKIT_EDITION", "klass")
    with pytest.raises(ValueError, match="the editions are self, class"):
        edition()
    monkeypatch.setenv("LABKIT_EDITION", "")
    assert edition() == "self"


# ------------------------------------------------------------ launch buttons, offline widget


def launch_hrefs(html: str) -> list[str]:
    return [unescape(href) for href in re.findall(r'href="([^"]*(?:/v2/gh/|/git-pull\?)[^"]*)"', html)]


@pytest.mark.notebook
def test_walkthroughs_and_labs_launch_the_learners_branch_and_no_other_page_launches(class_book):
    course = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    for page, path in (("labs/mini", "labs/mini.ipynb"), ("notebooks/walk", "notebooks/walk.ipynb")):
        html = (class_book / f"{page}.html").read_text(encoding="utf-8")
        expected = launch_links(course["repository"]["url"], path, branch=STUDENT_BRANCH,
                                binderhub_url=course["launch_buttons"]["binderhub_url"],
                                jupyterhub_url=course["launch_buttons"]["jupyterhub_url"], interface="jupyterlab")
        assert sorted(launch_hrefs(html)) == sorted(expected.values()), page
        assert "harbour-tea/aws-architecture-course/student?" in html and "branch=student" in html
    for page in ("intro", "page"):  # a chapter page with code cells gets no launch menu
        html = (class_book / f"{page}.html").read_text(encoding="utf-8")
        assert not launch_hrefs(html) and "launch-buttons" not in html, page


@pytest.mark.notebook
def test_a_widget_page_shows_the_static_form_and_loads_nothing_from_elsewhere(class_book):
    html = (class_book / "notebooks" / "walk.html").read_text(encoding="utf-8")
    assert html.count('<div class="labkit-calculator"') == 1
    assert "application/vnd.jupyter.widget-view+json" not in html
    for page in class_book.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        remote = re.findall(r'<(?:script|link|img|iframe)\b[^>]*(?:src|href)="((?:https?:)?//[^"]+)"', text)
        assert not remote, f"{page.relative_to(class_book)} loads {remote}"
        assert not re.search(r"unpkg\.com|jsdelivr|cdnjs|require\.js|requirejs", text), page.relative_to(class_book)
