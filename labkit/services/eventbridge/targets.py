"""Delivering a matched event to a rule's targets, firing schedules, replaying archives.

What AWS does
    A rule that is enabled and whose pattern matches sends the event to each of
    its targets, with the payload the target's input settings build. A rule
    with only a ``ScheduleExpression`` receives no events: its clock fires it
    with a ``Scheduled Event``. A replay sends the archived events whose time
    lies in its window to the rules it names (or every rule on the bus), each
    marked with ``replay-name``. A Step Functions state machine target is
    reached through the target's role (``RoleArn``, which PutTargets requires
    for it): EventBridge assumes the role as ``events.amazonaws.com`` and calls
    ``states:StartExecution`` with the target's payload as the execution's
    input and no name (Step Functions generates one).

What moto 5.2 does
    It delivers to disabled rules, lets a schedule-only rule receive every
    event, ignores a constant ``Input``, raises for Lambda, SNS and Step
    Functions targets (``NotImplementedError`` inside PutEvents), never fires a
    schedule, and replays a whole archive to every rule.

What this module does instead
    :func:`send_to_targets` (in place of ``Rule.send_to_targets``) skips
    disabled and schedule-only rules and delivers to SQS, CloudWatch Logs,
    Lambda, SNS and Step Functions targets the payload of
    :func:`.payloads.target_payload`; archives, event buses and API
    destinations stay moto's.
    :func:`fire_scheduled_rule` delivers AWS's scheduled event now;
    :func:`replay_events` (in place of ``Replay.replay_events``) keeps to the
    window and the rules named. Lambda targets run through the Lambda service
    (:func:`labkit.services.lambda_.invoke_async`). An SNS target is published
    through moto's SNS backend; the SNS service is already in place, since the
    topic was created through boto3. A state machine is started by a boto3
    Step Functions client signed with the role session's credentials
    (:func:`labkit.services.iam.service_credentials`): labkit's IAM checks the
    session's policies as for any caller, and CloudTrail records
    ``StartExecution`` with the session as its ``userIdentity``.

Time
    Scheduled events and a replay's end are stamped with the sandbox clock. A
    CloudWatch Logs event is stamped with real time: moto's CloudWatch Logs
    refuses events from its future.

Permissions
    EventBridge delivers to an SQS, SNS or Lambda target only if the target's
    resource policy lets ``events.amazonaws.com`` in: the queue policy must
    allow ``sqs:SendMessage``, the topic policy ``sns:Publish``, the function's
    policy (``add_permission``) ``lambda:InvokeFunction``, usually from this
    rule only (``aws:SourceArn``). :func:`refusal` asks
    :func:`labkit.services.iam.allows_service`. A refused invocation, or one
    to a target that no longer exists, is not retried: the event goes to the
    target's dead-letter queue (``DeadLetterConfig``) with AWS's attributes
    (``RULE_ARN``, ``TARGET_ARN``, ``ERROR_CODE`` ``NO_PERMISSIONS`` or
    ``NO_RESOURCE``, ``ERROR_MESSAGE``), if that queue's policy lets
    EventBridge send from the rule, and ``AWS/Events`` counts
    ``InvocationsSentToDlq`` or ``InvocationsFailedToBeSentToDlq``;
    ``FailedInvocations`` is counted by the CloudWatch service with the same
    question. A state machine target has no resource policy to read: the
    target's role decides. A role whose trust policy does not name
    ``events.amazonaws.com`` gives ``FAILED_TO_ASSUME_ROLE``, a role that may
    not ``states:StartExecution`` on the machine (:func:`labkit.services.iam.trusts`,
    :func:`labkit.services.iam.role_allows`) ``NO_PERMISSIONS``, a deleted
    machine ``NO_RESOURCE``.

Limits
    Delivery is synchronous and a target that exists and lets EventBridge in
    always accepts, so retry policies are stored but never used. A CloudWatch
    Logs target's resource policy is not read. A state machine target
    gets one ``StartExecution`` per matched event, with a generated name;
    choosing the name, a synchronous start of an Express machine and batching
    are not emulated.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from typing import Any

from labkit.core.aws import epoch_of, internal_client, parse_arn
from labkit.core.clock import clock
from labkit.services import lambda_

from .payloads import aws_event, target_payload

__all__ = ["ROLE_ACTIONS", "SERVICE_PRINCIPAL", "TARGET_ACTIONS", "TARGET_SERVICES", "deliver_to_target",
           "fire_scheduled_rule", "put_service_event", "refusal", "replay_events", "send_to_targets"]

#: The target services whose delivery labkit makes (the others stay moto's).
TARGET_SERVICES = ("lambda", "sns", "sqs", "logs", "states")
#: Who EventBridge is, to a target's resource policy.
SERVICE_PRINCIPAL = "events.amazonaws.com"
#: The action each target service's resource policy must allow EventBridge.
TARGET_ACTIONS = {"sqs": "sqs:SendMessage", "sns": "sns:Publish", "lambda": "lambda:InvokeFunction"}
#: The action the target's role (its ``RoleArn``) must allow, for targets EventBridge reaches through a role.
ROLE_ACTIONS = {"states": "states:StartExecution"}


class _Schedule(threading.local):
    rule: Any = None  # the rule being fired by its schedule, in this thread


_SCHEDULE = _Schedule()


def _events_backend(account_id: str, region: str) -> Any:
    from moto.events.models import events_backends

    return events_backends[account_id][region]


def _enabled(rule: Any) -> bool:
    return str(rule.state).startswith("ENABLED")


def send_to_targets(original: Any, rule: Any, original_event: dict[str, Any],
                    transform_input: bool = True) -> None:
    """Deliver a matched event to every target as AWS does: a disabled rule and a
    schedule-only rule receive no events; each SQS, CloudWatch Logs, Lambda and
    SNS target gets the payload its Input/InputPath/InputTransformer builds
    (:func:`labkit.services.eventbridge.target_payload`). Archives, event buses
    and API destinations stay moto's. ``transform_input`` is ignored: AWS always
    applies the target's input settings, also to replayed and S3 events."""
    scheduled = _SCHEDULE.rule is rule
    if not _enabled(rule):
        return
    if not scheduled and (not rule.event_pattern.get_pattern() or not rule.event_pattern.matches_event(original_event)):
        return
    ours = [t for t in rule.targets if parse_arn(t["Arn"]).service in TARGET_SERVICES]
    if len(ours) < len(rule.targets) and not scheduled:
        saved = rule.targets
        rule.targets = [t for t in saved if t not in ours]
        try:
            original(rule, original_event, True)
        finally:
            rule.targets = saved
    for target in ours:
        refused = refusal(target["Arn"], rule.arn, target.get("RoleArn"))
        if refused is None:
            refused = deliver_to_target(target, target_payload(target, original_event, rule.name, rule.arn),
                                        original_event)
        if refused is not None:
            _dead_letter(target, rule, original_event, *refused)


