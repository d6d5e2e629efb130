"""Every notebook runs top to bottom twice in one kernel without error.

A learner re-runs cells all the time; ``labkit.start()`` keeps the account's
state between runs, so a notebook must be idempotent (or clean up after itself)
for the second run to work.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb")) + sorted((ROOT / "labs").glob("*.ipynb"))

# Run each test on its own xdist worker slot (see conftest): they are long and independent.
SPREAD = True


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[f"{p.parent.name}/{p.stem}" for p in NOTEBOOKS])
def test_runs_twice_in_one_kernel(path):
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    with client.setup_kernel():
        for run in (1, 2):
            for index, cell in enumerate(nb.cells):
                try:
                    client.execute_cell(cell, index)
                except Exception as error:  # CellExecutionError carries the traceback text
                    pytest.fail(f"run {run}, cell {index} failed:\n{str(error)[-3000:]}")
