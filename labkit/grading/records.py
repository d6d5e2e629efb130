"""What grading produces: the run of one notebook, and the gradebook's rows.

A run (:mod:`labkit.grading.runner`) yields a :class:`RunResult`: one
:class:`CellRun` per code cell, each check cell with the :class:`CheckRecord`
items the grader's own checker wrote. Scoring (:mod:`labkit.grading.score`)
turns it into a :class:`SubmissionGrade`: one gradebook row, with an
:class:`ExerciseGrade` and its :class:`CheckFeedback` per exercise. A whole
``labkit grade`` run returns a :class:`GradeReport`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

#: Statuses, most serious first. A submission's status is the most serious
#: problem found; ``detail`` lists them all.
STATUSES = {
    "invalid": "the file is not a readable notebook",
    "wrong-lab": "the notebook belongs to another lab",
    "grader-error": "the grader itself failed (run again with --resume)",
    "tampered": "the submission changed the checker; the grader undid it, and checks it could not trust earn nothing",
    "crashed": "the kernel died; the checks after that point earn nothing",
    "timeout": "a cell ran past the time limit and was stopped",
    "error": "a cell raised an error",
    "missing": "an answer cell is missing; its stub was graded",
    "output-limit": "the submission printed more output than allowed (the output was discarded)",
    "ok": "every cell ran",
}

#: The CSV's fixed columns; one column per exercise goes between these two groups.
LEADING_COLUMNS = ["submission", "score", "max_score", "status"]
TRAILING_COLUMNS = ["detail", "sha256", "source_sha256"]


class GradingSetupError(RuntimeError):
    """The source lab cannot be used to grade: it does not run cleanly, or its
    own solutions fail their checks."""


@dataclass
class GradeOptions:
    """How submissions are run.

    Attributes:
        timeout: seconds any one cell may run (the checker also limits each check).
        jobs: kernels run in parallel, each in its own worker process.
        kernel_name: the Jupyter kernel to run submissions in.
        max_output: bytes of output a submission may print before its status
            says ``output-limit`` (output is never kept either way).
        memory_mb: address-space limit of each kernel, in MiB (None: no limit).
    """

    timeout: float = 60.0
    jobs: int = 1
    kernel_name: str = "python3"
    max_output: int = 1_000_000
    memory_mb: int | None = 4096


def points_text(value: float) -> str:
    """Points as the gradebook writes them: ``8``, ``2.5``."""
    return f"{value:g}"


# --------------------------------------------------------------------------------------
# What a run records
# --------------------------------------------------------------------------------------


@dataclass
class CheckRecord:
    """One check as the grader's fresh checker recorded it."""

    exercise: str
    title: str
    name: str
    passed: bool
    points: float
    expected: str
    found: str
    hint: str


@dataclass
class CellRun:
    """What happened to one code cell of the rebuilt notebook.

    ``state`` is ``ok``, ``error``, ``timeout``, ``crashed``, ``not-run``, or
    ``void`` (a check cell whose records the grader could not trust).
    """

    index: int
    role: str
    exercise: str | None
    hidden: bool
    state: str = "ok"
    error: str = ""
    checks: list[CheckRecord] = field(default_factory=list)
    #: What the grader found changed, and undid, before this check cell ...
    changed: list[str] = field(default_factory=list)
    #: ... and while it ran (the learner's functions run inside the checks).
    changed_during: list[str] = field(default_factory=list)


@dataclass
class RunResult:
    """One notebook's run."""

    cells: list[CellRun] = field(default_factory=list)
    output_bytes: int = 0
    grader_error: str = ""
    #: Why cells after some point did not run (kernel died, or stuck after a timeout).
    stopped: str = ""
    #: Whether any cell of the notebook was sent to the kernel.
    ran: bool = False
    seconds: float = 0.0


@dataclass
class Outcome:
    """What a worker process hands back for one notebook: the source's own
    reference run, or a submission (run, or rejected before running)."""

    kind: str  # "reference" or "submission"
    path: str
    sha256: str = ""
    run: RunResult | None = None
    #: Set when the submission was not run: (status, why).
    rejected: tuple[str, str] | None = None
    #: Exercises whose answer cell was not found (their stub was run).
    missing: list[str] = field(default_factory=list)
    #: Code cells the learner added (not run).
    ignored: int = 0


# --------------------------------------------------------------------------------------
# What the gradebook holds
# --------------------------------------------------------------------------------------


@dataclass
class CheckFeedback:
    """One check's result as the learner and the gradebook see it."""

    name: str
    passed: bool
    points: float
    earned: float
    expected: str = ""
    found: str = ""
    hint: str = ""
    hidden: bool = False


@dataclass
class ExerciseGrade:
    """An exercise's score and the feedback of each of its checks."""

    id: str
    title: str
    earned: float
    possible: float
    checks: list[CheckFeedback] = field(default_factory=list)


@dataclass
class SubmissionGrade:
    """One row of the gradebook, with its feedback."""

    submission: str
    sha256: str
    source_sha256: str
    score: float
    max_score: float
    status: str
    detail: str
    exercises: dict[str, ExerciseGrade] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def csv_row(self, exercise_ids: Sequence[str]) -> dict[str, str]:
        """The row's cells by column name (an exercise not graded scores 0)."""
        row = {"submission": self.submission, "score": points_text(self.score),
               "max_score": points_text(self.max_score), "status": self.status}
        for ex in exercise_ids:
            grade = self.exercises.get(ex)
            row[ex] = points_text(grade.earned) if grade else "0"
        row.update(detail=self.detail, sha256=self.sha256, source_sha256=self.source_sha256)
        return row


@dataclass
class GradeReport:
    """What :func:`labkit.grading.grade` did."""

    lab: str
    exercises: list[ExerciseGrade]
    grades: list[SubmissionGrade]
    graded: int
    reused: int
    interrupted: bool = False

    @property
    def max_score(self) -> float:
        """The points of every exercise together."""
        return sum(e.possible for e in self.exercises)
