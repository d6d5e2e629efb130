"""Grade many submissions: worker processes, one kernel each, and the gradebook kept up to date.

:func:`grade` sends the source's own reference run and every submission to a
pool of ``jobs`` worker processes. Each worker (:func:`work`) reads one
notebook, rejects what cannot be graded (unreadable, another lab's), rebuilds it
on the source (:mod:`~labkit.grading.assemble`) and runs it
(:mod:`~labkit.grading.runner`). Back in this process, once the reference is in,
each outcome is scored (:mod:`~labkit.grading.score`) and the gradebook files
are rewritten (:mod:`~labkit.grading.gradebook`), so an interrupted run keeps
what it graded.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import nbformat

from labkit.grading.assemble import assemble
from labkit.grading.gradebook import previous_grades, write_csv, write_json
from labkit.grading.records import (
    LEADING_COLUMNS,
    TRAILING_COLUMNS,
    ExerciseGrade,
    GradeOptions,
    GradeReport,
    Outcome,
    RunResult,
    SubmissionGrade,
    points_text,
)
from labkit.grading.release import Lab, LabFormatError, lab_name, parse_lab
from labkit.grading.runner import run_notebook
from labkit.grading.score import Reference, score
from labkit.grading.shards import Shard

# --------------------------------------------------------------------------------------
# Work done in a worker process
# --------------------------------------------------------------------------------------


@dataclass
class Task:
    """One notebook for a worker: the source's reference run, or a submission."""

    kind: str  # "reference" or "submission"
    path: str
    source_path: str
    source_text: str
    check_source: str
    options: GradeOptions


#: Parsed source labs of this worker process, by the SHA-256 of their text.
_LABS: dict[str, Lab] = {}


def _source_lab(task: Task) -> Lab:
    key = hashlib.sha256(task.source_text.encode()).hexdigest()
    if key not in _LABS:
        _LABS[key] = parse_lab(nbformat.reads(task.source_text, as_version=4), task.source_path)
    return _LABS[key]


def work(task: Task) -> Outcome:
    """Grade one task; never raises (the grader's own failures go in the outcome)."""
    outcome = Outcome(task.kind, task.path)
    try:
        lab = _source_lab(task)
        if task.kind == "reference":
            outcome.run = run_notebook(assemble(lab, lab.notebook).notebook, lab, task.options, task.check_source)
            return outcome
        try:
            data = Path(task.path).read_bytes()
        except OSError as error:
            outcome.rejected = ("invalid", f"the file cannot be read ({type(error).__name__}: {error.strerror})")
            return outcome
        outcome.sha256 = hashlib.sha256(data).hexdigest()
        try:
            submission = nbformat.reads(data.decode("utf-8"), as_version=4)
            if not isinstance(submission.get("cells"), list):
                raise ValueError("no list of cells")  # noqa: TRY004  (reported as ValueError, as nbformat's own)
        except Exception as error:  # noqa: BLE001  (whatever nbformat raises: the file is not a notebook)
            first_line = str(error).strip().splitlines()[0][:80] if str(error).strip() else ""
            outcome.rejected = ("invalid", f"not a readable notebook ({type(error).__name__}: {first_line})")
            return outcome
        name = lab_name(submission)
        assembly = assemble(lab, submission)
        if name is not None and name != lab.name:
            outcome.rejected = ("wrong-lab", f"a notebook of lab {name!r}, not {lab.name!r}")
            return outcome
        if name is None and len(assembly.missing) == len(lab.exercises):
            outcome.rejected = ("wrong-lab", f"no lab name and none of the answer cells of lab {lab.name!r}")
            return outcome
        outcome.missing, outcome.ignored = assembly.missing, assembly.ignored
        outcome.run = run_notebook(assembly.notebook, lab, task.options, task.check_source)
    except Exception as error:  # noqa: BLE001  (anything else is the grader's problem, reported per submission)
        outcome.run = RunResult(grader_error=f"{type(error).__name__}: {error}"[:300])
    return outcome


def _worker_init() -> None:
    # Ctrl-C goes to the whole process group: the main process handles it.
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


# --------------------------------------------------------------------------------------
# Grading many submissions
# --------------------------------------------------------------------------------------


