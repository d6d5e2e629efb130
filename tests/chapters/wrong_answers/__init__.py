"""Plausible wrong answers to the labs' exercises, kept beside the stubs.

A check that fails on the empty stub can still pass a wrong answer (a constant
that happens to fit, a standard queue where a FIFO queue is needed). Each file
``<lab>.py`` here lists, for its lab, answers a learner could plausibly give,
and the checks each must lose. ``tests/chapters/test_wrong_answers.py`` runs the
lab with them in place of the solutions and proves it.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Wrong:
    """One wrong answer to one exercise.

    Args:
        exercise: the exercise id (the lab's ``ex:<id>`` tag).
        mistake: the mistake, in a few words (the test's id).
        source: the code that replaces the exercise's solution cell.
        loses: words from the names of the checks this answer must fail; each
            must match at least one check of the exercise.
        cell: which of the exercise's solution cells it replaces (0: the first).
    """

    exercise: str
    mistake: str
    source: str
    loses: tuple[str, ...]
    cell: int = 0
    hidden_too: bool = field(default=False)  # also lose a hidden check of the exercise


def for_lab(lab: str) -> list[Wrong]:
    """The wrong answers kept for ``labs/<lab>.ipynb`` (none if there is no file)."""
    if not (Path(__file__).parent / f"{lab}.py").exists():
        return []
    return list(importlib.import_module(f"{__name__}.{lab}").WRONG)


def rounds(wrongs: list[Wrong]) -> list[list[Wrong]]:
    """Group the answers into runs of the lab, each exercise at most once per run."""
    runs: list[list[Wrong]] = []
    for wrong in wrongs:
        for run in runs:
            if all(other.exercise != wrong.exercise for other in run):
                run.append(wrong)
                break
        else:
            runs.append([wrong])
    return runs
