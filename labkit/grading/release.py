"""Student copies of a lab: one source notebook, solutions replaced by stubs.

A lab is written once, as ``labs/<chapter>.ipynb``, with its solutions in it.
Cell tags say what each cell is:

================  ==========================================================
tags              the cell
================  ==========================================================
``setup``         the first code cell: ``import labkit`` / ``lab = labkit.start()``
``solution``,     the answer to exercise ``<id>``; its solution code sits between
``ex:<id>``       ``# BEGIN SOLUTION`` and ``# END SOLUTION`` lines, or on lines
                  ``name = expr  # SOLUTION``; also tagged ``hide-input`` so the
                  book shows the solution behind a click
``check``,        the checks of exercise ``<id>`` (``with labkit.exercise(...)``)
``ex:<id>``
``check``,        checks used for grading only; the cell also calls
``hidden``,       ``labkit.exercise(..., hidden=True)`` and is tagged
``ex:<id>``       ``remove-cell`` so the book does not show it
(anything else)   fixed content: prose, demonstrations, set-up for the checks
================  ==========================================================

:func:`student_copy` turns such a notebook into the one learners get:

- each solution block becomes one line ``...  # YOUR CODE HERE`` (at the
  indentation of its ``# BEGIN SOLUTION`` line), and ``name = expr  # SOLUTION``
  becomes ``name = ...  # YOUR CODE HERE``;
- the tag ``solution`` becomes ``answer`` (``ex:<id>`` stays, ``hide-input`` goes);
- hidden check cells are removed; visible check cells stay, marked read-only
  (``editable``/``deletable`` false, which Jupyter honours; the grader does not
  rely on it);
- outputs and execution counts are cleared; cell ids stay, so the grader can
  find each answer in a submission.

:func:`release` does that for a folder of labs (or one file) and writes the
copies elsewhere. Both refuse a malformed source with a :class:`LabFormatError`
naming the notebook and the cell.
"""

from __future__ import annotations

import copy
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import nbformat
from nbformat import NotebookNode

SETUP_TAG = "setup"
SOLUTION_TAG = "solution"
ANSWER_TAG = "answer"
CHECK_TAG = "check"
HIDDEN_TAG = "hidden"
EXERCISE_PREFIX = "ex:"
#: Jupyter Book tags: the solution behind a click, hidden checks not shown.
HIDE_INPUT_TAG = "hide-input"
REMOVE_CELL_TAG = "remove-cell"

#: What a learner finds in place of a solution.
STUB = "...  # YOUR CODE HERE"

_BEGIN = re.compile(r"^(?P<indent>[ \t]*)#[ \t]*BEGIN SOLUTION[ \t]*$")
_END = re.compile(r"^[ \t]*#[ \t]*END SOLUTION[ \t]*$")
#: Any line that ends in "# SOLUTION" ...
_SOLUTION_MARK = re.compile(r"#[ \t]*SOLUTION[ \t]*$")
#: ... must be an assignment: name, attribute or subscript, optionally annotated.
_SOLUTION_LINE = re.compile(
    r"^(?P<target>[ \t]*[A-Za-z_][\w.]*(?:\[[^\]]*\])?(?:[ \t]*:[ \t]*[^=#]+?)?)"
    r"[ \t]*=(?!=)[ \t]*\S.*?#[ \t]*SOLUTION[ \t]*$"
)

Role = Literal["setup", "solution", "answer", "check", "fixed"]


class LabFormatError(ValueError):
    """A lab notebook breaks the single-source format.

    The message names the notebook and the cell (its position, counting from 1,
    and its id) so the author can find it.
    """

    def __init__(self, notebook: str, message: str, cell: int | None = None, cell_id: str | None = None) -> None:
        where = notebook
        if cell is not None:
            where += f", cell {cell + 1}" + (f" (id {cell_id})" if cell_id else "")
        super().__init__(f"{where}: {message}")
        self.notebook = notebook
        self.cell = cell
        self.cell_id = cell_id


@dataclass(frozen=True)
class CellInfo:
    """What one cell of a lab is, read from its tags."""

    role: Role
    exercise: str | None = None
    hidden: bool = False


@dataclass
class Lab:
    """A parsed source lab: the notebook and the role of each of its cells."""

    name: str
    notebook: NotebookNode
    cells: list[CellInfo]
    #: Exercise ids in the order of their solution cells.
    exercises: list[str] = field(default_factory=list)

    def solution_index(self, exercise: str) -> int:
        """Position of the solution cell of ``exercise``."""
        for index, info in enumerate(self.cells):
            if info.role == "solution" and info.exercise == exercise:
                return index
        raise KeyError(exercise)


def tags_of(cell: NotebookNode) -> list[str]:
    """The cell's tags (an empty list when it has none)."""
    tags = cell.get("metadata", {}).get("tags", [])
    return [t for t in tags if isinstance(t, str)] if isinstance(tags, list) else []


