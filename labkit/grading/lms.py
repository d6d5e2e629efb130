"""Gradebook exports a learning management system imports: Canvas and Moodle.

::

    labkit export grades/sqs.json --lms canvas --roster canvas-export.csv --out canvas-sqs.csv
    labkit export grades/sqs.json --lms moodle --out moodle-sqs.csv

Both read the gradebook JSON and write one row per submission, keyed by the
learner: the submission's file name without ``.ipynb`` (``alice.ipynb`` is
learner ``alice``). Rows the grader itself failed on (``grader-error``) are
left out and named, so that no learner is sent a 0 the grader did not give.

**Canvas** imports a CSV whose columns are those of its own gradebook export:
``Student``, ``ID``, ``SIS User ID``, ``SIS Login ID``, ``Section``, then one
column per assignment. A column whose name is not an existing assignment
creates one; to fill an existing assignment, give ``--assignment`` its column
header exactly as Canvas's export writes it. So the export starts from Canvas's own export of the course
(``--roster``), finds each learner's row by the column ``--key`` (``SIS Login
ID`` by default), copies its five identity columns and adds the score.

**Moodle** imports a CSV of any columns and asks, on import, which column
identifies the user ("Map from", e.g. an email address or an ID number) and
which grade item each column goes to (a grade, or its feedback). The export
writes three columns: the learner (headed ``--key``, ``Email address`` by
default), the score, and a short feedback text: each exercise's points and
the status. Moodle's documentation asks that a feedback column be imported
together with its grade column, which this file always allows.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

from labkit.grading.feedback import learner_name
from labkit.grading.gradebook import Gradebook, read_gradebook
from labkit.grading.records import SubmissionGrade, points_text
from labkit.grading.release import write_atomic

#: Canvas's identity columns, in the order of its gradebook export.
CANVAS_IDENTITY = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
#: Which column holds the learner's name, by default.
DEFAULT_KEY = {"canvas": "SIS Login ID", "moodle": "Email address"}
LMS_NAMES = tuple(DEFAULT_KEY)


class ExportError(ValueError):
    """The export cannot be written as asked (the message says why)."""


def _gradable(book: Gradebook) -> tuple[dict[str, SubmissionGrade], list[str]]:
    """The rows to export by learner, and the submissions left out (grader errors).

    Raises:
        ExportError: two submissions belong to one learner.
    """
    rows: dict[str, SubmissionGrade] = {}
    left_out = []
    for grade in book.grades:
        if grade.status == "grader-error":
            left_out.append(grade.submission)
            continue
        learner = learner_name(grade.submission)
        if learner in rows:
            raise ExportError(f"{rows[learner].submission} and {grade.submission} are both learner {learner!r}: "
                              "keep one submission per learner")
        rows[learner] = grade
    return rows, left_out


def feedback_text(book: Gradebook, grade: SubmissionGrade) -> str:
    """A one-line summary for an LMS's feedback field: points per exercise, the status.

    It holds no text from the learner's run (no error message, no output), only
    the lab's own exercise titles and numbers, so a spreadsheet or an LMS shows
    nothing the learner's code chose.
    """
    parts = []
    for exercise in book.exercises:
        mine = grade.exercises.get(exercise.id)
        earned = mine.earned if mine else 0.0
        parts.append(f"{exercise.title}: {points_text(earned)}/{points_text(exercise.possible)}")
    return f"{'; '.join(parts)}. Status: {grade.status}."


def canvas_csv(book: Gradebook, roster: str | os.PathLike[str], *, key: str = DEFAULT_KEY["canvas"],
               assignment: str | None = None) -> tuple[str, list[str]]:
    """Canvas's gradebook import CSV, and the submissions left out.

    Raises:
        ExportError: the roster lacks a column, or a learner is not in it.
    """
    try:
        with Path(roster).open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            columns = list(reader.fieldnames or [])
            roster_rows = list(reader)
    except OSError as error:
        raise ExportError(f"{roster}: cannot be read ({error.strerror})") from None
    needed = [c for c in [*CANVAS_IDENTITY, key] if c not in columns]
    if needed:
        raise ExportError(f"{roster} has no column {', '.join(map(repr, needed))}: export the gradebook from Canvas "
                          "and give that file as --roster")
    by_key: dict[str, dict[str, str]] = {}
    for row in roster_rows:
        value = (row.get(key) or "").strip()
        if not value:  # Canvas's export has rows without a learner (points possible)
            continue
        if value in by_key:
            raise ExportError(f"{roster}: two learners have {key} {value!r}: choose a column that names each "
                              "learner once with --key")
        by_key[value] = row
    rows, left_out = _gradable(book)
    unknown = sorted(learner for learner in rows if learner not in by_key)
    if unknown:
        listed = ", ".join(unknown[:5]) + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else "")
        raise ExportError(f"not in {roster} (column {key!r}): {listed}. Name each submission after the learner's "
                          f"{key}, or choose the column with --key")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([*CANVAS_IDENTITY, assignment or book.lab])
    for learner, grade in sorted(rows.items(), key=lambda item: by_key[item[0]]["Student"].casefold()):
        writer.writerow([by_key[learner][c] for c in CANVAS_IDENTITY] + [points_text(grade.score)])
    return buffer.getvalue(), left_out


def moodle_csv(book: Gradebook, *, key: str = DEFAULT_KEY["moodle"], assignment: str | None = None) -> tuple[str, list[str]]:
    """Moodle's grade import CSV (learner, score, feedback), and the submissions left out."""
    name = assignment or book.lab
    rows, left_out = _gradable(book)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([key, name, f"{name} feedback"])
    for learner, grade in sorted(rows.items()):
        writer.writerow([learner, points_text(grade.score), feedback_text(book, grade)])
    return buffer.getvalue(), left_out


def export(gradebook_json: str | os.PathLike[str], lms: str, out: str | os.PathLike[str], *,
           roster: str | os.PathLike[str] | None = None, key: str | None = None,
           assignment: str | None = None) -> list[str]:
    """Write ``lms``'s import file from a gradebook JSON; return the submissions left out.

    Raises:
        ExportError: the export cannot be written as asked.
        ValueError: the gradebook JSON cannot be read.
    """
    if lms not in LMS_NAMES:
        raise ExportError(f"--lms is one of {', '.join(LMS_NAMES)}, not {lms!r}")
    book = read_gradebook(gradebook_json)
    if lms == "canvas":
        if roster is None:
            raise ExportError("--lms canvas needs --roster: the gradebook CSV exported from the Canvas course, "
                              "whose identity columns Canvas's import needs")
        text, left_out = canvas_csv(book, roster, key=key or DEFAULT_KEY["canvas"], assignment=assignment)
    else:
        if roster is not None:
            raise ExportError("--roster is for Canvas; Moodle matches learners by the column you map on import")
        text, left_out = moodle_csv(book, key=key or DEFAULT_KEY["moodle"], assignment=assignment)
    write_atomic(out, text)
    return left_out
