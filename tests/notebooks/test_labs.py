"""Every lab follows the single-source format, and no graded check is vacuous.

The lab sources themselves run under nbval with LABKIT_STRICT=1 (see
tests/harness.py), so every check passes on the solutions. Here each lab's
student version (every solution replaced by the learner's stub) runs once:
every check, hidden ones included, must fail. That is a different notebook
from the lab source, so this is its only execution. It runs in the worker's
kernel for lab variants, from a clean slate (tests/notebooks/variants.py).
"""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat
import pytest

from labkit.check import RESULT_MIME
from labkit.grading.release import parse_lab, stub_source
from tests.notebooks import variants

ROOT = Path(__file__).resolve().parents[2]
LABS = sorted((ROOT / "labs").glob("*.ipynb"))

# Run each test on its own xdist worker slot (see tests/harness.py): they are long and independent.
SPREAD = True


def check_results(nb) -> list[dict]:
    results = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if RESULT_MIME in data:
                results.extend(data[RESULT_MIME]["checks"])
    return results


@pytest.mark.parametrize("path", LABS, ids=[p.stem for p in LABS])
def test_lab_follows_the_template(path):
    nb = nbformat.read(path, as_version=4)
    lab = parse_lab(nb, str(path))
    assert nb.metadata["labkit"]["lab"] == path.stem
    exercises = {info.exercise for info in lab.cells if info.role == "solution"}
    assert len(exercises) >= 3, "a lab needs at least three graded exercises"
    for ex in exercises:
        visible = [i for i in lab.cells if i.role == "check" and i.exercise == ex and not i.hidden]
        assert visible, f"{ex}: no visible check"
    text = "\n".join(c.source for c in nb.cells)
    assert "from labkit.notebook import question, quiz" in text, "a lab ends with a self-check quiz"
    assert "## Clean-up" in text, "a lab ends with a clean-up step"
    first_code = next(c for c in nb.cells if c.cell_type == "code")
    assert "setup" in first_code.metadata.get("tags", []) and "labkit.start(" in first_code.source


@pytest.mark.notebook
@pytest.mark.parametrize("path", LABS, ids=[p.stem for p in LABS])
def test_every_check_fails_on_the_unsolved_stub(path, monkeypatch):
    monkeypatch.delenv("LABKIT_STRICT", raising=False)  # a failed check reports, not raises
    nb = nbformat.read(path, as_version=4)
    lab = parse_lab(nb, str(path))
    stubbed = copy.deepcopy(nb)
    for cell, info in zip(stubbed.cells, lab.cells, strict=True):
        if info.role == "solution":
            cell.source = stub_source(cell.source)
    variants.execute(path, stubbed)
    results = check_results(stubbed)
    assert results, "no check ran"
    passed = [f"{r['exercise']}: {r['name']}" for r in results if r["passed"]]
    assert not passed, f"checks that pass without any answer (vacuous): {passed}"
    hidden = {r["exercise"] for r in results if r["hidden"]}
    assert hidden, "at least one hidden check should guard against hard-coded answers"
