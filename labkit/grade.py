"""Grade learners' submissions of a lab against its source notebook.

``labkit grade labs/sqs.ipynb submissions/ --out grades.csv --json grades.json -j 2``

How one submission is graded:

1. **Rebuild.** The grader starts from the *source* lab (see
   :mod:`labkit.release`) and takes only the learner's answer cells from the
   submission: by cell id, else by the ``ex:<id>`` tag with ``answer`` or
   ``solution``. Setup, fixed and check cells, hidden checks included, are
   the source's. Editing, deleting, reordering or adding check cells in a
   submission changes nothing; a missing answer is graded as its stub.
2. **Run.** The rebuilt notebook runs top to bottom in a fresh kernel (driven
   through nbclient), in a temporary folder, with no AWS credentials in its
   environment (the notebook's own setup cell starts the labkit sandbox), and
   a time limit per cell. A cell past its limit is interrupted and the run goes
   on; a kernel that ignores the interrupt, or dies, ends the run, and the
   checks that did not run earn nothing.
3. **Check, with a clean checker.** Before each check cell the grader undoes
   what the learner's code may have changed (``labkit``, ``labkit.check``,
   the modules the checker uses, builtins, IPython's input transformers and
   hooks) and loads a fresh copy of :mod:`labkit.check` from the source text
   the grader itself sends. That copy records every check it runs; after the
   cell the grader collects the records through its own request, tagged with a
   one-time nonce, and verifies that no function of the fresh checker was
   replaced meanwhile. Points come only from those records: what the notebook
   displays or prints is never read. Requests go through IPython's
   ``user_expressions``, which input transformers and cell hooks do not see.
4. **Score.** Each check earns the points it has in the source (the maximum is
   what the source's own run records, so a submission cannot change it), and
   feedback says what was expected and found; for hidden checks only the
   requirement, the verdict and the hint.

The limits of this (a learner's code runs in the same process as the checks)
are written down in the instructors' page of the book.
"""

from __future__ import annotations

import ast
import asyncio
import copy
import csv
import hashlib
import io
import json
import math
import multiprocessing
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path
from queue import Empty
from typing import Any, TextIO

import nbformat
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError
from nbformat import NotebookNode

from labkit.release import (
    ANSWER_TAG,
    SOLUTION_TAG,
    Lab,
    LabFormatError,
    exercise_tags,
    lab_name,
    parse_lab,
    stub_source,
    tags_of,
    write_atomic,
)

#: Statuses, most serious first. A submission's status is the most serious
#: problem found; ``detail`` lists them all.
STATUSES = {
    "invalid": "the file is not a readable notebook",
    "wrong-lab": "the notebook belongs to another lab",
    "grader-error": "the grader itself failed (run again with --resume)",
    "tampered": "the submission changed the checker; the grader undid it, and checks it could not trust earn nothing",
    "crashed": "the kernel died; the checks after that point earn nothing",
    "timeout": "a cell ran past the time limit and was stopped",
    "error": "a cell raised an error",
    "missing": "an answer cell is missing; its stub was graded",
    "output-limit": "the submission printed more output than allowed (the output was discarded)",
    "ok": "every cell ran",
}

#: The CSV's fixed columns; one column per exercise goes between these two groups.
LEADING_COLUMNS = ["submission", "score", "max_score", "status"]
TRAILING_COLUMNS = ["detail", "sha256", "source_sha256"]

#: Words that mark an environment variable as a secret the kernel must not see.
_SECRET_WORDS = ("TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL", "PRIVATE_KEY", "API_KEY", "ACCESS_KEY")
#: How long a grader request (restore, collect, probe) may take, in seconds.
_REQUEST_TIMEOUT = 30.0
#: How long a kernel has to answer after a timed-out cell was interrupted.
_PROBE_TIMEOUT = 5.0


class GradingSetupError(RuntimeError):
    """The source lab cannot be used to grade: it does not run cleanly, or its
    own solutions fail their checks."""


@dataclass
class GradeOptions:
    """How submissions are run.

    Attributes:
        timeout: seconds any one cell may run (the checker also limits each check).
        jobs: kernels run in parallel, each in its own worker process.
        kernel_name: the Jupyter kernel to run submissions in.
        max_output: bytes of output a submission may print before its status
            says ``output-limit`` (output is never kept either way).
        memory_mb: address-space limit of each kernel, in MiB (None: no limit).
    """

    timeout: float = 60.0
    jobs: int = 1
    kernel_name: str = "python3"
    max_output: int = 1_000_000
    memory_mb: int | None = 4096


# --------------------------------------------------------------------------------------
# What a run records
# --------------------------------------------------------------------------------------


@dataclass
class CheckRecord:
    """One check as the grader's fresh checker recorded it."""

    exercise: str
    title: str
    name: str
    passed: bool
    points: float
    expected: str
    found: str
    hint: str


@dataclass
class CellRun:
    """What happened to one code cell of the rebuilt notebook.

    ``state`` is ``ok``, ``error``, ``timeout``, ``crashed``, ``not-run``, or
    ``void`` (a check cell whose records the grader could not trust).
    """

    index: int
    role: str
    exercise: str | None
    hidden: bool
    state: str = "ok"
    error: str = ""
    checks: list[CheckRecord] = field(default_factory=list)
    #: What the grader found changed, and undid, before this check cell ...
    changed: list[str] = field(default_factory=list)
    #: ... and while it ran (the learner's functions run inside the checks).
    changed_during: list[str] = field(default_factory=list)


