"""The book's download of a lab is the learners' copy, never the source.

Sphinx copies each page's source into the HTML output's ``_sources/`` folder,
and the theme's download button serves it. For a lab that source is the
instructor's: worked solutions, and the hidden checks a class is graded with.
This Sphinx extension (listed in ``_config.yml``) writes the student copy that
``labkit release`` makes (:func:`labkit.grading.release.student_copy`) over
each lab's copied source once the HTML is built. Walkthroughs and chapter
pages are left as they are.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat

from labkit.grading.release import cell_info, read_notebook, student_copy, write_atomic


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


def _build_finished(app: Any, exception: BaseException | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    sources = {docname: Path(app.env.doc2path(docname)) for docname in app.env.found_docs}
    replace_lab_sources(app.outdir, sources)


def setup(app: Any) -> dict[str, Any]:
    """Sphinx's entry point."""
    app.connect("build-finished", _build_finished)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
