"""Every link in a walkthrough or a lab opens, in the book and in JupyterLab.

A learner meets the same Markdown cells in two places. The book (Jupyter Book,
through myst-parser) turns a relative link to a source file, such as
``[Amazon SQS](../book/sqs.md)``, into a link to that file's page. JupyterLab
(through jupyterlab-myst) hands the same link to its file opener, which opens
the file it names: the chapter in a new tab. A MyST role such as
``{doc}`../book/sqs``` names a page without its file's extension: the book
resolves it, and JupyterLab opens nothing, because no file has that name.

So the Markdown of notebooks/ and labs/ uses no link role, and each relative link
names an existing file of the book's table of contents that the learners' copy
of the course also has (labkit.grading.book.student_tree leaves the authors'
pages out). The JupyterLab test (test_jupyterlab.py) clicks one of them.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nbformat
import pytest
import yaml
from markdown_it import MarkdownIt

from labkit.grading.book import AUTHOR_PAGES

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted([*(ROOT / "notebooks").glob("*.ipynb"), *(ROOT / "labs").glob("*.ipynb")])
#: MyST roles that make a link to a page or a target by a name that is not a file.
LINK_ROLES = ("doc", "ref", "numref", "any", "download", "eq", "cite", "external")
ROLE = re.compile(r"\{(" + "|".join(LINK_ROLES) + r")\}`[^`]*`")
#: What a relative link may name: a chapter page or a notebook, each a page of the book.
PAGE_SUFFIXES = (".md", ".ipynb")
MARKDOWN = MarkdownIt("commonmark").enable("table")


def toc_files() -> set[str]:
    """The book's pages, as paths from the root without a suffix (``book/sqs``)."""
    found: set[str] = set()

    def walk(node) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("file"), str):
                found.add(node["file"])
            if isinstance(node.get("root"), str):
                found.add(node["root"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8")))
    return found


def links(source: str) -> list[tuple[str, str]]:
    """The (text, address) of each link in a Markdown cell's source."""
    found: list[tuple[str, str]] = []

    def walk(tokens) -> None:
        for index, token in enumerate(tokens):
            if token.type == "link_open":
                text = []
                for inner in tokens[index + 1:]:
                    if inner.type == "link_close":
                        break
                    text.append(inner.content)
                found.append(("".join(text).strip(), token.attrGet("href") or ""))
            if token.children:
                walk(token.children)

    walk(MARKDOWN.parse(source))
    return found


def problems(notebook: Path, source: str, pages: set[str]) -> list[str]:
    """What would not open, in the book or in JupyterLab, in one Markdown cell of ``notebook``."""
    found = [f"the role {match.group(0)} names no file: JupyterLab cannot open it; "
             "write a Markdown link to the file, e.g. [Amazon SQS](../book/sqs.md)" for match in ROLE.finditer(source)]
    for text, href in links(source):
        parts = urlsplit(href)
        if parts.scheme in ("http", "https", "mailto") or href.startswith("#"):
            continue
        if parts.scheme or parts.netloc:
            found.append(f"{href}: not a file of the course, nor a web address")
            continue
        if not text:
            found.append(f"{href}: a link with no text (JupyterLab shows its address)")
        target = (notebook.parent / unquote(parts.path)).resolve()
        if not target.is_relative_to(ROOT):
            found.append(f"{href}: outside the course")
            continue
        relative = target.relative_to(ROOT)
        if target.suffix not in PAGE_SUFFIXES:
            found.append(f"{href}: names no page's file (a {' or '.join(PAGE_SUFFIXES)} file): JupyterLab cannot open it")
        elif not target.is_file():
            found.append(f"{href}: no such file ({relative})")
        elif relative.with_suffix("").as_posix() not in pages:
            found.append(f"{href}: {relative} is not a page of the book (_toc.yml)")
        elif relative.parent.name == "book" and relative.name in AUTHOR_PAGES:
            found.append(f"{href}: the learners' copy of the course has no {relative}")
    return found


def test_every_notebook_link_opens_in_the_book_and_in_jupyterlab():
    pages = toc_files()
    assert len(NOTEBOOKS) >= 30, NOTEBOOKS
    found, checked = [], 0
    for path in NOTEBOOKS:
        for number, cell in enumerate(nbformat.read(path, as_version=4).cells, start=1):
            if cell.cell_type != "markdown":
                continue
            checked += len(links(cell.source))
            found += [f"{path.relative_to(ROOT)}, cell {number}: {problem}" for problem in problems(path, cell.source, pages)]
    assert checked >= 40, f"only {checked} links found: the link reader is broken"
    assert not found, "\n".join(found)


def test_each_walkthrough_links_its_chapter():
    """A learner who opened a walkthrough in JupyterLab reaches its chapter in one click."""
    missing = []
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        cells = nbformat.read(path, as_version=4).cells
        hrefs = {href for cell in cells if cell.cell_type == "markdown" for _, href in links(cell.source)}
        if f"../book/{path.stem}.md" not in hrefs:
            missing.append(path.name)
    assert not missing, f"walkthroughs with no link to their chapter: {missing}"


@pytest.mark.parametrize(("source", "expected"), [
    ("the chapter {doc}`../book/sqs` first", "names no file"),
    ("the {doc}`SQS lab <sqs>`", "names no file"),
    ("[Amazon SQS](../book/sqs)", "names no page's file"),
    ("[Amazon SQS](../book/sqs.html)", "names no page's file"),
    ("[Amazon SQS](../book/no-such-chapter.md)", "no such file"),
    ("[](../book/sqs.md)", "no text"),
    ("[assigning the labs](../book/instructors.md)", "learners' copy"),
    ("[the README](../README.md)", "not a page of the book"),
    ("[passwords](../../etc/passwd.md)", "outside the course"),
    ("[a server](ftp://example.com/sqs.md)", "nor a web address"),
    ("| a | b |\n|---|---|\n| [the lab](../labs/no-such-lab.ipynb) | x |", "no such file"),
])
def test_a_link_that_would_not_open_is_named(source, expected):
    found = problems(ROOT / "notebooks" / "sqs.ipynb", source, toc_files())
    assert any(expected in problem for problem in found), found


@pytest.mark.parametrize("source", [
    "[Amazon SQS](../book/sqs.md)",
    "[the lab](../labs/sqs.ipynb), where you configure",
    "[the pricing page](https://aws.amazon.com/sqs/pricing/)",
    "[the first step](#a-queue-with-a-dead-letter-queue)",
    "the {term}`visibility timeout`",
])
def test_a_link_that_opens_passes(source):
    assert problems(ROOT / "notebooks" / "sqs.ipynb", source, toc_files()) == []
