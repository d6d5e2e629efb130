"""Grading a class: shards and their merge, feedback pages, and the Canvas and Moodle exports.

One module fixture grades a few of the adversarial fixture submissions (and one
whose file name, answer and error hold ``<script>``) three times: in one run,
and as shards 1/2 and 2/2; the merged shards must equal the single run, byte
for byte. The pieces that need no kernel (the split, the pages, the exports,
the merge's refusals) are also tested on data made here.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import nbformat
import pytest

from labkit.__main__ import main
from labkit.grading import (
    CheckFeedback,
    ExerciseGrade,
    ExportError,
    GradeOptions,
    GradeReport,
    MergeError,
    Shard,
    SubmissionGrade,
    export,
    grade,
    merge,
    read_gradebook,
    write_feedback,
    write_json,
)
from labkit.grading.feedback import render
from labkit.grading.lms import feedback_text

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "grading"
MINI_LAB = FIXTURES / "mini_lab.ipynb"
SUBMISSIONS = FIXTURES / "submissions"
#: None of the chosen submissions loops: a long limit keeps a loaded machine's slow cell from
#: turning into a timeout in one of the runs compared.
OPTIONS = GradeOptions(timeout=60, jobs=2)
#: A crash, an error, a rejected file, partial and full marks: every kind of row the merge must carry.
CHOSEN = ("solved", "stub", "partial", "exception", "os_exit", "invalid_json", "other_lab")
#: A file name cannot hold "/", so no closing tag; the answers below hold whole elements.
SCRIPT = "<script>alert('name')"
#: Text of the hidden check's code in mini_lab.ipynb, which no page or export may show.
HIDDEN_CODE = ("orders-2", "the same URL twice", "satisfies", "lambda")


def script_submission() -> nbformat.NotebookNode:
    """Solved, but the choice answer is markup and the dlq answer raises markup."""
    nb = nbformat.read(SUBMISSIONS / "solved.ipynb", as_version=4)
    cells = {c.get("id"): c for c in nb.cells}
    cells["answer-choice"].source = "fanout_service = \"<script>alert('choice')</script>\""
    cells["answer-dlq"].source = "raise RuntimeError(\"<script>alert('dlq')</script>\")"
    return nb


class Classroom:
    """The three grading runs of one class."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.whole_csv, self.whole_json = root / "whole.csv", root / "whole.json"
        self.shards = [root / "shard-1.json", root / "shard-2.json"]
        self.merged_csv, self.merged_json = root / "merged.csv", root / "merged.json"


@pytest.fixture(scope="module")
def classroom(tmp_path_factory: pytest.TempPathFactory) -> Classroom:
    room = Classroom(tmp_path_factory.mktemp("classroom"))
    subs = room.root / "submissions"
    subs.mkdir()
    for name in CHOSEN:
        shutil.copy(SUBMISSIONS / f"{name}.ipynb", subs / f"{name}.ipynb")
    nbformat.write(script_submission(), subs / f"{SCRIPT}.ipynb")
    grade(MINI_LAB, [subs], room.whole_csv, json_path=room.whole_json, options=OPTIONS)
    grade(MINI_LAB, [subs], room.root / "shard-1.csv", json_path=room.shards[0], options=OPTIONS, shard=Shard(1, 2))
    code = main(["grade", str(MINI_LAB), str(subs), "--shard", "2/2", "-j", "2", "--timeout", "60",
                 "--out", str(room.root / "shard-2.csv"), "--json", str(room.shards[1])])
    assert code == 0
    merge(room.shards, room.merged_csv, json_path=room.merged_json)
    return room


# --- shards and the merge -------------------------------------------------------------


@pytest.mark.notebook  # runs kernels
def test_merged_shards_equal_one_run_byte_for_byte(classroom: Classroom) -> None:
    assert classroom.merged_csv.read_bytes() == classroom.whole_csv.read_bytes()
    assert classroom.merged_json.read_bytes() == classroom.whole_json.read_bytes()
    rows = {Path(r["submission"]).stem: (r["score"], r["status"])
            for r in csv.DictReader(classroom.merged_csv.open(encoding="utf-8"))}
    assert rows["solved"] == ("8", "ok") and rows["os_exit"] == ("4", "crashed")
    assert rows["invalid_json"] == ("0", "invalid") and rows[SCRIPT] == ("4", "error")


