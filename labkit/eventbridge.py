"""EventBridge behaviour that moto does not produce, driven by what you stored through boto3.

What AWS does
    An event bus matches every event against the event pattern of each enabled
    rule and delivers it to the rule's targets (up to five). What a target
    receives is decided by the target's configuration: the whole event by
    default, a constant ``Input``, the part of the event an ``InputPath``
    selects, or the text an ``InputTransformer`` builds from a template. AWS
    services (EC2, CloudTrail for API calls, ...) put their events on the
    account's default bus by themselves; your own code cannot put events whose
    ``source`` begins with ``aws.``. Scheduled rules fire on their own clock
    with a ``Scheduled Event``. ``TestEventPattern`` tells you whether a pattern
    matches an event.

What moto 5.2 does
    It stores rules and targets and matches patterns well, but ignores a
    constant ``Input``, fills an ``InputTransformer`` only with quoted
    placeholders, delivers to disabled rules and lets a schedule-only rule
    receive every event, never fires a schedule, returns ``{}`` from
    ``TestEventPattern``, accepts ``aws.*`` sources from ``PutEvents``, and
    replays a whole archive to every rule regardless of the time window.

What labkit adds
    :mod:`labkit.moto_seams` routes every delivery through :func:`target_payload`,
    which builds the payload as AWS does, for every target type (SQS, CloudWatch
    Logs, Lambda, SNS); skips disabled rules; makes ``TestEventPattern`` answer
    with moto's own matcher; refuses ``aws.*`` sources in ``PutEvents`` as AWS
    does; and replays only the events inside the replay's time window, to the
    rules it names. This module adds, for the labs:

    - :func:`emit_aws_event` puts an AWS-shaped service event on the default bus
      (standing in for the AWS service, since the emulation emits none), with
      builders :func:`ec2_state_change` and :func:`cloudtrail_api_call`;
    - :func:`fire_schedule` fires a scheduled rule now, with AWS's scheduled-event
      shape, standing in for the clock.

Limits
    Delivery is synchronous and never fails, so retry policies and target
    dead-letter queues are stored but never used; resource policies (the queue
    policy that lets EventBridge send to a queue, Lambda permissions) are not
    enforced. A placeholder whose JSON path is missing from the event becomes
    ``null`` outside quotes and an empty string inside quotes (AWS documents only
    that such a variable "isn't created").
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime, timezone
from typing import Any

#: Variables every input template may use without defining them.
PREDEFINED = ("aws.events.rule-arn", "aws.events.rule-name", "aws.events.event.ingestion-time",
              "aws.events.event", "aws.events.event.json")

#: The fields TestEventPattern requires in the event (API reference).
TEST_EVENT_FIELDS = ("id", "account", "source", "time", "region", "resources", "detail-type")

_PLACEHOLDER = re.compile(r"<([A-Za-z0-9_.\-]+)>")
_MISSING = object()


def iso_time(value: Any) -> Any:
    """An event time as AWS writes it (``2026-11-02T10:00:00Z``); moto keeps epoch seconds."""
    if isinstance(value, (int, float)) or (isinstance(value, str) and value.replace(".", "", 1).isdigit()):
        return datetime.fromtimestamp(float(value), timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return value


def aws_event(event: dict[str, Any]) -> dict[str, Any]:
    """The event as EventBridge delivers it, without moto's internal fields."""
    shaped: dict[str, Any] = {
        "version": str(event.get("version", "0")), "id": event.get("id"),
        "detail-type": event.get("detail-type"), "source": event.get("source"),
        "account": event.get("account"), "time": iso_time(event.get("time")),
        "region": event.get("region"), "resources": list(event.get("resources") or []),
        "detail": event.get("detail", {}),
    }
    if event.get("replay-name"):
        shaped["replay-name"] = event["replay-name"]
    return shaped