def _exists(arn_text: str) -> bool:
    arn = parse_arn(arn_text)
    if arn.service == "sqs":
        from moto.sqs.models import sqs_backends

        return arn.resource in sqs_backends[arn.account][arn.region].queues
    if arn.service == "sns":
        from moto.sns.models import sns_backends

        return arn_text in sns_backends[arn.account][arn.region].topics
    if arn.service == "lambda":
        try:
            lambda_.resolve_function(arn_text)
        except Exception:  # noqa: BLE001  (moto's ResourceNotFoundException)
            return False
    if arn.service == "states":
        from botocore.exceptions import ClientError

        try:
            internal_client("stepfunctions", arn.region).describe_state_machine(stateMachineArn=arn_text)
        except ClientError:  # StateMachineDoesNotExist, InvalidArn
            return False
    return True


def _allows(arn_text: str, source_arn: str) -> bool:
    action = TARGET_ACTIONS.get(parse_arn(arn_text).service)
    if action is None:
        return True
    from labkit.services.iam import allows_service  # IAM imports no other service

    return allows_service(SERVICE_PRINCIPAL, action, arn_text, source_arn)


def refusal(target_arn: str, rule_arn: str, role_arn: str | None = None) -> tuple[str, str] | None:
    """Why EventBridge cannot invoke a target for ``rule_arn``: ``("NO_RESOURCE",
    message)`` when it does not exist; for an SQS, SNS or Lambda target,
    ``("NO_PERMISSIONS", message)`` when its resource policy does not let the
    rule in; for a state machine, reached with the target's role ``role_arn``,
    ``("FAILED_TO_ASSUME_ROLE", message)`` when the role's trust policy does not
    name ``events.amazonaws.com`` and ``("NO_PERMISSIONS", message)`` when the
    role may not ``states:StartExecution`` on it. None when it can."""
    if not _exists(target_arn):
        return "NO_RESOURCE", f"The target {target_arn} does not exist."
    action = ROLE_ACTIONS.get(parse_arn(target_arn).service)
    if action is not None:
        from labkit.services import iam  # IAM imports no other service

        if not role_arn or not iam.trusts(role_arn, SERVICE_PRINCIPAL):
            return "FAILED_TO_ASSUME_ROLE", f"{SERVICE_PRINCIPAL} is not allowed to assume the role {role_arn}."
        if not iam.role_allows(role_arn, action, target_arn):
            return "NO_PERMISSIONS", f"The role {role_arn} is not authorized to perform {action} on {target_arn}."
        return None
    if not _allows(target_arn, rule_arn):
        return "NO_PERMISSIONS", (f"The resource policy of {target_arn} does not allow {SERVICE_PRINCIPAL} "
                                  f"to perform {TARGET_ACTIONS[parse_arn(target_arn).service]} for {rule_arn}.")
    return None


