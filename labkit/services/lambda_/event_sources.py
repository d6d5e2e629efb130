"""Event source mappings: Lambda reading an SQS queue or a DynamoDB stream.

SQS
---
On AWS, Lambda's pollers long-poll the queue and invoke the function with
batches of up to ``BatchSize`` messages; what succeeded is deleted, what failed
stays in flight until the queue's visibility timeout, is received again, and
after ``maxReceiveCount`` receives moves to the dead-letter queue. A partial
batch response (``ReportBatchItemFailures``) fails only the messages it names.

Here there is no poller thread, on purpose: a notebook should only change
when a cell runs. Instead the queue is polled when something happens to it:
a message arrives (``SendMessage``; ``SendMessageBatch`` polls once after the
whole batch, so the function gets batches, not singles), a mapping is created
or enabled. What no send triggers (messages visible again after a failed
batch, messages sent before the mapping was enabled, delayed messages whose
delay is over) waits for :func:`poll_event_sources`. The visibility timeout
and delays are moto's, and run on real time, not on the sandbox clock.

DynamoDB streams
----------------
moto hands the new stream records of a table to the Lambda backend at each
write; the function is invoked once per ``BatchSize`` records.
"""

from __future__ import annotations

import json
import threading
from datetime import datetime
from typing import Any

from labkit.core.aws import parse_arn

from . import functions
from .model import InvocationResult
from .runtime import run_function

#: AWS stops a recursive loop after about 16 invocations; so do we.
MAX_POLL_DEPTH = 16
#: One poll retries a message at most this often (a visibility timeout of 0).
MAX_DELIVERIES_PER_POLL = 10


class PollState(threading.local):
    """Where the poller of this thread stands: how deep polls nest (a handler
    sending to a mapped queue polls again, inside the first poll), and the
    queues to poll once the current ``SendMessageBatch`` ends."""

    def __init__(self) -> None:
        self.depth = 0
        self.deferred: set[Any] | None = None


_STATE = PollState()


def reset() -> None:
    """Forget where every thread's poller stands (``lab.reset()``)."""
    global _STATE
    _STATE = PollState()


def _sqs_backend(account_id: str, region: str) -> Any:
    from moto.sqs.models import sqs_backends

    return sqs_backends[account_id][region]


def _queue_mappings(queue: Any) -> list[Any]:
    """Enabled mappings whose source is this queue, from the Lambda backend
    (the source of truth: moto's per-queue dict keeps deleted mappings)."""
    backend = functions.lambda_backend(queue.account_id, queue.region)
    return [esm for esm in backend.list_event_source_mappings(queue.queue_arn, None) if esm.enabled]


def _queue_by_arn(arn: str) -> Any:
    source = parse_arn(arn)
    if source.service != "sqs":
        return None
    return _sqs_backend(source.account, source.region).queues.get(source.resource)


# --------------------------------------------------------------------------
# Seams: what makes the poller run
# --------------------------------------------------------------------------


def create_event_source_mapping(original: Any, backend: Any, spec: dict[str, Any]) -> Any:
    """Create the mapping; an SQS mapping starts polling at once, as on AWS."""
    esm = original(backend, spec)
    queue = _queue_by_arn(esm.event_source_arn)
    if queue is not None:
        queue.lambda_event_source_mappings.clear()  # moto's own dispatch stays off
        poll_queue(queue)
    return esm


def update_event_source_mapping(original: Any, backend: Any, uuid: str, spec: dict[str, Any]) -> Any:
    """Update the mapping; an SQS mapping that is enabled polls at once."""
    esm = original(backend, uuid, spec)
    if esm is not None and esm.enabled:
        queue = _queue_by_arn(esm.event_source_arn)
        if queue is not None:
            poll_queue(queue)
    return esm


def queue_add_message(original: Any, queue: Any, message: Any) -> None:
    """A message arrived: the mapping's poller picks it up at once."""
    original(queue, message)
    state = _STATE
    if state.deferred is not None:
        state.deferred.add(queue)
    else:
        poll_queue(queue)


def send_message_batch(original: Any, backend: Any, queue_name: str, entries: Any) -> Any:
    """Poll once after the whole batch, so a function gets batches, not singles."""
    state = _STATE
    outer = state.deferred
    state.deferred = set() if outer is None else outer
    try:
        result = original(backend, queue_name, entries)
    finally:
        pending, state.deferred = state.deferred, outer
    if outer is None:
        for queue in pending:
            poll_queue(queue)
    return result


# --------------------------------------------------------------------------
# The SQS poller
# --------------------------------------------------------------------------


def poll_all_sqs_mappings() -> int:
    """Poll every SQS queue that an enabled mapping reads; messages delivered."""
    from moto.sqs.models import sqs_backends

    delivered = 0
    for _account_id, regions in list(sqs_backends.items()):
        for _region, backend in list(regions.items()):
            for queue in list(backend.queues.values()):
                delivered += poll_queue(queue)
    return delivered


