"""Trails: which records a trail takes, and the log files it delivers to S3.

What AWS does
    A trail that is logging takes, from the Regions it covers (its home
    Region, or every Region for a multi-Region trail), the events its
    selectors ask for: with no selectors, every management event and no
    data event; with basic event selectors (``ReadWriteType``,
    ``IncludeManagementEvents``, ``DataResources`` of S3 objects, Lambda
    functions and DynamoDB tables, ``ExcludeManagementEventSources``); or
    with advanced event selectors (field selectors on ``eventCategory``,
    ``resources.type``, ``resources.ARN``, ``readOnly``, ``eventName``,
    ``eventSource``...). It delivers them, a few minutes later, as gzip JSON
    files (``{"Records": [...]}``) under
    ``[prefix/]AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/`` named
    ``<account>_CloudTrail_<region>_<YYYYMMDDTHHmmZ>_<16 characters>.json.gz``.
    ``CreateTrail`` refuses a bucket whose policy does not let
    ``cloudtrail.amazonaws.com`` write there
    (``InsufficientS3BucketPolicyException``).

What moto 5.2 does
    It stores trails, their status and selectors, and writes nothing;
    ``GetTrailStatus`` reports a delivery at every call.

What this module does instead
    :func:`offer` hands each recorded event to the logging trails that
    select it; each trail delivers its pending records
    :data:`DELIVERY_DELAY` seconds (sandbox clock) after the first of them,
    in CloudTrail's file format and key layout, through labkit's own S3
    client (so the delivery is not itself recorded). ``GetTrailStatus``
    reports the last real delivery and its error (:func:`trail_status`, a
    seam). :func:`check_bucket_policy` refuses a bucket CloudTrail could not
    write to.
"""

from __future__ import annotations

import fnmatch
import functools
import gzip
import json
import secrets
import string
import threading
import weakref
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from labkit.core import aws
from labkit.core.aws import ACCOUNT_ID
from labkit.core.clock import clock

__all__ = [
    "DELIVERY_DELAY",
    "check_bucket_policy",
    "covers",
    "deliver_now",
    "log_file_key",
    "mark_changed",
    "offer",
    "pending",
    "reset",
    "selects",
    "trail_status",
]

#: Seconds between an event and the delivery of the log file holding it (sandbox clock). AWS
#: delivers typically within an average of about 5 minutes of the call, without a guarantee.
DELIVERY_DELAY = 300.0

_ALPHABET = string.ascii_letters + string.digits


@dataclass
class _Delivery:
    trail: Any  # moto's Trail
    pending: list[dict[str, Any]] = field(default_factory=list)
    entry: Any = None  # the clock's scheduled delivery
    due: float = 0.0
    last_time: float | None = None
    last_error: str | None = None
    files: list[str] = field(default_factory=list)


_LOCK = threading.RLock()
_STATE: dict[str, _Delivery] = {}  # trail ARN -> delivery state
_BY_STATUS: weakref.WeakKeyDictionary[Any, _Delivery] = weakref.WeakKeyDictionary()
_LOGGING: list[Any] | None = None  # logging trails; None: read moto again


def mark_changed() -> None:
    """A trail was created, changed, started, stopped or deleted: read moto again."""
    global _LOGGING
    _LOGGING = None


def _all_trails() -> list[Any]:
    from moto.cloudtrail.models import cloudtrail_backends

    if ACCOUNT_ID not in cloudtrail_backends:
        return []
    return [t for backend in list(cloudtrail_backends[ACCOUNT_ID].values()) for t in backend.trails.values()]


def _logging_trails() -> list[Any]:
    global _LOGGING
    found = _LOGGING
    if found is None:
        with _LOCK:
            trails = _all_trails()
            for trail in trails:
                state = _STATE.get(trail.arn)
                if state is None or state.trail is not trail:
                    state = _STATE[trail.arn] = _Delivery(trail)
                _BY_STATUS[trail.status] = state
            found = _LOGGING = [t for t in trails if t.status.is_logging]
    return found


def covers(region: str) -> bool:
    """True if a logging trail covers ``region`` (EventBridge gets API calls only then)."""
    return any(t.is_multi_region or t.region_name == region for t in _logging_trails())


# --------------------------------------------------------------------------
# Selectors
# --------------------------------------------------------------------------


def _field_values(record: dict[str, Any], name: str) -> list[str]:
    if name == "resources.type":
        return [str(r.get("type", "")) for r in record.get("resources") or []]
    if name == "resources.ARN":
        return [str(r.get("ARN", "")) for r in record.get("resources") or []]
    if name == "readOnly":
        return [str(record.get("readOnly")).lower()]
    if name == "userIdentity.arn":
        return [str(record["userIdentity"].get("arn", ""))]
    value = record.get(name)
    return [] if value is None else [str(value)]


