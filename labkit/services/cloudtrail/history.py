"""Event history: the last 90 days of management events, and ``LookupEvents``.

What AWS does
    Every account has an Event history per Region, with no set-up: the
    management events of the last 90 days (never data events).
    ``LookupEvents`` searches it with at most one lookup attribute
    (``EventId``, ``EventName``, ``EventSource``, ``ReadOnly``,
    ``ResourceName``, ``ResourceType``, ``Username``, ``AccessKeyId``), a
    ``StartTime``/``EndTime`` window, and pages of at most 50 events, newest
    first. Each event carries the full record as the ``CloudTrailEvent``
    JSON string, and the resources it named.

What moto 5.2 does
    ``LookupEvents`` raises ``NotImplementedError``: moto records nothing.

What this module does instead
    :func:`add` keeps every recorded management event (the recorder calls
    it); :func:`answer` is the ``LookupEvents`` API, answered from them, with
    AWS's errors for an unknown attribute, a reversed window, a bad page
    size or token. Times are the sandbox clock's (``lab.clock``), so an event
    older than 90 days after ``lab.clock.advance(...)`` is gone, as on AWS.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from datetime import datetime, timezone
from typing import Any

from labkit.core.aws import epoch_of
from labkit.core.clock import clock

from .records import Recorded

__all__ = ["LOOKUP_ATTRIBUTES", "MAX_RESULTS", "RETENTION_DAYS", "LookupRefused", "add", "events", "lookup", "reset"]

#: How long Event history keeps a management event.
RETENTION_DAYS = 90
#: The largest (and default) page of LookupEvents.
MAX_RESULTS = 50
#: The lookup attributes LookupEvents accepts for management events.
LOOKUP_ATTRIBUTES = ("EventId", "EventName", "EventSource", "ReadOnly", "ResourceName", "ResourceType",
                     "Username", "AccessKeyId")

_LOCK = threading.Lock()
_EVENTS: list[Recorded] = []  # oldest first


class LookupRefused(Exception):
    """An AWS error answer: code, message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def add(event: Recorded) -> None:
    """Keep a management event in Event history."""
    with _LOCK:
        _EVENTS.append(event)


def events(region: str | None = None) -> list[Recorded]:
    """The events kept (oldest first), of one region or all, within the 90 days."""
    horizon = clock.now() - RETENTION_DAYS * 86400
    with _LOCK:
        if _EVENTS and _EVENTS[0].epoch < horizon:
            _EVENTS[:] = [e for e in _EVENTS if e.epoch >= horizon]
        kept = list(_EVENTS)
    return [e for e in kept if region is None or e.region == region]


def reset() -> None:
    with _LOCK:
        _EVENTS.clear()


def _matches(event: Recorded, key: str, value: str) -> bool:
    record = event.record
    if key == "EventId":
        return bool(record["eventID"] == value)
    if key == "EventName":
        return bool(record["eventName"] == value)
    if key == "EventSource":
        return bool(record["eventSource"] == value)
    if key == "ReadOnly":
        return str(record["readOnly"]).lower() == value.lower()
    if key == "Username":
        return event.username == value
    if key == "AccessKeyId":
        return event.access_key == value
    if key == "ResourceName":
        return any(name == value for _, name in event.resources)
    if key == "ResourceType":
        return any(kind == value for kind, _ in event.resources)
    return False


def _fingerprint(params: dict[str, Any]) -> str:
    shown = {k: params.get(k) for k in ("LookupAttributes", "StartTime", "EndTime", "EventCategory")}
    return hashlib.sha256(json.dumps(shown, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _token(seq: int, fingerprint: str) -> str:
    return base64.urlsafe_b64encode(f"{seq}:{fingerprint}".encode()).decode()


def _untoken(token: str, fingerprint: str) -> int:
    try:
        seq, found = base64.urlsafe_b64decode(token.encode()).decode().split(":", 1)
        if found != fingerprint:
            raise ValueError
        return int(seq)
    except (ValueError, UnicodeDecodeError):
        raise LookupRefused("InvalidNextTokenException",
                           "Invalid NextToken: it must come from a previous call with the same parameters.") from None


def _summary(event: Recorded) -> dict[str, Any]:
    record = event.record
    out: dict[str, Any] = {
        "EventId": record["eventID"],
        "EventName": record["eventName"],
        "ReadOnly": "true" if record["readOnly"] else "false",
        "EventTime": datetime.fromtimestamp(int(event.epoch), timezone.utc),
        "EventSource": record["eventSource"],
        "Username": event.username,
        "Resources": [{"ResourceType": kind, "ResourceName": name} for kind, name in event.resources],
        "CloudTrailEvent": json.dumps(record),
    }
    if event.access_key:
        out["AccessKeyId"] = event.access_key
    return out


def lookup(params: dict[str, Any], region: str) -> dict[str, Any]:
    """The LookupEvents answer for ``params`` in ``region`` (raises :class:`LookupRefused`)."""
    attributes = params.get("LookupAttributes") or []
    if len(attributes) > 1:
        raise LookupRefused("InvalidLookupAttributesException",
                           "You can specify only one lookup attribute.")
    key = value = None
    if attributes:
        key = str(attributes[0].get("AttributeKey", ""))
        value = str(attributes[0].get("AttributeValue", ""))
        if key not in LOOKUP_ATTRIBUTES:
            raise LookupRefused("InvalidLookupAttributesException",
                               f"Lookup attribute key {key!r} is not valid; the keys are {', '.join(LOOKUP_ATTRIBUTES)}.")
        if not value:
            raise LookupRefused("InvalidLookupAttributesException",
                               "A lookup attribute needs an AttributeValue.")
    start = epoch_of(params["StartTime"]) if params.get("StartTime") is not None else None
    end = epoch_of(params["EndTime"]) if params.get("EndTime") is not None else None
    if start is not None and end is not None and start > end:
        raise LookupRefused("InvalidTimeRangeException", "StartTime must be before or equal to EndTime.")
    size = params.get("MaxResults", MAX_RESULTS)
    if not isinstance(size, int) or not 1 <= size <= MAX_RESULTS:
        raise LookupRefused("InvalidMaxResultsException", f"MaxResults must be between 1 and {MAX_RESULTS}.")
    category = params.get("EventCategory")
    if category not in (None, "insight"):
        raise LookupRefused("InvalidEventCategoryException", f"EventCategory {category!r} is not valid.")
    fingerprint = _fingerprint(params)
    before = _untoken(params["NextToken"], fingerprint) if params.get("NextToken") else None
    page: list[Recorded] = []
    more = False
    if category != "insight":  # the sandbox has no Insights events
        for event in reversed(events(region)):
            if before is not None and event.seq >= before:
                continue
            # LookupEvents windows are whole seconds, as EventTime is
            if start is not None and int(event.epoch) < int(start):
                continue
            if end is not None and int(event.epoch) > int(end):
                continue
            if key is not None and not _matches(event, key, str(value)):
                continue
            if len(page) == size:
                more = True
                break
            page.append(event)
    answer: dict[str, Any] = {"Events": [_summary(e) for e in page]}
    if more:
        answer["NextToken"] = _token(page[-1].seq, fingerprint)
    return answer
