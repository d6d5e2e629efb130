"""Activities: a Task state that waits for a worker of your own.

**What AWS does.** ``CreateActivity`` makes an activity (an ARN). A Task state
whose ``Resource`` is that ARN schedules a task and waits; a worker anywhere
calls ``GetActivityTask`` (a long poll of up to 60 seconds, answering with no
``taskToken`` when no task came), gets the task's ``input`` and ``taskToken``,
does the work, and reports with ``SendTaskSuccess`` (its output becomes the
state's output), ``SendTaskFailure`` (an error the state's ``Retry``/``Catch``
see) or ``SendTaskHeartbeat``. ``TimeoutSeconds`` and ``HeartbeatSeconds``
bound the wait.

**What moto does.** Its interpreter has the Task state, but each execution gets
an empty set of activities (the state fails: the activity "does not exist"),
and ``GetActivityTask`` is not implemented.

**What labkit does.** One seam gives every execution labkit's activities
(:data:`ACTIVITIES`, filled by ``CreateActivity`` and emptied by
``DeleteActivity``); another records each scheduled task's callback, so that a
``before`` subscriber can answer ``GetActivityTask``: it hands out the oldest
task of the activity and tells the execution a worker started it
(``ActivityStarted``, with the ``workerName``). moto's own ``SendTaskSuccess``,
``SendTaskFailure`` and ``SendTaskHeartbeat`` then reach the waiting state
(labkit answers a heartbeat for a taken task itself: moto refused one sent
before the state armed its heartbeat timer, or to a state without one).

**Limits.** The poll waits up to 60 seconds of the sandbox clock, and answers
at once with no task when no execution is running (nothing could schedule
one). The Task state's timeouts run on real time in moto's threads, like the
rest of the executions here.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from botocore.exceptions import ClientError

from labkit.core import hooks, platform
from labkit.core.aws import internal_client
from labkit.core.clock import clock

Answer = tuple[int, dict[str, Any]]

#: How long GetActivityTask waits for a task (AWS: up to 60 seconds).
POLL_SECONDS = 60.0

_LOCK = threading.Lock()
_CALLBACKS: dict[str, Any] = {}  # task token -> moto's ActivityCallbackEndpoint, until a worker takes it
_STARTED: dict[str, Any] = {}  # task token -> the endpoint of a task a worker took, until it ends


class _Activities(dict):  # type: ignore[type-arg]
    """Activity ARN -> moto's interpreter Activity, shared by every execution."""


ACTIVITIES: _Activities = _Activities()


def _activity(arn: str) -> Any:
    from moto.stepfunctions.parser.backend.activity import Activity

    with _LOCK:
        if arn not in ACTIVITIES:
            ACTIVITIES[arn] = Activity(arn=arn, name=arn.rsplit(":", 1)[-1])
        return ACTIVITIES[arn]


# ---------------------------------------------------------------- seams


def execution_init(original: Any, execution: Any, *args: Any, **kwargs: Any) -> Any:
    """Every execution sees labkit's activities (moto gives each an empty set, so an
    activity Task state failed at once)."""
    if "activity_store" in kwargs:
        kwargs["activity_store"] = ACTIVITIES
    return original(execution, *args, **kwargs)


def add_activity_task(original: Any, manager: Any, callback_id: str, activity_arn: str, activity_input: str) -> Any:
    """Remember each scheduled task's callback, to tell it when a worker starts the task."""
    endpoint = original(manager, callback_id, activity_arn, activity_input)
    with _LOCK:
        _CALLBACKS[callback_id] = endpoint
    return endpoint


# ---------------------------------------------------------------- the API


def _created(call: hooks.Call, parsed: dict[str, Any], status: int) -> None:
    if status < 300 and parsed.get("activityArn"):
        _activity(parsed["activityArn"])


def _deleted(call: hooks.Call, parsed: dict[str, Any], status: int) -> None:
    if status < 300:
        with _LOCK:
            ACTIVITIES.pop(call.params.get("activityArn", ""), None)


def _anything_running(client: Any) -> bool:
    for page in client.get_paginator("list_state_machines").paginate():
        for machine in page["stateMachines"]:
            running = client.list_executions(stateMachineArn=machine["stateMachineArn"], statusFilter="RUNNING",
                                             maxResults=1)
            if running["executions"]:
                return True
    return False


