"""The grader: labkit.grading and ``labkit grade``, against adversarial submissions.

The submissions are tests/fixtures/grading/submissions/*.ipynb, written by
make_submissions.py beside them from the student copy of mini_lab.ipynb (8
points: queue 4 of which 1 hidden, dlq 3, choice 1). One grading run of all
of them (two kernels in parallel) is shared by most tests. Tests that run
kernels are marked ``notebook`` (``make test-fast`` leaves them out).
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from labkit.__main__ import main
from labkit.check import Exercise
from labkit.grading import (
    GradeOptions,
    GradeReport,
    GradingSetupError,
    LabFormatError,
    Progress,
    SubmissionGrade,
    grade,
    kernel_environment,
    parse_lab,
    read_notebook,
    student_copy,
)
from labkit.grading.assemble import assemble

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "grading"
MINI_LAB = FIXTURES / "mini_lab.ipynb"
SUBMISSIONS = FIXTURES / "submissions"
#: Short, so the endless loops cost little (a solved mini lab runs in about a second), and
#: long enough that a cell of a loaded machine (four test workers on two cores) is not
#: stopped where the same cell on a quiet one is not (at 8 s, one was).
TIMEOUT = 15
OPTIONS = GradeOptions(timeout=TIMEOUT, jobs=2)

#: submission: (score, status, {exercise: points}). Maximum: 8 = queue 4, dlq 3, choice 1.
EXPECTED = {
    "solved": (8, "ok", {"queue": 4, "dlq": 3, "choice": 1}),
    "stub": (0, "ok", {"queue": 0, "dlq": 0, "choice": 0}),
    "partial": (5, "ok", {"queue": 2, "dlq": 3, "choice": 0}),
    # Check cells rewritten to pass 100 points, with forged outputs: nothing gained.
    "edited_checks": (0, "ok", {"queue": 0, "dlq": 0, "choice": 0}),
    # Check cells deleted, cells in reverse order: the source's order and checks are used.
    "reordered": (8, "ok", {"queue": 4, "dlq": 3, "choice": 1}),
    "deleted_answer": (5, "missing", {"queue": 4, "dlq": 0, "choice": 1}),
    # New cell ids (pasted into a fresh notebook): answers found by their ex: tags.
    "retagged": (8, "ok", {"queue": 4, "dlq": 3, "choice": 1}),
    # Replaces labkit.exercise, Exercise.check, builtins.sum; displays forged reports.
    "monkeypatch": (7, "tampered", {"queue": 4, "dlq": 3, "choice": 0}),
    # The dlq answer, called by a check, swaps the checker's check method.
    "patch_during_check": (5, "tampered", {"queue": 4, "dlq": 0, "choice": 1}),
    # The dlq answer, called by a check, swaps sys.modules["json"] for one that would pass everything.
    "swap_json": (5, "tampered", {"queue": 4, "dlq": 0, "choice": 1}),
    # An input transformer that rewrites check cells, and a pre_run_cell hook.
    "hooks": (4, "tampered", {"queue": 4, "dlq": 0, "choice": 0}),
    # Objects equal to anything: an __eq__ that says True, a str subclass that lies.
    "always_equal": (3, "ok", {"queue": 0, "dlq": 3, "choice": 0}),
    "syntax_error": (5, "error", {"queue": 4, "dlq": 0, "choice": 1}),
    "exception": (7, "error", {"queue": 4, "dlq": 3, "choice": 0}),
    # Interrupted after TIMEOUT seconds; the rest of the notebook still runs.
    "infinite_loop": (4, "timeout", {"queue": 0, "dlq": 3, "choice": 1}),
    # Ignores the interrupt: the kernel is stopped; what ran before counts.
    "uninterruptible": (7, "timeout", {"queue": 4, "dlq": 3, "choice": 0}),
    "os_exit": (4, "crashed", {"queue": 4, "dlq": 0, "choice": 0}),
    "segfault": (0, "crashed", {"queue": 0, "dlq": 0, "choice": 0}),
    "huge_output": (8, "output-limit", {"queue": 4, "dlq": 3, "choice": 1}),
    "invalid_json": (0, "invalid", {"queue": 0, "dlq": 0, "choice": 0}),
    "other_lab": (0, "wrong-lab", {"queue": 0, "dlq": 0, "choice": 0}),
    "unrelated": (0, "wrong-lab", {"queue": 0, "dlq": 0, "choice": 0}),
}


class Graded:
    """The shared grading run of every fixture submission."""

    def __init__(self, report: GradeReport, csv_path: Path, json_path: Path) -> None:
        self.report = report
        self.csv_path = csv_path
        self.json_path = json_path
        self.rows = {Path(r["submission"]).stem: r for r in csv.DictReader(csv_path.open(encoding="utf-8"))}
        self.json = json.loads(json_path.read_text(encoding="utf-8"))
        self.feedback = {Path(s["submission"]).stem: s for s in self.json["submissions"]}

    def grade(self, name: str) -> SubmissionGrade:
        return next(g for g in self.report.grades if Path(g.submission).stem == name)


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> Graded:
    out = tmp_path_factory.mktemp("gradebook")
    report = grade(MINI_LAB, [SUBMISSIONS], out / "grades.csv", json_path=out / "grades.json", options=OPTIONS)
    return Graded(report, out / "grades.csv", out / "grades.json")


def test_the_fixtures_are_up_to_date() -> None:
    names = sorted(p.stem for p in SUBMISSIONS.glob("*.ipynb"))
    assert names == sorted(EXPECTED)
    assert read_notebook(SUBMISSIONS / "stub.ipynb") == student_copy(read_notebook(MINI_LAB))


@pytest.mark.notebook  # runs kernels
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_exact_score_and_status(graded: Graded, name: str) -> None:
    score, status, exercises = EXPECTED[name]
    row = graded.rows[name]
    assert (row["score"], row["max_score"], row["status"]) == (str(score), "8", status), row["detail"]
    assert {e: int(row[e]) for e in ("queue", "dlq", "choice")} == exercises
    assert (status == "ok") == (row["detail"] == ""), row["detail"]


@pytest.mark.notebook  # runs kernels
def test_the_gradebook_has_one_row_per_submission_and_a_column_per_exercise(graded: Graded) -> None:
    header = graded.csv_path.read_text(encoding="utf-8").splitlines()[0]
    assert header == "submission,score,max_score,status,queue,dlq,choice,detail,sha256,source_sha256"
    assert len(graded.rows) == len(EXPECTED)
    assert graded.report.graded == len(EXPECTED) and graded.report.reused == 0
    assert sorted(p.name for p in graded.csv_path.parent.iterdir()) == ["grades.csv", "grades.json"]  # no temp files
    assert [e.id for e in graded.report.exercises] == ["queue", "dlq", "choice"]
    assert [(e["id"], e["possible"]) for e in graded.json["exercises"]] == [("queue", 4), ("dlq", 3), ("choice", 1)]
    assert graded.json["exercises"][0]["title"] == "Create the orders queue"


@pytest.mark.notebook  # runs kernels
def test_status_details_say_why(graded: Graded) -> None:
    detail = {name: row["detail"] for name, row in graded.rows.items()}
    assert detail["deleted_answer"] == "no answer cell for dlq; its stub was graded"
    assert detail["exception"] == "the answer to choice raised RuntimeError: not sure yet"
    assert detail["syntax_error"].startswith("the answer to dlq raised SyntaxError: expected ':'")
    assert detail["infinite_loop"] == f"the answer to queue ran longer than {TIMEOUT} s and was stopped"
    assert detail["os_exit"] == "the kernel died while running the answer to dlq"
    assert detail["segfault"] == "the kernel died while running the answer to queue"
    assert detail["huge_output"] == "printed 5.0 MB of output (the limit is 1 MB); it was not kept"
    assert detail["other_lab"] == "a notebook of lab 'dynamodb', not 'mini-sqs'"
    assert detail["invalid_json"].startswith("not a readable notebook (NotJSONError")
    assert detail["monkeypatch"] == (
        "before the checks of choice ran, the submission changed builtins.sum, labkit.exercise, labkit.check; "
        "the grader undid it"
    )
    assert detail["hooks"] == (
        "before the checks of queue ran, the submission changed IPython input_transformers_cleanup, "
        "IPython event pre_run_cell; the grader undid it"
    )
    assert "the checks of dlq earn nothing: the checker was changed while the checks ran" in detail["patch_during_check"]
    assert detail["swap_json"] == (
        "while the checks of dlq ran, the submission changed sys.modules['json']; the grader undid it"
    )


@pytest.mark.notebook  # runs kernels
def test_checks_that_did_not_run_say_why(graded: Graded) -> None:
    checks = graded.feedback["os_exit"]["exercises"]["choice"]["checks"]
    assert checks[0]["found"] == "not run: the kernel died" and checks[0]["earned"] == 0
    checks = graded.feedback["uninterruptible"]["exercises"]["choice"]["checks"]
    assert checks[0]["found"] == "not run: the kernel did not stop after a cell ran past the time limit"


@pytest.mark.notebook  # runs kernels
def test_feedback_says_what_was_expected_and_found(graded: Graded) -> None:
    checks = graded.feedback["partial"]["exercises"]["queue"]["checks"]
    assert [(c["name"], c["passed"], c["earned"]) for c in checks] == [
        ("create_orders_queue returns the new queue's URL", True, 1),
        ("the queue's visibility timeout is 45 seconds", False, 0),
        ("calling it twice with the same name returns the same queue", True, 1),
    ]
    assert (checks[1]["expected"], checks[1]["found"]) == ("'45'", "'30'")
    assert checks[1]["hint"].startswith("Pass Attributes=")
    always = graded.feedback["always_equal"]["exercises"]
    assert always["queue"]["checks"][0]["found"].startswith("a AlwaysEqual object, which defines its own __eq__")
    assert always["choice"]["checks"][0]["found"] == "'no idea'"


@pytest.mark.notebook  # runs kernels
def test_a_failed_hidden_check_names_the_requirement_never_the_test(graded: Graded) -> None:
    hidden = graded.feedback["stub"]["exercises"]["queue"]["checks"][2]
    assert hidden == {
        "name": "calling it twice with the same name returns the same queue",
        "passed": False, "points": 1.0, "earned": 0.0, "expected": "", "found": "",
        "hint": "create_queue is idempotent when the attributes are the same.", "hidden": True,
    }
    # Nothing of the hidden check's code reaches the gradebook.
    for text in (graded.json_path.read_text(encoding="utf-8"), graded.csv_path.read_text(encoding="utf-8")):
        assert "orders-2" not in text and "the same URL twice" not in text


@pytest.mark.notebook  # runs kernels
def test_added_cells_are_reported_not_run(graded: Graded) -> None:
    assert graded.feedback["retagged"]["notes"] == [
        "1 code cell(s) you added were not run: only answer cells are graded"
    ]


# --- resuming ------------------------------------------------------------------------


@pytest.mark.notebook  # runs kernels
def test_an_interrupted_or_changed_run_resumes_where_it_stopped(tmp_path: Path) -> None:
    subs = tmp_path / "subs"
    subs.mkdir()
    for name in ("solved", "stub", "invalid_json"):
        shutil.copy(SUBMISSIONS / f"{name}.ipynb", subs / f"{name}.ipynb")
    out, feedback = tmp_path / "grades.csv", tmp_path / "grades.json"
    first = grade(MINI_LAB, [subs], out, json_path=feedback, options=OPTIONS)
    assert (first.graded, first.reused) == (3, 0)
    written = out.read_text(encoding="utf-8")

    # Nothing changed: nothing is run again.
    again = grade(MINI_LAB, [subs], out, json_path=feedback, options=OPTIONS, resume=True)
    assert (again.graded, again.reused) == (0, 3)
    assert out.read_text(encoding="utf-8") == written

    # The learner resubmits; and the run had stopped before writing the solved row.
    shutil.copy(SUBMISSIONS / "partial.ipynb", subs / "stub.ipynb")
    lines = out.read_text(encoding="utf-8").splitlines(keepends=True)
    out.write_text("".join(line for line in lines if "solved.ipynb" not in line), encoding="utf-8")
    resumed = grade(MINI_LAB, [subs], out, json_path=feedback, options=OPTIONS, resume=True)
    assert (resumed.graded, resumed.reused) == (2, 1)
    rows = {Path(r["submission"]).stem: r for r in csv.DictReader(out.open(encoding="utf-8"))}
    assert {k: (r["score"], r["status"]) for k, r in rows.items()} == {
        "invalid_json": ("0", "invalid"), "solved": ("8", "ok"), "stub": ("5", "ok"),
    }
    assert len(json.loads(feedback.read_text(encoding="utf-8"))["submissions"]) == 3


# --- the command line ----------------------------------------------------------------


@pytest.mark.notebook  # runs kernels
def test_the_command_and_python_dash_m_are_the_same(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["grade", str(MINI_LAB), str(SUBMISSIONS / "invalid_json.ipynb"), str(SUBMISSIONS / "other_lab.ipynb"),
            "-j", "2", "--timeout", "8"]
    assert main([*args, "--out", str(tmp_path / "a.csv")]) == 0
    assert "mini-sqs: 2 submissions" in capsys.readouterr().err
    done = subprocess.run([sys.executable, "-m", "labkit", *args, "--out", str(tmp_path / "b.csv")],
                          check=False, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "a.csv").read_text() == (tmp_path / "b.csv").read_text()


@pytest.mark.notebook  # runs kernels
def test_a_source_whose_solutions_fail_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = read_notebook(MINI_LAB)
    answer = next(c for c in source.cells if c.id == "answer-choice")
    answer.source = 'fanout_service = "sqs"  # SOLUTION'
    nbformat.write(source, tmp_path / "broken.ipynb")
    with pytest.raises(GradingSetupError, match="the source's own solution fails the check 'the service that pushes"):
        grade(tmp_path / "broken.ipynb", [SUBMISSIONS / "invalid_json.ipynb"], tmp_path / "g.csv", options=OPTIONS)
    # A student copy given as the source.
    nbformat.write(student_copy(read_notebook(MINI_LAB)), tmp_path / "copy.ipynb")
    assert main(["grade", str(tmp_path / "copy.ipynb"), str(SUBMISSIONS), "--out", str(tmp_path / "g.csv")]) == 2
    assert "an 'answer' cell: this looks like a student copy" in capsys.readouterr().err


# --- pieces --------------------------------------------------------------------------


def test_answers_are_matched_by_id_then_by_tag() -> None:
    lab = parse_lab(read_notebook(MINI_LAB))
    sub = student_copy(lab.notebook)
    cells = {c.id: c for c in sub.cells}
    cells["answer-choice"].source = 'fanout_service = "sns"'
    cells["answer-dlq"].id = "moved"  # found by its tags
    cells["answer-dlq"].source = "def add_dead_letter_queue(*args):\n    pass"
    cells["answer-queue"].metadata["tags"] = []  # found by its id
    cells["answer-queue"].source = "def create_orders_queue(sqs, name): pass"
    sub.cells.append(nbformat.v4.new_code_cell("extra = 1", id="mine"))
    assembly = assemble(lab, sub)
    rebuilt = {c.id: c for c in assembly.notebook.cells}
    assert rebuilt["answer-choice"].source == 'fanout_service = "sns"'
    assert rebuilt["answer-dlq"].source == "def add_dead_letter_queue(*args):\n    pass"
    assert rebuilt["answer-queue"].source == "def create_orders_queue(sqs, name): pass"
    assert rebuilt["hidden-queue"].source == {c.id: c for c in lab.notebook.cells}["hidden-queue"].source
    assert (assembly.missing, assembly.ignored) == ([], 1)
    assert "mine" not in rebuilt


def test_kernels_get_no_credentials() -> None:
    env = kernel_environment({"AWS_PROFILE": "prod", "AWS_ACCESS_KEY_ID": "AKIA-real", "GITHUB_TOKEN": "t",
                              "DB_PASSWORD": "p", "LABKIT_STRICT": "1", "PATH": "/bin"})
    assert env["AWS_ACCESS_KEY_ID"] == "testing" and env["AWS_SHARED_CREDENTIALS_FILE"] == "/dev/null"
    assert "AWS_PROFILE" not in env and "GITHUB_TOKEN" not in env and "DB_PASSWORD" not in env
    assert "LABKIT_STRICT" not in env and env["PATH"] == "/bin"


def test_progress_shows_on_a_terminal_only() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    row = SubmissionGrade("alice.ipynb", "", "", 7, 8, "ok", "")
    quiet = io.StringIO()
    Progress(quiet).update(row, 1, 2)
    assert quiet.getvalue() == ""
    terminal = Terminal()
    progress = Progress(terminal)
    progress.update(row, 1, 2)
    progress.close()
    assert "[1/2]" in terminal.getvalue() and "alice.ipynb: 7/8 ok" in terminal.getvalue()


def test_checks_compare_plain_values() -> None:
    class AlwaysEqual:
        def __eq__(self, other: object) -> bool:
            return True

    class Liar(str):
        def __eq__(self, other: object) -> bool:
            return True

    ex = Exercise("plain")
    assert not ex.check("anything", lambda: AlwaysEqual(), expected="sns").passed
    assert not ex.check("a str", lambda: Liar("sqs"), expected="sns").passed
    assert not ex.check("in a list", lambda: [Liar("sqs")], expected=["sns"]).passed
    assert ex.check("an honest subclass", lambda: Liar("sns"), expected="sns").passed
    assert ex.check("a dict subclass", lambda: __import__("collections").OrderedDict(a=1), expected={"a": 1}).passed


def test_an_exercise_id_may_not_be_a_gradebook_column(tmp_path: Path) -> None:
    source = read_notebook(MINI_LAB)
    for cell in source.cells:
        cell.metadata["tags"] = ["ex:score" if t == "ex:choice" else t for t in cell.metadata.get("tags", [])]
    nbformat.write(source, tmp_path / "lab.ipynb")
    with pytest.raises(LabFormatError, match="the exercise id 'score' is also a gradebook column"):
        grade(tmp_path / "lab.ipynb", [SUBMISSIONS / "solved.ipynb"], tmp_path / "g.csv")