def _field_matches(record: dict[str, Any], selector: dict[str, Any]) -> bool:
    values = _field_values(record, str(selector.get("Field", "")))
    for value in values or [None]:
        if value is None:
            return not any(selector.get(op) for op in ("Equals", "StartsWith", "EndsWith"))
        ok = True
        if selector.get("Equals"):
            ok &= value in selector["Equals"]
        if selector.get("StartsWith"):
            ok &= any(value.startswith(p) for p in selector["StartsWith"])
        if selector.get("EndsWith"):
            ok &= any(value.endswith(p) for p in selector["EndsWith"])
        if selector.get("NotEquals"):
            ok &= value not in selector["NotEquals"]
        if selector.get("NotStartsWith"):
            ok &= not any(value.startswith(p) for p in selector["NotStartsWith"])
        if selector.get("NotEndsWith"):
            ok &= not any(value.endswith(p) for p in selector["NotEndsWith"])
        if ok:
            return True
    return False


def _data_resource_matches(record: dict[str, Any], resource: dict[str, Any]) -> bool:
    kind = resource.get("Type")
    arns = [str(r.get("ARN", "")) for r in record.get("resources") or [] if r.get("type") == kind]
    if not arns:
        return False
    for value in resource.get("Values") or []:
        value = str(value)
        if value in ("arn:aws:s3", "arn:aws:s3:::", "arn:aws:lambda", "arn:aws:dynamodb"):
            return True
        if kind == "AWS::S3::Object" and any(a.startswith(value) for a in arns):
            return True
        if any(a == value for a in arns):
            return True
    return False


def _basic_matches(record: dict[str, Any], selector: dict[str, Any]) -> bool:
    kind = selector.get("ReadWriteType", "All")
    if kind == "ReadOnly" and not record["readOnly"]:
        return False
    if kind == "WriteOnly" and record["readOnly"]:
        return False
    if record["managementEvent"]:
        if not selector.get("IncludeManagementEvents", True):
            return False
        return record["eventSource"] not in (selector.get("ExcludeManagementEventSources") or [])
    return any(_data_resource_matches(record, r) for r in selector.get("DataResources") or [])


def selects(trail: Any, record: dict[str, Any]) -> bool:
    """True if ``trail``'s selectors (or, without any, the default: all
    management events, no data events) take ``record``."""
    basic, advanced = trail.event_selectors, trail.advanced_event_selectors
    if basic:
        return any(_basic_matches(record, s) for s in basic)
    if advanced:
        return any(all(_field_matches(record, f) for f in s.get("FieldSelectors") or []) for s in advanced)
    return bool(record["managementEvent"])


# --------------------------------------------------------------------------
# Delivery
# --------------------------------------------------------------------------


def offer(record: dict[str, Any], region: str) -> bool:
    """Hand a record to every logging trail that covers its region and
    selects it; True if one did."""
    taken = False
    for trail in _logging_trails():
        if not (trail.is_multi_region or trail.region_name == region) or not selects(trail, record):
            continue
        taken = True
        with _LOCK:
            state = _STATE[trail.arn]
            state.pending.append(record)
            if state.entry is None:
                state.due = clock.peek() + DELIVERY_DELAY
                state.entry = clock.call_at(state.due, functools.partial(_deliver, trail.arn))
    return taken


def log_file_key(prefix: str | None, region: str, moment: float, unique: str | None = None) -> str:
    """Where CloudTrail puts a log file delivered at ``moment`` for events of ``region``."""
    when = datetime.fromtimestamp(moment, timezone.utc)
    unique = unique or "".join(secrets.choice(_ALPHABET) for _ in range(16))
    head = f"{prefix.rstrip('/')}/" if prefix else ""
    return (f"{head}AWSLogs/{ACCOUNT_ID}/CloudTrail/{region}/{when:%Y/%m/%d}/"
            f"{ACCOUNT_ID}_CloudTrail_{region}_{when:%Y%m%dT%H%MZ}_{unique}.json.gz")


