"""Dead-letter queue redrive: ``StartMessageMoveTask`` and its companions.

moto does not implement the three message move actions, so a learner who has
fixed a consumer could not send the dead-letter queue's messages back. This
module answers them before moto is asked (a ``before`` hook):

- ``StartMessageMoveTask(SourceArn, DestinationArn=None, MaxNumberOfMessagesPerSecond=None)``
  moves every visible message of the dead-letter queue ``SourceArn`` to
  ``DestinationArn``, or, without one, back to the queue whose redrive policy
  names it. As on AWS the source must be a dead-letter queue of another queue,
  and only one task may run per queue. A moved message starts afresh: its
  receive count is 0 and it is visible at once.
- ``ListMessageMoveTasks(SourceArn, MaxResults=1)``: the most recent tasks first.
- ``CancelMessageMoveTask(TaskHandle)``: only a running task can be cancelled.

Differences from AWS, each small: the move happens at once, within the call,
so a task is ``COMPLETED`` by the time it is listed (the rate is recorded and
not applied); messages in flight in the dead-letter queue stay where they are;
and when several queues name the same dead-letter queue, a redrive without a
``DestinationArn`` is refused with a labkit error, since the emulation does not
record which queue each message came from.
"""

from __future__ import annotations

import base64
import json
import threading
import uuid
from dataclasses import dataclass
from typing import Any

from labkit.core import aws, hooks
from labkit.core.clock import clock

_LOCK = threading.Lock()


@dataclass
class MoveTask:
    handle: str
    source_arn: str
    destination_arn: str | None
    rate: int | None
    to_move: int
    moved: int
    started_ms: int
    status: str = "COMPLETED"

    def entry(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "TaskHandle": self.handle, "Status": self.status, "SourceArn": self.source_arn,
            "ApproximateNumberOfMessagesMoved": self.moved, "ApproximateNumberOfMessagesToMove": self.to_move,
            "StartedTimestamp": self.started_ms,
        }
        if self.destination_arn:
            entry["DestinationArn"] = self.destination_arn
        if self.rate is not None:
            entry["MaxNumberOfMessagesPerSecond"] = self.rate
        return entry


TASKS: list[MoveTask] = []


def _backend(arn: aws.Arn) -> Any:
    from moto.sqs.models import sqs_backends

    return sqs_backends[arn.account][arn.region]


def _queue(arn_text: str) -> Any | None:
    """The moto queue with this ARN, or None."""
    try:
        arn = aws.parse_arn(arn_text)
    except Exception:  # noqa: BLE001  (not an ARN at all)
        return None
    if arn.service != "sqs":
        return None
    return _backend(arn).queues.get(arn.resource)


def _not_found(arn: str) -> tuple[int, dict[str, Any]]:
    return hooks.error_answer("ResourceNotFoundException", f"The resource that you specified for the SourceArn or "
                                                           f"DestinationArn parameter doesn't exist: {arn}")


def _move(dlq: Any, destination: Any) -> int:
    """Move the visible messages of ``dlq`` to ``destination``; return how many."""
    with dlq._messages_lock:
        moving = [m for m in dlq._messages if m.visible and not m.delayed]
        for message in moving:
            dlq._messages.remove(message)
            dlq.pending_messages.discard(message)
    for message in moving:
        message.approximate_receive_count = 0
        message.approximate_first_receive_timestamp = None
        message.visible_at = 0.0
        message.delayed_until = 0.0
        destination.add_message(message)
    return len(moving)


def start_message_move_task(call: hooks.Call) -> tuple[int, dict[str, Any]]:
    params = call.params
    source_arn = str(params.get("SourceArn", ""))
    dlq = _queue(source_arn)
    if dlq is None:
        return _not_found(source_arn)
    sources = _backend(aws.parse_arn(source_arn)).list_dead_letter_source_queues(dlq.name)
    if not sources:
        return hooks.error_answer("InvalidParameterValue",
                                  f"Source queue must be configured as a Dead Letter Queue: {source_arn}")
    destination_arn = params.get("DestinationArn")
    if destination_arn:
        destination = _queue(str(destination_arn))
        if destination is None:
            return _not_found(str(destination_arn))
    elif len(sources) == 1:
        destination = sources[0]
    else:
        names = ", ".join(sorted(q.name for q in sources))
        return hooks.error_answer(
            "LabkitNotEmulated",
            f"labkit does not record which of the queues {names} each message of {dlq.name} came from: "
            "pass DestinationArn to say where the messages go")
    if bool(dlq.fifo_queue) != bool(destination.fifo_queue):
        return hooks.error_answer("InvalidParameterValue",
                                  "The source and destination queues must both be standard queues or both FIFO queues")
    with _LOCK:
        if any(t.source_arn == source_arn and t.status == "RUNNING" for t in TASKS):
            return hooks.error_answer("UnsupportedOperation",
                                      "Only one active message movement task is supported per queue")
    rate = params.get("MaxNumberOfMessagesPerSecond")
    if rate is not None and not 1 <= int(rate) <= 500:
        return hooks.error_answer("InvalidParameterValue", "MaxNumberOfMessagesPerSecond must be between 1 and 500")
    to_move = sum(1 for m in list(dlq._messages) if m.visible and not m.delayed)
    moved = _move(dlq, destination)
    token = json.dumps({"taskId": str(uuid.uuid4()), "sourceArn": source_arn})
    task = MoveTask(handle=base64.b64encode(token.encode()).decode(), source_arn=source_arn,
                    destination_arn=str(destination_arn) if destination_arn else None,
                    rate=int(rate) if rate is not None else None, to_move=to_move, moved=moved,
                    started_ms=int(clock.now() * 1000))
    with _LOCK:
        TASKS.append(task)
    return 200, {"TaskHandle": task.handle, "ResponseMetadata": {"HTTPStatusCode": 200}}


def list_message_move_tasks(call: hooks.Call) -> tuple[int, dict[str, Any]]:
    source_arn = str(call.params.get("SourceArn", ""))
    if _queue(source_arn) is None:
        return _not_found(source_arn)
    limit = int(call.params.get("MaxResults", 1))
    if not 1 <= limit <= 10:
        return hooks.error_answer("InvalidParameterValue", "MaxResults must be between 1 and 10")
    with _LOCK:
        mine = [t for t in TASKS if t.source_arn == source_arn]
    results = [t.entry() for t in reversed(mine)][:limit]
    return 200, {"Results": results, "ResponseMetadata": {"HTTPStatusCode": 200}}


def cancel_message_move_task(call: hooks.Call) -> tuple[int, dict[str, Any]]:
    handle = str(call.params.get("TaskHandle", ""))
    with _LOCK:
        task = next((t for t in TASKS if t.handle == handle), None)
    if task is None:
        return hooks.error_answer("ResourceNotFoundException", f"No message movement task has the handle {handle}")
    if task.status != "RUNNING":
        return hooks.error_answer("UnsupportedOperation", f"The task is {task.status}; only a running task can be cancelled")
    task.status = "CANCELLING"  # pragma: no cover  (tasks finish within their call)
    return 200, {"ApproximateNumberOfMessagesMoved": task.moved, "ResponseMetadata": {"HTTPStatusCode": 200}}


def subscribe() -> None:
    hooks.subscribe("before", "sqs", "StartMessageMoveTask", start_message_move_task)
    hooks.subscribe("before", "sqs", "ListMessageMoveTasks", list_message_move_tasks)
    hooks.subscribe("before", "sqs", "CancelMessageMoveTask", cancel_message_move_task)


def reset() -> None:
    with _LOCK:
        TASKS.clear()
