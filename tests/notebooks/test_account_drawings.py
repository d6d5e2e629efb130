"""Every walkthrough's clean-up begins with the account drawn from its real state
(``lab.diagram()``), and the drawing names everything the walkthrough created.

The drawing compares what it shows with what CloudTrail's records say the
sandbox created and did not delete, and its output carries both in the display
metadata (``labkit.account``: the names drawn, the resources it could not
draw). These tests read that output in the executed copies nbval saves
(:mod:`tests.notebooks.executions`): no notebook runs again for them.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from labkit.notebook.account import METADATA_KEY
from labkit.shop import CHAPTERS
from tests.notebooks import executions

ROOT = Path(__file__).resolve().parents[2]
CELL_ID = "account-drawing"


def _has_drawing(path: Path) -> bool:
    return any(cell.get("id") == CELL_ID for cell in nbformat.read(path, as_version=4).cells)


#: Every chapter's walkthrough (the shop's chapters, in book order), and any other notebook that draws its account the same way.
WALKTHROUGHS = [f"notebooks/{chapter}.ipynb" for chapter in CHAPTERS] + sorted(
    p.relative_to(ROOT).as_posix() for p in (ROOT / "notebooks").glob("*.ipynb")
    if p.stem not in CHAPTERS and _has_drawing(p))
#: How long to wait for a walkthrough still running under nbval on another worker.
WAIT_FOR_NOTEBOOK = 1800
_DELETES = re.compile(r"\.(delete_|terminate_|deregister_|remove_|unsubscribe)")


def drawing_cell(nb: nbformat.NotebookNode) -> int:
    return next(i for i, cell in enumerate(nb.cells) if cell.get("id") == CELL_ID)


@pytest.mark.parametrize("notebook", WALKTHROUGHS)
def test_the_clean_up_draws_the_account_before_its_first_deletion(notebook):
    nb = nbformat.read(ROOT / notebook, as_version=4)
    index = drawing_cell(nb)
    assert nb.cells[index].cell_type == "code" and "lab.diagram(" in nb.cells[index].source
    heading = max(i for i, cell in enumerate(nb.cells[:index]) if cell.cell_type == "markdown"
                  and re.search(r"^#+\s*(\d+\.\s*)?Clean[- ]?up", cell.source, re.M | re.I))
    between = [cell for cell in nb.cells[heading + 1:index] if cell.cell_type == "code"]
    assert not [cell for cell in between if _DELETES.search(cell.source)], "a deletion comes before the drawing"


@pytest.mark.notebook
@pytest.mark.parametrize("notebook", WALKTHROUGHS)
def test_the_drawing_names_everything_the_walkthrough_created(notebook, request):
    in_session = {executions.relative(item.path) for item in request.session.items
                  if executions.is_notebook_item(item)}
    if notebook not in in_session:
        pytest.skip("the walkthrough does not run in this session")
    status = executions.wait_for([notebook], WAIT_FOR_NOTEBOOK)[notebook]
    if status != executions.PASSED:
        pytest.skip(f"the walkthrough's run did not pass ({status}): see its own cells")
    executed = nbformat.read(executions.copy_path(notebook), as_version=4)
    outputs = executed.cells[drawing_cell(executed)].outputs
    facts = [out["metadata"][METADATA_KEY] for out in outputs if METADATA_KEY in out.get("metadata", {})]
    assert len(facts) == 1, f"the drawing cell shows no account drawing: {outputs}"
    drawn = facts[0]
    assert drawn["names"], "the drawing names no resource"
    assert drawn["undrawn"] == [], f"created by the walkthrough but not drawn: {drawn['undrawn']}"
    assert drawn["notes"] == [], f"services the drawing could not read: {drawn['notes']}"
