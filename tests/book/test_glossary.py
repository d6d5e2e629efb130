"""Every glossary term a page links to is defined in ``book/glossary.md``.

The sources are parsed, not built: this runs in a second. A ``{term}`` role is
found wherever MyST would render it: in ``book/*.md`` (and the files they
``{include}``), in the markdown cells of ``notebooks/*.ipynb`` and
``labs/*.ipynb``, inside directives whose body is markdown (admonitions,
exercises, the glossary's own definitions), but not in code cells, fenced code
or inline code.

A role resolves as Sphinx resolves it: the target is the text of the role, or
the part in angle brackets (``{term}`queues <dead-letter queue>```), with runs
of whitespace made one space; it matches a term of the ``{glossary}`` directive
exactly or, failing that, ignoring case. Nothing else is forgiven: a plural or
another form needs the angle-bracket target.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from myst_parser.config.main import MdParserConfig
from myst_parser.parsers.mdit import create_md_parser

ROOT = Path(__file__).resolve().parents[2]
GLOSSARY = ROOT / "book" / "glossary.md"

#: Directives whose body is not markdown: no role in them is rendered as one.
NOT_MARKDOWN = {"code-cell", "code", "code-block", "sourcecode", "literalinclude", "math", "raw", "eval-rst",
                "toctree", "csv-table", "mermaid", "graphviz"}

_md = create_md_parser(MdParserConfig(enable_extensions={"colon_fence", "deflist", "substitution", "attrs_inline"}),
                       RendererHTML)


def _directive(token: Token) -> tuple[str, str] | None:
    """(name, argument) of a fenced directive such as ```` ```{note} ```` or ``:::{glossary}``."""
    match = re.match(r"\{([^}]+)\}\s*(.*)", token.info.strip())
    return (match.group(1), match.group(2)) if match else None


def _roles(text: str, name: str, source: Path, offset: int = 0) -> list[tuple[str, str]]:
    """(role content, where) of every ``{name}`` role MyST would render in ``text``
    (``offset``: the line of ``source`` where ``text`` starts, counted from 0)."""
    found = []
    for token in _md.parse(text):
        start = offset + (token.map[0] if token.map else 0)
        if token.type in ("fence", "colon_fence"):
            directive = _directive(token)
            if directive is None or directive[0] in NOT_MARKDOWN:
                continue
            if directive[0] == "include":
                included = source.parent / directive[1]
                found += _roles(included.read_text(encoding="utf-8"), name, included)
            elif directive[0] == "glossary":
                found += [role for _, definition in glossary_entries(token.content)
                          for role in _roles(definition, name, source, start + 1)]
            else:
                found += _roles(token.content, name, source, start + 1)
        for child in token.children or []:
            if child.type == "myst_role" and child.meta.get("name") == name:
                found.append((child.content, f"{source.relative_to(ROOT)}:{start + 1}"))
    return found


def term_target(content: str) -> str:
    """What a ``{term}`` role looks up: the explicit target, or the text; whitespace runs become one space."""
    match = re.match(r"^(.+?)\s*(?<!\x00)<([^<]*?)>$", content, re.DOTALL)
    target = match.group(2) if match else content
    return re.sub(r"\s+", " ", target).strip()


def glossary_entries(content: str) -> list[tuple[list[str], str]]:
    """The entries of a ``{glossary}`` directive's body, as Sphinx reads them: one or more
    unindented term lines (a `` : classifier`` dropped), then an indented definition."""
    lines = content.splitlines()
    if lines and lines[0].strip() == "---":  # options as a YAML block
        end = lines.index("---", 1) if "---" in lines[1:] else 0
        lines = lines[end + 1:]
    while lines and lines[0].startswith(":"):  # options as :name: lines
        lines = lines[1:]
    entries: list[tuple[list[str], list[str]]] = []
    in_definition = True
    for line in lines:
        if not line.strip():
            if entries:
                entries[-1][1].append("")
            continue
        if not line[0].isspace():
            if line.startswith(".. "):
                continue
            term = re.split(r" +: +", line)[0]
            term = re.sub(r"[`*]", "", term).strip()  # inline markup: the term is its text
            if in_definition:
                entries.append(([term], []))
                in_definition = False
            else:
                entries[-1][0].append(term)
        else:
            in_definition = True
            entries[-1][1].append(line.strip())
    return [(terms, "\n".join(definition).strip()) for terms, definition in entries]