def _dead_letter(target: dict[str, Any], rule: Any, event: dict[str, Any], code: str, message: str) -> None:
    """Send an event whose invocation failed to the target's dead-letter queue, as
    EventBridge does: the event, with RULE_ARN, TARGET_ARN, ERROR_CODE and
    ERROR_MESSAGE attributes. Without a DeadLetterConfig the event is dropped;
    a queue that is gone or whose policy does not let the rule send is counted
    in InvocationsFailedToBeSentToDlq."""
    dlq_arn = (target.get("DeadLetterConfig") or {}).get("Arn")
    if not dlq_arn:
        return
    from labkit.services.cloudwatch import put_service_metric  # CloudWatch imports no EventBridge module

    arn = parse_arn(rule.arn)
    parts = arn.resource.split("/")  # rule/<name> on the default bus, rule/<bus>/<name> on a custom one
    dims = {"RuleName": rule.name} if len(parts) < 3 else {"EventBusName": parts[1], "RuleName": rule.name}
    queue = parse_arn(dlq_arn)
    if queue.service != "sqs" or not _exists(dlq_arn) or not _allows(dlq_arn, rule.arn):
        put_service_metric("AWS/Events", "InvocationsFailedToBeSentToDlq", 1, dims, region=arn.region)
        return
    from moto.sqs.models import sqs_backends

    attributes = {name: {"DataType": "String", "StringValue": value} for name, value in (
        ("RULE_ARN", rule.arn), ("TARGET_ARN", target["Arn"]), ("ERROR_CODE", code), ("ERROR_MESSAGE", message))}
    sqs_backends[queue.account][queue.region].send_message(queue.resource, json.dumps(aws_event(event)),
                                                           message_attributes=attributes)
    put_service_metric("AWS/Events", "InvocationsSentToDlq", 1, dims, region=arn.region)


def deliver_to_target(target: dict[str, Any], payload: str, event: dict[str, Any]) -> tuple[str, str] | None:
    """Send ``payload`` to one SQS, SNS, Lambda, CloudWatch Logs or Step Functions
    target. Returns None, or the ``(ERROR_CODE, message)`` of a state machine's
    refusal to start (the other targets were asked beforehand, by :func:`refusal`)."""
    arn = parse_arn(target["Arn"])
    if arn.service == "states":
        return _start_execution(target, payload, arn.region)
    if arn.service == "lambda":
        fn, invoked_arn, resource = lambda_.resolve_function(target["Arn"])
        lambda_.invoke_async(fn, payload, invoked_arn=invoked_arn, resource=resource)
    elif arn.service == "sns":
        from moto.sns.models import sns_backends

        sns_backends[arn.account][arn.region].publish(payload, arn=target["Arn"])
    elif arn.service == "sqs":
        from moto.sqs.models import sqs_backends

        group_id = (target.get("SqsParameters") or {}).get("MessageGroupId")
        sqs_backends[arn.account][arn.region].send_message(
            arn.resource, payload, group_id=group_id, deduplication_id=str(event.get("id")) if group_id else None)
    elif arn.service == "logs":
        _deliver_to_log_group(arn.account, arn.region, arn.resource, payload, event)
    return None


#: What a Step Functions error means to a dead-letter queue's ERROR_CODE.
_STATES_ERRORS = {"AccessDeniedException": "NO_PERMISSIONS", "StateMachineDoesNotExist": "NO_RESOURCE",
                  "StateMachineDeleting": "NO_RESOURCE", "UnrecognizedClientException": "FAILED_TO_ASSUME_ROLE",
                  "ExpiredTokenException": "FAILED_TO_ASSUME_ROLE", "InvalidExecutionInput": "INVALID_JSON"}


