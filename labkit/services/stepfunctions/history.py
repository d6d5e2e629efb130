"""An execution's history, read and summarised for learners.

What AWS does
    Each execution of a state machine is recorded as a list of *history
    events* (``ExecutionStarted``, ``TaskStateEntered``, ``TaskScheduled``,
    ``TaskFailed``...) that ``GetExecutionHistory`` returns page by page. Each
    event points at the one that led to it (``previousEventId``), which is how
    the console attributes an event to a state.

What moto does
    In execute mode moto interprets the ASL in a background thread and writes
    AWS-shaped history events, so ``start_execution`` returns at once, as on
    AWS. botocore has no waiter for Step Functions (``client.waiter_names`` is
    empty): you poll ``describe_execution``.

What this module adds
    :func:`wait_for_execution` is that waiter (a bounded number of checks, in
    real time: moto's interpreter runs on real time, as does a ``Wait`` state).
    :func:`execution_events` reads the history through the paginator;
    :func:`states_entered`, :func:`task_attempts`, :func:`summarise_history`
    and :func:`format_history` give a compact view of it.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

__all__ = [
    "UNFINISHED",
    "execution_events",
    "format_history",
    "states_entered",
    "summarise_history",
    "task_attempts",
    "wait_for_execution",
]

#: The statuses of an execution that is not finished yet.
UNFINISHED = ("RUNNING", "PENDING_REDRIVE")


def wait_for_execution(sfn: Any, execution_arn: str, *, delay: float = 0.2, max_checks: int = 150) -> dict[str, Any]:
    """Poll ``describe_execution`` until the execution has finished; return that description.

    botocore has no waiter for Step Functions, so this is the waiter: at most
    ``max_checks`` calls, ``delay`` seconds apart (30 s with the defaults).

    Args:
        sfn: a boto3 ``stepfunctions`` client.
        execution_arn: what ``start_execution`` returned.
        delay: seconds between two checks.
        max_checks: how many times to ask before giving up.

    Returns:
        The ``describe_execution`` response whose ``status`` is ``SUCCEEDED``,
        ``FAILED``, ``TIMED_OUT`` or ``ABORTED``.

    Raises:
        TimeoutError: the execution was still running after ``max_checks`` checks.
    """
    for check in range(max_checks):
        description: dict[str, Any] = sfn.describe_execution(executionArn=execution_arn)
        if description["status"] not in UNFINISHED:
            return description
        if check < max_checks - 1:
            time.sleep(delay)
    raise TimeoutError(
        f"{execution_arn.rsplit(':', 1)[-1]} is still {description['status']} after "
        f"{max_checks} checks ({max_checks * delay:.0f} s)"
    )


def execution_events(sfn: Any, execution_arn: str) -> list[dict[str, Any]]:
    """Every history event of an execution, oldest first, read page by page."""
    events: list[dict[str, Any]] = []
    for page in sfn.get_paginator("get_execution_history").paginate(executionArn=execution_arn):
        events.extend(page["events"])
    return events


def _state_names(events: list[dict[str, Any]]) -> dict[int, str]:
    """Event id -> the name of the state it belongs to (found through previousEventId)."""
    by_id = {e["id"]: e for e in events}
    names: dict[int, str] = {}
    open_boxes: dict[str, list[str]] = {"Parallel": [], "Map": []}  # Parallel and Map states entered, not exited
    for event in events:
        kind = event["type"]
        if kind.startswith("Execution"):
            names[event["id"]] = ""
            continue
        box = next((b for b in open_boxes if kind.startswith((b + "State", b + "Iteration", b + "Run"))), None)
        if box is not None:
            if kind.endswith("StateEntered"):
                open_boxes[box].append(event["stateEnteredEventDetails"]["name"])
            names[event["id"]] = open_boxes[box][-1] if open_boxes[box] else ""
            if kind.endswith("StateExited") and open_boxes[box]:
                open_boxes[box].pop()
            continue
        if "stateExitedEventDetails" in event:
            names[event["id"]] = event["stateExitedEventDetails"]["name"]
            continue
        chain, current = [], event
        name = ""
        while current is not None:
            if current["id"] in names:
                name = names[current["id"]]
                break
            chain.append(current["id"])
            details = current.get("stateEnteredEventDetails")
            if details:
                name = details["name"]
                break
            current = by_id.get(current.get("previousEventId", 0))
        for event_id in chain:
            names[event_id] = name
    return names


def states_entered(events: list[dict[str, Any]]) -> list[str]:
    """The names of the states the execution entered, in order (one per entry)."""
    return [e["stateEnteredEventDetails"]["name"] for e in events if e["type"].endswith("StateEntered")]


def task_attempts(events: list[dict[str, Any]]) -> dict[str, int]:
    """How many times each Task state was attempted (first try plus retries)."""
    names = _state_names(events)
    attempts: dict[str, int] = {}
    for event in events:
        if event["type"] in ("TaskScheduled", "LambdaFunctionScheduled", "ActivityScheduled"):
            state = names.get(event["id"], "")
            attempts[state] = attempts.get(state, 0) + 1
    return attempts


def _detail(event: dict[str, Any]) -> str:
    for key, value in event.items():
        if not key.endswith("EventDetails") or not isinstance(value, dict):
            continue
        if "error" in value:
            return str(value["error"])
        if key == "taskScheduledEventDetails":
            return f"{value.get('resourceType')}:{value.get('resource')}"
        if key in ("mapIterationStartedEventDetails", "mapIterationSucceededEventDetails",
                   "mapIterationFailedEventDetails"):
            return f"item {value.get('index')}"
    return ""


def summarise_history(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One small dict per event: ``seconds`` since the start, ``type``, ``state`` and ``detail``
    (the error name of a failure, the service and action of a task)."""
    if not events:
        return []
    names = _state_names(events)
    start = events[0]["timestamp"]
    return [
        {"id": e["id"], "seconds": round((e["timestamp"] - start).total_seconds(), 2), "type": e["type"],
         "state": names.get(e["id"], ""), "detail": _detail(e)}
        for e in events
    ]


def format_history(events: list[dict[str, Any]], *, types: Iterable[str] | None = None) -> str:
    """The history as an aligned text table, optionally keeping only some event types
    (a type matches if it contains one of ``types``, e.g. ``["Task", "Execution"]``)."""
    keep = list(types) if types is not None else None
    lines = []
    for row in summarise_history(events):
        if keep is not None and not any(t in row["type"] for t in keep):
            continue
        lines.append(f"{row['seconds']:>7.2f}s  {row['type']:<26} {row['state']:<18} {row['detail']}".rstrip())
    return "\n".join(lines)
