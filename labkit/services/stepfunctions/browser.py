"""Step Functions in the browser edition: executions that run inline.

moto's interpreter runs every execution in threads of its own: one for the
execution, one per program (to enforce ``TimeoutSeconds``), one per Task
state (to enforce its ``TimeoutSeconds``), one per Parallel branch and Map
iteration, one that waits for a task token. A browser tab cannot start a
thread, so in the browser edition those modules get a ``threading`` whose
``Thread`` runs its target to the end in the calling thread
(:class:`labkit.core.platform.InlineThread`):

- ``StartExecution`` returns once the execution has ended (a ``Wait`` state
  waits, in real time, inside the call); ``DescribeExecution`` then finds it
  finished, never ``RUNNING``;
- ``TimeoutSeconds`` (of the state machine or of a Task state) is never
  enforced: nothing can interrupt the work;
- Parallel branches and Map iterations run one after the other;
- a Task state that waits for a callback (``.waitForTaskToken``) or for an
  activity worker would wait for ever (nobody can call ``SendTaskSuccess``
  or ``GetActivityTask`` while ``StartExecution`` is still running): it raises
  :class:`~labkit.core.platform.BrowserGap` instead, and the execution fails
  with that error as its cause.

Nothing changes in the local edition. The seams below name the moto module
globals and the method this replaces in the browser edition; they are checked
like every other seam.
"""

from __future__ import annotations

import importlib
from typing import Any

from labkit.core import platform
from labkit.core.seams import Seam

_PARSER = "moto.stepfunctions.parser"

#: Modules that ``import threading`` and start threads with ``threading.Thread``.
THREADING_MODULES = (
    f"{_PARSER}.asl.component.program.program",
    f"{_PARSER}.asl.component.test_state.program.test_state_program",
    f"{_PARSER}.asl.component.state.exec.state_map.iteration.inline_iteration_component",
    f"{_PARSER}.asl.component.state.exec.state_parallel.branch_worker",
)

#: Modules that ``from threading import Thread``.
THREAD_MODULES = (
    f"{_PARSER}.backend.execution_worker",
    f"{_PARSER}.asl.component.state.exec.execute_state",
)

#: The module whose thread waits for a task token.
CALLBACK_MODULE = f"{_PARSER}.asl.component.state.exec.state_task.service.state_task_service_callback"

CALLBACK_GAP = ("A Task state that waits for a task token (.waitForTaskToken)",
                "in the browser edition an execution runs to its end inside StartExecution, so nothing could "
                "call SendTaskSuccess while it waits")
ACTIVITY_GAP = ("An activity Task state",
                "in the browser edition an execution runs to its end inside StartExecution, so no worker could "
                "call GetActivityTask while it waits")


#: The module whose endpoint waits for an activity worker.
ACTIVITY_MODULE = f"{_PARSER}.asl.eval.callback.callback"

#: What this module replaces, in the browser edition only (so none is a patched seam of the local edition).
SEAMS: tuple[Seam, ...] = (
    *(Seam(module, "threading", None) for module in (*THREADING_MODULES, CALLBACK_MODULE)),
    *(Seam(module, "Thread", None) for module in THREAD_MODULES),
    Seam(ACTIVITY_MODULE, "ActivityTaskStartEndpoint.wait", ("self", "timeout_seconds")),
    Seam(ACTIVITY_MODULE, "CallbackEndpoint.wait", ("self", "timeout")),
    Seam(ACTIVITY_MODULE, "CallbackEndpoint._outcome", None, instance=True),
)


def _no_activity_worker(self: Any, timeout_seconds: float) -> Any:  # moto's parameter names: the seam check reads them
    """Waiting for an activity worker: the browser edition cannot (see the module)."""
    raise platform.gap(*ACTIVITY_GAP)


def _no_callback(self: Any, timeout: float | None = None) -> Any:  # moto's parameter names
    """Waiting for SendTaskSuccess: the browser edition cannot, unless the outcome is already there."""
    if self._outcome is None:
        raise platform.gap(*CALLBACK_GAP)
    return self._outcome


class _NoTokenThread(platform.InlineThread):
    def start(self) -> None:
        raise platform.gap(*CALLBACK_GAP)


_REPLACED: dict[tuple[Any, str], Any] = {}  # (owner, attribute) -> moto's own value


def _replace(owner: Any, attribute: str, value: Any) -> None:
    _REPLACED.setdefault((owner, attribute), getattr(owner, attribute))
    setattr(owner, attribute, value)


def run_inline() -> None:
    """Give moto's interpreter inline threads (browser edition only; idempotent)."""
    if not platform.in_browser():
        return
    for name in THREADING_MODULES:
        _replace(importlib.import_module(name), "threading", platform.inline_threading())
    for name in THREAD_MODULES:
        _replace(importlib.import_module(name), "Thread", platform.InlineThread)
    callback = platform.inline_threading()
    callback.Thread = _NoTokenThread  # type: ignore[attr-defined]
    _replace(importlib.import_module(CALLBACK_MODULE), "threading", callback)
    callbacks = importlib.import_module(ACTIVITY_MODULE)
    _replace(callbacks.ActivityTaskStartEndpoint, "wait", _no_activity_worker)
    _replace(callbacks.CallbackEndpoint, "wait", _no_callback)


def running_inline() -> bool:
    """True once :func:`run_inline` replaced moto's threads."""
    return bool(_REPLACED)


def restore() -> None:
    """Give moto its threads back (for tests that turned browser mode on in a local process)."""
    while _REPLACED:
        (owner, attribute), original = _REPLACED.popitem()
        setattr(owner, attribute, original)
