"""Each notebook executes twice per test run, and the book reuses the first execution.

nbval runs every code cell of ``notebooks/*.ipynb`` and ``labs/*.ipynb`` as a
test item, in one kernel, with the lab checks in strict mode (see
:mod:`tests.harness`). This plugin adds two things to that run, without
executing the notebook again:

1. **The executed copy.** While nbval runs a cell, every message the kernel
   sends about it is recorded. Once every cell has passed, the messages are
   replayed through nbclient's own message handling (the code
   ``jupyter-book build`` uses to execute a notebook) into a copy of the
   notebook with its outputs, widget state and language info, saved under
   ``$LABKIT_TEST_HOME/executed/<folder>/<name>.ipynb`` with a status file
   beside it. ``tests/book`` puts these copies into the book's execution cache,
   so the build executes none of these notebooks.
2. **The second run.** After nbval's last cell, a ``rerun`` item runs the whole
   notebook again in nbval's same kernel: a learner re-runs cells all the
   time, and ``labkit.start()`` keeps the account's state between runs, so a
   notebook must be idempotent (or clean up after itself).

nbval sends cells without history; here they are sent with it, as JupyterLab
and nbclient send them (a trailing ``;`` then hides a cell's result, as in
the book).

A notebook therefore executes exactly twice, both times in one kernel. Tests
that need a *different* notebook (a lab with its solutions replaced by stubs)
execute that one themselves.
"""

from __future__ import annotations

import copy
import json
import os
import re
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]

#: Status of a notebook's first run, written beside its executed copy.
PASSED, FAILED, INCOMPLETE = "passed", "failed", "incomplete"

_OUTCOME = pytest.StashKey[str]()
_RECORDER = pytest.StashKey["Recorder"]()
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


# ---------------------------------------------------------------------------
# Where the executed copies go
# ---------------------------------------------------------------------------


def executed_dir() -> Path:
    """The run's folder of executed copies (shared by pytest-xdist workers)."""
    home = os.environ.get("LABKIT_TEST_HOME") or tempfile.gettempdir()
    return Path(home) / "executed"


def relative(path: Path | str) -> str:
    """A notebook's path as the suite names it: ``labs/sqs.ipynb``."""
    path = Path(path).resolve()
    return path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else path.as_posix().lstrip("/")


def copy_path(notebook: str) -> Path:
    """Where the executed copy of ``notebook`` (``labs/sqs.ipynb``) is saved."""
    return executed_dir() / notebook


def status_of(notebook: str) -> str | None:
    """``passed``, ``failed``, ``incomplete``, or ``None`` if its run has not ended."""
    path = copy_path(notebook).with_suffix(".status")
    return path.read_text(encoding="utf-8").strip() if path.exists() else None


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + f".{os.getpid()}.partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)


def _save(notebook: str, status: str, executed: nbformat.NotebookNode | None = None) -> None:
    if executed is not None:
        _write_atomic(copy_path(notebook), nbformat.writes(executed))
    _write_atomic(copy_path(notebook).with_suffix(".status"), status)


def record(notebook: str, status: str, executed: nbformat.NotebookNode) -> None:
    """Save the executed copy and status of a document this plugin did not run itself (a
    book page, ``book/sqs.md``: see tests/book/test_page_runs.py), as the notebooks' are."""
    _save(notebook, status, executed)


def wait_for(notebooks: Iterable[str], timeout: float) -> dict[str, str | None]:
    """Wait until every notebook's run has ended (in any worker), at most
    ``timeout`` seconds; returns each one's status (``None``: still running)."""
    pending = set(notebooks)
    statuses: dict[str, str | None] = {}
    deadline = time.monotonic() + timeout
    while True:
        for notebook in list(pending):
            statuses[notebook] = status_of(notebook)
            if statuses[notebook] is not None:
                pending.discard(notebook)
        if not pending or time.monotonic() > deadline:
            return statuses
        time.sleep(0.5)


