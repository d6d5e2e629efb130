"""The chapter pages end the way the table of contents reads: "Going further"
questions, then a "What's next" section whose links follow the reading order.

The sources are parsed, not built: this runs in a second.

**Reading order** is the order of the pages in ``_toc.yml``, depth first: the
root, then each part's chapters in order, each chapter followed by its own
sections (for a service chapter, its walkthrough and its lab). It is the order
of the book's "next" buttons. A part opener (a part's first chapter, with no
sections, that introduces the service chapters after it, such as ``book/data``)
is a page like any other, and the first page of a part follows the last page of
the part before it.

**The next page** of a chapter page is the first page after it, in reading
order, that is not one of its own sections. A chapter page's "What's next"
section sends the reader on in reading order: its ``{doc}`` links, in the order
they appear, begin with the chapter's own sections in reading order and then
the next page. So the first ``{doc}`` link of a service chapter's "What's next"
is the page the "next" button leads to (its walkthrough), and the first link
after its own sections is the next page (the next chapter, or the opener of the
next part); a part opener's first link is the next page. Later links may point
anywhere.

Every service chapter (a chapter with sections) and every part opener has a
"What's next" section; other pages are checked when they have one. Every
service chapter also has a "Going further" section of one or two open questions
(a numbered list), just before "What's next".

Every chapter of the running shop (``labkit.shop.CHAPTERS``) has an "In the
shop" section just before its "Summary": it names at least one of the
resources the chapter adds (``labkit.shop.model.NAMES``, in backquotes) and
gives a Python code block that builds the shop through that chapter,
``lab.shop.build(through="<chapter>")``.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from myst_parser.config.main import MdParserConfig
from myst_parser.parsers.mdit import create_md_parser

from labkit.shop.model import CHAPTERS, NAMES

ROOT = Path(__file__).resolve().parents[2]
WHATS_NEXT = "What's next"
GOING_FURTHER = "Going further"
IN_THE_SHOP = "In the shop"
SUMMARY = "Summary"

_md = create_md_parser(MdParserConfig(enable_extensions={"colon_fence", "deflist", "substitution", "attrs_inline"}),
                       RendererHTML)


@dataclass
class Entry:
    name: str  # the page's docname, such as "book/sqs"
    sections: list[str] = field(default_factory=list)  # its own sections, in reading order
    opens_part: bool = False


def _docname(file: str) -> str:
    """A ``_toc.yml`` file entry as a docname: ``book/sqs.md`` and ``book/sqs`` are both ``book/sqs``."""
    path = Path(file)
    return path.with_suffix("").as_posix() if path.suffix in (".md", ".ipynb") else path.as_posix()


def toc() -> tuple[list[str], dict[str, Entry]]:
    """The reading order of ``_toc.yml`` and, for each page, its own sections."""
    data = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    root = _docname(data["root"])
    order = [root]
    entries = {root: Entry(root)}

    def walk(items: list[dict]) -> list[str]:
        """Add ``items`` (and their sections) to the reading order; return their docnames."""
        names = []
        for item in items or []:
            if "file" not in item:
                continue
            name = _docname(item["file"])
            order.append(name)
            entries[name] = Entry(name)
            entries[name].sections = walk(item.get("sections", []))
            names += [name, *entries[name].sections]
        return names

    for part in data.get("parts", []):
        chapters = [chapter for chapter in part.get("chapters", []) if "file" in chapter]
        walk(chapters)
        # A part opener introduces the service chapters of its part (the appendices have none).
        if len(chapters) > 1 and not chapters[0].get("sections") and all(c.get("sections") for c in chapters[1:]):
            entries[_docname(chapters[0]["file"])].opens_part = True
    return order, entries


def next_page(name: str, order: list[str], entries: dict[str, Entry]) -> str | None:
    """The first page after ``name`` in reading order that is not one of its own sections."""
    after = order[order.index(name) + 1:]
    own = set(entries[name].sections)
    return next((page for page in after if page not in own), None)


def expected_links(name: str, order: list[str], entries: dict[str, Entry]) -> list[str]:
    following = next_page(name, order, entries)
    return entries[name].sections + ([following] if following else [])


def section_tokens(text: str, title: str) -> list[Token] | None:
    """The tokens of the level-2 section called ``title`` (up to the next heading of level 1 or 2)."""
    tokens = _md.parse(text)
    for index, token in enumerate(tokens):
        if token.type == "heading_open" and token.tag == "h2" and tokens[index + 1].content.strip() == title:
            end = next((j for j in range(index + 3, len(tokens))
                        if tokens[j].type == "heading_open" and tokens[j].tag in ("h1", "h2")), len(tokens))
            return tokens[index + 3:end]
    return None


def h2_titles(text: str) -> list[str]:
    tokens = _md.parse(text)
    return [tokens[i + 1].content.strip() for i, token in enumerate(tokens) if token.type == "heading_open" and token.tag == "h2"]


def doc_links(tokens: list[Token], page: str) -> list[str]:
    """The docnames that the ``{doc}`` roles among ``tokens`` point to, in order,
    resolved as Sphinx does: relative to the page's folder, or from the root if absolute."""
    links = []
    for token in tokens:
        for child in token.children or []:
            if child.type == "myst_role" and child.meta.get("name") == "doc":
                match = re.match(r"^(.+?)\s*<([^<]*?)>$", child.content, re.DOTALL)
                target = (match.group(2) if match else child.content).strip()
                if target.startswith("/"):
                    links.append(posixpath.normpath(target.lstrip("/")))
                else:
                    links.append(posixpath.normpath(posixpath.join(posixpath.dirname(page), target)))
    return links