def _deliver(arn: str) -> None:
    with _LOCK:
        state = _STATE.get(arn)
        if state is None:
            return
        records, state.pending, state.entry = state.pending, [], None
        moment = state.due
        trail = state.trail
    if not records or trail not in _all_trails():
        return
    by_region: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        by_region.setdefault(record["awsRegion"], []).append(record)
    from botocore.exceptions import ClientError

    s3 = aws.internal_client("s3", trail.region_name)
    for region, group in by_region.items():
        key = log_file_key(trail.s3_key_prefix, region, moment)
        body = gzip.compress(json.dumps({"Records": group}).encode())
        try:
            s3.put_object(Bucket=trail.bucket_name, Key=key, Body=body)
        except ClientError as error:
            state.last_error = error.response["Error"]["Code"]
            continue
        state.last_time, state.last_error = moment, None
        state.files.append(key)


def deliver_now(trail_name: str | None = None) -> list[str]:
    """Deliver the pending log files of one trail (or of all) at once, as if
    their delivery time had come; returns the keys written."""
    keys: list[str] = []
    _logging_trails()
    for arn, state in list(_STATE.items()):
        if trail_name not in (None, state.trail.trail_name, arn) or not state.pending:
            continue
        if state.entry is not None:
            clock.cancel(state.entry)
        before = len(state.files)
        state.due = clock.peek()
        _deliver(arn)
        keys.extend(state.files[before:])
    return keys


def pending(trail_name: str) -> int:
    """How many records a trail holds for its next log file."""
    _logging_trails()
    return sum(len(s.pending) for a, s in _STATE.items() if trail_name in (s.trail.trail_name, a))


def trail_status(original: Any, status: Any) -> dict[str, Any]:
    """GetTrailStatus: the last real delivery (and its error), not moto's
    "delivered just now" at every call."""
    answer = dict(original(status))
    state = _BY_STATUS.get(status)
    answer.pop("LatestDeliveryTime", None)
    answer["LatestDeliveryAttemptTime"] = answer["LatestDeliveryAttemptSucceeded"] = ""
    if state is not None and state.last_time is not None:
        stamp = datetime.fromtimestamp(state.last_time, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        answer["LatestDeliveryTime"] = int(state.last_time)
        answer["LatestDeliveryAttemptTime"] = answer["LatestDeliveryAttemptSucceeded"] = stamp
    if state is not None and state.last_error:
        answer["LatestDeliveryError"] = state.last_error
    return answer


# --------------------------------------------------------------------------
# The bucket policy CloudTrail needs
# --------------------------------------------------------------------------


def _allows(statement: dict[str, Any], action: str, resource: str) -> bool:
    if statement.get("Effect") != "Allow":
        return False
    principal = statement.get("Principal") or {}
    services = principal.get("Service") if isinstance(principal, dict) else None
    services = [services] if isinstance(services, str) else list(services or [])
    if principal != "*" and "cloudtrail.amazonaws.com" not in services:
        return False
    actions = statement.get("Action") or []
    actions = [actions] if isinstance(actions, str) else actions
    if not any(fnmatch.fnmatchcase(action.lower(), str(a).lower()) for a in actions):
        return False
    resources = statement.get("Resource") or []
    resources = [resources] if isinstance(resources, str) else resources
    return any(fnmatch.fnmatchcase(resource, str(r)) for r in resources)


def check_bucket_policy(bucket: str, prefix: str | None) -> str | None:
    """None if ``bucket``'s policy lets CloudTrail check the bucket ACL and write
    under ``[prefix/]AWSLogs/<account>/``; else AWS's error message. A bucket
    that does not exist is left to moto's own error."""
    from moto.s3.models import s3_backends

    try:
        found = s3_backends[ACCOUNT_ID]["aws"].get_bucket(bucket)
    except Exception:  # noqa: BLE001  (no such bucket: moto answers S3BucketDoesNotExistException)
        return None
    refused = f"Incorrect S3 bucket policy is detected for bucket: {bucket}"
    if not found.policy:
        return refused
    try:
        statements = json.loads(found.policy.decode()).get("Statement") or []
    except (ValueError, AttributeError):
        return refused
    statements = [statements] if isinstance(statements, dict) else statements
    head = f"{prefix.rstrip('/')}/" if prefix else ""
    target = f"arn:aws:s3:::{bucket}/{head}AWSLogs/{ACCOUNT_ID}/CloudTrail/us-east-1/file.json.gz"
    can_write = any(_allows(s, "s3:PutObject", target) for s in statements)
    can_check = any(_allows(s, "s3:GetBucketAcl", f"arn:aws:s3:::{bucket}") for s in statements)
    return None if can_write and can_check else refused


def reset() -> None:
    """Forget every trail's pending records and deliveries (``lab.reset()``)."""
    with _LOCK:
        _STATE.clear()
        _BY_STATUS.clear()
    mark_changed()