@pytest.mark.notebook  # runs kernels
def test_each_shard_grades_its_own_submissions(classroom: Classroom) -> None:
    one, two = (read_gradebook(path) for path in classroom.shards)
    everyone = sorted(g.submission for g in read_gradebook(classroom.whole_json).grades)
    mine = [sorted(g.submission for g in book.grades) for book in (one, two)]
    assert sorted(mine[0] + mine[1]) == everyone and not set(mine[0]) & set(mine[1])
    assert (len(mine[0]), len(mine[1])) == (4, 4)
    assert mine[0] == everyone[0::2] and mine[1] == everyone[1::2]
    assert one.shard is not None and (one.shard["index"], one.shard["count"]) == (1, 2)
    assert "shard" not in json.loads(classroom.whole_json.read_text(encoding="utf-8"))


@pytest.mark.notebook  # runs kernels
def test_a_missing_or_repeated_shard_is_refused(classroom: Classroom, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    one, two = (str(p) for p in classroom.shards)
    out = tmp_path / "g.csv"
    assert main(["merge", one, "--out", str(out)]) == 2
    assert "shard 2/2 missing: grade it and merge again" in capsys.readouterr().err
    assert main(["merge", one, one, two, "--out", str(out)]) == 2
    assert f"shard 1/2 is given twice: {one} and {one}" in capsys.readouterr().err
    assert main(["merge", str(classroom.whole_json), two, "--out", str(out)]) == 2
    assert "is not a shard's gradebook: it was graded without --shard" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.notebook  # runs kernels
def test_feedback_pages_from_the_merged_gradebook(classroom: Classroom, tmp_path: Path) -> None:
    assert main(["feedback", str(classroom.merged_json), "--out", str(tmp_path)]) == 0
    pages = {p.name: p.read_text(encoding="utf-8") for p in tmp_path.iterdir()}
    assert sorted(pages) == sorted(f"{name}.html" for name in (*CHOSEN, SCRIPT))
    page = pages[f"{SCRIPT}.html"]
    assert "<script" not in page.lower()
    assert "feedback for &lt;script&gt;alert(&#x27;name&#x27;)</h1>" in page  # the file name
    assert "RuntimeError: &lt;script&gt;alert(&#x27;dlq&#x27;)&lt;/script&gt;" in page  # the error
    assert "&quot;&lt;script&gt;alert(&#x27;choice&#x27;)&lt;/script&gt;&quot;" in page  # what the check found
    stub = pages["stub.html"]
    assert "Score: 0 / 8" in stub and "calling it twice with the same name returns the same queue" in stub
    assert "create_queue is idempotent when the attributes are the same." in stub  # the hidden check's hint
    for text in pages.values():
        assert not any(code in text for code in HIDDEN_CODE)
        assert not any(tag in text for tag in ("<link", "<img", " src=", " href=", "@import"))  # loads nothing


# --- the split ------------------------------------------------------------------------


def test_the_split_is_stable_balanced_and_whole() -> None:
    labels = [f"subs/learner-{n:03d}.ipynb" for n in range(11)]
    shards = [Shard.parse(f"{i}/3") for i in (1, 2, 3)]
    parts = [shard.select(labels) for shard in shards]
    assert sorted(sum(parts, [])) == labels
    assert [len(p) for p in parts] == [4, 4, 3]
    assert parts[0] == labels[0::3]
    assert [s.select(list(reversed(labels))) for s in shards] == [list(reversed(p)) for p in parts]  # order-free
    assert Shard.parse(" 2 / 3 ") == Shard(2, 3) and str(Shard(2, 3)) == "2/3"
    assert Shard(4, 4).select(labels[:2]) == []


@pytest.mark.parametrize("text", ["0/2", "3/2", "1/0", "2", "a/b", "-1/2", "1/2/3"])
def test_a_bad_shard_is_a_usage_error(text: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["grade", str(MINI_LAB), str(SUBMISSIONS / "solved.ipynb"), f"--shard={text}",
                 "--out", str(tmp_path / "g.csv"), "--json", str(tmp_path / "g.json")])
    assert code == 2
    assert "labkit: error: --shard" in capsys.readouterr().err
    assert not (tmp_path / "g.csv").exists()


def test_a_shard_needs_its_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["grade", str(MINI_LAB), str(SUBMISSIONS), "--shard", "1/2", "--out", str(tmp_path / "g.csv")]) == 2
    assert "--shard 1/2 needs --json: labkit merge reads the shards' JSON files" in capsys.readouterr().err


