"""The gradebook CSV opens safely in a spreadsheet: a learner's file name or error
text that starts like a formula is written as text, and ``--resume`` reads it back exactly."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from labkit.grading.gradebook import as_text_cell, from_text_cell, previous_grades, write_csv
from labkit.grading.records import ExerciseGrade, SubmissionGrade

FORMULAS = ["=HYPERLINK(\"http://evil.example\",\"x\")", "+1+1", "-2", "@SUM(A1)", "\tx", "\rx", "'=already quoted"]


@pytest.mark.parametrize("text", FORMULAS)
def test_a_formula_becomes_text_and_comes_back(text: str) -> None:
    cell = as_text_cell(text)
    assert cell.startswith("'") and cell[1:] == text
    assert from_text_cell(cell) == text


@pytest.mark.parametrize("text", ["ana.ipynb", "", "a=b", "it's fine", "1.5"])
def test_plain_text_is_left_alone(text: str) -> None:
    assert as_text_cell(text) == text and from_text_cell(text) == text


def test_the_csv_holds_no_formula_and_resume_reads_the_names_back(tmp_path: Path) -> None:
    grades = [
        SubmissionGrade("=cmd|' /C calc'!A0.ipynb", "a" * 64, "b" * 64, 3.0, 4.0, "ok", "-1 raised ValueError",
                        {"queue": ExerciseGrade("queue", "queue", 3.0, 4.0)}),
        SubmissionGrade("ben.ipynb", "c" * 64, "b" * 64, 4.0, 4.0, "ok", "", {"queue": ExerciseGrade("queue", "queue", 4.0, 4.0)}),
    ]
    path = tmp_path / "grades.csv"
    write_csv(path, ["queue"], grades)
    rows = list(csv.DictReader(path.open(newline="", encoding="utf-8")))
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), value
    assert rows[0]["submission"] == "'=cmd|' /C calc'!A0.ipynb" and rows[0]["detail"] == "'-1 raised ValueError"
    kept = previous_grades(path, None)
    assert set(kept) == {"=cmd|' /C calc'!A0.ipynb", "ben.ipynb"}
    assert kept["=cmd|' /C calc'!A0.ipynb"].detail == "-1 raised ValueError"
