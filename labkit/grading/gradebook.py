"""The gradebook files: a CSV to open in a spreadsheet, a JSON with all feedback.

The CSV has one row per submission: ``submission, score, max_score, status``,
one column per exercise, then ``detail, sha256, source_sha256``. The JSON holds
the same rows with every check's feedback. Both are written atomically
(a reader never sees half a file), after every graded submission.

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
from dataclasses import asdict
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


def write_csv(path: str | os.PathLike[str], exercise_ids: Sequence[str], grades: Iterable[SubmissionGrade]) -> None:
    """Write the gradebook CSV atomically."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=[*LEADING_COLUMNS, *exercise_ids, *TRAILING_COLUMNS])
    writer.writeheader()
    for grade in grades:
        writer.writerow(grade.csv_row(exercise_ids))
    write_atomic(path, buffer.getvalue())


def write_json(path: str | os.PathLike[str], report: GradeReport, source: str, source_sha256: str) -> None:
    """Write the gradebook with all feedback as JSON, atomically."""
    data = {
        "lab": report.lab,
        "source": source,
        "source_sha256": source_sha256,
        "max_score": report.max_score,
        "exercises": [{"id": e.id, "title": e.title, "possible": e.possible} for e in report.exercises],
        "submissions": [asdict(g) for g in report.grades],
    }
    write_atomic(path, json.dumps(data, indent=1) + "\n")


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