def defined_terms() -> list[str]:
    terms = []
    for token in _md.parse(GLOSSARY.read_text(encoding="utf-8")):
        directive = _directive(token) if token.type in ("fence", "colon_fence") else None
        if directive and directive[0] == "glossary":
            terms += [term for entry_terms, _ in glossary_entries(token.content) for term in entry_terms]
    return terms


def used_terms() -> list[tuple[str, str]]:
    """(target, where) of every ``{term}`` role in the book's pages and notebooks."""
    used = []
    for page in sorted((ROOT / "book").glob("*.md")):
        used += _roles(page.read_text(encoding="utf-8"), "term", page)
    for folder in ("notebooks", "labs"):
        for notebook in sorted((ROOT / folder).glob("*.ipynb")):
            for index, cell in enumerate(json.loads(notebook.read_text(encoding="utf-8"))["cells"]):
                if cell["cell_type"] == "markdown":
                    source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
                    used += [(content, f"{notebook.relative_to(ROOT)}, cell {index}")
                             for content, _ in _roles(source, "term", notebook)]
    return [(term_target(content), where) for content, where in used]


def resolves(target: str, terms: list[str]) -> bool:
    return target in terms or target.lower() in {term.lower() for term in terms}


def test_the_glossary_has_entries_each_with_a_definition():
    entries = [entry for token in _md.parse(GLOSSARY.read_text(encoding="utf-8"))
               if token.type in ("fence", "colon_fence") and (_directive(token) or ("",))[0] == "glossary"
               for entry in glossary_entries(token.content)]
    assert entries, f"{GLOSSARY.relative_to(ROOT)} has no {{glossary}} entries"
    assert all(definition for _, definition in entries), [terms for terms, definition in entries if not definition]


def test_glossary_terms_are_unique_and_in_alphabetical_order():
    terms = [term.lower() for term in defined_terms()]
    duplicates = sorted({term for term in terms if terms.count(term) > 1})
    assert not duplicates, f"defined more than once (terms match ignoring case): {duplicates}"
    firsts = []
    for token in _md.parse(GLOSSARY.read_text(encoding="utf-8")):
        if token.type in ("fence", "colon_fence") and (_directive(token) or ("",))[0] == "glossary":
            firsts += [entry_terms[0].lower() for entry_terms, _ in glossary_entries(token.content)]
    assert firsts == sorted(firsts), "the glossary says its terms are in alphabetical order"


def test_every_term_used_is_defined():
    terms = defined_terms()
    used = used_terms()
    assert used, "no {term} role found in the book: the parser would miss them all"
    missing = [f"{target!r} ({where})" for target, where in used if not resolves(target, terms)]
    assert not missing, "{term} roles with no glossary entry:\n" + "\n".join(missing)


def test_the_checks_follow_myst():
    """The helpers read what MyST renders, and match as Sphinx does."""
    text = ("A {term}`Visibility Timeout`, {term}`queues <dead-letter\nqueue>` and `{term}`not a role``.\n\n"
            "```python\n{term}`in code`\n```\n\n:::{note}\nInside a {term}`note`.\n:::\n")
    found = [term_target(content) for content, _ in _roles(text, "term", GLOSSARY)]
    assert found == ["Visibility Timeout", "dead-letter queue", "note"]
    assert resolves("Visibility Timeout", ["visibility timeout"])
    assert not resolves("visibility timeouts", ["visibility timeout"])
    entries = glossary_entries(":sorted:\nTTL\ntime to live : expiry\n  A lifetime.\n\n  More.\n\nqueue\n  A queue.\n")
    assert entries == [(["TTL", "time to live"], "A lifetime.\n\nMore."), (["queue"], "A queue.")]