def exercise_tags(cell: NotebookNode) -> list[str]:
    """The exercise ids named by the cell's ``ex:<id>`` tags."""
    return [t[len(EXERCISE_PREFIX) :] for t in tags_of(cell) if t.startswith(EXERCISE_PREFIX)]


def cell_info(cell: NotebookNode) -> CellInfo:
    """Classify a cell by its tags, without validating anything."""
    tags = set(tags_of(cell))
    exercises = exercise_tags(cell)
    exercise = exercises[0] if exercises else None
    if cell.get("cell_type") != "code":
        return CellInfo("fixed")
    if SETUP_TAG in tags:
        return CellInfo("setup")
    if SOLUTION_TAG in tags:
        return CellInfo("solution", exercise)
    if ANSWER_TAG in tags:
        return CellInfo("answer", exercise)
    if CHECK_TAG in tags:
        return CellInfo("check", exercise, hidden=HIDDEN_TAG in tags)
    return CellInfo("fixed")


def lab_name(nb: NotebookNode) -> str | None:
    """The lab a notebook belongs to (``metadata.labkit.lab``), if it says."""
    meta = nb.get("metadata", {}).get("labkit", {})
    name = meta.get("lab") if isinstance(meta, dict) else None
    return name if isinstance(name, str) and name else None


def parse_lab(nb: NotebookNode, label: str = "<notebook>") -> Lab:
    """Read a source lab's structure and check it follows the format.

    Args:
        nb: the source notebook (with solutions).
        label: how errors name the notebook, usually its path.

    Raises:
        LabFormatError: for the first problem found.
    """
    name = lab_name(nb)
    if name is None:
        raise LabFormatError(label, 'the notebook metadata has no {"labkit": {"lab": "<chapter>"}}')
    infos: list[CellInfo] = []
    seen_ids: dict[str, int] = {}
    solutions: dict[str, int] = {}
    first_code = True
    for index, cell in enumerate(nb.cells):
        cell_id = cell.get("id")
        where = {"cell": index, "cell_id": cell_id}
        if not cell_id:
            raise LabFormatError(label, "the cell has no id; save the notebook as nbformat 4.5", **where)
        if cell_id in seen_ids:
            raise LabFormatError(label, f"the cell id is also used by cell {seen_ids[cell_id] + 1}", **where)
        seen_ids[cell_id] = index
        info = cell_info(cell)
        tags = set(tags_of(cell))
        exercises = exercise_tags(cell)
        if ANSWER_TAG in tags:
            raise LabFormatError(label, "an 'answer' cell: this looks like a student copy, not a source lab", **where)
        if cell.get("cell_type") != "code":
            if tags & {SOLUTION_TAG, CHECK_TAG, SETUP_TAG}:
                raise LabFormatError(label, "setup, solution and check tags belong on code cells", **where)
            infos.append(info)
            continue
        if first_code and info.role != "setup":
            raise LabFormatError(label, "the first code cell must be tagged 'setup' (import labkit; lab = labkit.start())", **where)
        if not first_code and info.role == "setup":
            raise LabFormatError(label, "only the first code cell may be tagged 'setup'", **where)
        first_code = False
        if HIDDEN_TAG in tags and info.role != "check":
            raise LabFormatError(label, "the 'hidden' tag is only for check cells", **where)
        if info.role in ("solution", "check") and len(exercises) != 1:
            what = "no ex:<id> tag" if not exercises else f"{len(exercises)} ex: tags"
            raise LabFormatError(label, f"a {info.role} cell needs exactly one ex:<id> tag; it has {what}", **where)
        if info.role == "solution":
            assert info.exercise is not None
            if info.exercise in solutions:
                raise LabFormatError(
                    label,
                    f"exercise {info.exercise!r} already has a solution cell (cell {solutions[info.exercise] + 1}); "
                    "put each exercise's answer in one cell",
                    **where,
                )
            solutions[info.exercise] = index
            try:
                stubbed = stub_source(cell.source)
            except ValueError as error:
                raise LabFormatError(label, str(error), **where) from None
            if stubbed == cell.source:
                raise LabFormatError(
                    label, "a solution cell without '# BEGIN SOLUTION'/'# END SOLUTION' or '# SOLUTION' lines", **where
                )
        else:
            if _has_markers(cell.source):
                raise LabFormatError(label, "solution markers in a cell not tagged 'solution'", **where)
        if info.role == "check":
            if info.exercise not in solutions:
                raise LabFormatError(
                    label, f"a check for exercise {info.exercise!r}, which has no solution cell above it", **where
                )
            if info.hidden and not re.search(r"hidden\s*=\s*True", cell.source):
                raise LabFormatError(label, "a hidden check cell must call labkit.exercise(..., hidden=True)", **where)
        infos.append(info)
    if first_code:
        raise LabFormatError(label, "the lab has no code cell")
    return Lab(name=name, notebook=nb, cells=infos, exercises=list(solutions))