@dataclass
class RunResult:
    """One notebook's run."""

    cells: list[CellRun] = field(default_factory=list)
    output_bytes: int = 0
    grader_error: str = ""
    #: Why cells after some point did not run (kernel died, or stuck after a timeout).
    stopped: str = ""
    #: Whether any cell of the notebook was sent to the kernel.
    ran: bool = False
    seconds: float = 0.0


@dataclass
class CheckFeedback:
    """One check's result as the learner and the gradebook see it."""

    name: str
    passed: bool
    points: float
    earned: float
    expected: str = ""
    found: str = ""
    hint: str = ""
    hidden: bool = False


@dataclass
class ExerciseGrade:
    """An exercise's score and the feedback of each of its checks."""

    id: str
    title: str
    earned: float
    possible: float
    checks: list[CheckFeedback] = field(default_factory=list)


@dataclass
class SubmissionGrade:
    """One row of the gradebook, with its feedback."""

    submission: str
    sha256: str
    source_sha256: str
    score: float
    max_score: float
    status: str
    detail: str
    exercises: dict[str, ExerciseGrade] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def csv_row(self, exercise_ids: Sequence[str]) -> dict[str, str]:
        row = {"submission": self.submission, "score": _num(self.score), "max_score": _num(self.max_score),
               "status": self.status}
        for ex in exercise_ids:
            grade = self.exercises.get(ex)
            row[ex] = _num(grade.earned) if grade else "0"
        row.update(detail=self.detail, sha256=self.sha256, source_sha256=self.source_sha256)
        return row


@dataclass
class GradeReport:
    """What :func:`grade` did."""

    lab: str
    exercises: list[ExerciseGrade]
    grades: list[SubmissionGrade]
    graded: int
    reused: int
    interrupted: bool = False

    @property
    def max_score(self) -> float:
        return sum(e.possible for e in self.exercises)


def _num(value: float) -> str:
    return f"{value:g}"


# --------------------------------------------------------------------------------------
# Code the grader runs inside the kernel
# --------------------------------------------------------------------------------------

