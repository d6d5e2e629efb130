"""The gradebook files: a CSV to open in a spreadsheet, a JSON with all feedback.

The CSV has one row per submission: ``submission, score, max_score, status``,
one column per exercise, then ``detail, sha256, source_sha256``. The JSON holds
the same rows with every check's feedback. A CSV cell that a spreadsheet would
read as a formula (a submission's file name or a learner's error text that
starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return) is written
with a leading ``'``, which spreadsheets show as text (:func:`as_text_cell`);
``--resume`` takes it off again. Both are written atomically
(a reader never sees half a file), after every graded submission. A shard's
JSON also says which shard it is and lists every submission of the class
(:mod:`~labkit.grading.shards`); :func:`read_gradebook` reads a JSON back for
the merge, the feedback pages and the LMS exports.

``--resume`` reads them back (:func:`previous_grades`): a row is kept when it
was graded (not ``grader-error``) and, if a JSON is kept too, when the JSON
agrees with it; the caller reuses it only for the same submission content and
source (their SHA-256).
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from labkit.grading.records import (
    LEADING_COLUMNS,
    TRAILING_COLUMNS,
    CheckFeedback,
    ExerciseGrade,
    GradeReport,
    SubmissionGrade,
)
from labkit.grading.release import write_atomic

#: What a spreadsheet reads as the start of a formula (OWASP's list for CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: The columns whose text comes from learners (file names, error messages).
LEARNER_TEXT = ("submission", "detail")


def as_text_cell(value: str) -> str:
    """``value`` as a cell no spreadsheet runs: a leading ``'`` before a formula's
    first character (and before a leading ``'``, so :func:`from_text_cell` is exact)."""
    return "'" + value if value.startswith((*FORMULA_STARTS, "'")) else value


def from_text_cell(value: str) -> str:
    """The inverse of :func:`as_text_cell`."""
    return value[1:] if value.startswith("'") and value[1:].startswith((*FORMULA_STARTS, "'")) else value


def write_csv(path: str | os.PathLike[str], exercise_ids: Sequence[str], grades: Iterable[SubmissionGrade]) -> None:
    """Write the gradebook CSV atomically."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=[*LEADING_COLUMNS, *exercise_ids, *TRAILING_COLUMNS])
    writer.writeheader()
    for grade in grades:
        row = grade.csv_row(exercise_ids)
        writer.writerow({**row, **{column: as_text_cell(row[column]) for column in LEARNER_TEXT}})
    write_atomic(path, buffer.getvalue())


def write_json(path: str | os.PathLike[str], report: GradeReport, source: str, source_sha256: str,
               shard: dict[str, Any] | None = None) -> None:
    """Write the gradebook with all feedback as JSON, atomically (``shard``:
    which shard of the class this is, see :mod:`~labkit.grading.shards`)."""
    data: dict[str, Any] = {
        "lab": report.lab,
        "source": source,
        "source_sha256": source_sha256,
        "max_score": report.max_score,
        "exercises": [{"id": e.id, "title": e.title, "possible": e.possible} for e in report.exercises],
        "submissions": [asdict(g) for g in report.grades],
    }
    if shard is not None:
        data["shard"] = shard
    write_atomic(path, json.dumps(data, indent=1) + "\n")


@dataclass
class Gradebook:
    """A gradebook JSON read back: the lab, its exercises, and every row with its feedback."""

    path: str
    lab: str
    source: str
    source_sha256: str
    exercises: list[ExerciseGrade]
    grades: list[SubmissionGrade]
    #: A shard's own record (``index``, ``count``, ``submissions``), or None for a whole class.
    shard: dict[str, Any] | None = None


def read_gradebook(path: str | os.PathLike[str]) -> Gradebook:
    """Read a gradebook JSON written by ``labkit grade --json`` or ``labkit merge``.

    Raises:
        ValueError: the file is not such a gradebook (the message names the file).
    """
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        exercises = [ExerciseGrade(e["id"], e["title"], 0.0, float(e["possible"])) for e in data["exercises"]]
        grades = [grade_from_json(item) for item in data["submissions"]]
        shard = data.get("shard")
        if shard is not None and not (isinstance(shard, dict) and isinstance(shard.get("index"), int)
                                      and isinstance(shard.get("count"), int)
                                      and isinstance(shard.get("submissions"), list)):
            raise TypeError("a malformed shard record")
        return Gradebook(str(path), str(data["lab"]), str(data["source"]), str(data["source_sha256"]), exercises,
                         grades, shard)
    except OSError as error:
        raise ValueError(f"{path}: cannot be read ({error.strerror})") from None
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise ValueError(f"{path}: not a gradebook JSON written by labkit grade --json ({type(error).__name__}: "
                         f"{str(error)[:80]})") from None


def grade_from_json(item: dict[str, Any]) -> SubmissionGrade:
    """One submission of a gradebook JSON back as a grade, with all its feedback."""
    exercises = {
        key: ExerciseGrade(value["id"], value["title"], float(value["earned"]), float(value["possible"]),
                           [CheckFeedback(**check) for check in value["checks"]])
        for key, value in item["exercises"].items()
    }
    return SubmissionGrade(item["submission"], item["sha256"], item["source_sha256"], float(item["score"]),
                           float(item["max_score"]), item["status"], item["detail"], exercises, list(item["notes"]))


def previous_grades(csv_path: Path, json_path: Path | None) -> dict[str, SubmissionGrade]:
    """Rows of an earlier run worth keeping, by submission (for ``--resume``)."""
    if not csv_path.exists():
        return {}
    feedback: dict[str, dict[str, Any]] = {}
    if json_path is not None:
        try:
            for item in json.loads(json_path.read_text(encoding="utf-8")).get("submissions", []):
                feedback[item["submission"]] = item
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return {}
    kept = {}
    with csv_path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        fixed = set(LEADING_COLUMNS) | set(TRAILING_COLUMNS)
        exercise_ids = [c for c in reader.fieldnames or [] if c not in fixed]
        for row in reader:
            row.update({column: from_text_cell(row[column]) for column in LEARNER_TEXT if column in row})
            if row.get("status") == "grader-error" or not row.get("sha256"):
                continue
            try:
                grade = _grade_from(row, exercise_ids, feedback.get(row["submission"]))
            except (KeyError, ValueError, TypeError):
                continue
            if json_path is None or row["submission"] in feedback:
                kept[row["submission"]] = grade
    return kept


def _grade_from(row: dict[str, str], exercise_ids: list[str], item: dict[str, Any] | None) -> SubmissionGrade:
    """A CSV row back as a grade, with its feedback from the JSON ``item`` if there is one.

    Raises:
        ValueError: the JSON and the CSV disagree, or a number does not read.
    """
    exercises = {e: ExerciseGrade(e, e, float(row[e]), 0.0) for e in exercise_ids}
    notes: list[str] = []
    if item is not None:
        if item.get("sha256") != row["sha256"]:
            raise ValueError("the JSON and the CSV disagree")
        exercises = {
            k: ExerciseGrade(v["id"], v["title"], v["earned"], v["possible"], [CheckFeedback(**c) for c in v["checks"]])
            for k, v in item["exercises"].items()
        }
        notes = list(item.get("notes", []))
    return SubmissionGrade(row["submission"], row["sha256"], row["source_sha256"], float(row["score"]),
                           float(row["max_score"]), row["status"], row["detail"], exercises, notes)
