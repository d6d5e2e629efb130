"""Feedback pages to return to learners: one HTML file per submission.

::

    labkit feedback grades/sqs.json --out feedback/sqs/

Each page is written from the gradebook JSON alone (never from the source
lab): the score and status, why the status (``detail``), each exercise's
points, and every check that failed with what was expected, what was found
and the hint. A hidden check shows only its requirement, the verdict and the
hint, even if a hand-edited JSON held more. Every piece of text is escaped, so
what a learner's code printed or raised, or a file name, never becomes markup.
A page is one file with its style inline: it loads nothing, so it can be
mailed, uploaded to an LMS, or opened offline.

A page is named after its submission's file (``alice.ipynb`` gives
``alice.html``); two submissions with one file name in different folders are
refused, since their pages would overwrite each other.
"""

from __future__ import annotations

import os
from html import escape
from pathlib import Path, PurePath

from labkit.grading.gradebook import Gradebook, read_gradebook
from labkit.grading.records import STATUSES, ExerciseGrade, SubmissionGrade, points_text
from labkit.grading.release import write_atomic

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 48rem; margin: 2rem auto; padding: 0 1rem; color: #1a1a1a;
       line-height: 1.5; }
h1 { font-size: 1.4rem; } h2 { font-size: 1.15rem; margin-top: 2rem; }
table { border-collapse: collapse; } th, td { text-align: left; padding: .3rem .8rem .3rem 0; vertical-align: top; }
.score { font-size: 1.2rem; font-weight: 600; }
.failed { border-left: 4px solid #b3261e; padding: .2rem .8rem; margin: .8rem 0; }
.hidden-check { border-left-color: #6b4e00; }
code, .value { font-family: ui-monospace, monospace; white-space: pre-wrap; overflow-wrap: anywhere; }
.note { color: #444; }
"""


def learner_name(submission: str) -> str:
    """A submission's file name without ``.ipynb``: the learner it belongs to."""
    name = PurePath(submission).name
    return name[: -len(".ipynb")] if name.endswith(".ipynb") else name


def page_names(grades: list[SubmissionGrade]) -> dict[str, str]:
    """The feedback file name of each submission.

    Raises:
        ValueError: two submissions share a file name, or a name cannot be a file.
    """
    names: dict[str, str] = {}
    taken: dict[str, str] = {}
    for grade in grades:
        stem = learner_name(grade.submission)
        if stem in ("", ".", "..") or "/" in stem or "\x00" in stem:
            raise ValueError(f"{grade.submission}: its file name cannot name a feedback page")
        if stem in taken:
            raise ValueError(f"{taken[stem]} and {grade.submission} have the same file name: their feedback pages "
                             "would overwrite each other; rename one")
        taken[stem] = grade.submission
        names[grade.submission] = stem + ".html"
    return names


def render(book: Gradebook, grade: SubmissionGrade) -> str:
    """The feedback page of one submission."""
    who = learner_name(grade.submission)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        '<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(book.lab)}: feedback for {escape(who)}</title>",
        f"<style>{STYLE}</style></head>",
        "<body>",
        f"<h1>Lab {escape(book.lab)}: feedback for {escape(who)}</h1>",
        f'<p class="score">Score: {points_text(grade.score)} / {points_text(grade.max_score)}</p>',
        f"<p>Status: <strong>{escape(grade.status)}</strong>: {escape(STATUSES.get(grade.status, ''))}.</p>",
    ]
    if grade.detail:
        parts.append(f'<p>What happened: <span class="value">{escape(grade.detail)}</span></p>')
    parts += [f'<p class="note">{escape(note)}</p>' for note in grade.notes]
    parts.append('<table><thead><tr><th scope="col">Exercise</th><th scope="col">Points</th>'
                 '<th scope="col">Checks passed</th></tr></thead><tbody>')
    exercises = [grade.exercises.get(e.id) or ExerciseGrade(e.id, e.title, 0.0, e.possible) for e in book.exercises]
    for exercise in exercises:
        passed = sum(c.passed for c in exercise.checks)
        parts.append(f"<tr><td>{escape(exercise.title)} (<code>{escape(exercise.id)}</code>)</td>"
                     f"<td>{points_text(exercise.earned)} / {points_text(exercise.possible)}</td>"
                     f"<td>{passed} of {len(exercise.checks)}</td></tr>")
    parts.append("</tbody></table>")
    for exercise in exercises:
        failed = [c for c in exercise.checks if not c.passed]
        if not failed:
            continue
        parts.append(f"<h2>{escape(exercise.title)}: what to fix</h2>")
        for check in failed:
            worth = f"{points_text(check.points)} point{'' if check.points == 1 else 's'}"
            if check.hidden:
                parts.append(f'<div class="failed hidden-check"><p><strong>{escape(check.name)}</strong> '
                             f"({worth}; a check run only when grading)</p>")
            else:
                parts.append(f'<div class="failed"><p><strong>{escape(check.name)}</strong> ({worth})</p>')
                parts.append(f'<p>Expected: <span class="value">{escape(check.expected)}</span><br>'
                             f'Found: <span class="value">{escape(check.found)}</span></p>')
            if check.hint:
                parts.append(f"<p>Hint: {escape(check.hint)}</p>")
            parts.append("</div>")
    if grade.status == "ok" and grade.score == grade.max_score:
        parts.append("<p>Every check passed.</p>")
    parts += ["</body>", "</html>", ""]
    return "\n".join(parts)


def write_feedback(gradebook_json: str | os.PathLike[str], out: str | os.PathLike[str]) -> list[Path]:
    """Write one feedback page per submission of a gradebook JSON into the folder ``out``.

    Raises:
        ValueError: the file is not a gradebook JSON, or two pages would have one name.
    """
    book = read_gradebook(gradebook_json)
    names = page_names(book.grades)
    folder = Path(out)
    written = []
    for grade in book.grades:
        path = folder / names[grade.submission]
        write_atomic(path, render(book, grade))
        written.append(path)
    return written
