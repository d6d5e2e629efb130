"""Standing in for AWS services and for the clock: service events and schedules.

AWS services (EC2, CloudTrail for API calls, ...) put their events on the
account's default bus by themselves, and a scheduled rule fires on its own
clock. The emulation does neither, and your own code cannot put events whose
``source`` begins with ``aws.``. The labs call these helpers where AWS would
have acted:

- :func:`emit_aws_event` puts an AWS-shaped service event on the default bus,
  with builders :func:`ec2_state_change` and :func:`cloudtrail_api_call`;
- :func:`fire_schedule` fires a scheduled rule now, with AWS's
  scheduled-event shape.

Event times come from the sandbox clock (``lab.clock``).
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from labkit.core import registry, sandbox
from labkit.core.aws import ACCOUNT_ID, iso_timestamp, make_arn

from .targets import fire_scheduled_rule, put_service_event

__all__ = ["cloudtrail_api_call", "ec2_state_change", "emit_aws_event", "fire_schedule"]


def _region(region: str | None) -> str:
    """The region asked for, else the sandbox's; raises unless labkit.start() ran.
    Also makes sure EventBridge's behaviour is installed (the delivery seams)."""
    if not sandbox.running():
        raise RuntimeError("The sandbox is not running: call labkit.start() first.")
    registry.ensure("eventbridge")
    return region or sandbox.current_region()


def emit_aws_event(source: str, detail_type: str, detail: dict[str, Any], resources: list[str] | None = None,
                   region: str | None = None, time: datetime | None = None) -> str:
    """Put an AWS service event on the default bus, as the service would.

    Your own code cannot do this with ``put_events`` (sources beginning with
    ``aws.`` are refused); the emulation does not emit service events by itself,
    so the labs call this where AWS would have. The event's time is ``time``, or
    now on the sandbox clock. Returns the event id.
    """
    if not source.startswith("aws."):
        raise ValueError(f"service events have a source beginning with 'aws.', got {source!r}; use put_events")
    region = _region(region)
    entry: dict[str, Any] = {"Source": source, "DetailType": detail_type, "Detail": json.dumps(detail),
                             "Resources": list(resources or [])}
    if time is not None:
        entry["Time"] = time.timestamp()
    return put_service_event(ACCOUNT_ID, region, entry)


def ec2_state_change(instance_id: str, state: str, region: str | None = None) -> dict[str, Any]:
    """The arguments of :func:`emit_aws_event` for an ``EC2 Instance State-change
    Notification`` (the shape in the EC2 User Guide)."""
    region = region or sandbox.current_region()
    return {"source": "aws.ec2", "detail_type": "EC2 Instance State-change Notification",
            "detail": {"instance-id": instance_id, "state": state},
            "resources": [make_arn("ec2", f"instance/{instance_id}", region)], "region": region}


def cloudtrail_api_call(service: str, event_name: str, request_parameters: dict[str, Any],
                        response_elements: dict[str, Any] | None = None, region: str | None = None,
                        user: str = "deployer") -> dict[str, Any]:
    """The arguments of :func:`emit_aws_event` for an ``AWS API Call via CloudTrail``
    event: how a write API call (Lambda's UpdateFunctionConfiguration, DynamoDB's
    UpdateTable, ...) reaches EventBridge. On AWS it needs a trail with logging on."""
    region = region or sandbox.current_region()
    detail = {
        "eventVersion": "1.08",
        "userIdentity": {"type": "IAMUser", "accountId": ACCOUNT_ID,
                         "arn": make_arn("iam", f"user/{user}", ""), "userName": user},
        "eventTime": iso_timestamp(millis=False),
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
        "recipientAccountId": ACCOUNT_ID,
    }
    return {"source": f"aws.{service}", "detail_type": "AWS API Call via CloudTrail", "detail": detail,
            "resources": [], "region": region}


def fire_schedule(rule_name: str, region: str | None = None) -> dict[str, Any] | None:
    """Fire a scheduled rule now, as its schedule would, and return the event delivered.

    The event has AWS's scheduled-event shape (source ``aws.events``,
    detail-type ``Scheduled Event``, the rule's ARN in ``resources``, the
    sandbox clock's time). A disabled rule does not fire (returns None). Raises
    ``ValueError`` for a rule without a ``ScheduleExpression``.
    """
    return fire_scheduled_rule(ACCOUNT_ID, _region(region), rule_name)