def _minified(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def json_path(path: str, document: Any) -> Any:
    """The value a JSON path (``$.detail.state``) selects; a list when a wildcard
    selects several; ``_MISSING`` when nothing matches."""
    from jsonpath_ng.ext import parse

    matches = parse(path).find(document)
    if not matches:
        return _MISSING
    return matches[0].value if len(matches) == 1 else [m.value for m in matches]


def render_template(template: str, variables: dict[str, Any]) -> str:
    """Fill ``<name>`` placeholders as EventBridge does.

    Outside a JSON string a placeholder becomes the value's JSON (a string gets
    quotes, a number stays a number, an object stays an object). Inside a
    string (the template author wrote the quotes) it becomes the raw text,
    not escaped. Names that are not variables are left alone.
    """
    out: list[str] = []
    in_string = False
    i = 0
    while i < len(template):
        char = template[i]
        if char == "\\" and in_string:
            out.append(template[i:i + 2])
            i += 2
            continue
        if char == '"':
            in_string = not in_string
            out.append(char)
            i += 1
            continue
        match = _PLACEHOLDER.match(template, i) if char == "<" else None
        if match and match.group(1) in variables:
            value = variables[match.group(1)]
            if in_string:
                out.append("" if value is _MISSING else value if isinstance(value, str) else _minified(value))
            else:
                out.append("null" if value is _MISSING else _minified(value))
            i = match.end()
            continue
        out.append(char)
        i += 1
    return "".join(out)


def target_payload(target: dict[str, Any], event: dict[str, Any], rule_name: str = "",
                   rule_arn: str = "") -> str:
    """The text EventBridge sends to ``target`` for ``event`` (moto's or AWS's shape).

    ``Input`` (constant JSON), ``InputPath`` (part of the event), or
    ``InputTransformer`` (a template); without any of them, the whole event.
    JSON results are minified.
    """
    shaped = aws_event(event)
    if target.get("Input") is not None:
        return str(target["Input"])
    if target.get("InputPath"):
        value = json_path(target["InputPath"], shaped)
        return "null" if value is _MISSING else _minified(value)
    transformer = target.get("InputTransformer")
    if not transformer:
        return _minified(shaped)
    without_detail = {k: v for k, v in shaped.items() if k != "detail"}
    variables: dict[str, Any] = {
        "aws.events.rule-arn": rule_arn,
        "aws.events.rule-name": rule_name,
        "aws.events.event.ingestion-time": iso_time(event.get("ingestion-time", event.get("time"))),
        "aws.events.event": without_detail,
        "aws.events.event.json": shaped,
    }
    for name, path in (transformer.get("InputPathsMap") or {}).items():
        variables[name] = json_path(path, shaped)
    text = render_template(transformer.get("InputTemplate", ""), variables)
    try:
        return _minified(json.loads(text))
    except ValueError:
        return text


def pattern_matches(pattern: str | dict[str, Any], event: dict[str, Any]) -> bool:
    """Whether an event pattern matches an event, with moto's matcher (the one rules use)."""
    from moto.events.models import EventPattern

    raw = pattern if isinstance(pattern, str) else json.dumps(pattern)
    return bool(EventPattern.load(raw).matches_event(event))


# --------------------------------------------------------------------------
# Standing in for AWS services and the clock
# --------------------------------------------------------------------------


def emit_aws_event(source: str, detail_type: str, detail: dict[str, Any], resources: list[str] | None = None,
                   region: str | None = None, time: datetime | None = None) -> str:
    """Put an AWS service event on the default bus, as the service would.

    Your own code cannot do this with ``put_events`` (sources beginning with
    ``aws.`` are refused); the emulation does not emit service events by itself,
    so the labs call this where AWS would have. Returns the event id.
    """
    from labkit import moto_seams, sandbox

    if not source.startswith("aws."):
        raise ValueError(f"service events have a source beginning with 'aws.', got {source!r}; use put_events")
    sandbox._mock()  # raises unless labkit.start() ran
    region = region or (sandbox._SANDBOX.region if sandbox._SANDBOX else sandbox.REGION)
    entry: dict[str, Any] = {"Source": source, "DetailType": detail_type, "Detail": json.dumps(detail),
                             "Resources": list(resources or [])}
    if time is not None:
        entry["Time"] = time.timestamp()
    return moto_seams.put_service_event(sandbox.ACCOUNT_ID, region, entry)


def ec2_state_change(instance_id: str, state: str, region: str | None = None) -> dict[str, Any]:
    """The arguments of :func:`emit_aws_event` for an ``EC2 Instance State-change
    Notification`` (the shape in the EC2 User Guide)."""
    from labkit import sandbox

    region = region or sandbox.REGION
    return {"source": "aws.ec2", "detail_type": "EC2 Instance State-change Notification",
            "detail": {"instance-id": instance_id, "state": state},
            "resources": [f"arn:aws:ec2:{region}:{sandbox.ACCOUNT_ID}:instance/{instance_id}"], "region": region}


def cloudtrail_api_call(service: str, event_name: str, request_parameters: dict[str, Any],
                        response_elements: dict[str, Any] | None = None, region: str | None = None,
                        user: str = "deployer") -> dict[str, Any]:
    """The arguments of :func:`emit_aws_event` for an ``AWS API Call via CloudTrail``
    event: how a write API call (Lambda's UpdateFunctionConfiguration, DynamoDB's
    UpdateTable, ...) reaches EventBridge. On AWS it needs a trail with logging on."""
    from labkit import sandbox

    region = region or sandbox.REGION
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    detail = {
        "eventVersion": "1.08",
        "userIdentity": {"type": "IAMUser", "accountId": sandbox.ACCOUNT_ID,
                         "arn": f"arn:aws:iam::{sandbox.ACCOUNT_ID}:user/{user}", "userName": user},
        "eventTime": now,
        "eventSource": f"{service}.amazonaws.com",
        "eventName": event_name,
        "awsRegion": region,
        "sourceIPAddress": "192.0.2.10",
        "requestParameters": request_parameters,
        "responseElements": response_elements,
        "eventID": str(uuid.uuid4()),
        "readOnly": False,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": sandbox.ACCOUNT_ID,
    }
    return {"source": f"aws.{service}", "detail_type": "AWS API Call via CloudTrail", "detail": detail,
            "resources": [], "region": region}


def fire_schedule(rule_name: str, region: str | None = None) -> dict[str, Any] | None:
    """Fire a scheduled rule now, as its schedule would, and return the event delivered.

    The event has AWS's scheduled-event shape (source ``aws.events``,
    detail-type ``Scheduled Event``, the rule's ARN in ``resources``). A disabled
    rule does not fire (returns None). Raises ``ValueError`` for a rule without a
    ``ScheduleExpression``.
    """
    from labkit import moto_seams, sandbox

    sandbox._mock()
    region = region or (sandbox._SANDBOX.region if sandbox._SANDBOX else sandbox.REGION)
    return moto_seams.fire_scheduled_rule(sandbox.ACCOUNT_ID, region, rule_name)
