"""Score a run against the source's own: points, status and feedback.

Grading starts with one run of the source lab itself, its :class:`Reference`:
it must run cleanly and pass every one of its own checks, and it fixes which
checks exist and what each is worth, so a submission can change neither.

:func:`score` then gives each check of a submission the points it has in the
reference if the grader's own checker recorded it as passed (what the notebook
displays or prints is never read), and writes feedback: what was expected and
found, and the hint; for hidden checks only the requirement, the verdict and
the hint. The submission's status is the most serious problem found
(:data:`~labkit.grading.records.STATUSES`); ``detail`` lists them all.
"""

from __future__ import annotations

from dataclasses import dataclass

from labkit.grading.records import (
    STATUSES,
    CellRun,
    CheckFeedback,
    ExerciseGrade,
    GradeOptions,
    GradingSetupError,
    Outcome,
    RunResult,
    SubmissionGrade,
)
from labkit.grading.release import Lab, tags_of


@dataclass
class Reference:
    """What the source's own run recorded: the checks and points of each check cell."""

    lab: Lab
    run: RunResult
    exercises: list[ExerciseGrade]

    @classmethod
    def build(cls, lab: Lab, run: RunResult, label: str) -> Reference:
        """Validate the source's run and take its checks as the grading scheme.

        Raises:
            GradingSetupError: the source did not run cleanly or its solutions fail.
        """
        if run.grader_error:
            raise GradingSetupError(f"{label}: the source lab could not be run: {run.grader_error}")
        titles: dict[bool, dict[str, str]] = {False: {}, True: {}}  # by hidden: a visible title is preferred
        possible: dict[str, float] = dict.fromkeys(lab.exercises, 0.0)
        for cell in run.cells:
            where = f"{label}, cell {cell.index + 1}"
            raises = "raises-exception" in tags_of(lab.notebook.cells[cell.index])
            if cell.state not in ("ok", "error") or (cell.state == "error" and not raises):
                raise GradingSetupError(f"{where}: the source lab does not run cleanly ({cell.state}: {cell.error})")
            if cell.role != "check":
                continue
            if not cell.checks:
                raise GradingSetupError(f"{where}: the check cell recorded no checks")
            for record in cell.checks:
                if record.exercise != cell.exercise:
                    raise GradingSetupError(
                        f"{where}: the cell is tagged ex:{cell.exercise} but its checks say exercise {record.exercise!r}"
                    )
                if not record.passed:
                    raise GradingSetupError(
                        f"{where}: the source's own solution fails the check {record.name!r} "
                        f"(expected {record.expected}, found {record.found})"
                    )
                possible[record.exercise] += record.points
                if record.title:
                    titles[cell.hidden].setdefault(record.exercise, record.title)
        exercises = [ExerciseGrade(e, titles[False].get(e) or titles[True].get(e) or e, 0.0, possible[e])
                     for e in lab.exercises]
        return cls(lab, run, exercises)

    @property
    def max_score(self) -> float:
        """The points of every check of the source together."""
        return sum(e.possible for e in self.exercises)


def score(reference: Reference, outcome: Outcome, label: str, source_sha256: str,
          options: GradeOptions) -> SubmissionGrade:
    """Turn one run into a gradebook row with feedback."""
    exercises = {e.id: ExerciseGrade(e.id, e.title, 0.0, e.possible) for e in reference.exercises}
    grade = SubmissionGrade(label, outcome.sha256, source_sha256, 0.0, reference.max_score, "ok", "", exercises)
    if outcome.rejected:
        grade.status, grade.detail = outcome.rejected
        return grade
    run = outcome.run or RunResult(grader_error="no result")
    problems: list[tuple[str, str]] = []
    if run.grader_error:
        problems.append(("grader-error", run.grader_error))
    for exercise in outcome.missing:
        problems.append(("missing", f"no answer cell for {exercise}; its stub was graded"))
    if outcome.ignored:
        grade.notes.append(f"{outcome.ignored} code cell(s) you added were not run: only answer cells are graded")
    cells = {c.index: c for c in run.cells}
    # Changes the source's own cells make (seen in its run) are not the learner's.
    baseline = {c.index: {("before", x) for x in c.changed} | {("while", x) for x in c.changed_during}
                for c in reference.run.cells}
    for ref_cell in reference.run.cells:
        cell = cells.get(ref_cell.index) or CellRun(ref_cell.index, ref_cell.role, ref_cell.exercise, ref_cell.hidden,
                                                    state="not-run")
        problems += _cell_problems(cell, baseline.get(cell.index, set()), options)
        if ref_cell.role == "check":
            _score_checks(exercises, ref_cell, cell, run)
    if run.output_bytes > options.max_output:
        problems.append(("output-limit", (f"printed {run.output_bytes / 1e6:.1f} MB of output "
                                          f"(the limit is {options.max_output / 1e6:g} MB); it was not kept")))
    grade.score = sum(e.earned for e in exercises.values())
    order = list(STATUSES)
    if problems:
        grade.status = min((code for code, _ in problems), key=order.index)
        grade.detail = "; ".join(dict.fromkeys(message for _, message in problems))
    return grade


