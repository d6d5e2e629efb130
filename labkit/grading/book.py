"""What the book publishes of a lab: its two editions and its download.

A Sphinx extension, listed in ``_config.yml``:

- **The download is the learners' copy.** Sphinx copies each page's source
  into the HTML output's ``_sources/`` folder, and the theme's download button
  serves it. For a lab that source is the instructor's: worked solutions and
  the hidden checks a class is graded with. Once the HTML is built, the
  student copy that ``labkit release`` makes
  (:func:`labkit.grading.release.student_copy`) is written over each lab's
  copied source. Walkthroughs and chapter pages are left as they are.
- **Two editions.** The self-learner's edition (the default) shows each
  worked solution collapsed behind a click. The class edition
  (``LABKIT_EDITION=class``, which ``make book-class`` sets) publishes none:
  each solution cell's code and output are replaced by one sentence. Hidden
  checks are in neither (their cells are removed from every page).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import nbformat

from labkit.grading.release import cell_info, read_notebook, student_copy, write_atomic

#: The environment variable that chooses the edition: ``self`` (the default) or ``class``.
EDITION_VARIABLE = "LABKIT_EDITION"
EDITIONS = ("self", "class")
WITHHELD = "The worked solution is not published in this edition of the book: ask your instructor."


def edition() -> str:
    """The edition being built, from ``LABKIT_EDITION``; an unknown name is an error that says the choices."""
    name = os.environ.get(EDITION_VARIABLE, "self").strip() or "self"
    if name not in EDITIONS:
        raise ValueError(f"{EDITION_VARIABLE}={name!r}: the editions are {', '.join(EDITIONS)}")
    return name


def is_lab(nb: nbformat.NotebookNode) -> bool:
    """A notebook with solution or check cells is a lab."""
    return any(cell_info(cell).role in {"solution", "check"} for cell in nb.cells)


def replace_lab_sources(outdir: str | Path, sources: dict[str, Path]) -> list[Path]:
    """Write the student copy of each lab in ``sources`` (docname -> source
    path) over every file Sphinx copied for it into ``outdir/_sources``.
    Returns the files replaced."""
    replaced = []
    for docname, source in sorted(sources.items()):
        if source.suffix != ".ipynb":
            continue
        nb = read_notebook(source)
        if not is_lab(nb):
            continue
        text = nbformat.writes(student_copy(nb, str(source))) + "\n"
        folder = Path(outdir) / "_sources" / Path(docname).parent
        for copied in sorted(folder.glob(f"{Path(docname).name}.ipynb*")):
            write_atomic(copied, text)
            replaced.append(copied)
    return replaced


def _withhold_solutions(app: Any, doctree: Any, docname: str) -> None:
    """In the class edition, a solution cell keeps its place and says it is withheld."""
    if app.config.labkit_edition != "class":
        return
    from docutils import nodes

    for cell in list(doctree.findall(nodes.container)):
        if "tag_solution" in cell.get("classes", []):
            cell.children = [nodes.paragraph(text=WITHHELD)]
            cell["classes"] = [c for c in cell["classes"] if c != "tag_hide-input"] + ["labkit-withheld"]


def _build_finished(app: Any, exception: BaseException | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    sources = {docname: Path(app.env.doc2path(docname)) for docname in app.env.found_docs}
    replace_lab_sources(app.outdir, sources)


def setup(app: Any) -> dict[str, Any]:
    """Sphinx's entry point."""
    # A config value, so that a build of the other edition into the same folder reads every page again.
    # A wrong LABKIT_EDITION stops the build at once, with the choices.
    app.add_config_value("labkit_edition", edition(), "env")
    app.connect("doctree-resolved", _withhold_solutions)
    app.connect("build-finished", _build_finished)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