#: Sent with every grader request and executed in a private namespace, so the
#: learner's code can neither see these functions in its namespace nor replace
#: them between requests. Its state (the snapshot taken before any learner code
#: ran) lives in a module under a random name in ``sys.modules``.
KERNEL_CODE = r'''
import builtins, json, sys, threading, types
from IPython import get_ipython

# The checker's own imports and the package it lives in: restored before each check cell.
MODULES = ("labkit", "contextlib", "dataclasses", "json", "os", "signal", "threading", "traceback", "html",
           "types", "typing", "collections.abc", "IPython.display", "importlib", "functools")
# Changes to these are reported as tampering; the others are only undone.
WATCHED = ("labkit", "contextlib", "dataclasses", "json", "IPython.display")
TRANSFORMERS = ("input_transformers_cleanup", "input_transformers_post", "ast_transformers")
WATCHED_EVENTS = ("pre_execute", "pre_run_cell")
SYS_NAMES = ("stdout", "stderr", "displayhook", "excepthook")
IGNORED_BUILTINS = ("_", "__", "___")
MISSING = object()


def bootstrap(key, memory_bytes):
    import importlib
    if memory_bytes:
        import resource
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    shell = get_ipython()
    modules = {}
    for name in MODULES:
        module = importlib.import_module(name)
        modules[name] = (module, dict(vars(module)))
    formatters = shell.display_formatter.formatters
    state = types.SimpleNamespace(
        modules=modules,
        builtins_module=builtins,
        get_ipython=get_ipython,
        builtins=dict(vars(builtins)),
        sys={name: getattr(sys, name) for name in SYS_NAMES},
        transformer_manager=shell.input_transformer_manager,
        transformers={name: list(getattr(shell, name)) for name in TRANSFORMERS},
        events={name: list(callbacks) for name, callbacks in shell.events.callbacks.items()},
        display_formatter=shell.display_formatter,
        formatters={mime: (f, dict(f.type_printers), dict(f.deferred_printers)) for mime, f in formatters.items()},
        check_module=sys.modules.get("labkit.check"),
        installed=None,
        pending=None,
    )
    holder = types.ModuleType(key)
    holder.state = state
    sys.modules[key] = holder
    return json.dumps({"ok": True})


def restore(state):
    """Undo changes to what the checker relies on; name the suspicious ones."""
    changed = []
    current = vars(state.builtins_module)
    for name, value in state.builtins.items():
        if name not in IGNORED_BUILTINS and current.get(name, MISSING) is not value:
            changed.append("builtins." + name)
            current[name] = value
    for name, (module, snapshot) in state.modules.items():
        if sys.modules.get(name) is not module:
            changed.append("sys.modules[%r]" % name)
            sys.modules[name] = module
        namespace = vars(module)
        for attr, value in snapshot.items():
            if namespace.get(attr, MISSING) is not value:
                if name in WATCHED:
                    changed.append(name + "." + attr)
                namespace[attr] = value
    # From here on, this code uses the modules as they were before any learner code ran.
    globals().update({name: state.modules[name][0] for name in ("json", "threading", "types")})
    globals().update(builtins=state.builtins_module, get_ipython=state.get_ipython)
    shell = get_ipython()
    sys.settrace(None)
    sys.setprofile(None)
    threading.settrace(None)
    threading.setprofile(None)
    for name, value in state.sys.items():
        if getattr(sys, name) is not value:
            changed.append("sys." + name)
            setattr(sys, name, value)
    if sys.modules.get("labkit.check") is not state.check_module:
        changed.append("sys.modules['labkit.check']")
        sys.modules["labkit.check"] = state.check_module
    if state.installed is not None and not intact(*state.installed):
        changed.append("labkit.check")
    package = state.modules["labkit"][0]
    if shell.user_ns.get("labkit", package) is not package:
        changed.append("the name labkit")
    shell.user_ns["labkit"] = package
    if shell.input_transformer_manager is not state.transformer_manager:
        changed.append("IPython input_transformer_manager")
        shell.input_transformer_manager = state.transformer_manager
    for name, saved in state.transformers.items():
        now = getattr(shell, name)
        if len(now) != len(saved) or any(a is not b for a, b in zip(now, saved)):
            changed.append("IPython " + name)
        now[:] = saved
    for name, saved in state.events.items():
        now = shell.events.callbacks.setdefault(name, [])
        if name in WATCHED_EVENTS and (len(now) != len(saved) or any(a is not b for a, b in zip(now, saved))):
            changed.append("IPython event " + name)
        now[:] = saved
    if shell.display_formatter is not state.display_formatter:
        changed.append("IPython display_formatter")
        shell.display_formatter = state.display_formatter
    for mime, (formatter, types_, deferred) in state.formatters.items():
        state.display_formatter.formatters[mime] = formatter
        formatter.type_printers.clear()
        formatter.type_printers.update(types_)
        formatter.deferred_printers.clear()
        formatter.deferred_printers.update(deferred)
    return changed


def seal(module):
    """Every function and class of the fresh checker, to verify nothing was swapped."""
    items = []
    for name, value in list(vars(module).items()):
        if isinstance(value, types.FunctionType):
            items.append((module, name, value, value.__code__))
            wrapped = getattr(value, "__wrapped__", None)
            if isinstance(wrapped, types.FunctionType):
                items.append((value, "__wrapped__", wrapped, wrapped.__code__))
        elif isinstance(value, type) and value.__module__ == module.__name__:
            items.append((module, name, value, None))
            for attr, member in list(vars(value).items()):
                if isinstance(member, types.FunctionType):
                    items.append((value, attr, member, member.__code__))
    return items


def intact(items, check):
    for owner, name, value, code in items:
        now = vars(owner).get(name, MISSING) if isinstance(owner, (type, types.ModuleType)) else getattr(owner, name, MISSING)
        if now is not value or (code is not None and value.__code__ is not code):
            return False
    return all(cell.cell_contents is content for cell, content in check)


def guard(key, nonce, source, filename):
    """Before a check cell: restore, then install a fresh checker that records every check."""
    state = sys.modules[key].state
    state.pending = None
    changed = restore(state)
    fresh = types.ModuleType("labkit.check")
    fresh.__file__ = filename
    sys.modules["labkit.check"] = fresh
    exec(compile(source, filename, "exec"), vars(fresh))
    records = []
    run_check = fresh.Exercise.check

    def check(self, *args, **kwargs):
        result = run_check(self, *args, **kwargs)
        records.append([self.id, self.title, result.name, bool(result.passed), float(result.points),
                        str(result.expected), str(result.found), str(result.hint)])
        return result

    fresh.Exercise.check = check
    package, snapshot = state.modules["labkit"]
    for name in ("exercise", "between", "contains", "one_of", "satisfies"):
        setattr(package, name, getattr(fresh, name))
        snapshot[name] = getattr(fresh, name)
    package.check = snapshot["check"] = state.check_module = fresh
    closure = [(cell, cell.cell_contents) for cell in check.__closure__]
    state.installed = (seal(fresh), closure)
    state.pending = (nonce, records) + state.installed
    return json.dumps({"nonce": nonce, "changed": changed})


def collect(key, nonce):
    """After a check cell: the records of the fresh checker, if it is still intact."""
    state = sys.modules[key].state
    pending, state.pending = state.pending, None
    changed = restore(state)
    if pending is None or pending[0] != nonce:
        return json.dumps({"nonce": nonce, "intact": False, "changed": changed, "records": []})
    _, records, items, closure = pending
    verdict = intact(items, closure)
    # What happened during the cell is reported now; later changes are measured from here.
    state.installed = (seal(state.check_module), [(cell, cell.cell_contents) for cell, _ in closure])
    return json.dumps({"nonce": nonce, "intact": verdict, "changed": changed, "records": records})
'''


def _kernel_call(call: str) -> str:
    """An expression that runs :data:`KERNEL_CODE` privately and returns ``call``'s value."""
    return f"(lambda ns: (exec({KERNEL_CODE!r}, ns), eval({call!r}, ns))[1])({{'__name__': 'labkit_grader'}})"


# --------------------------------------------------------------------------------------
# Running one notebook
# --------------------------------------------------------------------------------------


class _RequestFailed(Exception):
    """A grader request did not return a value (the kernel raised, or did not answer)."""