def _next_task(arn: str) -> Any:
    with _LOCK:
        activity = ACTIVITIES.get(arn)
        if activity is None:
            return None
        try:
            return activity.get_task()
        except IndexError:
            return None


def get_activity_task(call: hooks.Call) -> Answer:
    """``GetActivityTask``: the oldest task of the activity, or none after the poll."""
    arn = call.params.get("activityArn", "")
    client = internal_client("stepfunctions", call.region)
    try:
        client.describe_activity(activityArn=arn)
    except ClientError as error:
        err = error.response["Error"]
        return hooks.error_answer(err["Code"], err.get("Message", ""))
    _activity(arn)
    deadline = clock.now() + POLL_SECONDS
    checked = 0.0
    while True:
        task = _next_task(arn)
        if task is not None:
            # The state queues the task a moment before it registers the task's
            # callback (in the execution's own thread): wait for that moment, or
            # the state never hears that the task started, nor how it ended.
            for _ in range(500):
                with _LOCK:
                    endpoint = _CALLBACKS.pop(task.task_token, None)
                    if endpoint is not None:
                        _STARTED[task.task_token] = endpoint
                        break
                time.sleep(0.01)
            if endpoint is not None:
                endpoint.notify_activity_task_start(worker_name=call.params.get("workerName"))
            return 200, {"taskToken": task.task_token, "input": task.task_input,
                         "ResponseMetadata": {"HTTPStatusCode": 200}}
        now = clock.now()
        if now >= deadline:
            break
        if time.monotonic() - checked > 0.5:  # nothing running: no task can come
            checked = time.monotonic()
            if not _anything_running(client):
                break
        before = clock.now()
        time.sleep(0.02)
        if clock.now() == before:  # a frozen sandbox clock: only advancing it ends the poll
            break
    return 200, {"ResponseMetadata": {"HTTPStatusCode": 200}}


def send_task_heartbeat(call: hooks.Call) -> Answer | None:
    """``SendTaskHeartbeat`` for a task a worker took: accepted whether or not the state
    sets ``HeartbeatSeconds`` (moto refused it when the state had not yet armed its
    heartbeat timer, or has none); other tokens are moto's to answer."""
    token = call.params.get("taskToken", "")
    with _LOCK:
        endpoint = _STARTED.get(token)
        if endpoint is not None and (endpoint.consumer_error is not None or endpoint.get_outcome() is not None):
            _STARTED.pop(token)
            return None
    if endpoint is None:
        return None
    endpoint.notify_heartbeat()
    return 200, {"ResponseMetadata": {"HTTPStatusCode": 200}}


def wake_after_outcome(call: hooks.Call, parsed: dict[str, Any], status: int) -> None:
    """After ``SendTaskSuccess``/``SendTaskFailure`` for a started task: a worker may
    answer before its state set up its heartbeat wait (moto would then wait a whole
    heartbeat period, and fail the task for a heartbeat it never needed). Wake that
    wait as soon as it exists, so the state reads the outcome at once, as on AWS."""
    if status >= 300:
        return
    with _LOCK:
        endpoint = _STARTED.get(call.params.get("taskToken", ""))
    if endpoint is None:
        return

    def wake() -> None:
        for _ in range(300):
            if getattr(endpoint, "_heartbeat_endpoint", None) is not None:
                endpoint.interrupt_all()
                return
            time.sleep(0.01)

    if platform.in_browser():
        return  # no activity task ever waits there (an activity state raises BrowserGap: see .browser)
    threading.Thread(target=wake, daemon=True, name="labkit-sfn-activity-wake").start()


def subscribe() -> None:
    hooks.subscribe("after", "stepfunctions", "SendTaskSuccess", wake_after_outcome)
    hooks.subscribe("after", "stepfunctions", "SendTaskFailure", wake_after_outcome)
    hooks.subscribe("after", "stepfunctions", "CreateActivity", _created)
    hooks.subscribe("after", "stepfunctions", "DeleteActivity", _deleted)
    hooks.subscribe("before", "stepfunctions", "GetActivityTask", get_activity_task, internal=False)
    hooks.subscribe("before", "stepfunctions", "SendTaskHeartbeat", send_task_heartbeat, internal=False)


def reset() -> None:
    with _LOCK:
        ACTIVITIES.clear()
        _CALLBACKS.clear()
        _STARTED.clear()
