"""Run one rebuilt notebook in a fresh kernel, under the grader's guard.

The notebook runs top to bottom in a fresh Jupyter kernel driven through
nbclient, in a temporary folder, with no AWS credentials in its environment
(:func:`kernel_environment`; the notebook's own setup cell starts the labkit
sandbox), an address-space limit, and a time limit per cell. A cell past its
limit is interrupted and the run goes on; a kernel that ignores the interrupt,
or dies, ends the run, and the checks that did not run earn nothing.

Around each check cell the grader sends its own requests to the agent
(:mod:`labkit.grading.agent`, shipped by its source text with every request):
``guard`` before the cell, ``collect`` after it. Requests travel as IPython
``user_expressions``, which input transformers and cell hooks do not see.
Nothing the notebook displays or prints is read; output is only counted.
"""

from __future__ import annotations

import ast
import asyncio
import functools
import json
import math
import os
import secrets
import subprocess
import tempfile
import time
from importlib import resources
from pathlib import Path
from queue import Empty
from typing import Any

from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError
from nbformat import NotebookNode

from labkit.core.sandbox import FAKE_CREDENTIALS, REGION
from labkit.grading.records import CellRun, CheckRecord, GradeOptions, RunResult
from labkit.grading.release import Lab

#: Words that mark an environment variable as a secret the kernel must not see.
SECRET_WORDS = ("TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL", "PRIVATE_KEY", "API_KEY", "ACCESS_KEY")
#: How long a grader request (restore, collect, probe) may take, in seconds.
REQUEST_TIMEOUT = 30.0
#: How long a kernel has to answer after a timed-out cell was interrupted.
PROBE_TIMEOUT = 5.0


@functools.cache
def agent_source() -> str:
    """The text of :mod:`labkit.grading.agent`, as sent into kernels."""
    return resources.files("labkit.grading").joinpath("agent.py").read_text(encoding="utf-8")


def agent_call(call: str) -> str:
    """An expression that runs the agent's source in a private namespace and
    returns the value of ``call`` (e.g. ``"collect('key', 'nonce')"``) there."""
    return f"(lambda ns: (exec({agent_source()!r}, ns), eval({call!r}, ns))[1])({{'__name__': 'labkit_grader'}})"


def kernel_environment(base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a grading kernel: this one (or ``base``) without AWS
    settings or anything named like a secret, plus labkit's fake credentials."""
    env = {
        name: value
        for name, value in (os.environ if base is None else base).items()
        if not name.startswith("AWS_") and name != "LABKIT_STRICT" and not any(w in name.upper() for w in SECRET_WORDS)
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


class RequestFailed(Exception):
    """A grader request did not return a value (the kernel raised, or did not answer)."""


class _Stuck(Exception):
    """The kernel did not stop after a cell ran past its time limit."""


class GradingClient(NotebookClient):
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
        """Count an output's size and drop it."""
        content = msg.get("content", {})
        for value in [content.get("text", ""), *content.get("data", {}).values()]:
            self.output_bytes += len(value) if isinstance(value, str) else len(json.dumps(value))

    async def request(self, call: str, timeout: float = REQUEST_TIMEOUT) -> Any:
        """Evaluate an agent call in the kernel; return its JSON value, decoded.

        Raises:
            RequestFailed: the call raised, gave no readable answer, or none in time.
            DeadKernelError: the kernel died.
        """
        assert self.kc is not None
        msg_id = self.kc.execute(
            "", silent=True, store_history=False, user_expressions={"r": agent_call(call)}, allow_stdin=False,
            stop_on_error=False,
        )
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise RequestFailed(f"no answer within {timeout:g} s")
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
                raise RequestFailed(f"{value.get('ename', 'error')}: {value.get('evalue', '')}"[:300])
            try:
                return json.loads(ast.literal_eval(value["data"]["text/plain"]))
            except (KeyError, ValueError, SyntaxError, TypeError) as error:
                raise RequestFailed(f"an unreadable answer ({type(error).__name__})") from None


def run_notebook(nb: NotebookNode, lab: Lab, options: GradeOptions, check_source: str | None = None) -> RunResult:
    """Run a rebuilt notebook (cells in the order and roles of ``lab``) in a fresh
    kernel under the grader's guard, and return what happened.

    ``check_source`` is the text of :mod:`labkit.check` to load fresh before each
    check cell (by default, this installation's file).
    """
    from labkit import check

    check_file = check.__file__ or "labkit/check.py"
    if check_source is None:
        check_source = Path(check_file).read_text(encoding="utf-8")
    return asyncio.run(_run_async(nb, lab, options, check_source, check_file))


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
        client = GradingClient(
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
        except Exception as error:  # noqa: BLE001  (the grader's own failure: reported, never fatal)
            if not result.stopped:
                result.grader_error = f"{type(error).__name__}: {error}"[:300]
        result.output_bytes = client.output_bytes
    result.seconds = time.monotonic() - started
    return result


async def _run_cell(
    client: GradingClient, nb: NotebookNode, run: CellRun, key: str, check_source: str, check_file: str
) -> None:
    """Run one cell (a check cell between the agent's guard and collect requests).

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
        except RequestFailed as error:
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
        answer = await client.request(f"collect({key!r}, {nonce!r})", PROBE_TIMEOUT if timed_out else REQUEST_TIMEOUT)
    except RequestFailed as failure:
        if timed_out:
            raise _Stuck() from None
        run.state, run.error = "void", f"the grader could not collect the results ({failure})"
        return
    if not isinstance(answer, dict) or answer.get("nonce") != nonce:
        run.state, run.error = "void", "the results did not come from the grader's checker"
        return
    run.changed_during += [c for c in answer.get("changed", []) if isinstance(c, str)]
    records = check_records(answer.get("records"))
    if not answer.get("intact") or records is None:
        run.state, run.error = "void", "the checker was changed while the checks ran"
        return
    run.checks = records


def _reply_error(reply: dict[str, Any] | None) -> tuple[str, str] | None:
    if not reply or reply.get("content", {}).get("status") != "error":
        return None
    content = reply["content"]
    return str(content.get("ename", "Error")), str(content.get("evalue", ""))[:300]


def check_records(raw: Any) -> list[CheckRecord] | None:
    """Check records from the kernel, or None when they are not what the checker writes."""
    if not isinstance(raw, list):
        return None
    records = []
    kinds = (str, str, str, bool, (int, float), str, str, str)
    for item in raw:
        if not isinstance(item, list) or len(item) != len(kinds) or not all(isinstance(v, k) for v, k in zip(item, kinds, strict=True)):
            return None
        records.append(CheckRecord(*item))
    return records


async def _responsive(client: GradingClient) -> bool:
    """True when the kernel answers a trivial request soon (an interrupt worked)."""
    try:
        await client.request("json.dumps(1)", timeout=PROBE_TIMEOUT)
        return True
    except (RequestFailed, DeadKernelError):
        return False