class _GradingClient(NotebookClient):
    """nbclient's client, keeping no outputs (only counting their size) and
    remembering each cell's execute reply."""

    def __init__(self, nb: NotebookNode, **kwargs: Any) -> None:
        super().__init__(nb, **kwargs)
        self.output_bytes = 0
        self.last_reply: dict[str, Any] | None = None
        self.on_cell_executed = self._remember_reply

    def _remember_reply(self, cell: NotebookNode, cell_index: int, execute_reply: dict[str, Any]) -> None:
        self.last_reply = execute_reply

    def output(self, outs: list[NotebookNode], msg: dict[str, Any], display_id: str | None, cell_index: int) -> None:
        content = msg.get("content", {})
        for value in [content.get("text", ""), *content.get("data", {}).values()]:
            self.output_bytes += len(value) if isinstance(value, str) else len(json.dumps(value))
        return None

    async def request(self, call: str, timeout: float = _REQUEST_TIMEOUT) -> Any:
        """Evaluate a grader call in the kernel; return its JSON value, decoded."""
        assert self.kc is not None
        msg_id = self.kc.execute(
            "", silent=True, store_history=False, user_expressions={"r": _kernel_call(call)}, allow_stdin=False,
            stop_on_error=False,
        )
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _RequestFailed(f"no answer within {timeout:g} s")
            try:
                msg = await self.kc.shell_channel.get_msg(timeout=min(1.0, remaining))
            except Empty:
                if not await self.kc.is_alive():
                    raise DeadKernelError("Kernel died") from None
                continue
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            value = msg["content"].get("user_expressions", {}).get("r", {})
            if value.get("status") != "ok":
                raise _RequestFailed(f"{value.get('ename', 'error')}: {value.get('evalue', '')}"[:300])
            try:
                return json.loads(ast.literal_eval(value["data"]["text/plain"]))
            except (KeyError, ValueError, SyntaxError, TypeError) as error:
                raise _RequestFailed(f"an unreadable answer ({type(error).__name__})") from None


