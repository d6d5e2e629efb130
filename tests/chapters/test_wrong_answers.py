"""Plausible wrong answers lose the points of the checks that name their mistake.

For each lab with a file in ``tests/chapters/wrong_answers``, the lab runs with
wrong answers in place of its solutions (one per exercise per run; the other
exercises keep their solutions), and every check the answer must lose has
failed. The stubs are tested in tests/notebooks/test_labs.py; this is the
other half of "a check that cannot be passed by accident". Each run starts
from a clean slate in the worker's kernel for lab variants
(tests/notebooks/variants.py).
"""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat
import pytest

from labkit.grading.release import parse_lab
from tests.chapters.wrong_answers import Wrong, for_lab, rounds
from tests.notebooks import variants
from tests.notebooks.test_labs import check_results

ROOT = Path(__file__).resolve().parents[2]
RUNS = [(path, number, run) for path in sorted((ROOT / "labs").glob("*.ipynb"))
        for number, run in enumerate(rounds(for_lab(path.stem)), start=1)]

SPREAD = True  # each run on its own worker slot (tests/harness.py)


def run_with(path: Path, wrongs: list[Wrong]) -> list[dict]:
    nb = nbformat.read(path, as_version=4)
    lab = parse_lab(nb, str(path))
    changed = copy.deepcopy(nb)
    for wrong in wrongs:
        cells = [cell for cell, info in zip(changed.cells, lab.cells, strict=True)
                 if info.role == "solution" and info.exercise == wrong.exercise]
        assert cells, f"{path.stem} has no exercise {wrong.exercise!r}"
        cells[wrong.cell].source = wrong.source.strip() + "\n"
    variants.execute(path, changed)
    return check_results(changed)


def test_every_lab_keeps_wrong_answers_for_its_exercises():
    """At least one wrong answer per exercise of the labs that have a file."""
    for path in sorted((ROOT / "labs").glob("*.ipynb")):
        wrongs = for_lab(path.stem)
        if not wrongs:
            continue
        lab = parse_lab(nbformat.read(path, as_version=4), str(path))
        exercises = {info.exercise for info in lab.cells if info.role == "solution"}
        assert exercises <= {w.exercise for w in wrongs}, f"{path.stem}: no wrong answer kept for {exercises}"


@pytest.mark.notebook
@pytest.mark.parametrize(("path", "number", "wrongs"), RUNS, ids=[f"{p.stem}-{n}" for p, n, _ in RUNS])
def test_wrong_answers_lose_the_checks_that_name_their_mistake(path, number, wrongs, monkeypatch):
    monkeypatch.delenv("LABKIT_STRICT", raising=False)  # a failed check reports, not raises
    results = run_with(path, wrongs)
    problems = []
    for wrong in wrongs:
        mine = [r for r in results if r["exercise"] == wrong.exercise]
        earned, possible = sum(r["earned"] for r in mine), sum(r["points"] for r in mine)
        if earned >= possible:
            problems.append(f"{wrong.exercise} ({wrong.mistake}): full marks")
        for words in wrong.loses:
            named = [r for r in mine if words in r["name"] and not r["hidden"]]
            if not named:
                problems.append(f"{wrong.exercise}: no check named {words!r}")
            problems += [f"{wrong.exercise} ({wrong.mistake}) passed {r['name']!r}" for r in named if r["passed"]]
        if wrong.hidden_too and all(r["passed"] for r in mine if r["hidden"]):
            problems.append(f"{wrong.exercise} ({wrong.mistake}) passed every hidden check")
    assert not problems, "; ".join(problems)
