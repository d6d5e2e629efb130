"""The recorder: every call the learner's code makes becomes a CloudTrail record.

It listens to the ``after`` stage of every botocore call that labkit did not
make itself (``internal=False``), builds the record (:mod:`.records`, with
the identity of :mod:`.identity`), and

1. keeps a management event in Event history (:mod:`.history`);
2. offers it to the logging trails, which deliver it to S3 if their
   selectors take it (:mod:`.trails`);
3. puts a write event on the default EventBridge bus as
   ``AWS API Call via CloudTrail`` (source ``aws.<service>``, the record as
   ``detail``), as AWS does when a trail with logging on records it: a
   management event when a logging trail covers its Region, a data event
   when a trail took it. Read-only events are not sent (on AWS they reach
   only rules opted in to read-only management events).

``LookupEvents`` is answered from Event history at the ``before`` stage
(moto has no such action). ``CreateTrail`` and ``UpdateTrail`` are refused
when CloudTrail could not write to the bucket.
"""

from __future__ import annotations

import itertools
import threading
from datetime import datetime, timezone
from typing import Any

from labkit.core import hooks
from labkit.core.clock import clock

from . import history, identity, records, trails

__all__ = ["install", "record_call", "recorded", "reset", "uninstall"]

_SEQ = itertools.count(1)
_LOCK = threading.Lock()
_DATA: list[records.Recorded] = []  # data events (never in Event history): kept for the helpers and tests
_DATA_LIMIT = 10_000
_TRAIL_READS = ("Get", "List", "Describe", "Lookup")


def _eventbridge_source(record: dict[str, Any]) -> str:
    prefix = record["eventSource"].split(".", 1)[0]
    return "aws.cloudwatch" if prefix == "monitoring" else f"aws.{prefix}"


def _to_eventbridge(record: dict[str, Any], epoch: float) -> None:
    from labkit.services import eventbridge

    eventbridge.emit_aws_event(_eventbridge_source(record), "AWS API Call via CloudTrail", record,
                               region=record["awsRegion"], time=datetime.fromtimestamp(epoch, timezone.utc))


def record_call(call: hooks.Call, parsed: dict[str, Any], status: int) -> records.Recorded:
    """Record one call (the ``after`` hook); returns what was recorded."""
    epoch = clock.now()
    who = identity.identity_of(call.access_key)
    record = records.make_record(service=call.service, operation=call.operation, region=call.region,
                                 params=call.params, parsed=parsed, status=status, identity=who,
                                 user_agent=call.user_agent, epoch=epoch)
    resources = records.resources_of(call.service, call.params)
    event = records.Recorded(record, epoch, record["awsRegion"], identity.username_of(who), resources, next(_SEQ))
    if event.management:
        history.add(event)
    else:
        with _LOCK:
            _DATA.append(event)
            if len(_DATA) > _DATA_LIMIT:
                del _DATA[: len(_DATA) - _DATA_LIMIT]
    taken = trails.offer(record, event.region)
    if not event.read_only and (taken if not event.management else trails.covers(event.region)):
        _to_eventbridge(record, epoch)
    if call.service == "sts" and status < 300 and call.operation.startswith("AssumeRole"):
        key = ((parsed.get("Credentials") or {}).get("AccessKeyId"))
        if key:
            identity.note_session(str(key), epoch)
    return event


def _after(call: hooks.Call, parsed: dict[str, Any], status: int) -> None:
    record_call(call, parsed or {}, status)


def _lookup(call: hooks.Call) -> tuple[int, dict[str, Any]]:
    try:
        answer = history.lookup(call.params, call.region)
    except history.LookupRefused as refused:
        return hooks.error_answer(refused.code, refused.message)
    answer["ResponseMetadata"] = {"HTTPStatusCode": 200, "RequestId": f"labkit-{next(_SEQ)}"}
    return 200, answer


def _trail_bucket(call: hooks.Call) -> tuple[int, dict[str, Any]] | None:
    params = call.params
    bucket, prefix = params.get("S3BucketName"), params.get("S3KeyPrefix")
    if call.operation == "UpdateTrail":
        if bucket is None and prefix is None:
            return None
        trail = next((t for t in trails._all_trails()
                      if params.get("Name") in (t.trail_name, t.arn)), None)
        if trail is None:
            return None
        bucket = bucket or trail.bucket_name
        prefix = prefix if prefix is not None else trail.s3_key_prefix
    if not bucket:
        return None
    refused = trails.check_bucket_policy(str(bucket), prefix)
    return hooks.error_answer("InsufficientS3BucketPolicyException", refused) if refused else None


def _trail_changed(call: hooks.Call, parsed: dict[str, Any], status: int) -> None:
    if not call.operation.startswith(_TRAIL_READS):
        trails.mark_changed()


def install() -> None:
    """Subscribe the recorder to every call, and the CloudTrail API handlers. The
    registry installs this service before the sandbox's first call of any service
    (``every_call`` in the catalogue), as Event history records with no set-up."""
    hooks.subscribe("after", "cloudtrail", "*", _trail_changed)  # first: a trail just started takes the call
    hooks.subscribe("before", "cloudtrail", "LookupEvents", _lookup)
    hooks.subscribe("before", "cloudtrail", "CreateTrail", _trail_bucket)
    hooks.subscribe("before", "cloudtrail", "UpdateTrail", _trail_bucket)
    hooks.subscribe("after", "*", "*", _after, internal=False)  # every call of every service


def uninstall() -> None:
    """Stop recording (for benchmarks and tests)."""
    hooks.unsubscribe(_after)


def recorded(region: str | None = None, *, data: bool = False) -> list[dict[str, Any]]:
    """The records kept, oldest first: Event history's management events of the
    last 90 days (of ``region``, or all), or with ``data=True`` the data events."""
    if data:
        with _LOCK:
            kept = list(_DATA)
        return [e.record for e in kept if region is None or e.region == region]
    return [e.record for e in history.events(region)]


def reset() -> None:
    with _LOCK:
        _DATA.clear()
    history.reset()
    identity.reset()
    trails.reset()