def _start_execution(target: dict[str, Any], payload: str, region: str) -> tuple[str, str] | None:
    """Start the state machine as EventBridge does: assume the target's role as
    ``events.amazonaws.com`` and call ``StartExecution`` with the role session's
    credentials, the payload as the execution's input and no name (Step
    Functions makes one). The call is an ordinary signed call: IAM checks the
    session's policies and CloudTrail records the session as its caller."""
    import boto3
    from botocore.exceptions import ClientError

    from labkit.services import iam  # IAM imports no other service

    role_arn = target.get("RoleArn") or ""
    try:
        credentials = iam.service_credentials(role_arn, SERVICE_PRINCIPAL)
    except PermissionError as error:
        return "FAILED_TO_ASSUME_ROLE", str(error)
    client = boto3.session.Session().client(
        "stepfunctions", region_name=region, aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"], aws_session_token=credentials["SessionToken"])
    try:
        client.start_execution(stateMachineArn=target["Arn"], input=payload)
    except ClientError as error:
        code = str(error.response["Error"]["Code"])
        return _STATES_ERRORS.get(code, "ERROR_FROM_TARGET"), str(error.response["Error"].get("Message") or code)
    return None


def _deliver_to_log_group(account_id: str, region: str, resource: str, payload: str, event: dict[str, Any]) -> None:
    """One log event per delivery, in a stream named after the event id. A
    template of the form {"timestamp": ..., "message": ...} sets the message."""
    from moto.logs.exceptions import ResourceNotFoundException
    from moto.logs.models import logs_backends

    group = resource.split("log-group:", 1)[-1].split(":", 1)[0]
    message = payload
    try:
        parsed = json.loads(payload)
        if isinstance(parsed, dict) and set(parsed) == {"timestamp", "message"}:
            message = parsed["message"] if isinstance(parsed["message"], str) else json.dumps(parsed["message"])
    except ValueError:
        pass
    logs = logs_backends[account_id][region]
    stream = str(event.get("id") or uuid.uuid4())
    try:
        logs.ensure_log_stream(group, stream)
    except ResourceNotFoundException:
        return  # AWS cannot deliver to a missing log group either
    # Real time, not the sandbox clock: moto's CloudWatch Logs refuses events from its future.
    logs.put_log_events(group, stream, [{"timestamp": int(time.time() * 1000), "message": message}])


# --------------------------------------------------------------------------
# Standing in for AWS services and the clock
# --------------------------------------------------------------------------


def put_service_event(account_id: str, region: str, entry: dict[str, Any]) -> str:
    """Put an event on the default bus from inside, as an AWS service does (no
    check of the ``aws.`` prefix), at the sandbox clock's time unless the entry
    has a ``Time``. Returns the event id."""
    entry = {"Time": clock.now(), **entry}
    [result] = _events_backend(account_id, region).put_events([entry])
    if "EventId" not in result:
        raise ValueError(f"{result.get('ErrorCode')}: {result.get('ErrorMessage')}")
    return str(result["EventId"])


def fire_scheduled_rule(account_id: str, region: str, rule_name: str) -> dict[str, Any] | None:
    """Deliver AWS's scheduled event to a scheduled rule's targets, now (sandbox
    time); return the event as delivered, or None for a disabled rule."""
    bus = _events_backend(account_id, region).describe_event_bus("default")
    rule = bus.rules.get(rule_name)
    if rule is None:
        raise ValueError(f"no rule {rule_name!r} on the default event bus")
    if not rule.scheduled_expression:
        raise ValueError(f"rule {rule_name!r} has no ScheduleExpression: it reacts to events, not to a clock")
    if not _enabled(rule):
        return None
    now = clock.now()
    event = {"version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event", "source": "aws.events",
             "account": account_id, "time": now, "region": region, "resources": [rule.arn], "detail": {},
             "ingestion-time": now}
    _SCHEDULE.rule = rule
    try:
        rule.send_to_targets(event)
    finally:
        _SCHEDULE.rule = None
    return aws_event(event)


def replay_events(original: Any, replay: Any, archive: Any) -> None:
    """Replay only the archived events whose time lies in [EventStartTime,
    EventEndTime], to the rules named in FilterArns (or every rule on the bus),
    each event marked with ``replay-name``; targets get their usual input."""
    from moto.events.models import ReplayState

    backend = _events_backend(replay.account_id, replay.region)
    bus = backend.describe_event_bus(parse_arn(replay.destination["Arn"]).resource_name)
    start, end = float(replay.event_start_time), float(replay.event_end_time)
    filters = set(replay.destination.get("FilterArns") or [])
    for event in list(archive.events):
        when = epoch_of(event.get("time"))
        if when is None or not start <= when <= end:
            continue
        replayed = dict(event, **{"replay-name": replay.name})
        for rule in list(bus.rules.values()):
            if not filters or rule.arn in filters:
                rule.send_to_targets(replayed)
    replay.state = ReplayState.COMPLETED
    replay.end_time = clock.now()