def kernel_environment(base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a grading kernel: this one without AWS settings or
    anything named like a secret, plus labkit's fake credentials."""
    from labkit.sandbox import FAKE_CREDENTIALS, REGION

    env = {
        name: value
        for name, value in (os.environ if base is None else base).items()
        if not name.startswith("AWS_") and name != "LABKIT_STRICT" and not any(w in name.upper() for w in _SECRET_WORDS)
    }
    env.update(FAKE_CREDENTIALS)
    env.update(
        AWS_DEFAULT_REGION=REGION,
        AWS_REGION=REGION,
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
        MPLBACKEND="Agg",
    )
    return env


def _reply_error(reply: dict[str, Any] | None) -> tuple[str, str] | None:
    if not reply or reply.get("content", {}).get("status") != "error":
        return None
    content = reply["content"]
    return str(content.get("ename", "Error")), str(content.get("evalue", ""))[:300]


async def _run_async(nb: NotebookNode, lab: Lab, options: GradeOptions, check_source: str, check_file: str) -> RunResult:
    """Run ``nb``; a kernel that fails to start is tried once more."""
    result = await _run_once(nb, lab, options, check_source, check_file)
    if result.grader_error and not result.ran:
        result = await _run_once(nb, lab, options, check_source, check_file)
    return result


async def _run_once(nb: NotebookNode, lab: Lab, options: GradeOptions, check_source: str, check_file: str) -> RunResult:
    result = RunResult()
    started = time.monotonic()
    key = "labkit_grader_" + secrets.token_hex(8)
    memory = options.memory_mb * 1024 * 1024 if options.memory_mb else 0
    result.cells = [
        CellRun(index, info.role, info.exercise, info.hidden)
        for index, info in enumerate(lab.cells)
        if nb.cells[index].cell_type == "code"
    ]
    with tempfile.TemporaryDirectory(prefix="labkit-grade-") as workdir:
        # Unix sockets in the submission's own folder: no TCP port to race for with other kernels.
        km = AsyncKernelManager(kernel_name=options.kernel_name, transport="ipc", ip=os.path.join(workdir, "kernel"))
        client = _GradingClient(
            nb,
            km=km,
            timeout=max(1, math.ceil(options.timeout)),
            allow_errors=True,
            interrupt_on_timeout=True,
            error_on_timeout={"ename": "CellTimeout", "evalue": f"ran longer than {options.timeout:g} s", "traceback": []},
            record_timing=False,
            iopub_timeout=4,
            raise_on_iopub_timeout=False,
            shutdown_kernel="immediate",
            startup_timeout=60,
        )
        try:
            async with client.async_setup_kernel(
                cleanup_kc=True, env=kernel_environment(), cwd=workdir, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            ):
                await client.request(f"bootstrap({key!r}, {memory})")
                for run in result.cells:
                    if result.stopped:
                        run.state = "not-run"
                        continue
                    result.ran = True
                    try:
                        await _run_cell(client, nb, run, key, check_source, check_file)
                    except DeadKernelError:
                        run.state = "crashed"
                        result.stopped = "the kernel died"
                    except _Stuck:
                        result.stopped = "the kernel did not stop after a cell ran past the time limit"
        except Exception as error:  # the grader's own failure: reported, never fatal
            if not result.stopped:
                result.grader_error = f"{type(error).__name__}: {error}"[:300]
        result.output_bytes = client.output_bytes
    result.seconds = time.monotonic() - started
    return result


class _Stuck(Exception):
    """The kernel did not stop after a cell ran past its time limit."""


async def _run_cell(
    client: _GradingClient, nb: NotebookNode, run: CellRun, key: str, check_source: str, check_file: str
) -> None:
    """Run one cell (a check cell between the grader's guard and collect requests).

    Raises:
        _Stuck: the cell timed out and the kernel no longer answers.
        DeadKernelError: the kernel died.
    """
    nonce = ""
    if run.role == "check":
        nonce = secrets.token_hex(12)
        try:
            answer = await client.request(f"guard({key!r}, {nonce!r}, {check_source!r}, {check_file!r})")
            run.changed += [c for c in answer.get("changed", []) if isinstance(c, str)] if isinstance(answer, dict) else []
        except _RequestFailed as error:
            run.state, run.error = "void", f"the grader could not install a clean checker ({error})"
            return
    client.last_reply = None
    await client.async_execute_cell(nb.cells[run.index], run.index)
    error = _reply_error(client.last_reply)
    if error and error[0] == "CellTimeout":
        run.state, run.error = "timeout", error[1]
    elif error:
        run.state, run.error = "error", f"{error[0]}: {error[1]}".rstrip(": ")
    timed_out = run.state == "timeout"
    if run.role != "check":
        if timed_out and not await _responsive(client):
            raise _Stuck()
        return
    try:  # after a timeout this doubles as the probe: the checks done so far still count
        answer = await client.request(f"collect({key!r}, {nonce!r})", _PROBE_TIMEOUT if timed_out else _REQUEST_TIMEOUT)
    except _RequestFailed as failure:
        if timed_out:
            raise _Stuck() from None
        run.state, run.error = "void", f"the grader could not collect the results ({failure})"
        return
    if not isinstance(answer, dict) or answer.get("nonce") != nonce:
        run.state, run.error = "void", "the results did not come from the grader's checker"
        return
    run.changed_during += [c for c in answer.get("changed", []) if isinstance(c, str)]
    records = _records(answer.get("records"))
    if not answer.get("intact") or records is None:
        run.state, run.error = "void", "the checker was changed while the checks ran"
        return
    run.checks = records


def _records(raw: Any) -> list[CheckRecord] | None:
    """Check records from the kernel, or None when they are not what the checker writes."""
    if not isinstance(raw, list):
        return None
    records = []
    kinds = (str, str, str, bool, (int, float), str, str, str)
    for item in raw:
        if not isinstance(item, list) or len(item) != len(kinds) or not all(isinstance(v, k) for v, k in zip(item, kinds)):
            return None
        records.append(CheckRecord(*item))
    return records


async def _responsive(client: _GradingClient) -> bool:
    """True when the kernel answers a trivial request soon (an interrupt worked)."""
    try:
        await client.request("json.dumps(1)", timeout=_PROBE_TIMEOUT)
        return True
    except (_RequestFailed, DeadKernelError):
        return False


def run_notebook(nb: NotebookNode, lab: Lab, options: GradeOptions, check_source: str | None = None) -> RunResult:
    """Run a rebuilt notebook (cells in the order and roles of ``lab``) in a fresh
    kernel under the grader's guard, and return what happened."""
    from labkit import check

    check_file = check.__file__ or "labkit/check.py"
    if check_source is None:
        check_source = Path(check_file).read_text(encoding="utf-8")
    return asyncio.run(_run_async(nb, lab, options, check_source, check_file))


# --------------------------------------------------------------------------------------
# Rebuilding a submission from the source
# --------------------------------------------------------------------------------------


@dataclass
class Assembly:
    """A submission rebuilt on its source lab."""

    notebook: NotebookNode
    #: Exercises whose answer cell was not found (their stub is graded).
    missing: list[str]
    #: Code cells the learner added; they are not run.
    ignored: int


def assemble(lab: Lab, submission: NotebookNode) -> Assembly:
    """The source lab with the learner's answers in place of its solutions.

    An answer is the submission's code cell with the solution cell's id; failing
    that, the code cells tagged ``ex:<id>`` and ``answer`` (or ``solution``),
    joined in order. Everything else comes from the source.
    """
    nb = copy.deepcopy(lab.notebook)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    code_cells = [c for c in submission.get("cells", []) if isinstance(c, dict) and c.get("cell_type") == "code"]
    by_id: dict[str, NotebookNode] = {}
    for cell in code_cells:
        if isinstance(cell.get("id"), str):
            by_id.setdefault(cell["id"], cell)
    used: set[int] = set()
    missing = []
    for exercise in lab.exercises:
        index = lab.solution_index(exercise)
        source_cell = nb.cells[index]
        matches = [by_id[source_cell.id]] if source_cell.id in by_id else [
            c for c in code_cells if exercise in exercise_tags(c) and {ANSWER_TAG, SOLUTION_TAG} & set(tags_of(c))
        ]
        texts = [c.get("source") for c in matches]
        if matches and all(isinstance(t, str) for t in texts):
            source_cell.source = "\n\n".join(texts)
            used.update(id(c) for c in matches)
        else:
            source_cell.source = stub_source(source_cell.source)
            missing.append(exercise)
    # Cells the learner added: not the lab's own (by id), nor copies of them (by text).
    source_ids = {c.id for c in lab.notebook.cells}
    source_texts = {c.source.strip() for c in lab.notebook.cells} | {stub_source(c.source).strip()
                                                                     for c, info in zip(lab.notebook.cells, lab.cells)
                                                                     if info.role == "solution"}
    ignored = sum(
        1 for c in code_cells
        if id(c) not in used and c.get("id") not in source_ids and str(c.get("source", "")).strip() not in source_texts
    )
    return Assembly(nb, missing, ignored)


# --------------------------------------------------------------------------------------
# Work done in a worker process
# --------------------------------------------------------------------------------------


@dataclass
class _Task:
    kind: str  # "reference" or "submission"
    path: str
    source_path: str
    source_text: str
    check_source: str
    options: GradeOptions


@dataclass
class _Outcome:
    kind: str
    path: str
    sha256: str = ""
    run: RunResult | None = None
    #: Set when the submission was not run: (status, why).
    rejected: tuple[str, str] | None = None
    missing: list[str] = field(default_factory=list)
    ignored: int = 0


_LABS: dict[str, Lab] = {}


def _source_lab(task: _Task) -> Lab:
    key = hashlib.sha256(task.source_text.encode()).hexdigest()
    if key not in _LABS:
        _LABS[key] = parse_lab(nbformat.reads(task.source_text, as_version=4), task.source_path)
    return _LABS[key]


def _work(task: _Task) -> _Outcome:
    """Grade one task; never raises."""
    outcome = _Outcome(task.kind, task.path)
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
                raise ValueError("no list of cells")
        except Exception as error:
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
    except Exception as error:  # anything else is the grader's problem, reported per submission
        outcome.run = RunResult(grader_error=f"{type(error).__name__}: {error}"[:300])
    return outcome


def _worker_init() -> None:
    # Ctrl-C goes to the whole process group: the main process handles it.
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


# --------------------------------------------------------------------------------------
# Scoring
# --------------------------------------------------------------------------------------


@dataclass
class Reference:
    """What the source's own run recorded: the checks and points of each check cell."""

    lab: Lab
    run: RunResult
    exercises: list[ExerciseGrade]

    @classmethod
    def build(cls, lab: Lab, run: RunResult, label: str) -> Reference:
        """Validate the source's run and take its checks as the grading scheme.

        Raises:
            GradingSetupError: the source did not run cleanly or its solutions fail.
        """
        if run.grader_error:
            raise GradingSetupError(f"{label}: the source lab could not be run: {run.grader_error}")
        titles: dict[bool, dict[str, str]] = {False: {}, True: {}}  # by hidden: a visible title is preferred
        possible: dict[str, float] = {e: 0.0 for e in lab.exercises}
        for cell in run.cells:
            where = f"{label}, cell {cell.index + 1}"
            raises = "raises-exception" in tags_of(lab.notebook.cells[cell.index])
            if cell.state not in ("ok", "error") or (cell.state == "error" and not raises):
                raise GradingSetupError(f"{where}: the source lab does not run cleanly ({cell.state}: {cell.error})")
            if cell.role != "check":
                continue
            if not cell.checks:
                raise GradingSetupError(f"{where}: the check cell recorded no checks")
            for record in cell.checks:
                if record.exercise != cell.exercise:
                    raise GradingSetupError(
                        f"{where}: the cell is tagged ex:{cell.exercise} but its checks say exercise {record.exercise!r}"
                    )
                if not record.passed:
                    raise GradingSetupError(
                        f"{where}: the source's own solution fails the check {record.name!r} "
                        f"(expected {record.expected}, found {record.found})"
                    )
                possible[record.exercise] += record.points
                if record.title:
                    titles[cell.hidden].setdefault(record.exercise, record.title)
        exercises = [ExerciseGrade(e, titles[False].get(e) or titles[True].get(e) or e, 0.0, possible[e])
                     for e in lab.exercises]
        return cls(lab, run, exercises)

    @property
    def max_score(self) -> float:
        return sum(e.possible for e in self.exercises)


def score(reference: Reference, outcome: _Outcome, label: str, source_sha256: str,
          options: GradeOptions) -> SubmissionGrade:
    """Turn one run into a gradebook row with feedback."""
    exercises = {e.id: ExerciseGrade(e.id, e.title, 0.0, e.possible) for e in reference.exercises}
    grade = SubmissionGrade(label, outcome.sha256, source_sha256, 0.0, reference.max_score, "ok", "", exercises)
    if outcome.rejected:
        grade.status, grade.detail = outcome.rejected
        return grade
    run = outcome.run or RunResult(grader_error="no result")
    problems: list[tuple[str, str]] = []
    if run.grader_error:
        problems.append(("grader-error", run.grader_error))
    for exercise in outcome.missing:
        problems.append(("missing", f"no answer cell for {exercise}; its stub was graded"))
    if outcome.ignored:
        grade.notes.append(f"{outcome.ignored} code cell(s) you added were not run: only answer cells are graded")
    cells = {c.index: c for c in run.cells}
    # Changes the source's own cells make (seen in its run) are not the learner's.
    baseline = {c.index: {("before", x) for x in c.changed} | {("while", x) for x in c.changed_during}
                for c in reference.run.cells}
    for ref_cell in reference.run.cells:
        cell = cells.get(ref_cell.index) or CellRun(ref_cell.index, ref_cell.role, ref_cell.exercise, ref_cell.hidden,
                                                    state="not-run")
        problems += _cell_problems(cell, baseline.get(cell.index, set()), run, options)
        if ref_cell.role == "check":
            _score_checks(exercises, ref_cell, cell, run)
    if run.output_bytes > options.max_output:
        problems.append(("output-limit", f"printed {run.output_bytes / 1e6:.1f} MB of output "
                                         f"(the limit is {options.max_output / 1e6:g} MB); it was not kept"))
    grade.score = sum(e.earned for e in exercises.values())
    order = list(STATUSES)
    if problems:
        grade.status = min((code for code, _ in problems), key=order.index)
        grade.detail = "; ".join(dict.fromkeys(message for _, message in problems))
    return grade


def _cell_problems(cell: CellRun, baseline: set[tuple[str, str]], run: RunResult, options: GradeOptions) -> list[tuple[str, str]]:
    what = {
        "solution": f"the answer to {cell.exercise}",
        "check": f"the {'hidden ' if cell.hidden else ''}checks of {cell.exercise}",
    }.get(cell.role, f"cell {cell.index + 1}")
    problems = []
    for when, changes in (("before", cell.changed), ("while", cell.changed_during)):
        changed = [c for c in changes if (when, c) not in baseline]
        if changed:
            listed = ", ".join(changed[:4]) + (" ..." if len(changed) > 4 else "")
            when_text = "before the checks" if when == "before" else "while the checks"
            problems.append(("tampered", f"{when_text} of {cell.exercise} ran, the submission changed {listed}; "
                                         "the grader undid it"))
    if cell.state == "error":
        # A hidden check cell's error message could quote the test code.
        message = f"{what} stopped with an error" if cell.hidden else f"{what} raised {cell.error}"
        problems.append(("error", message))
    elif cell.state == "timeout":
        problems.append(("timeout", f"{what} ran longer than {options.timeout:g} s and was stopped"))
    elif cell.state == "crashed":
        problems.append(("crashed", f"the kernel died while running {what}"))
    elif cell.state == "void":
        problems.append(("tampered", f"{what} earn nothing: {cell.error}"))
    return problems


def _score_checks(exercises: dict[str, ExerciseGrade], ref_cell: CellRun, cell: CellRun, run: RunResult) -> None:
    if cell.state == "not-run":
        reason = f"not run: {run.stopped or 'the run stopped early'}"
    elif cell.state == "void":
        reason = "not counted: the checker was tampered with"
    elif cell.state == "timeout":
        reason = "not run: the checks ran past the time limit"
    else:
        reason = "not run: an error stopped the checks before this one"
    pool = list(cell.checks) if cell.state not in ("void", "not-run") else []
    for ref in ref_cell.checks:
        match = next((r for r in pool if r.exercise == ref.exercise and r.name == ref.name), None)
        if match is not None:
            pool.remove(match)
        passed = bool(match and match.passed)
        feedback = CheckFeedback(
            name=ref.name, passed=passed, points=ref.points, earned=ref.points if passed else 0.0,
            expected=match.expected if match else ref.expected, found=match.found if match else reason,
            hint=ref.hint, hidden=ref_cell.hidden,
        )
        _add(exercises, ref.exercise, feedback)
    for extra in pool:  # e.g. "the checks ran to the end", which the checker adds after an error
        if extra.points == 0 and not extra.passed and extra.exercise in exercises:
            _add(exercises, extra.exercise, CheckFeedback(extra.name, False, 0.0, 0.0, extra.expected, extra.found,
                                                          extra.hint, ref_cell.hidden))


def _add(exercises: dict[str, ExerciseGrade], exercise: str, feedback: CheckFeedback) -> None:
    if feedback.hidden:  # the requirement and the verdict, nothing of the test
        feedback.expected = feedback.found = ""
    grade = exercises[exercise]
    grade.checks.append(feedback)
    grade.earned += feedback.earned


# --------------------------------------------------------------------------------------
# The gradebook files
# --------------------------------------------------------------------------------------


def write_csv(path: str | os.PathLike[str], exercise_ids: Sequence[str], grades: Iterable[SubmissionGrade]) -> None:
    """Write the gradebook CSV atomically."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=[*LEADING_COLUMNS, *exercise_ids, *TRAILING_COLUMNS])
    writer.writeheader()
    for grade in grades:
        writer.writerow(grade.csv_row(exercise_ids))
    write_atomic(path, buffer.getvalue())


def write_json(path: str | os.PathLike[str], report: GradeReport, source: str, source_sha256: str) -> None:
    """Write the gradebook with all feedback as JSON, atomically."""
    data = {
        "lab": report.lab,
        "source": source,
        "source_sha256": source_sha256,
        "max_score": report.max_score,
        "exercises": [{"id": e.id, "title": e.title, "possible": e.possible} for e in report.exercises],
        "submissions": [asdict(g) for g in report.grades],
    }
    write_atomic(path, json.dumps(data, indent=1) + "\n")


def _previous(csv_path: Path, json_path: Path | None) -> dict[str, SubmissionGrade]:
    """Rows of an earlier run worth keeping, by submission (for ``--resume``)."""
    if not csv_path.exists():
        return {}
    feedback: dict[str, dict[str, Any]] = {}
    if json_path is not None:
        try:
            for item in json.loads(json_path.read_text(encoding="utf-8")).get("submissions", []):
                feedback[item["submission"]] = item
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return {}
    kept = {}
    with csv_path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        fixed = set(LEADING_COLUMNS) | set(TRAILING_COLUMNS)
        exercise_ids = [c for c in reader.fieldnames or [] if c not in fixed]
        for row in reader:
            if row.get("status") == "grader-error" or not row.get("sha256"):
                continue
            try:
                grade = _grade_from(row, exercise_ids, feedback.get(row["submission"]))
            except (KeyError, ValueError, TypeError):
                continue
            if json_path is None or row["submission"] in feedback:
                kept[row["submission"]] = grade
    return kept


def _grade_from(row: dict[str, str], exercise_ids: list[str], item: dict[str, Any] | None) -> SubmissionGrade:
    exercises = {e: ExerciseGrade(e, e, float(row[e]), 0.0) for e in exercise_ids}
    notes: list[str] = []
    if item is not None:
        if item.get("sha256") != row["sha256"]:
            raise ValueError("the JSON and the CSV disagree")
        exercises = {
            k: ExerciseGrade(v["id"], v["title"], v["earned"], v["possible"], [CheckFeedback(**c) for c in v["checks"]])
            for k, v in item["exercises"].items()
        }
        notes = list(item.get("notes", []))
    return SubmissionGrade(row["submission"], row["sha256"], row["source_sha256"], float(row["score"]),
                           float(row["max_score"]), row["status"], row["detail"], exercises, notes)


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
        if self.enabled:
            elapsed = time.monotonic() - self.started
            self.stream.write(
                f"\r\033[K[{done}/{total}] {elapsed:4.0f} s  {grade.submission}: "
                f"{_num(grade.score)}/{_num(grade.max_score)} {grade.status}"
            )
            self.stream.flush()
            self.shown = True

    def close(self) -> None:
        if self.shown:
            self.stream.write("\n")
            self.stream.flush()


def grade(
    source: str | os.PathLike[str],
    submissions: Sequence[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    *,
    json_path: str | os.PathLike[str] | None = None,
    options: GradeOptions | None = None,
    resume: bool = False,
    progress: Callable[[SubmissionGrade, int, int], None] | None = None,
) -> GradeReport:
    """Grade ``submissions`` of the lab ``source``; write the CSV (and JSON).

    The files are rewritten, atomically, after every graded submission, so an
    interrupted run keeps what it graded; with ``resume=True`` rows already in
    ``out`` for the same submission content and source are kept, not regraded.
    ``progress(grade, done, total)`` is called after each graded submission.

    Raises:
        LabFormatError: the source breaks the lab format.
        GradingSetupError: the source does not pass its own checks.
    """
    options = options or GradeOptions()
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
    labels = [str(p) for p in paths]
    out_path = Path(out)
    json_out = Path(json_path) if json_path else None

    previous = _previous(out_path, json_out) if resume else {}
    hashes = {label: hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "" for label, p in zip(labels, paths)}
    done: dict[str, SubmissionGrade] = {
        label: g for label, g in previous.items()
        if label in hashes and g.sha256 == hashes[label] and g.source_sha256 == source_sha256
    }
    reused = len(done)
    todo = [(label, p) for label, p in zip(labels, paths) if label not in done]
    exercise_list: list[ExerciseGrade] = [ExerciseGrade(e, e, 0.0, 0.0) for e in lab.exercises]
    report = GradeReport(lab.name, exercise_list, [], graded=0, reused=reused)

    def flush(reference: Reference | None) -> None:
        if reference is not None:
            report.exercises = reference.exercises
        report.grades = [done[label] for label in labels if label in done]
        write_csv(out_path, [e.id for e in report.exercises], report.grades)
        if json_out is not None:
            write_json(json_out, report, str(source_path), source_sha256)

    if not todo:
        if done:
            first = next(iter(done.values()))
            report.exercises = [ExerciseGrade(e, first.exercises[e].title if e in first.exercises else e, 0.0,
                                              first.exercises[e].possible if e in first.exercises else 0.0)
                                for e in lab.exercises]
        flush(None)
        return report

    def task(kind: str, path: str) -> _Task:
        return _Task(kind, path, str(source_path), source_text, check_source, options)

    context = multiprocessing.get_context("spawn")
    executor = ProcessPoolExecutor(max_workers=max(1, options.jobs), mp_context=context, initializer=_worker_init)
    reference: Reference | None = None
    waiting: list[tuple[str, _Outcome]] = []
    futures: dict[Future[_Outcome], tuple[str, str]] = {
        executor.submit(_work, task("reference", str(source_path))): ("reference", str(source_path))
    }
    for label, path in todo:
        futures[executor.submit(_work, task("submission", str(path)))] = ("submission", label)
    try:
        pending = set(futures)
        while pending:
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                kind, label = futures[future]
                try:
                    outcome = future.result()
                except Exception as error:  # the worker process itself died (e.g. killed for memory)
                    outcome = _Outcome(kind, label, run=RunResult(grader_error=f"{type(error).__name__}: {error}"[:300]))
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