def chapter_pages() -> list[str]:
    order, entries = toc()
    return [name for name in order if name.startswith("book/") and (ROOT / f"{name}.md").exists()]


def service_chapters() -> list[str]:
    _, entries = toc()
    return [name for name in chapter_pages() if entries[name].sections]


@pytest.mark.parametrize("page", chapter_pages())
def test_whats_next_follows_the_reading_order(page):
    order, entries = toc()
    text = (ROOT / f"{page}.md").read_text(encoding="utf-8")
    tokens = section_tokens(text, WHATS_NEXT)
    if tokens is None:
        assert not (entries[page].sections or entries[page].opens_part), f"{page}.md has no '{WHATS_NEXT}' section"
        return
    expected = expected_links(page, order, entries)
    links = doc_links(tokens, page)
    assert links[:len(expected)] == expected, (
        f"{page}.md: '{WHATS_NEXT}' should link, first, to {expected} (the reading order of _toc.yml); "
        f"its {{doc}} links are {links}")


@pytest.mark.parametrize("page", service_chapters())
def test_going_further_asks_one_or_two_questions_before_whats_next(page):
    text = (ROOT / f"{page}.md").read_text(encoding="utf-8")
    tokens = section_tokens(text, GOING_FURTHER)
    assert tokens is not None, f"{page}.md has no '{GOING_FURTHER}' section"
    titles = h2_titles(text)
    assert titles.index(GOING_FURTHER) + 1 == titles.index(WHATS_NEXT), f"{page}.md: '{GOING_FURTHER}' comes just before '{WHATS_NEXT}'"
    lists = [i for i, token in enumerate(tokens) if token.type == "ordered_list_open" and token.level == 0]
    assert len(lists) == 1, f"{page}.md: '{GOING_FURTHER}' asks its questions as one numbered list"
    questions: list[str] = []
    for token in tokens[lists[0]:]:
        if token.type == "ordered_list_close" and token.level == 0:
            break
        if token.type == "list_item_open" and token.level == 1:
            questions.append("")
        elif token.type == "inline":
            questions[-1] += " " + token.content
    assert 1 <= len(questions) <= 2, f"{page}.md: '{GOING_FURTHER}' asks one or two questions, not {len(questions)}"
    assert all("?" in question for question in questions), f"{page}.md: each item of '{GOING_FURTHER}' asks a question"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_in_the_shop_builds_the_chapters_piece_before_the_summary(chapter):
    text = (ROOT / "book" / f"{chapter}.md").read_text(encoding="utf-8")
    tokens = section_tokens(text, IN_THE_SHOP)
    assert tokens is not None, f"book/{chapter}.md has no '{IN_THE_SHOP}' section"
    titles = h2_titles(text)
    assert SUMMARY in titles and titles.index(IN_THE_SHOP) + 1 == titles.index(SUMMARY), (
        f"book/{chapter}.md: '{IN_THE_SHOP}' comes just before '{SUMMARY}'")
    code = [token.content for token in tokens if token.type == "fence" and token.info.strip() == "python"]
    assert code, f"book/{chapter}.md: '{IN_THE_SHOP}' has no python code block"
    for block in code:
        compile(block, f"book/{chapter}.md", "exec")  # a learner can paste it: it is Python
    build = re.compile(r"""lab\.shop\.build\(\s*through\s*=\s*(["'])""" + re.escape(chapter) + r"\1\s*\)")
    assert any(build.search(block) for block in code), (
        f'book/{chapter}.md: the code of \'{IN_THE_SHOP}\' calls lab.shop.build(through="{chapter}")')
    prose = " ".join(token.content for token in tokens if token.type == "inline")
    named = [name for name in NAMES[chapter] if f"`{name}`" in prose]
    assert named, f"book/{chapter}.md: '{IN_THE_SHOP}' names none of what the chapter adds: {NAMES[chapter]}"


