"""The class edition publishes no worked solution, and both editions' lab
downloads are the learners' copy (``labkit.grading.book``).

The self-learner's edition is the book itself (tests/book/test_book.py checks
its lab pages and downloads). The class edition is built here from a small
book around the grader's mini lab, without executing it: the extension works
on the page's structure, not on outputs.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from labkit.grading.book import WITHHELD, edition
from labkit.grading.release import read_notebook, student_copy

ROOT = Path(__file__).resolve().parents[2]
MINI_LAB = ROOT / "tests" / "fixtures" / "grading" / "mini_lab.ipynb"
CONFIG = """title: editions
execute:
  execute_notebooks: "off"
sphinx:
  extra_extensions:
    - labkit.grading.book
"""


def build(folder: Path, name: str) -> subprocess.CompletedProcess:
    (folder / "labs").mkdir(parents=True, exist_ok=True)
    shutil.copy(MINI_LAB, folder / "labs" / "mini.ipynb")
    (folder / "_config.yml").write_text(CONFIG)
    (folder / "_toc.yml").write_text("format: jb-book\nroot: intro\nchapters:\n  - file: labs/mini\n")
    (folder / "intro.md").write_text("# Editions\n\nA small book.\n")
    jb = Path(sys.executable).parent / "jupyter-book"
    return subprocess.run([str(jb), "build", str(folder)], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "LABKIT_EDITION": name})


@pytest.mark.notebook
def test_the_class_edition_withholds_every_solution(tmp_path):
    result = build(tmp_path, "class")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    html = (tmp_path / "_build" / "html" / "labs" / "mini.html").read_text(encoding="utf-8")
    withheld = re.findall(r'<div class="cell tag_solution [^"]*labkit-withheld[^"]*">\s*<p>([^<]*)</p>\s*</div>', html)
    assert withheld == [WITHHELD] * 3  # the mini lab's three solution cells, each replaced by one sentence
    download = tmp_path / "_build" / "html" / "_sources" / "labs" / "mini.ipynb"
    assert download.read_text(encoding="utf-8") == nbformat.writes(student_copy(read_notebook(MINI_LAB))) + "\n"


def test_an_unknown_edition_is_refused_with_the_choices(monkeypatch):
    monkeypatch.setenv("LABKIT_EDITION", "klass")
    with pytest.raises(ValueError, match="the editions are self, class"):
        edition()
    monkeypatch.setenv("LABKIT_EDITION", "")
    assert edition() == "self"
