"""Step Functions: executions that run, their history read for learners, and
state machines described from their ASL.

``labkit.start()`` runs moto's Step Functions in *execute* mode: it really
interprets the ASL (Pass, Task, Choice, Wait, Parallel, Map, Succeed, Fail,
Retry and Catch), calls DynamoDB, SQS, SNS and Lambda for Task states, and
writes AWS-shaped history events. This service adds what a learner needs
around it, as ``lab.stepfunctions.<helper>``:

- :func:`wait_for_execution` (botocore has no waiter for Step Functions),
  :func:`execution_events`, :func:`states_entered`, :func:`task_attempts`,
  :func:`summarise_history`, :func:`format_history` (:mod:`.history`);
- :func:`state_graph` and :func:`describe_state_machine`: the machine as a
  graph (:class:`StateGraph` of :class:`Node`, :class:`Edge`, :class:`Cluster`)
  and in words, from its ASL (:mod:`.asl`). The drawing itself is
  :func:`labkit.notebook.statemachines.draw_state_machine`;
- one seam (:mod:`.seams`): an execution started without a name gets a UUID;
- activities (:mod:`.activities`): an activity Task state waits for a worker,
  which takes the task with ``GetActivityTask`` (missing from moto) and
  reports with ``SendTaskSuccess``/``SendTaskFailure``/``SendTaskHeartbeat``.

Time: executions, ``Wait`` states and retries run in moto's threads on real
time; ``lab.clock.advance`` does not move them.
"""

from __future__ import annotations

from labkit.services.stepfunctions import activities as _activities
from labkit.services.stepfunctions import browser as _browser
from labkit.services.stepfunctions.asl import (
    Cluster,
    Edge,
    Node,
    StateGraph,
    describe_condition,
    describe_resource,
    describe_retry,
    describe_state_machine,
    state_graph,
)
from labkit.services.stepfunctions.history import (
    UNFINISHED,
    execution_events,
    format_history,
    states_entered,
    summarise_history,
    task_attempts,
    wait_for_execution,
)
from labkit.services.stepfunctions.seams import SEAMS as _SEAMS

#: moto's internals this service patches or calls (the browser edition's included: see .browser).
SEAMS = (*_SEAMS, *_browser.SEAMS)

__all__ = [
    "SEAMS",
    "UNFINISHED",
    "Cluster",
    "Edge",
    "Node",
    "StateGraph",
    "describe_condition",
    "describe_resource",
    "describe_retry",
    "describe_state_machine",
    "execution_events",
    "format_history",
    "install",
    "reset",
    "state_graph",
    "states_entered",
    "summarise_history",
    "task_attempts",
    "wait_for_execution",
]

def install() -> None:
    """Follow activities and answer ``GetActivityTask`` (the seams are patched by the registry);
    in the browser edition, run executions inline. Idempotent."""
    _activities.subscribe()
    _browser.run_inline()


def reset() -> None:
    """Forget labkit's activities and their waiting tasks (moto's reset removes state
    machines and executions; the seams stay in place)."""
    _activities.reset()