# --- data made here: a gradebook of three learners --------------------------------------


def made_grade(name: str, score: float, status: str = "ok", detail: str = "") -> SubmissionGrade:
    queue = ExerciseGrade("queue", "Create the orders queue", min(score, 3.0), 3.0, [
        CheckFeedback("returns the URL", score >= 1, 1.0, 1.0 if score >= 1 else 0.0, "a URL", "'https://x'"),
        CheckFeedback("the timeout is 45 s", score >= 2, 1.0, 1.0 if score >= 2 else 0.0, "'45'",
                      "'<b>30</b>'", hint="Use <Attributes>."),
        # As a hand-edited JSON could hold: the page must still show nothing of the test.
        CheckFeedback("works for any name", score >= 3, 1.0, 1.0 if score >= 3 else 0.0,
                      "expected orders-2 twice", "found via lambda", hint="It is idempotent.", hidden=True),
    ])
    choice = ExerciseGrade("choice", "Pick & choose", max(score - 3.0, 0.0), 1.0,
                           [CheckFeedback("the fan-out service", score >= 4, 1.0, max(score - 3.0, 0.0), "'sns'", "'sqs'")])
    return SubmissionGrade(name, "0" * 64, "f" * 64, score, 4.0, status, detail, {"queue": queue, "choice": choice})


def made_gradebook(folder: Path, grades: list[SubmissionGrade], shard: dict | None = None, name: str = "g.json") -> Path:
    exercises = [ExerciseGrade("queue", "Create the orders queue", 0.0, 3.0), ExerciseGrade("choice", "Pick & choose", 0.0, 1.0)]
    path = folder / name
    write_json(path, GradeReport("sqs", exercises, grades, len(grades), 0), "labs/sqs.ipynb", "f" * 64, shard=shard)
    return path


@pytest.fixture()
def class_of_three(tmp_path: Path) -> Path:
    return made_gradebook(tmp_path, [
        made_grade("subs/alice.ipynb", 4),
        made_grade("subs/bob.ipynb", 1, "error", "the answer to choice raised ValueError: <img src=x onerror=alert(1)>"),
        made_grade("subs/carol.ipynb", 0, "grader-error", "RuntimeError: the kernel did not start"),
    ])


def test_a_page_escapes_everything_and_shows_no_hidden_detail(tmp_path: Path) -> None:
    book_path = made_gradebook(tmp_path, [made_grade(f"subs/{SCRIPT}.ipynb", 1, "error", "raised <script>x</script>")])
    book = read_gradebook(book_path)
    page = render(book, book.grades[0])
    assert "<script" not in page and "<b>" not in page and "<Attributes>" not in page
    assert "&lt;b&gt;30&lt;/b&gt;" in page and "Use &lt;Attributes&gt;." in page and "Pick &amp; choose" in page
    assert "works for any name" in page and "It is idempotent." in page and "a check run only when grading" in page
    assert "orders-2" not in page and "lambda" not in page
    assert "Score: 1 / 4" in page and "1 / 3" in page and "0 / 1" in page


def test_pages_with_one_file_name_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    book = made_gradebook(tmp_path, [made_grade("a/alice.ipynb", 4), made_grade("b/alice.ipynb", 3)])
    assert main(["feedback", str(book), "--out", str(tmp_path / "pages")]) == 2
    assert "a/alice.ipynb and b/alice.ipynb have the same file name" in capsys.readouterr().err
    (tmp_path / "list.json").write_text("[]", encoding="utf-8")
    with pytest.raises(ValueError, match="list.json: not a gradebook JSON written by labkit grade --json"):
        write_feedback(tmp_path / "list.json", tmp_path / "pages")