def test_the_reading_order_is_read_as_documented():
    """The helpers read _toc.yml as documented: sections come right after their chapter,
    the next page skips a chapter's own sections, and {doc} targets resolve as Sphinx resolves them."""
    order, entries = toc()
    assert order[0] == _docname(yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))["root"])
    assert len(order) == len(set(order)), "a page appears twice in _toc.yml"
    for name, entry in entries.items():
        if entry.sections:
            start = order.index(name)
            assert order[start + 1:start + 1 + len(entry.sections)] == entry.sections
            assert next_page(name, order, entries) not in entry.sections
    assert doc_links(_md.parse("{doc}`a <../labs/sqs>` and {doc}`sns` and {doc}`/book/rds`\n"), "book/sqs") == [
        "labs/sqs", "book/sns", "book/rds"]


def _lab_minutes(lab: Path) -> set[int]:
    """The minutes a lab's opening cell states for itself ("about 90 minutes")."""
    first = next(cell for cell in __import__("json").loads(lab.read_text())["cells"] if cell["cell_type"] == "markdown")
    return {int(n) for n in re.findall(r"(\d+)\s+minutes", "".join(first["source"]))}


def test_the_introductions_table_of_parts_is_the_table_of_contents():
    """The introduction's "How the book is organised" table names the parts the
    table of contents has, in its order (the appendices aside)."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    captions = [part["caption"] for part in toc["parts"] if part["caption"] != "Appendices"]
    intro = (ROOT / "book" / "intro.md").read_text()
    section = intro.split("## How the book is organised", 1)[1].split("\n## ", 1)[0]
    table = [line for line in section.splitlines() if line.startswith("|")]
    rows = [line.split("|")[1].strip() for line in table[2:]]  # after the header and its rule
    assert rows == captions


@pytest.mark.parametrize("page", sorted(p.stem for p in (ROOT / "labs").glob("*.ipynb")))
def test_a_chapters_time_for_its_lab_is_the_labs_own(page):
    """The chapter's "Time to learn" gives the lab the minutes the lab's first cell gives itself."""
    chapter = (ROOT / "book" / f"{page}.md").read_text()
    row = next(line for line in chapter.splitlines() if "**Time to learn**" in line)
    stated = re.search(r"(\d+) for the \{doc\}`lab", row)
    assert stated, f"book/{page}.md: the Time to learn row gives no time for the lab"
    assert int(stated.group(1)) in _lab_minutes(ROOT / "labs" / f"{page}.ipynb"), (
        f"book/{page}.md says {stated.group(1)} minutes for the lab; the lab says {_lab_minutes(ROOT / 'labs' / f'{page}.ipynb')}")
