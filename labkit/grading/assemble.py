"""Rebuild a submission on its source lab: the source's cells, the learner's answers.

The grader never runs a submission as handed in. It starts from the *source*
lab (:mod:`labkit.grading.release`) and takes only the learner's answer cells
from the submission: by cell id, else by the ``ex:<id>`` tag with ``answer`` or
``solution``. Setup, fixed and check cells, hidden checks included, are the
source's. Editing, deleting, reordering or adding check cells in a submission
therefore changes nothing; a missing answer is graded as its stub.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from nbformat import NotebookNode

from labkit.grading.release import (
    ANSWER_TAG,
    SOLUTION_TAG,
    Lab,
    exercise_tags,
    stub_source,
    tags_of,
)


@dataclass
class Assembly:
    """A submission rebuilt on its source lab."""

    notebook: NotebookNode
    #: Exercises whose answer cell was not found (their stub is graded).
    missing: list[str]
    #: Code cells the learner added; they are not run.
    ignored: int


def assemble(lab: Lab, submission: NotebookNode) -> Assembly:
    """The source lab with the learner's answers in place of its solutions.

    An answer is the submission's code cell with the solution cell's id; failing
    that, the code cells tagged ``ex:<id>`` and ``answer`` (or ``solution``),
    joined in order. Everything else comes from the source.
    """
    nb = copy.deepcopy(lab.notebook)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    code_cells = [c for c in submission.get("cells", []) if isinstance(c, dict) and c.get("cell_type") == "code"]
    by_id: dict[str, NotebookNode] = {}
    for cell in code_cells:
        if isinstance(cell.get("id"), str):
            by_id.setdefault(cell["id"], cell)
    used: set[int] = set()
    missing = []
    for exercise in lab.exercises:
        index = lab.solution_index(exercise)
        source_cell = nb.cells[index]
        matches = [by_id[source_cell.id]] if source_cell.id in by_id else [
            c for c in code_cells if exercise in exercise_tags(c) and {ANSWER_TAG, SOLUTION_TAG} & set(tags_of(c))
        ]
        texts = [c.get("source") for c in matches]
        if matches and all(isinstance(t, str) for t in texts):
            source_cell.source = "\n\n".join(texts)
            used.update(id(c) for c in matches)
        else:
            source_cell.source = stub_source(source_cell.source)
            missing.append(exercise)
    # Cells the learner added: not the lab's own (by id), nor copies of them (by text).
    source_ids = {c.id for c in lab.notebook.cells}
    source_texts = {c.source.strip() for c in lab.notebook.cells} | {stub_source(c.source).strip()
                                                                     for c, info in zip(lab.notebook.cells, lab.cells, strict=True)
                                                                     if info.role == "solution"}
    ignored = sum(
        1 for c in code_cells
        if id(c) not in used and c.get("id") not in source_ids and str(c.get("source", "")).strip() not in source_texts
    )
    return Assembly(nb, missing, ignored)