def test_canvas_import_file(class_of_three: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    roster = tmp_path / "canvas-export.csv"
    roster.write_text(
        "\ufeffStudent,ID,SIS User ID,SIS Login ID,Section,Quiz 1 (101)\r\n"
        "    Points Possible,,,,,10\r\n"
        '"Smith, Alice",2001,S-01,alice,Section A,9\r\n'
        '"Jones, Bob",2002,S-02,bob,Section B,7\r\n'
        '"Kaur, Dev",2004,S-04,dev,Section A,8\r\n',
        encoding="utf-8",
    )
    out = tmp_path / "canvas.csv"
    code = main(["export", str(class_of_three), "--lms", "canvas", "--roster", str(roster), "--out", str(out),
                 "--assignment", "SQS lab"])
    assert code == 1  # carol's row was not graded: left out, and said
    assert "left out, the grader failed on them (grade again with --resume): subs/carol.ipynb" in capsys.readouterr().err
    assert out.read_bytes() == (
        b"Student,ID,SIS User ID,SIS Login ID,Section,SQS lab\r\n"
        b'"Jones, Bob",2002,S-02,bob,Section B,1\r\n'
        b'"Smith, Alice",2001,S-01,alice,Section A,4\r\n'
    )
    with pytest.raises(ExportError, match=r"not in .*canvas-export.csv \(column 'ID'\): alice, bob"):
        export(class_of_three, "canvas", out, roster=roster, key="ID")
    with pytest.raises(ExportError, match="--lms canvas needs --roster"):
        export(class_of_three, "canvas", out)
    (tmp_path / "twice.csv").write_text(roster.read_text(encoding="utf-8") + '"Smith, Al",2009,S-09,alice,B,0\r\n',
                                        encoding="utf-8")
    with pytest.raises(ExportError, match="two learners have SIS Login ID 'alice'"):
        export(class_of_three, "canvas", out, roster=tmp_path / "twice.csv")
    (tmp_path / "names.csv").write_text("Student,SIS Login ID\nAlice,alice\n", encoding="utf-8")
    with pytest.raises(ExportError, match="has no column 'ID', 'SIS User ID', 'Section'"):
        export(class_of_three, "canvas", out, roster=tmp_path / "names.csv")


def test_moodle_import_file(class_of_three: Path, tmp_path: Path) -> None:
    out = tmp_path / "moodle.csv"
    assert export(class_of_three, "moodle", out) == ["subs/carol.ipynb"]
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert rows == [
        ["Email address", "sqs", "sqs feedback"],
        ["alice", "4", "Create the orders queue: 3/3; Pick & choose: 1/1. Status: ok."],
        ["bob", "1", "Create the orders queue: 1/3; Pick & choose: 0/1. Status: error."],
    ]
    # The feedback text holds nothing the learner's code chose (bob's error message is markup).
    assert "onerror" not in out.read_text(encoding="utf-8")
    export(class_of_three, "moodle", out, key="ID number", assignment="Lab 3")
    assert out.read_text(encoding="utf-8").splitlines()[0] == "ID number,Lab 3,Lab 3 feedback"
    book = read_gradebook(class_of_three)
    assert feedback_text(book, book.grades[0]).endswith("Status: ok.")


def test_one_learner_twice_is_refused(tmp_path: Path) -> None:
    book = made_gradebook(tmp_path, [made_grade("a/alice.ipynb", 4), made_grade("b/alice.ipynb", 3)])
    with pytest.raises(ExportError, match="a/alice.ipynb and b/alice.ipynb are both learner 'alice'"):
        export(book, "moodle", tmp_path / "m.csv")


def test_the_merge_refuses_shards_of_other_runs(tmp_path: Path) -> None:
    everyone = ["subs/alice.ipynb", "subs/bob.ipynb", "subs/carol.ipynb"]
    one = made_gradebook(tmp_path, [made_grade(everyone[0], 4), made_grade(everyone[2], 2)],
                         Shard(1, 2).record(everyone), "1.json")
    two = made_gradebook(tmp_path, [made_grade(everyone[1], 1)], Shard(2, 2).record(everyone), "2.json")
    report = merge([two, one], tmp_path / "m.csv")
    assert [g.submission for g in report.grades] == everyone  # the class's order, whatever the shards' order
    other = made_gradebook(tmp_path, [made_grade(everyone[1], 1)], Shard(2, 2).record(everyone[:2]), "other.json")
    with pytest.raises(MergeError, match="has another list of submissions"):
        merge([one, other], tmp_path / "m.csv")
    thief = made_gradebook(tmp_path, [made_grade(everyone[0], 1)], Shard(2, 2).record(everyone), "thief.json")
    with pytest.raises(MergeError, match="holds subs/alice.ipynb, which is not a submission of its shard"):
        merge([one, thief], tmp_path / "m.csv")
    cut = made_gradebook(tmp_path, [], Shard(2, 2).record(everyone), "cut.json")
    with pytest.raises(MergeError, match=r"1 submission\(s\) have no row: subs/bob.ipynb \(their shard stopped early"):
        merge([one, cut], tmp_path / "m.csv")