class Progress:
    """One status line on a terminal (stderr by default); silent otherwise."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = bool(getattr(self.stream, "isatty", lambda: False)())
        self.started = time.monotonic()
        self.shown = False

    def update(self, grade: SubmissionGrade, done: int, total: int) -> None:
        """Show the latest graded submission and how many are done."""
        if self.enabled:
            elapsed = time.monotonic() - self.started
            self.stream.write(
                f"\r\033[K[{done}/{total}] {elapsed:4.0f} s  {grade.submission}: "
                f"{points_text(grade.score)}/{points_text(grade.max_score)} {grade.status}"
            )
            self.stream.flush()
            self.shown = True

    def close(self) -> None:
        """End the status line, if one was shown."""
        if self.shown:
            self.stream.write("\n")
            self.stream.flush()


def submission_paths(items: Iterable[str | os.PathLike[str]], exclude: Path | None = None) -> list[Path]:
    """Files given, and every ``*.ipynb`` under folders given (sorted, without
    checkpoints or ``exclude``), without duplicates."""
    paths: list[Path] = []
    for item in items:
        path = Path(item)
        if path.is_dir():
            paths += sorted(p for p in path.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts and p.is_file())
        else:
            paths.append(path)
    skip = exclude.resolve() if exclude else None
    unique = {}
    for path in paths:
        if path.resolve() != skip:
            unique.setdefault(path.resolve(), path)
    return list(unique.values())


def grade(
    source: str | os.PathLike[str],
    submissions: Sequence[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    *,
    json_path: str | os.PathLike[str] | None = None,
    options: GradeOptions | None = None,
    resume: bool = False,
    progress: Callable[[SubmissionGrade, int, int], None] | None = None,
    shard: Shard | None = None,
) -> GradeReport:
    """Grade ``submissions`` of the lab ``source``; write the CSV (and JSON).

    With ``shard``, only that shard's share of the submissions is graded
    (:mod:`~labkit.grading.shards`), and the JSON, which the merge reads, is
    required.

    The files are rewritten, atomically, after every graded submission, so an
    interrupted run keeps what it graded; with ``resume=True`` rows already in
    ``out`` for the same submission content and source are kept, not regraded.
    ``progress(grade, done, total)`` is called after each graded submission.

    Raises:
        LabFormatError: the source breaks the lab format.
        GradingSetupError: the source does not pass its own checks.
        ValueError: a shard without ``json_path``.
    """
    options = options or GradeOptions()
    if shard is not None and json_path is None:
        raise ValueError(f"--shard {shard} needs --json: labkit merge reads the shards' JSON files")
    source_path = Path(source)
    source_bytes = source_path.read_bytes()
    source_sha256 = hashlib.sha256(source_bytes).hexdigest()
    source_text = source_bytes.decode("utf-8")
    lab = parse_lab(nbformat.reads(source_text, as_version=4), str(source_path))
    for exercise in lab.exercises:
        if exercise in LEADING_COLUMNS or exercise in TRAILING_COLUMNS:
            raise LabFormatError(str(source_path), f"the exercise id {exercise!r} is also a gradebook column; rename it")
    from labkit import check

    check_source = Path(check.__file__ or "").read_text(encoding="utf-8")
    paths = submission_paths(submissions, exclude=source_path)
    everyone = [str(p) for p in paths]
    if shard is not None:
        mine = set(shard.select(everyone))
        paths = [p for p in paths if str(p) in mine]
    labels = [str(p) for p in paths]
    shard_record = shard.record(everyone) if shard is not None else None
    out_path = Path(out)
    json_out = Path(json_path) if json_path else None

    previous = previous_grades(out_path, json_out) if resume else {}
    hashes = {label: hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "" for label, p in zip(labels, paths, strict=True)}
    done: dict[str, SubmissionGrade] = {
        label: g for label, g in previous.items()
        if label in hashes and g.sha256 == hashes[label] and g.source_sha256 == source_sha256
    }
    reused = len(done)
    todo = [(label, p) for label, p in zip(labels, paths, strict=True) if label not in done]
    exercise_list: list[ExerciseGrade] = [ExerciseGrade(e, e, 0.0, 0.0) for e in lab.exercises]
    report = GradeReport(lab.name, exercise_list, [], graded=0, reused=reused)

    def flush(reference: Reference | None) -> None:
        if reference is not None:
            report.exercises = reference.exercises
        report.grades = [done[label] for label in labels if label in done]
        write_csv(out_path, [e.id for e in report.exercises], report.grades)
        if json_out is not None:
            write_json(json_out, report, str(source_path), source_sha256, shard=shard_record)

    if not todo:
        if done:
            first = next(iter(done.values()))
            report.exercises = [ExerciseGrade(e, first.exercises[e].title if e in first.exercises else e, 0.0,
                                              first.exercises[e].possible if e in first.exercises else 0.0)
                                for e in lab.exercises]
        flush(None)
        return report

    def task(kind: str, path: str) -> Task:
        return Task(kind, path, str(source_path), source_text, check_source, options)

    context = multiprocessing.get_context("spawn")
    executor = ProcessPoolExecutor(max_workers=max(1, options.jobs), mp_context=context, initializer=_worker_init)
    reference: Reference | None = None
    waiting: list[tuple[str, Outcome]] = []
    futures: dict[Future[Outcome], tuple[str, str]] = {
        executor.submit(work, task("reference", str(source_path))): ("reference", str(source_path))
    }
    for label, path in todo:
        futures[executor.submit(work, task("submission", str(path)))] = ("submission", label)
    try:
        pending = set(futures)
        while pending:
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                kind, label = futures[future]
                try:
                    outcome = future.result()
                except Exception as error:  # noqa: BLE001  (the worker process itself died, e.g. killed for memory)
                    outcome = Outcome(kind, label, run=RunResult(grader_error=f"{type(error).__name__}: {error}"[:300]))
                if outcome.kind == "reference":
                    assert outcome.run is not None
                    reference = Reference.build(lab, outcome.run, str(source_path))
                else:
                    waiting.append((label, outcome))
            if reference is None:
                continue
            for label, outcome in waiting:
                grade_ = score(reference, outcome, label, source_sha256, options)
                done[label] = grade_
                report.graded += 1
                if progress:
                    progress(grade_, report.graded, len(todo))
            if waiting:
                waiting = []
                flush(reference)
    except KeyboardInterrupt:
        report.interrupted = True
        executor.shutdown(wait=False, cancel_futures=True)
        if reference is not None:
            flush(reference)
        raise
    except BaseException:
        executor.shutdown(wait=False, cancel_futures=True)
        raise
    executor.shutdown(wait=True)
    flush(reference)
    return report
