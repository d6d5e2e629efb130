"""Student copies: labkit.grading.release and ``labkit release``."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat import NotebookNode
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from labkit.__main__ import main
from labkit.check import RESULT_MIME
from labkit.grading.release import (
    STUB,
    LabFormatError,
    parse_lab,
    read_notebook,
    release,
    stub_source,
    student_copy,
)
from labkit.grading.runner import kernel_environment

ROOT = Path(__file__).resolve().parents[2]
MINI_LAB = ROOT / "tests" / "fixtures" / "grading" / "mini_lab.ipynb"


def mini() -> NotebookNode:
    return read_notebook(MINI_LAB)


def by_id(nb: NotebookNode) -> dict[str, NotebookNode]:
    return {c.id: c for c in nb.cells}


def tiny_lab(*cells: NotebookNode, name: str = "tiny") -> NotebookNode:
    setup = new_code_cell("import labkit\nlab = labkit.start()", id="setup")
    setup.metadata["tags"] = ["setup"]
    nb = new_notebook(metadata={"labkit": {"lab": name}})
    nb.cells = [setup, *cells]  # after new_notebook(), which would repair duplicate ids
    return nb


def code(cell_id: str, source: str, *tags: str) -> NotebookNode:
    cell = new_code_cell(source, id=cell_id)
    cell.metadata["tags"] = list(tags)
    return cell


# --- the stub transformation ---------------------------------------------------------


def test_a_solution_block_becomes_one_stub_line_at_its_indentation() -> None:
    source = "def f(x):\n    '''Doc.'''\n    # BEGIN SOLUTION\n    y = x + 1\n    return y\n    # END SOLUTION\n"
    assert stub_source(source) == f"def f(x):\n    '''Doc.'''\n    {STUB}\n"


def test_solution_lines_keep_their_target() -> None:
    source = "import json\nanswer = 'sns'  # SOLUTION\nlimits: dict = {'a': 1}  # SOLUTION\nself.x[0] = 3 # SOLUTION"
    assert stub_source(source) == (
        f"import json\nanswer = {STUB}\nlimits: dict = {STUB}\nself.x[0] = {STUB}"
    )


def test_two_blocks_in_one_cell() -> None:
    source = "def a():\n    # BEGIN SOLUTION\n    return 1\n    # END SOLUTION\n\n\ndef b():\n  # BEGIN SOLUTION\n  pass\n  # END SOLUTION"
    assert stub_source(source) == f"def a():\n    {STUB}\n\n\ndef b():\n  {STUB}"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("# BEGIN SOLUTION\nx = 1", "line 1: '# BEGIN SOLUTION' without a '# END SOLUTION'"),
        ("x = 1\n# END SOLUTION", "line 2: '# END SOLUTION' without a '# BEGIN SOLUTION'"),
        ("# BEGIN SOLUTION\n# BEGIN SOLUTION\n# END SOLUTION", "line 2: '# BEGIN SOLUTION' inside the block"),
        ("print('x')  # SOLUTION", "line 1: a '# SOLUTION' line must read 'name = expr  # SOLUTION'"),
        ("if x == 1:  # SOLUTION", "line 1: a '# SOLUTION' line"),
    ],
)
def test_malformed_markers_are_refused(source: str, message: str) -> None:
    with pytest.raises(ValueError, match="^" + re.escape(message)):
        stub_source(source)


# --- the student copy ----------------------------------------------------------------


def test_student_copy_of_the_mini_lab() -> None:
    source = mini()
    pristine = copy.deepcopy(source)
    student = student_copy(source, "mini_lab.ipynb")
    assert source == pristine, "the source notebook must not change"

    cells = by_id(student)
    # Every cell but the hidden check, in the same order, with the same ids.
    assert [c.id for c in student.cells] == [c.id for c in source.cells if c.id != "hidden-queue"]
    assert cells["answer-queue"].source == (
        'def create_orders_queue(sqs, name="orders"):\n'
        '    """Create queue `name` with a 45-second visibility timeout; return its URL."""\n'
        f"    {STUB}"
    )
    assert cells["answer-choice"].source == f"fanout_service = {STUB}"
    assert cells["answer-queue"].metadata["tags"] == ["answer", "ex:queue"]
    assert cells["answer-choice"].metadata["tags"] == ["answer", "ex:choice"]
    # Visible checks stay, unchanged but read-only in Jupyter.
    assert cells["check-dlq"].source == by_id(source)["check-dlq"].source
    assert cells["check-dlq"].metadata["tags"] == ["check", "ex:dlq"]
    assert cells["check-dlq"].metadata["editable"] is False
    # Fixed content is untouched; nothing of the solutions is left.
    assert cells["dlq-setup"].source == by_id(source)["dlq-setup"].source
    text = nbformat.writes(student)
    for leak in ("VisibilityTimeout\": \"45", "maxReceiveCount\": \"3", '"sns"  #', "BEGIN SOLUTION", "hidden=True"):
        assert leak not in text
    assert student.metadata["labkit"] == {"lab": "mini-sqs"}
    nbformat.validate(student)


def test_outputs_and_execution_counts_are_cleared() -> None:
    source = mini()
    for cell in source.cells:
        if cell.cell_type == "code":
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="the answer is 42\n")]
            cell.execution_count = 7
            cell.metadata["execution"] = {"iopub.status.busy": "2024-01-01T00:00:00Z"}
    student = student_copy(source)
    for cell in student.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None and "execution" not in cell.metadata


def test_a_solution_shown_collapsed_in_jupyter_is_shown_to_learners() -> None:
    lab = tiny_lab(code("a", "x = 1  # SOLUTION", "solution", "ex:x", "hide-input"))
    lab.cells[1].metadata["jupyter"] = {"source_hidden": True}
    assert "jupyter" not in student_copy(lab).cells[1].metadata


# --- malformed sources ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("cells", "message"),
    [
        ([code("s1", "def f():\n    # BEGIN SOLUTION\n    pass", "solution", "ex:f")],
         r"lab\.ipynb, cell 2 \(id s1\): line 2: '# BEGIN SOLUTION' without a '# END SOLUTION'"),
        ([code("s1", "x = 1  # SOLUTION", "solution")],
         r"lab\.ipynb, cell 2 \(id s1\): a solution cell needs exactly one ex:<id> tag; it has no ex:<id> tag"),
        ([code("s1", "x = 1  # SOLUTION", "solution", "ex:x"), code("c1", "pass", "check", "ex:y")],
         r"lab\.ipynb, cell 3 \(id c1\): a check for exercise 'y', which has no solution cell above it"),
        ([code("c1", "pass", "check", "ex:x"), code("s1", "x = 1  # SOLUTION", "solution", "ex:x")],
         r"cell 2 \(id c1\): a check for exercise 'x', which has no solution cell above it"),
        ([code("s1", "x = 1", "solution", "ex:x")],
         r"cell 2 \(id s1\): a solution cell without '# BEGIN SOLUTION'"),
        ([code("f1", "x = 1  # SOLUTION")], r"cell 2 \(id f1\): solution markers in a cell not tagged 'solution'"),
        ([code("s1", "x = 1  # SOLUTION", "solution", "ex:x"), code("h1", "pass", "check", "hidden", "ex:x")],
         r"cell 3 \(id h1\): a hidden check cell must call labkit.exercise\(..., hidden=True\)"),
        ([code("s1", "x = 1  # SOLUTION", "solution", "ex:x"), code("s2", "y = 1  # SOLUTION", "solution", "ex:x")],
         r"cell 3 \(id s2\): exercise 'x' already has a solution cell \(cell 2\)"),
        ([code("a1", "x = ...", "answer", "ex:x")], r"cell 2 \(id a1\): an 'answer' cell: this looks like a student copy"),
        ([code("setup", "pass")], r"cell 2 \(id setup\): the cell id is also used by cell 1"),
    ],
)
def test_malformed_sources_name_the_notebook_and_the_cell(cells: list[NotebookNode], message: str) -> None:
    with pytest.raises(LabFormatError, match=message):
        student_copy(tiny_lab(*cells), "labs/lab.ipynb")


def test_a_lab_needs_its_name_and_a_setup_cell_first() -> None:
    nb = tiny_lab()
    del nb.metadata["labkit"]
    with pytest.raises(LabFormatError, match=r'^x\.ipynb: the notebook metadata has no \{"labkit"'):
        parse_lab(nb, "x.ipynb")
    nb = new_notebook(cells=[new_markdown_cell("# Hi", id="m"), new_code_cell("import labkit", id="c")],
                      metadata={"labkit": {"lab": "x"}})
    with pytest.raises(LabFormatError, match=r"cell 2 \(id c\): the first code cell must be tagged 'setup'"):
        parse_lab(nb, "x.ipynb")


def test_every_lab_in_the_book_follows_the_format() -> None:
    paths = sorted((ROOT / "labs").glob("*.ipynb"))
    assert paths, "no lab found in labs/"
    for path in paths:
        source = read_notebook(path)
        lab = parse_lab(source, str(path))
        student = student_copy(source, str(path))
        assert lab.name == path.stem, f"{path.name}: the lab is named {lab.name!r} in its metadata"
        assert len(lab.exercises) >= 3, f"{path.name}: {lab.exercises}"  # at least three exercises (CONTRIBUTING.md)
        tags = [c.metadata.get("tags", []) for c in student.cells]
        assert not any("solution" in t for t in tags)
        assert sorted(e for t in tags if "answer" in t for e in t if e.startswith("ex:")) == sorted(
            f"ex:{e}" for e in lab.exercises
        )


# --- release() and the command -------------------------------------------------------


def test_release_writes_one_copy_per_lab(tmp_path: Path) -> None:
    src = tmp_path / "labs"
    src.mkdir()
    nbformat.write(mini(), src / "mini.ipynb")
    nbformat.write(tiny_lab(code("s", "x = 1  # SOLUTION", "solution", "ex:x")), src / "tiny.ipynb")
    assert main(["release", str(src), "--out", str(tmp_path / "release")]) == 0
    written = sorted(p.name for p in (tmp_path / "release").iterdir())
    assert written == ["mini.ipynb", "tiny.ipynb"]
    assert read_notebook(tmp_path / "release" / "tiny.ipynb").cells[1].source == f"x = {STUB}"
    assert read_notebook(tmp_path / "release" / "mini.ipynb") == student_copy(mini())


def test_release_refuses_a_malformed_lab_and_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "labs"
    src.mkdir()
    nbformat.write(mini(), src / "a.ipynb")
    nbformat.write(tiny_lab(code("s", "x = 1", "solution", "ex:x")), src / "b.ipynb")
    assert main(["release", str(src), "--out", str(tmp_path / "out")]) == 2
    assert "b.ipynb, cell 2 (id s): a solution cell without" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_release_never_overwrites_a_source(tmp_path: Path) -> None:
    nbformat.write(mini(), tmp_path / "mini.ipynb")
    with pytest.raises(ValueError, match="would overwrite the source"):
        release(tmp_path, tmp_path)


# --- the copy's checks fail, the source's pass ---------------------------------------


def check_reports(nb: NotebookNode) -> list[dict]:
    """Execute ``nb`` with plain nbclient and return its check reports."""
    NotebookClient(nb, kernel_name="python3", allow_errors=True, timeout=60).execute(env=kernel_environment())
    return [
        out["data"][RESULT_MIME]
        for cell in nb.cells if cell.cell_type == "code"
        for out in cell.outputs if RESULT_MIME in out.get("data", {})
    ]


@pytest.mark.notebook  # runs kernels
def test_the_student_copy_fails_every_check_and_the_source_passes_them_all() -> None:
    source_reports = check_reports(mini())
    assert [r["exercise"] for r in source_reports] == ["queue", "queue", "dlq", "choice"]
    assert all(c["passed"] for r in source_reports for c in r["checks"])

    student_reports = check_reports(student_copy(mini()))
    assert [r["exercise"] for r in student_reports] == ["queue", "dlq", "choice"]  # no hidden check
    checks = [c for r in student_reports for c in r["checks"]]
    assert len(checks) == 5 and not any(c["passed"] for c in checks)


def test_the_books_lab_downloads_become_student_copies(tmp_path):
    """What the Sphinx extension does once the HTML is built: each lab's copied
    source (``_sources/labs/<lab>.ipynb``) is replaced by its student copy;
    a walkthrough's stays as it was."""
    from labkit.grading.book import replace_lab_sources

    root = Path(__file__).resolve().parents[2]
    sources = {"labs/sqs": root / "labs" / "sqs.ipynb", "notebooks/sqs": root / "notebooks" / "sqs.ipynb",
               "book/sqs": root / "book" / "sqs.md"}
    for docname, source in sources.items():
        copied = tmp_path / "_sources" / (docname + source.suffix)
        copied.parent.mkdir(parents=True, exist_ok=True)
        copied.write_bytes(source.read_bytes())
    replaced = replace_lab_sources(tmp_path, sources)
    assert replaced == [tmp_path / "_sources" / "labs" / "sqs.ipynb"]
    lab = nbformat.read(replaced[0], as_version=4)
    assert lab == student_copy(nbformat.read(sources["labs/sqs"], as_version=4))
    assert not any("hidden" in cell.metadata.get("tags", []) for cell in lab.cells)
    assert "BEGIN SOLUTION" not in replaced[0].read_text()
    assert (tmp_path / "_sources" / "notebooks" / "sqs.ipynb").read_bytes() == sources["notebooks/sqs"].read_bytes()


def test_student_copies_are_readable_by_the_class(tmp_path):
    """A released copy gets the mode ``open()`` would give it (0644 under the usual
    umask 022), not the 0600 of a temporary file: a shared folder can serve it."""
    import os

    old = os.umask(0o022)
    try:
        (written,) = release(Path(__file__).resolve().parents[2] / "labs" / "sqs.ipynb", tmp_path)
    finally:
        os.umask(old)
    assert written.stat().st_mode & 0o777 == 0o644
