"""On a lab's page, the code of its checks and worked solutions is folded away
(tag ``hide-input``: a click shows it), so a reader meets the exercise before the
answer or the grader. Checks that grade in secret (``hidden``) are removed from the
page altogether (``remove-cell``). Read from the notebooks: no kernel, no build.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
LABS = sorted((ROOT / "labs").glob("*.ipynb"))


def tagged_cells(path: Path, tag: str) -> list[tuple[int, set[str]]]:
    nb = nbformat.read(path, as_version=4)
    return [(index, set(cell.metadata.get("tags", []))) for index, cell in enumerate(nb.cells)
            if cell.cell_type == "code" and tag in cell.metadata.get("tags", [])]


def test_there_are_labs_with_checks():
    assert LABS and tagged_cells(ROOT / "labs" / "sqs.ipynb", "check")


@pytest.mark.parametrize("path", LABS, ids=[p.stem for p in LABS])
def test_checks_and_solutions_are_folded_or_removed(path):
    shown = [(index, sorted(tags)) for tag in ("check", "solution") for index, tags in tagged_cells(path, tag)
             if not tags & {"hide-input", "remove-cell"}]
    assert not shown, f"cells whose code shows on the page (add the tag hide-input): {shown}"


@pytest.mark.parametrize("path", LABS, ids=[p.stem for p in LABS])
def test_hidden_checks_are_removed_from_the_page(path):
    shown = [index for index, tags in tagged_cells(path, "hidden") if "remove-cell" not in tags]
    assert not shown, f"hidden checks on the page (add the tag remove-cell): cells {shown}"