# ---------------------------------------------------------------------------
# Recording what nbval's kernel says about each cell
# ---------------------------------------------------------------------------


@dataclass
class Recorder:
    """The iopub messages of each code cell, by the cell's position among code cells."""

    kernel: Any
    current: int | None = None
    cells_by_request: dict[str, int] = field(default_factory=dict)
    messages: dict[int, list[dict[str, Any]]] = field(default_factory=dict)

    def attach(self) -> None:
        """Wrap the two methods nbval uses to talk to this kernel: one records
        each cell's request, the other every message answering it."""
        kernel = self.kernel
        get_message = kernel.get_message

        def execute_cell_input(cell_input: str, allow_stdin: bool | None = None) -> str:
            # As JupyterLab and nbclient do: with history, so that a trailing ";"
            # hides a cell's result and execution counts advance (nbval: no history).
            msg_id: str = kernel.kc.execute(cell_input, store_history=True, allow_stdin=allow_stdin,
                                            stop_on_error=False)
            if self.current is not None:
                self.cells_by_request[msg_id] = self.current
                self.messages[self.current] = []
            return msg_id

        def get_message_recorded(stream: str, timeout: float | None = None) -> dict[str, Any]:
            msg: dict[str, Any] = get_message(stream, timeout=timeout)
            if stream == "iopub":
                cell = self.cells_by_request.get((msg.get("parent_header") or {}).get("msg_id", ""))
                if cell is not None:
                    self.messages[cell].append(msg)
            return msg

        kernel.execute_cell_input = execute_cell_input
        kernel.get_message = get_message_recorded


def _recorder(notebook_file: Any) -> Recorder:
    recorder = notebook_file.stash.get(_RECORDER, None)
    if recorder is None or recorder.kernel is not notebook_file.kernel:
        recorder = Recorder(notebook_file.kernel)
        recorder.attach()
        notebook_file.stash[_RECORDER] = recorder
    return recorder


def _nbval_cell_class() -> type:
    from nbval.plugin import IPyNbCell

    return IPyNbCell


def is_notebook_item(item: pytest.Item) -> bool:
    """True for nbval's cells and the second runs added here."""
    return isinstance(item, (_nbval_cell_class(), Rerun))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Any:
    if not isinstance(item, _nbval_cell_class()):
        return (yield)
    recorder = _recorder(item.parent)
    recorder.current = item.cell_num
    try:
        return (yield)
    finally:
        recorder.current = None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    counts = report.when == "call" or report.outcome != "passed"  # setup and teardown count if they fail
    if isinstance(item, _nbval_cell_class()) and counts and item.stash.get(_OUTCOME, "passed") != "failed":
        item.stash[_OUTCOME] = report.outcome
    if isinstance(item, Rerun) and report.when == "setup" and report.outcome != "passed":
        # Its runtest never runs (nbval's kernel did not start, say): say so to whoever
        # waits for this notebook (the book's build), rather than let it wait its full timeout.
        _save(item.notebook, FAILED)
    return report


