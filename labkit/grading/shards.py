"""Grade a class in shards on several machines, and merge the shards' gradebooks.

::

    labkit grade labs/sqs.ipynb submissions/sqs/ --shard 1/2 --out shards/1.csv --json shards/1.json
    labkit grade labs/sqs.ipynb submissions/sqs/ --shard 2/2 --out shards/2.csv --json shards/2.json
    labkit merge shards/1.json shards/2.json --out grades.csv --json grades.json

**The split.** Every shard is given the same command line, so every shard
finds the same submissions. They are sorted by their ``submission`` label (the
path as given, compared character by character, whatever the locale), and
shard ``i`` of ``N`` takes those at positions ``i``, ``i + N``, ``i + 2N``, ...
(counting from 1). The shards' sizes differ by one at most, each submission is
in exactly one shard, and the split depends on nothing but the labels, so a
rerun of a shard (with ``--resume``) grades the same submissions.

**The merge.** A shard's JSON records which shard it is and the labels of the
whole class, in the order an unsharded run would write them. :func:`merge`
checks that the shards are the ``N`` shards of one run (the same lab, the same
source, the same class, each index once, none missing), that each holds the
rows of its own submissions and no others, then writes one gradebook, CSV and
JSON, equal to what one unsharded run writes.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from labkit.grading.gradebook import Gradebook, read_gradebook, write_csv, write_json
from labkit.grading.records import ExerciseGrade, GradeReport, SubmissionGrade


class MergeError(ValueError):
    """The shards given to :func:`merge` are not the whole of one sharded run."""


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` of ``count`` (``--shard index/count``, counting from 1)."""

    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        """Read ``i/N``.

        Raises:
            ValueError: not two whole numbers with ``1 <= i <= N``.
        """
        match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
        if not match:
            raise ValueError(f"--shard takes i/N, for example 1/4 for the first of four shards, not {text!r}")
        index, count = int(match[1]), int(match[2])
        if count < 1 or not 1 <= index <= count:
            raise ValueError(f"--shard {text}: i counts from 1 to N (1/{max(count, 1)} ... {max(count, 1)}/{max(count, 1)})")
        return cls(index, count)

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def select(self, labels: Sequence[str]) -> list[str]:
        """The labels of this shard, in their given order."""
        ranked = sorted(set(labels))
        mine = set(ranked[self.index - 1 :: self.count])
        return [label for label in labels if label in mine]

    def record(self, labels: Sequence[str]) -> dict[str, Any]:
        """What a shard's JSON says about it: its index, the count, and the whole class's labels."""
        return {"index": self.index, "count": self.count, "submissions": list(labels)}


def merge(
    shard_paths: Sequence[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    *,
    json_path: str | os.PathLike[str] | None = None,
) -> GradeReport:
    """Merge the gradebook JSONs of all the shards of one run into one gradebook.

    Raises:
        MergeError: a shard is missing or given twice, the shards come from
            different runs, or a shard's rows are not its submissions.
        ValueError: a file is not a gradebook JSON.
    """
    if not shard_paths:
        raise MergeError("no shard given: name every shard's JSON (labkit grade --shard i/N --json ...)")
    books = [read_gradebook(path) for path in shard_paths]
    for book in books:
        if book.shard is None:
            raise MergeError(f"{book.path} is not a shard's gradebook: it was graded without --shard")
    first = books[0]
    assert first.shard is not None
    count, labels = first.shard["count"], [str(label) for label in first.shard["submissions"]]
    seen: dict[int, str] = {}
    for book in books:
        assert book.shard is not None
        for what, mine, theirs in (
            ("a different number of shards", book.shard["count"], count),
            ("another lab", book.lab, first.lab),
            ("another version of the source lab", book.source_sha256, first.source_sha256),
            ("another source path", book.source, first.source),
            ("another list of submissions", book.shard["submissions"], labels),
        ):
            if mine != theirs:
                raise MergeError(f"{book.path} and {first.path} are not shards of one run: {book.path} has {what}")
        index = book.shard["index"]
        if not 1 <= index <= count:
            raise MergeError(f"{book.path}: shard {index}/{count} does not exist")
        if index in seen:
            raise MergeError(f"shard {index}/{count} is given twice: {seen[index]} and {book.path}")
        seen[index] = book.path
    missing = [f"{i}/{count}" for i in range(1, count + 1) if i not in seen]
    if missing:
        raise MergeError(f"shard {', '.join(missing)} missing: grade {'it' if len(missing) == 1 else 'them'} "
                         "and merge again with every shard's JSON")
    rows: dict[str, SubmissionGrade] = {}
    for book in books:
        assert book.shard is not None
        expected = set(Shard(book.shard["index"], count).select(labels))
        for grade in book.grades:
            if grade.submission not in expected:
                raise MergeError(f"{book.path} holds {grade.submission}, which is not a submission of its shard")
            if grade.submission in rows:
                raise MergeError(f"{grade.submission} is graded twice in {book.path}")
            rows[grade.submission] = grade
    absent = [label for label in labels if label not in rows]
    if absent:
        listed = ", ".join(absent[:3]) + (f" and {len(absent) - 3} more" if len(absent) > 3 else "")
        raise MergeError(f"{len(absent)} submission(s) have no row: {listed} (their shard stopped early: "
                         "run it again with --resume, then merge)")
    exercises = _exercises(books)
    report = GradeReport(first.lab, exercises, [rows[label] for label in labels], graded=0, reused=len(labels))
    write_csv(out, [e.id for e in exercises], report.grades)
    if json_path is not None:
        write_json(json_path, report, first.source, first.source_sha256)
    return report


def _exercises(books: list[Gradebook]) -> list[ExerciseGrade]:
    """The exercises, titles and points of the shards' reference runs (a shard
    with no submission ran none: it has no say)."""
    graded = [book for book in books if book.grades] or books[:1]
    reference = graded[0]
    for book in graded[1:]:
        if [(e.id, e.title, e.possible) for e in book.exercises] != [(e.id, e.title, e.possible) for e in reference.exercises]:
            raise MergeError(f"{book.path} and {reference.path} disagree on the exercises or their points")
    return reference.exercises

