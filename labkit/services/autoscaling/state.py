"""What the Auto Scaling plane remembers beside moto: activities, instance times, cooldowns."""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from labkit.core import aws
from labkit.core.clock import clock

LOCK = threading.RLock()


@dataclass
class GroupNotes:
    """Per group: its activities (newest first), what caused the next change, when it last scaled."""

    activities: list[dict[str, Any]] = field(default_factory=list)
    cause: str = ""  # "At ... a user request ... changing the desired capacity from 1 to 2.  " (consumed by the next change)
    last_scaling: float = float("-inf")
    last_failed_launch: float = float("-inf")


NOTES: dict[str, GroupNotes] = {}
IN_SERVICE_AT: dict[str, float] = {}  # instance id -> sandbox time it entered InService


def account() -> str:
    from labkit.core import sandbox

    return sandbox.current().account_id if sandbox.running() else aws.ACCOUNT_ID


def backend(region: str | None = None) -> Any:
    from moto.autoscaling.models import autoscaling_backends

    return autoscaling_backends[account()][region or aws.default_region()]


def backends() -> list[Any]:
    from moto.autoscaling.models import autoscaling_backends

    regions = autoscaling_backends.get(account(), {})
    return [regions[name] for name in list(regions.keys())]


def group(name: str, region: str | None = None) -> Any | None:
    return backend(region).autoscaling_groups.get(name)


def notes(name: str) -> GroupNotes:
    with LOCK:
        return NOTES.setdefault(name, GroupNotes())


def stamp(epoch: float | None = None) -> str:
    """The moment in a cause: ``2026-11-30T09:00:00Z``."""
    return aws.iso_timestamp(clock.peek() if epoch is None else epoch, millis=False)


def record(grp: Any, description: str, cause: str, *, status: str = "Successful", message: str | None = None,
           details: dict[str, str] | None = None) -> dict[str, Any]:
    """Add one activity to a group's history, in DescribeScalingActivities' shape."""
    now = clock.peek()
    moment = datetime.fromtimestamp(now, timezone.utc)
    activity: dict[str, Any] = {
        "ActivityId": str(uuid.uuid4()),
        "AutoScalingGroupName": grp.name,
        "AutoScalingGroupARN": grp.arn,
        "Description": description,
        "Cause": cause,
        "StartTime": moment,
        "EndTime": moment,
        "StatusCode": status,
        "Progress": 100,
        "Details": json.dumps(details or {}),
    }
    if message:
        activity["StatusMessage"] = message
    with LOCK:
        notes(grp.name).activities.insert(0, activity)
    return activity


def reset() -> None:
    with LOCK:
        NOTES.clear()
        IN_SERVICE_AT.clear()
