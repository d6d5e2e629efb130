"""The book builds with warnings as errors, and its pages show what the readers need.

One build (executing every notebook afresh, in a temporary folder) serves all the
assertions in this file.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from labkit.check import RESULT_MIME

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def html(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("book")
    jb = Path(sys.executable).parent / "jupyter-book"
    result = subprocess.run(
        [str(jb), "build", str(ROOT), "--path-output", str(out), "--warningiserror", "--keep-going"],
        capture_output=True, text=True, env={**os.environ, "LABKIT_REQUIRE_GRAPHVIZ": "1"},
    )
    log = result.stdout + result.stderr
    assert result.returncode == 0, "jupyter-book build failed:\n" + log[-6000:]
    return out / "_build" / "html"


def page(html: Path, name: str) -> str:
    return (html / f"{name}.html").read_text(encoding="utf-8")


def test_every_toc_entry_became_a_page(html):
    toc = (ROOT / "_toc.yml").read_text()
    for name in re.findall(r"file:\s*(\S+)", toc) + [re.search(r"root:\s*(\S+)", toc).group(1)]:
        assert (html / f"{name}.html").exists(), name


def test_diagrams_are_images_with_alt_text(html):
    for name, minimum in (("book/intro", 1), ("book/sqs", 2), ("notebooks/sqs", 1)):
        figures = re.findall(r'<figure class="labkit-diagram"><img src="data:image/png;base64,[^"]+" alt="([^"]+)"', page(html, name))
        assert len(figures) >= minimum, name
        assert all(len(alt) > 40 for alt in figures), name


def test_lab_page_hides_solutions_and_grading_checks(html):
    lab = page(html, "labs/sqs")
    # Each solution is there for self-learners, collapsed behind a click.
    solutions = re.findall(r'<div class="cell tag_solution tag_ex:(\w+) tag_hide-input[^"]*">\s*<details class="(?:admonition )?hide above-input">', lab)
    assert solutions == ["redrive", "visibility", "orders"]
    assert 'class="nf">attach_dead_letter_queue</span>' in lab
    # Hidden (grading) checks are not in the page; visible checks show their report.
    assert "(grading)" not in lab
    assert "Exercise 1: attach a dead-letter queue: 4/4 points" in lab
    # The grader's JSON is for machines only.
    assert RESULT_MIME not in lab


def test_quiz_works_without_a_kernel(html):
    lab = page(html, "labs/sqs")
    assert "<script" in lab and "Messages with the same MessageGroupId" in lab