def executed_copy(source: nbformat.NotebookNode, messages: dict[int, list[dict[str, Any]]],
                  language_info: dict[str, Any] | None) -> nbformat.NotebookNode:
    """``source`` with the outputs the recorded ``messages`` carry, made by the
    same nbclient code that executes a notebook for ``jupyter-book build``."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionComplete

    nb = copy.deepcopy(source)
    client = NotebookClient(nb, record_timing=False, store_widget_state=True)
    client.reset_execution_trackers()
    count = 0
    code_cells = [(index, cell) for index, cell in enumerate(nb.cells) if cell.cell_type == "code"]
    for number, (index, cell) in enumerate(code_cells):
        cell.outputs = []
        cell.execution_count = None
        client.clear_before_next_output = False  # as nbclient does before each cell
        if number not in messages:  # skipped by nbval
            continue
        for msg in messages[number]:
            try:
                client.process_message(msg, cell, index)
            except CellExecutionComplete:
                break
        count += 1
        cell.execution_count = count
        for output in cell.outputs:
            if "execution_count" in output:
                output.execution_count = count
    client.set_widgets_metadata()
    if language_info:
        nb.metadata["language_info"] = language_info
    return nb


def _language_info(kernel: Any, timeout: float = 30) -> dict[str, Any] | None:
    msg_id = kernel.kc.kernel_info()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        reply = kernel.kc.get_shell_msg(timeout=timeout)
        if (reply.get("parent_header") or {}).get("msg_id") == msg_id:
            info = reply["content"].get("language_info")
            return dict(info) if info else None
    return None


# ---------------------------------------------------------------------------
# The second run
# ---------------------------------------------------------------------------


class RerunFailed(Exception):
    """A cell failed when the notebook ran the second time."""


class Rerun(pytest.Item):
    """Run the whole notebook again in nbval's kernel, after nbval's last cell;
    first save the executed copy of nbval's run."""

    def __init__(self, *, cells: list[Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.cells = cells
        self.notebook = relative(self.path)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"{self.notebook}: run again in the same kernel"

    def runtest(self) -> None:
        outcomes = [cell.stash.get(_OUTCOME, None) for cell in self.cells]
        if None in outcomes:
            _save(self.notebook, INCOMPLETE)
            pytest.skip("not every cell of this notebook ran in this session")
        if "failed" in outcomes:
            _save(self.notebook, FAILED)
            pytest.skip("the first run failed (see its cells)")
        notebook_file = self.parent
        kernel = notebook_file.kernel
        if kernel is None or not kernel.is_alive() or notebook_file.timed_out:
            _save(self.notebook, FAILED)
            pytest.fail("nbval's kernel is gone")
        recorder = _recorder(notebook_file)
        _save(self.notebook, PASSED, executed_copy(notebook_file.nb, recorder.messages, _language_info(kernel)))
        self._run_again(kernel)

    def _run_again(self, kernel: Any) -> None:
        timeout = self.config.option.nbval_cell_timeout
        for cell in self.cells:
            if cell.options["skip"]:
                continue
            try:
                reply = kernel.kc.execute_interactive(cell.cell.source, store_history=True, allow_stdin=False,
                                                      timeout=timeout, output_hook=lambda msg: None)
            except TimeoutError:
                kernel.interrupt()
                raise RerunFailed(f"second run, cell {cell.cell_num}: no answer within {timeout:g} s") from None
            content = reply["content"]
            if content["status"] == "error" and not cell.options["check_exception"]:
                trace = _ANSI.sub("", "\n".join(content.get("traceback", [])))
                raise RerunFailed(f"second run in the same kernel, cell {cell.cell_num} failed:\n"
                                  f"{cell.cell.source}\n\n{trace[-4000:]}")

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, RerunFailed):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))


def add_reruns(items: list[pytest.Item]) -> None:
    """Put a :class:`Rerun` after each notebook's last nbval cell, and mark
    every notebook item ``notebook`` (``make test-fast`` leaves them out)."""
    cell_class = _nbval_cell_class()
    cells_of: dict[Any, list[Any]] = {}
    for item in items:
        if isinstance(item, cell_class):
            cells_of.setdefault(item.parent, []).append(item)
    result: list[pytest.Item] = []
    for item in items:
        result.append(item)
        if isinstance(item, cell_class):
            item.add_marker(pytest.mark.notebook)
            cells = cells_of[item.parent]
            if item is cells[-1]:
                rerun = Rerun.from_parent(item.parent, name="rerun", cells=cells)
                rerun.add_marker(pytest.mark.notebook)
                result.append(rerun)
    items[:] = result


def summary(notebooks: Iterable[str]) -> str:
    """The status of each notebook, for messages."""
    return json.dumps({notebook: status_of(notebook) for notebook in notebooks}, indent=1)