def poll_queue(queue: Any) -> int:
    """What Lambda's SQS poller does: receive up to BatchSize visible messages,
    invoke the function once per batch, delete what succeeded. Failed messages
    stay in flight until the queue's visibility timeout, then are received
    again (and moved to the DLQ by the redrive policy)."""
    state = _STATE
    mappings = _queue_mappings(queue)
    if not mappings or state.depth >= MAX_POLL_DEPTH:
        return 0
    sqs = _sqs_backend(queue.account_id, queue.region)
    deliveries: dict[str, int] = {}
    delivered = 0
    state.depth += 1
    try:
        progressed = True
        while progressed:
            progressed = False
            for esm in mappings:
                messages = sqs.receive_message(queue.name, esm.batch_size, 0, queue.visibility_timeout, ["All"])
                if not messages:
                    continue
                for message in messages:
                    deliveries[message.id] = deliveries.get(message.id, 0) + 1
                _deliver_batch(sqs, queue, esm, messages)
                delivered += len(messages)
                progressed = progressed or any(deliveries[m.id] < MAX_DELIVERIES_PER_POLL for m in messages)
    finally:
        state.depth = max(0, state.depth - 1)
    return delivered


def _deliver_batch(sqs: Any, queue: Any, esm: Any, messages: list[Any]) -> None:
    event = {"Records": [_sqs_record(queue, m) for m in messages]}
    target = parse_arn(esm.function_arn)
    fn, invoked, resource = functions.resolve_in(functions.lambda_backend(target.account, target.region),
                                                 esm.function_arn, None)
    result = run_function(fn, json.dumps(event), invoked_arn=invoked, resource=resource)
    if result.throttled or result.function_error:
        return  # the whole batch returns to the queue after the visibility timeout
    failed = batch_item_failures(esm, result, {m.id for m in messages})
    for message in messages:
        if message.id not in failed:
            sqs.delete_message(queue.name, message.receipt_handle)


def batch_item_failures(esm: Any, result: InvocationResult, ids: set[str]) -> set[str]:
    """The message ids a partial batch response reports as failed. An invalid
    report fails the whole batch; an empty or null one fails nothing."""
    if "ReportBatchItemFailures" not in (esm.function_response_types or []):
        return set()
    try:
        response = result.json()
    except ValueError:
        return set()
    if not isinstance(response, dict) or not response.get("batchItemFailures"):
        return set()
    failed = set()
    for item in response["batchItemFailures"]:
        identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not identifier or identifier not in ids:
            return set(ids)
        failed.add(identifier)
    return failed


def _sqs_record(queue: Any, message: Any) -> dict[str, Any]:
    """One record of an SQS event, in the shape Lambda delivers it."""
    attributes = {
        "ApproximateReceiveCount": str(message.approximate_receive_count),
        "SentTimestamp": str(message.sent_timestamp),
        "SenderId": str(message.sender_id),
        "ApproximateFirstReceiveTimestamp": str(message.approximate_first_receive_timestamp),
    }
    if queue.fifo_queue:
        if message.sequence_number is not None:  # moto numbers only explicitly deduplicated messages
            attributes["SequenceNumber"] = str(message.sequence_number)
        attributes.update({"MessageGroupId": str(message.group_id),
                           "MessageDeduplicationId": str(message.deduplication_id)})
    record: dict[str, Any] = {
        "messageId": message.id,
        "receiptHandle": message.receipt_handle,
        "body": message.body,
        "attributes": attributes,
        "messageAttributes": {
            name: {"stringValue": value.get("StringValue"), "binaryValue": value.get("BinaryValue"),
                   "stringListValues": [], "binaryListValues": [], "dataType": value.get("DataType")}
            for name, value in message.message_attributes.items()
        },
        "md5OfBody": message.body_md5,
        "eventSource": "aws:sqs",
        "eventSourceARN": queue.queue_arn,
        "awsRegion": queue.region,
    }
    if message.message_attributes:
        record["md5OfMessageAttributes"] = message.attribute_md5
    return record


# --------------------------------------------------------------------------
# DynamoDB stream mappings
# --------------------------------------------------------------------------


def send_dynamodb_items(original: Any, backend: Any, function_arn: str, items: list[Any], source: str) -> bytes:
    """Invoke once per BatchSize records. A failed batch keeps every pending
    record in the shard; they are sent again with the next write."""
    mappings = [esm for esm in backend.list_event_source_mappings(source, None)
                if esm.function_arn == function_arn]
    if not mappings or not mappings[0].enabled:
        return b""
    size = int(mappings[0].batch_size or 100)
    records = [_dynamodb_record(item, source, backend.region_name) for item in items]
    fn, invoked, resource = functions.resolve_in(backend, function_arn, None)
    for start in range(0, len(records), size):
        event = json.dumps({"Records": records[start:start + size]}, default=str)
        result = run_function(fn, event, invoked_arn=invoked, resource=resource)
        if result.throttled or result.function_error:
            return b""
    return b"ok"


def _dynamodb_record(item: Any, source: str, region: str) -> dict[str, Any]:
    record = item.to_json()
    dynamodb = dict(record["dynamodb"])
    created = dynamodb.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        dynamodb["ApproximateCreationDateTime"] = created.timestamp()
    return {"eventID": record["eventID"], "eventName": record["eventName"],
            "eventVersion": record["eventVersion"], "eventSource": record["eventSource"],
            "awsRegion": region, "dynamodb": dynamodb, "eventSourceARN": source}
