"""The metrics AWS services publish, from what really happened in the sandbox.

Each service's metrics are recorded by listening to its boto3 calls
(:func:`labkit.core.hooks.subscribe`) and reading moto's state, so no other
service package changes:

===========  ==============================================  =================================
namespace    metrics                                          dimensions
===========  ==============================================  =================================
AWS/SQS      NumberOfMessagesSent, NumberOfMessagesReceived,  QueueName
             NumberOfMessagesDeleted, NumberOfEmptyReceives,
             SentMessageSize (at each call);
             ApproximateNumberOfMessagesVisible,
             ApproximateNumberOfMessagesNotVisible,
             ApproximateNumberOfMessagesDelayed,
             ApproximateAgeOfOldestMessage (sampled once a
             sandbox minute, see :func:`sample_queues`)
AWS/SNS      NumberOfMessagesPublished, PublishSize,          TopicName
             NumberOfNotificationsDelivered,
             NumberOfNotificationsFailed,
             NumberOfNotificationsFilteredOut
AWS/DynamoDB ConsumedReadCapacityUnits,                       TableName
             ConsumedWriteCapacityUnits,
             ReadThrottleEvents, WriteThrottleEvents;
             ThrottledRequests                                TableName, Operation
AWS/Events   MatchedEvents, Invocations, FailedInvocations    RuleName (EventBusName too on a
                                                              custom bus)
AWS/States   ExecutionsStarted, ExecutionsSucceeded,          StateMachineArn
             ExecutionsFailed, ExecutionsTimedOut,
             ExecutionsAborted
===========  ==============================================  =================================

``AWS/Lambda`` is published by the Lambda service itself. A notification or an
invocation fails when its endpoint or target is gone or when its resource policy
does not let SNS or EventBridge in (:func:`labkit.services.iam.allows_service`,
the question SNS and EventBridge ask before they deliver), or, for a state
machine, when the target's role cannot be assumed by EventBridge or may not
start it (:func:`labkit.services.iam.trusts`, :func:`~labkit.services.iam.role_allows`).
EventBridge counts
``InvocationsSentToDlq`` and ``InvocationsFailedToBeSentToDlq`` itself.

What is counted is what went through boto3 once CloudWatch is in use (its
first call, or ``lab.cloudwatch``): a message SNS or an event source mapping
moves inside the emulation is not a SendMessage here, as a message that SQS
moves to a dead-letter queue is not one on AWS either.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from labkit.core import aws, hooks
from labkit.core.clock import clock

from .metrics import put

_LOCK = threading.Lock()
#: (region, queue name, message id) -> sandbox time the message was sent (for its age).
SENT_AT: dict[tuple[str, str, str], float] = {}
#: execution ARN -> status already published.
EXECUTIONS_SEEN: dict[str, str] = {}


def _ok(parsed: dict[str, Any], status: int) -> bool:
    return status < 300 and "Error" not in parsed


# --------------------------------------------------------------------------
# SQS
# --------------------------------------------------------------------------


def _queue_name(params: dict[str, Any]) -> str:
    return str(params.get("QueueUrl", "")).rstrip("/").rsplit("/", 1)[-1]


def after_sqs(call: hooks.Call, parsed: dict[str, Any], status: int) -> None:
    if not _ok(parsed, status):
        return
    queue = _queue_name(call.params)
    dims = {"QueueName": queue}
    now = clock.now()
    op = call.operation
    if op == "SendMessage":
        put("AWS/SQS", "NumberOfMessagesSent", 1, dims, timestamp=now, region=call.region)
        size = len(str(call.params.get("MessageBody", "")).encode("utf-8"))
        put("AWS/SQS", "SentMessageSize", size, dims, unit="Bytes", timestamp=now, region=call.region)
        with _LOCK:
            SENT_AT[(call.region, queue, parsed.get("MessageId", ""))] = now
    elif op == "SendMessageBatch":
        sent = parsed.get("Successful", [])
        if sent:
            put("AWS/SQS", "NumberOfMessagesSent", len(sent), dims, timestamp=now, region=call.region)
        with _LOCK:
            for entry in sent:
                SENT_AT[(call.region, queue, entry.get("MessageId", ""))] = now
    elif op == "ReceiveMessage":
        got = len(parsed.get("Messages", []))
        if got:
            put("AWS/SQS", "NumberOfMessagesReceived", got, dims, timestamp=now, region=call.region)
        else:
            put("AWS/SQS", "NumberOfEmptyReceives", 1, dims, timestamp=now, region=call.region)
    elif op == "DeleteMessage":
        put("AWS/SQS", "NumberOfMessagesDeleted", 1, dims, timestamp=now, region=call.region)
    elif op == "DeleteMessageBatch":
        deleted = len(parsed.get("Successful", []))
        if deleted:
            put("AWS/SQS", "NumberOfMessagesDeleted", deleted, dims, timestamp=now, region=call.region)


def sample_queues(moment: float) -> None:
    """Record the queue-depth gauges of every queue, as AWS does once a minute.

    Called at each sandbox minute ``moment``; the values are the queues' state
    now, stamped at the start of the minute that just ended, so an alarm with
    a one-minute period sees them when that period is complete.
    """
    from moto.sqs.models import sqs_backends

    stamp = moment - 60
    for region, sqs in list(sqs_backends[aws.ACCOUNT_ID].items()):
        for name, queue in list(sqs.queues.items()):
            dims = {"QueueName": name}
            messages = list(queue._messages)
            visible = sum(1 for m in messages if m.visible and not m.delayed)
            put("AWS/SQS", "ApproximateNumberOfMessagesVisible", visible, dims, timestamp=stamp, region=region)
            put("AWS/SQS", "ApproximateNumberOfMessagesNotVisible", sum(1 for m in messages if not m.visible), dims,
                timestamp=stamp, region=region)
            put("AWS/SQS", "ApproximateNumberOfMessagesDelayed", sum(1 for m in messages if m.delayed), dims,
                timestamp=stamp, region=region)
            ages = []
            for m in messages:
                sent = SENT_AT.get((region, name, m.id))
                if sent is None and m.sent_timestamp:  # moved here by the emulation: its own (real-time) stamp
                    sent = m.sent_timestamp / 1000.0 + clock.offset
                if sent is not None:
                    ages.append(max(0.0, moment - sent))
            if ages:
                put("AWS/SQS", "ApproximateAgeOfOldestMessage", int(max(ages)), dims, unit="Seconds",
                    timestamp=stamp, region=region)


# --------------------------------------------------------------------------
# SNS
# --------------------------------------------------------------------------


#: The action a delivery needs the endpoint's resource policy to allow, by SNS protocol or target service.
_DELIVERY_ACTIONS = {"sqs": "sqs:SendMessage", "lambda": "lambda:InvokeFunction", "sns": "sns:Publish"}


def _lets_in(service: str, kind: str, endpoint: str, source_arn: str) -> bool:
    """Does the queue's, function's or topic's policy let ``service`` deliver from
    ``source_arn``? (The same question SNS and EventBridge ask before they deliver.)"""
    from labkit.services.iam import allows_service  # IAM imports no other service

    return allows_service(service, _DELIVERY_ACTIONS[kind], endpoint, source_arn)


def _endpoint_exists(subscription: Any, region: str) -> bool:
    """The endpoint exists and its policy lets the topic deliver to it."""
    protocol, endpoint = subscription.protocol, subscription.endpoint
    try:
        if protocol == "sqs":
            from moto.sqs.models import sqs_backends

            arn = aws.parse_arn(endpoint)
            if arn.resource not in sqs_backends[arn.account][arn.region].queues:
                return False
            return _lets_in("sns.amazonaws.com", protocol, endpoint, subscription.topic.arn)
        if protocol == "lambda":
            from moto.awslambda.utils import get_backend

            arn = aws.parse_arn(endpoint)
            get_backend(arn.account, arn.region).get_function(endpoint, None)
            return _lets_in("sns.amazonaws.com", protocol, endpoint, subscription.topic.arn)
    except Exception:  # noqa: BLE001  (no such queue or function)
        return False
    return True


def after_sns(call: hooks.Call, parsed: dict[str, Any], status: int) -> None:
    if not _ok(parsed, status):
        return
    from moto.sns.models import sns_backends

    topic_arn = call.params.get("TopicArn")
    if not topic_arn:
        return
    arn = aws.parse_arn(topic_arn)
    dims = {"TopicName": arn.resource}
    now = clock.now()
    if call.operation == "PublishBatch":
        entries = call.params.get("PublishBatchRequestEntries", [])
        published = [(e.get("Message", ""), e.get("MessageAttributes") or {}) for e in entries][:len(parsed.get("Successful", []))]
    else:
        published = [(call.params.get("Message", ""), call.params.get("MessageAttributes") or {})]
    sns = sns_backends[arn.account][arn.region]
    subscriptions = [s for s in sns.subscriptions.values() if s.topic.arn == topic_arn]
    delivered = failed = filtered = 0
    for message, attributes in published:
        put("AWS/SNS", "NumberOfMessagesPublished", 1, dims, timestamp=now, region=arn.region)
        put("AWS/SNS", "PublishSize", len(str(message).encode("utf-8")), dims, unit="Bytes", timestamp=now,
            region=arn.region)
        flat = {k: {"Type": v.get("DataType", "String"), "Value": v.get("StringValue", v.get("BinaryValue"))}
                for k, v in attributes.items()}
        for sub in subscriptions:
            matcher = getattr(sub, "_filter_policy_matcher", None)
            try:
                matches = matcher is None or matcher.matches(flat, message)
            except Exception:  # noqa: BLE001
                matches = True
            if not matches:
                filtered += 1
            elif _endpoint_exists(sub, arn.region):
                delivered += 1
            else:
                failed += 1
    for name, count in (("NumberOfNotificationsDelivered", delivered), ("NumberOfNotificationsFailed", failed),
                        ("NumberOfNotificationsFilteredOut", filtered)):
        if count:
            put("AWS/SNS", name, count, dims, timestamp=now, region=arn.region)


# --------------------------------------------------------------------------
# DynamoDB
# --------------------------------------------------------------------------

DYNAMODB_WRITES = ("PutItem", "UpdateItem", "DeleteItem")
DYNAMODB_READS = ("GetItem", "Query", "Scan")


def after_dynamodb(call: hooks.Call, parsed: dict[str, Any], status: int) -> None:
    from labkit.services.dynamodb import THROTTLE_CODE, item_size, read_units, write_units

    table = call.params.get("TableName")
    if not table:
        return
    now = clock.now()
    write = call.operation in DYNAMODB_WRITES
    if "Error" in parsed or status >= 300:
        if parsed.get("Error", {}).get("Code") == THROTTLE_CODE:
            put("AWS/DynamoDB", "ThrottledRequests", 1, {"TableName": table, "Operation": call.operation},
                timestamp=now, region=call.region)
            put("AWS/DynamoDB", "WriteThrottleEvents" if write else "ReadThrottleEvents", 1, {"TableName": table},
                timestamp=now, region=call.region)
        return
    if write:
        size = item_size(call.params.get("Item") or parsed.get("Attributes") or {})
        units = float(write_units(size))
        name = "ConsumedWriteCapacityUnits"
    else:
        items = parsed.get("Items") if "Items" in parsed else [parsed["Item"]] if parsed.get("Item") else []
        units = float(read_units(sum(item_size(i) for i in items), bool(call.params.get("ConsistentRead"))))
        name = "ConsumedReadCapacityUnits"
    put("AWS/DynamoDB", name, units, {"TableName": table}, timestamp=now, region=call.region)


# --------------------------------------------------------------------------
# EventBridge
# --------------------------------------------------------------------------


def _target_exists(arn_text: str, rule_arn: str, role_arn: str | None = None) -> bool:
    """The target exists and its policy lets the rule deliver to it (for a state
    machine: ``events.amazonaws.com`` may assume the target's role, and the role
    may start it)."""
    try:
        arn = aws.parse_arn(arn_text)
        if arn.service == "states":
            from labkit.services.iam import role_allows, trusts  # IAM imports no other service

            aws.internal_client("stepfunctions", arn.region).describe_state_machine(stateMachineArn=arn_text)
            return bool(role_arn) and trusts(str(role_arn), "events.amazonaws.com") and role_allows(
                str(role_arn), "states:StartExecution", arn_text)
        if arn.service == "sqs":
            from moto.sqs.models import sqs_backends

            if arn.resource not in sqs_backends[arn.account][arn.region].queues:
                return False
        elif arn.service == "sns":
            from moto.sns.models import sns_backends

            if arn_text not in sns_backends[arn.account][arn.region].topics:
                return False
        elif arn.service == "lambda":
            from moto.awslambda.utils import get_backend

            get_backend(arn.account, arn.region).get_function(arn_text, None)
        else:
            return True
        return _lets_in("events.amazonaws.com", arn.service, arn_text, rule_arn)
    except Exception:  # noqa: BLE001  (a target that does not exist is a failed invocation)
        return False


def after_put_events(call: hooks.Call, parsed: dict[str, Any], status: int) -> None:
    if not _ok(parsed, status):
        return
    from moto.events.models import events_backends

    events = events_backends[aws.ACCOUNT_ID][call.region]
    now = clock.now()
    for entry, result in zip(call.params.get("Entries", []), parsed.get("Entries", []), strict=False):
        if result.get("ErrorCode"):
            continue
        bus_name = str(entry.get("EventBusName") or "default").rsplit("/", 1)[-1]
        bus = events.event_buses.get(bus_name)
        if bus is None:
            continue
        try:
            detail = json.loads(entry.get("Detail") or "{}")
        except ValueError:
            continue
        event = {"version": "0", "id": result.get("EventId", ""), "detail-type": entry.get("DetailType"),
                 "source": entry.get("Source"), "account": aws.ACCOUNT_ID, "time": aws.iso_timestamp(now, millis=False),
                 "region": call.region, "resources": entry.get("Resources", []), "detail": detail}
        for rule in list(bus.rules.values()):
            if rule.state != "ENABLED" or not rule.event_pattern:
                continue
            try:
                if not rule.event_pattern.matches_event(event):
                    continue
            except Exception:  # noqa: BLE001
                continue
            dims = {"RuleName": rule.name} if bus_name == "default" else {"EventBusName": bus_name, "RuleName": rule.name}
            put("AWS/Events", "MatchedEvents", 1, dims, timestamp=now, region=call.region)
            ok = sum(1 for t in rule.targets if _target_exists(t["Arn"], rule.arn, t.get("RoleArn")))
            failed = len(rule.targets) - ok
            if rule.targets:
                put("AWS/Events", "Invocations", len(rule.targets), dims, timestamp=now, region=call.region)
            if failed:
                put("AWS/Events", "FailedInvocations", failed, dims, timestamp=now, region=call.region)


# --------------------------------------------------------------------------
# Step Functions
# --------------------------------------------------------------------------

FINISHED = {"SUCCEEDED": "ExecutionsSucceeded", "FAILED": "ExecutionsFailed", "TIMED_OUT": "ExecutionsTimedOut",
            "ABORTED": "ExecutionsAborted"}


def after_start_execution(call: hooks.Call, parsed: dict[str, Any], status: int) -> None:
    if _ok(parsed, status):
        put("AWS/States", "ExecutionsStarted", 1, {"StateMachineArn": call.params["stateMachineArn"]},
            timestamp=clock.now(), region=call.region)
        with _LOCK:
            EXECUTIONS_SEEN.setdefault(parsed.get("executionArn", ""), "RUNNING")


def scan_executions(moment: float | None = None) -> None:
    """Publish the end of every execution that finished since the last scan."""
    try:
        from moto.stepfunctions.parser.models import stepfunctions_parser_backends
    except ImportError:  # pragma: no cover
        return
    moment = clock.peek() if moment is None else moment
    for region, backend in list(stepfunctions_parser_backends[aws.ACCOUNT_ID].items()):
        for machine in list(backend.state_machines):
            for execution in list(getattr(machine, "executions", [])):
                status = str(getattr(execution, "status", ""))
                arn = execution.execution_arn
                with _LOCK:
                    if status not in FINISHED or EXECUTIONS_SEEN.get(arn) == status:
                        continue
                    EXECUTIONS_SEEN[arn] = status
                put("AWS/States", FINISHED[status], 1, {"StateMachineArn": machine.arn}, timestamp=moment,
                    region=region)


def after_stepfunctions_read(call: hooks.Call, parsed: dict[str, Any], status: int) -> None:
    scan_executions()


# --------------------------------------------------------------------------


def subscribe() -> None:
    for op in ("SendMessage", "SendMessageBatch", "ReceiveMessage", "DeleteMessage", "DeleteMessageBatch"):
        hooks.subscribe("after", "sqs", op, after_sqs)
    for op in ("Publish", "PublishBatch"):
        hooks.subscribe("after", "sns", op, after_sns)
    for op in (*DYNAMODB_WRITES, *DYNAMODB_READS):
        hooks.subscribe("after", "dynamodb", op, after_dynamodb, internal=False)
    hooks.subscribe("after", "events", "PutEvents", after_put_events)
    hooks.subscribe("after", "stepfunctions", "StartExecution", after_start_execution)
    for op in ("DescribeExecution", "ListExecutions", "GetExecutionHistory"):
        hooks.subscribe("after", "stepfunctions", op, after_stepfunctions_read)


def reset() -> None:
    with _LOCK:
        SENT_AT.clear()
        EXECUTIONS_SEEN.clear()