def _cell_problems(cell: CellRun, baseline: set[tuple[str, str]], options: GradeOptions) -> list[tuple[str, str]]:
    """The (status, message) problems of one cell; changes the source makes itself are not counted."""
    what = {
        "solution": f"the answer to {cell.exercise}",
        "check": f"the {'hidden ' if cell.hidden else ''}checks of {cell.exercise}",
    }.get(cell.role, f"cell {cell.index + 1}")
    problems = []
    for when, changes in (("before", cell.changed), ("while", cell.changed_during)):
        changed = [c for c in changes if (when, c) not in baseline]
        if changed:
            listed = ", ".join(changed[:4]) + (" ..." if len(changed) > 4 else "")
            when_text = "before the checks" if when == "before" else "while the checks"
            problems.append(("tampered", (f"{when_text} of {cell.exercise} ran, the submission changed {listed}; "
                                          "the grader undid it")))
    if cell.state == "error":
        # A hidden check cell's error message could quote the test code.
        message = f"{what} stopped with an error" if cell.hidden else f"{what} raised {cell.error}"
        problems.append(("error", message))
    elif cell.state == "timeout":
        problems.append(("timeout", f"{what} ran longer than {options.timeout:g} s and was stopped"))
    elif cell.state == "crashed":
        problems.append(("crashed", f"the kernel died while running {what}"))
    elif cell.state == "void":
        problems.append(("tampered", f"{what} earn nothing: {cell.error}"))
    return problems


def _score_checks(exercises: dict[str, ExerciseGrade], ref_cell: CellRun, cell: CellRun, run: RunResult) -> None:
    """Give each check of the reference cell its points if the submission's run passed it."""
    if cell.state == "not-run":
        reason = f"not run: {run.stopped or 'the run stopped early'}"
    elif cell.state == "void":
        reason = "not counted: the checker was tampered with"
    elif cell.state == "timeout":
        reason = "not run: the checks ran past the time limit"
    else:
        reason = "not run: an error stopped the checks before this one"
    pool = list(cell.checks) if cell.state not in ("void", "not-run") else []
    for ref in ref_cell.checks:
        match = next((r for r in pool if r.exercise == ref.exercise and r.name == ref.name), None)
        if match is not None:
            pool.remove(match)
        passed = bool(match and match.passed)
        feedback = CheckFeedback(
            name=ref.name, passed=passed, points=ref.points, earned=ref.points if passed else 0.0,
            expected=match.expected if match else ref.expected, found=match.found if match else reason,
            hint=ref.hint, hidden=ref_cell.hidden,
        )
        _add(exercises, ref.exercise, feedback)
    for extra in pool:  # e.g. "the checks ran to the end", which the checker adds after an error
        if extra.points == 0 and not extra.passed and extra.exercise in exercises:
            _add(exercises, extra.exercise, CheckFeedback(extra.name, False, 0.0, 0.0, extra.expected, extra.found,
                                                          extra.hint, ref_cell.hidden))


def _add(exercises: dict[str, ExerciseGrade], exercise: str, feedback: CheckFeedback) -> None:
    if feedback.hidden:  # the requirement and the verdict, nothing of the test
        feedback.expected = feedback.found = ""
    grade = exercises[exercise]
    grade.checks.append(feedback)
    grade.earned += feedback.earned