def _has_markers(source: str) -> bool:
    return any(_BEGIN.match(line) or _END.match(line) or _SOLUTION_MARK.search(line) for line in source.splitlines())


def stub_source(source: str) -> str:
    """A solution cell's source with every solution replaced by its stub.

    Raises:
        ValueError: unbalanced ``BEGIN``/``END SOLUTION`` lines, or a line
            ending in ``# SOLUTION`` that is not ``name = expr  # SOLUTION``.
    """
    out: list[str] = []
    begin_line: int | None = None
    for number, line in enumerate(source.splitlines(), start=1):
        begin = _BEGIN.match(line)
        if begin:
            if begin_line is not None:
                raise ValueError(f"line {number}: '# BEGIN SOLUTION' inside the block opened on line {begin_line}")
            begin_line = number
            out.append(begin.group("indent") + STUB)
        elif _END.match(line):
            if begin_line is None:
                raise ValueError(f"line {number}: '# END SOLUTION' without a '# BEGIN SOLUTION' above it")
            begin_line = None
        elif begin_line is not None:
            continue
        elif _SOLUTION_MARK.search(line):
            assignment = _SOLUTION_LINE.match(line)
            if not assignment:
                raise ValueError(f"line {number}: a '# SOLUTION' line must read 'name = expr  # SOLUTION'")
            out.append(assignment.group("target").rstrip() + " = " + STUB)
        else:
            out.append(line)
    if begin_line is not None:
        raise ValueError(f"line {begin_line}: '# BEGIN SOLUTION' without a '# END SOLUTION' below it")
    text = "\n".join(out)
    return text + "\n" if source.endswith("\n") else text


def _clear(cell: NotebookNode) -> None:
    if cell.cell_type == "code":
        cell.outputs = []
        cell.execution_count = None
    cell.metadata.pop("execution", None)


def student_copy(nb: NotebookNode, label: str = "<notebook>") -> NotebookNode:
    """The learners' copy of a source lab (the source is not changed).

    Raises:
        LabFormatError: the source does not follow the format.
    """
    lab = parse_lab(nb, label)
    out = copy.deepcopy(nb)
    cells = []
    for cell, info in zip(out.cells, lab.cells, strict=True):
        _clear(cell)
        if info.role == "check" and info.hidden:
            continue
        if info.role == "solution":
            cell.source = stub_source(cell.source)
            cell.metadata["tags"] = [
                ANSWER_TAG if t == SOLUTION_TAG else t for t in tags_of(cell) if t != HIDE_INPUT_TAG
            ]
            jupyter = cell.metadata.get("jupyter")
            if isinstance(jupyter, dict):
                jupyter.pop("source_hidden", None)
                if not jupyter:
                    del cell.metadata["jupyter"]
        elif info.role == "check":
            cell.metadata["editable"] = False
            cell.metadata["deletable"] = False
        cells.append(cell)
    out.cells = cells
    return out


def read_notebook(path: str | os.PathLike[str]) -> NotebookNode:
    """Read a notebook as nbformat 4."""
    return nbformat.read(os.fspath(path), as_version=4)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and :func:`os.replace`,
    so a reader never sees a half-written file."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # as open() would make it (mkstemp makes 0600): a class's shared folder can read it
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def lab_paths(src: str | os.PathLike[str]) -> list[Path]:
    """The lab notebooks at ``src``: the file itself, or every ``*.ipynb`` in the
    folder (not in ``.ipynb_checkpoints``), sorted."""
    path = Path(src)
    if path.is_dir():
        return sorted(p for p in path.glob("*.ipynb") if p.is_file())
    if path.is_file():
        return [path]
    raise FileNotFoundError(f"no such file or folder: {path}")


def release(src: str | os.PathLike[str], out_dir: str | os.PathLike[str]) -> list[Path]:
    """Write the student copy of each lab at ``src`` into ``out_dir``.

    Args:
        src: a source lab notebook, or a folder of them (``labs/``).
        out_dir: where the copies go, under the same file names.

    Returns:
        The paths written.

    Raises:
        LabFormatError: a source breaks the format; nothing is written.
        ValueError: ``out_dir`` would overwrite a source.
    """
    sources = lab_paths(src)
    target = Path(out_dir)
    copies: list[tuple[Path, NotebookNode]] = []
    for path in sources:
        destination = target / path.name
        if destination.resolve() == path.resolve():
            raise ValueError(f"releasing {path} into {target} would overwrite the source")
        copies.append((destination, student_copy(read_notebook(path), str(path))))
    written = []
    for destination, nb in copies:
        nbformat.validate(nb)
        write_atomic(destination, nbformat.writes(nb) + "\n")
        written.append(destination)
    return written

