"""The labs' variants (stubs, wrong answers) run one after another in one kernel.

tests/notebooks/test_labs.py runs each lab with every solution replaced by its
stub, and tests/chapters/test_wrong_answers.py runs it once per round of wrong
answers. Each run used to start a kernel of its own, then import labkit, boto3,
moto and every service the lab touches: seconds of CPU per run, before the
lab's first cell did any work. Here a worker keeps one kernel in the labs'
folder for every variant it runs, whichever lab it comes from, and each
variant after the first starts from a clean slate:

1. IPython's ``%reset -f`` empties the namespace (every name the previous
   variant defined, its functions and clients among them), and the kernel then
   confirms that no name is left;
2. ``labkit.start(reset=True)`` wipes the emulated account, every simulated
   plane and its servers, names and threads, and puts the clock back (what
   every in-process test of the suite starts from);
3. the variant's cells run top to bottom, as in a fresh kernel. A lab's source
   must already run twice in one kernel *without* a reset (tests/harness.py),
   so running it again after one is the easier case.

The kernel runs without ``LABKIT_STRICT``: a failed check reports, it does
not raise, whichever test started the kernel. What a kernel keeps from one
variant to the next is what a test worker keeps
from one in-process test to the next: imported modules (labkit's, moto's,
boto3's) and the services installed at their first use, their state wiped. A
variant whose cell raised or timed out leaves its kernel behind: the next one
starts a new kernel. The tests stay spread over the workers one by one; the
harness closes each worker's kernel at the end of the session.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import nbformat
from jupyter_core.utils import ensure_async, run_sync
from nbclient import NotebookClient

#: How long one cell may run (as in a fresh kernel's run).
CELL_TIMEOUT = 300

#: Run in the kernel between two variants: an empty namespace, confirmed; a wiped sandbox.
CLEAN_SLATE = """\
get_ipython().run_line_magic("reset", "-f")
_left = sorted(name for name in get_ipython().user_ns
               if not name.startswith("_") and name not in get_ipython().user_ns_hidden)
assert not _left, f"names left from the previous variant: {_left}"
del _left
__import__("labkit").start(reset=True)
"""


class LabKernel:
    """One kernel for the variants of the labs in one folder, started in that folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.runs = 0
        nb = nbformat.v4.new_notebook()
        self.client = NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3",
                                     resources={"metadata": {"path": str(folder)}})
        self.client.km = self.client.create_kernel_manager()
        # Whichever test starts it, a failed check reports (it does not raise), as the variants need.
        self.client.start_new_kernel(env={name: value for name, value in os.environ.items() if name != "LABKIT_STRICT"})
        self.client.start_new_kernel_client()

    def alive(self) -> bool:
        km = self.client.km
        return km is not None and bool(run_sync(ensure_async)(km.is_alive()))

    def _run(self, nb: nbformat.NotebookNode) -> None:
        self.client.nb = nb
        self.client.reset_execution_trackers()
        for index, cell in enumerate(nb.cells):
            self.client.execute_cell(cell, index, execution_count=self.client.code_cells_executed + 1)

    def execute(self, nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
        """Run ``nb`` (a variant of a lab in this kernel's folder) top to bottom; returns it, with its outputs."""
        if self.runs:
            self._run(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(CLEAN_SLATE)]))
        self.runs += 1
        self._run(nb)
        return nb

    def close(self) -> None:
        self.client._cleanup_kernel()


_current: LabKernel | None = None


def execute(path: Path, nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Run ``nb``, a variant of the lab at ``path``, in this worker's kernel for
    the lab's folder (started if there is none, or if the last one was in
    another folder or did not finish its last variant)."""
    global _current
    if _current is not None and (_current.folder != path.parent or not _current.alive()):
        close()
    if _current is None:
        _current = LabKernel(path.parent)
    kernel, _current = _current, None  # a variant that raises leaves no kernel behind
    try:
        kernel.execute(nb)
    except BaseException:
        kernel.close()
        raise
    _current = kernel
    return nb


def close(*_: Any) -> None:
    """Shut down this worker's kernel, if it has one."""
    global _current
    kernel, _current = _current, None
    if kernel is not None:
        kernel.close()
