"""FIFO topic deduplication, which the local emulation stores but does not perform.

What AWS does
    A FIFO topic (``FifoTopic=true``, name ending in ``.fifo``) drops a
    duplicate publish. Every message has a deduplication id: the
    ``MessageDeduplicationId`` the publisher sends or, when the topic has
    ``ContentBasedDeduplication`` turned on and the publisher sends none, a
    SHA-256 hash of the message body (not of its attributes). A message whose
    id was already published successfully within the 5-minute deduplication
    interval is *accepted*, with a normal success response, but is not
    delivered to any subscriber. The topic's ``FifoThroughputScope`` sets the
    scope: ``Topic`` (ids are compared across the whole topic) or
    ``MessageGroup`` (only within one message group). ``Publish`` and
    ``PublishBatch`` on a FIFO topic return a ``SequenceNumber`` with each
    ``MessageId``, and SNS passes the deduplication id on to subscribed SQS
    FIFO queues.

What moto does
    moto 5.2 stores ``FifoTopic`` and ``ContentBasedDeduplication`` and checks
    that a ``MessageGroupId`` (and an id, or content-based deduplication) is
    present, but it delivers every publish: a retried publish reaches every
    subscriber again. It does not compute the content-based id either, so a
    FIFO queue without content-based deduplication of its own refuses the
    delivery and ``Publish`` raises. It returns no ``SequenceNumber`` and does
    not store ``FifoThroughputScope``.

What this module adds
    Three botocore handlers on ``sns`` ``Publish`` and ``PublishBatch``, added to
    botocore's built-in handlers when the module is imported (so they apply to
    SNS clients created *after* ``import labkit.sns``):

    * ``before-parameter-build``: for a FIFO topic (its attributes are read
      with ``GetTopicAttributes``, so they are exactly what was stored through
      boto3), fill in the content-based id when the topic asks for one, and
      look the id up among the ids published in the last
      :data:`DEDUP_INTERVAL_SECONDS`. Duplicate entries of a batch are taken
      out of the request.
    * ``before-call``: a duplicate ``Publish`` (or a batch made only of
      duplicates) never reaches the emulation. The handler returns an HTTP 200
      response with the original message's ``MessageId`` and
      ``SequenceNumber``, the contract of ``BaseClient._make_api_call``: the
      first ``before-call`` handler that returns a ``(http_response, parsed)``
      tuple replaces the request.
    * ``after-call``: a successful publish records its id for the interval and
      gets an increasing ``SequenceNumber``; duplicates taken out of a batch
      are reported back as ``Successful``. ``DeleteTopic`` forgets the topic's ids.

Limits
    The ids live in this process, keyed by topic ARN; ``labkit.start(reset=True)``
    does not clear them (call :func:`forget`). Sequence numbers increase per
    topic but do not look like AWS's 128-bit numbers. Time is
    ``time.monotonic`` unless a test replaces :data:`clock`. The handlers do
    nothing for standard topics, and nothing to clients created before the
    import (make SNS clients after ``import labkit.sns``).
"""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError
from labkit import sandbox

__all__ = ["DEDUP_INTERVAL_SECONDS", "clock", "content_deduplication_id", "forget", "install", "installed",
           "remembered_ids"]

#: The deduplication interval of FIFO topics (and FIFO queues), in seconds.
DEDUP_INTERVAL_SECONDS = 300.0

#: The clock the interval is measured with; tests replace it to move time.
clock: Callable[[], float] = time.monotonic

_CONTEXT_KEY = "labkit_sns_dedup"


@dataclass(frozen=True)
class _Published:
    """A message id that was published: who it was, and until when it counts."""

    message_id: str
    sequence_number: str
    expires_at: float


@dataclass(frozen=True)
class _TopicConfig:
    fifo: bool
    content_based: bool
    per_group: bool  # FifoThroughputScope == "MessageGroup"


_LOCK = threading.RLock()
_SEEN: dict[str, dict[tuple[str | None, str], _Published]] = {}  # topic ARN -> (scope, id) -> published
_SEQUENCE: dict[str, int] = {}  # topic ARN -> last sequence number handed out
_CLIENTS: dict[str, Any] = {}  # region -> SNS client used to read topic attributes


def content_deduplication_id(message: str) -> str:
    """The id SNS derives from a message body under content-based deduplication."""
    return hashlib.sha256(message.encode("utf-8")).hexdigest()


def forget(topic_arn: str | None = None) -> None:
    """Forget the remembered ids of one topic, or of every topic."""
    with _LOCK:
        if topic_arn is None:
            _SEEN.clear()
            _SEQUENCE.clear()
        else:
            _SEEN.pop(topic_arn, None)
            _SEQUENCE.pop(topic_arn, None)


def remembered_ids(topic_arn: str) -> list[str]:
    """The deduplication ids that would drop a publish to this topic right now."""
    with _LOCK:
        _expire(topic_arn)
        return [dedup_id for (_, dedup_id) in _SEEN.get(topic_arn, {})]


# ---------------------------------------------------------------------------
# Reading the stored configuration
# ---------------------------------------------------------------------------


def _region_of(arn: str) -> str | None:
    parts = arn.split(":")
    return parts[3] if len(parts) >= 6 and parts[2] == "sns" else None


def _topic_config(topic_arn: str) -> _TopicConfig | None:
    """The topic's FIFO settings as stored through boto3; None if unknown."""
    region = _region_of(topic_arn)
    if region is None or not topic_arn.endswith(".fifo"):
        return None  # only FIFO topics' names end in .fifo
    client = _CLIENTS.get(region)
    if client is None:
        client = _CLIENTS[region] = boto3.session.Session().client("sns", region_name=region)
    try:
        attributes = client.get_topic_attributes(TopicArn=topic_arn)["Attributes"]
    except ClientError as error:
        if error.response["Error"]["Code"] in ("NotFound", "NotFoundException", "InvalidParameter"):
            return None  # the real call will report the problem
        raise
    return _TopicConfig(
        fifo=str(attributes.get("FifoTopic", "false")).lower() == "true",
        content_based=str(attributes.get("ContentBasedDeduplication", "false")).lower() == "true",
        per_group=attributes.get("FifoThroughputScope") == "MessageGroup",
    )


# ---------------------------------------------------------------------------
# The remembered ids
# ---------------------------------------------------------------------------


def _expire(topic_arn: str) -> None:
    seen = _SEEN.get(topic_arn)
    if not seen:
        return
    now = clock()
    for key in [k for k, v in seen.items() if v.expires_at <= now]:
        del seen[key]


def _lookup(topic_arn: str, key: tuple[str | None, str]) -> _Published | None:
    with _LOCK:
        _expire(topic_arn)
        return _SEEN.get(topic_arn, {}).get(key)


def _record(topic_arn: str, key: tuple[str | None, str], message_id: str) -> str:
    """Remember a successful publish; return its sequence number."""
    with _LOCK:
        number = _SEQUENCE.get(topic_arn, 10_000_000_000_000_000_000) + 1_000
        _SEQUENCE[topic_arn] = number
        sequence = str(number)
        _SEEN.setdefault(topic_arn, {})[key] = _Published(message_id, sequence, clock() + DEDUP_INTERVAL_SECONDS)
        return sequence


def _entry_key(config: _TopicConfig, entry: dict[str, Any]) -> tuple[str | None, str] | None:
    """Fill in a content-based id if the topic asks for one; the entry's key, or
    None when the entry lacks what a FIFO publish needs (moto reports it)."""
    if not entry.get("MessageGroupId"):
        return None
    dedup_id = entry.get("MessageDeduplicationId")
    if not dedup_id and config.content_based and isinstance(entry.get("Message"), str):
        dedup_id = entry["MessageDeduplicationId"] = content_deduplication_id(entry["Message"])
    if not dedup_id:
        return None
    return (entry["MessageGroupId"] if config.per_group else None, dedup_id)


# ---------------------------------------------------------------------------
# botocore handlers
# ---------------------------------------------------------------------------


def _before_parameter_build(params: dict[str, Any], context: dict[str, Any], model: Any = None,
                            **_: Any) -> None:
    operation = getattr(model, "name", "")
    topic_arn = params.get("TopicArn")
    if operation not in ("Publish", "PublishBatch") or not isinstance(topic_arn, str):
        return
    config = _topic_config(topic_arn)
    if config is None or not config.fifo:
        return
    if operation == "Publish":
        key = _entry_key(config, params)
        if key is not None:
            context[_CONTEXT_KEY] = {"topic": topic_arn, "key": key, "duplicate_of": _lookup(topic_arn, key)}
        return
    entries = params.get("PublishBatchRequestEntries")
    if not isinstance(entries, list):
        return
    kept, keys, duplicates, in_batch = [], {}, [], {}
    for entry in entries:
        key = _entry_key(config, entry) if isinstance(entry, dict) else None
        if key is None:
            kept.append(entry)
            continue
        earlier = _lookup(topic_arn, key)
        if earlier is not None:
            duplicates.append({"Id": entry.get("Id"), "MessageId": earlier.message_id,
                               "SequenceNumber": earlier.sequence_number})
        elif key in in_batch:  # the same id twice in one batch: the first one counts
            duplicates.append({"Id": entry.get("Id"), "same_as": in_batch[key]})
        else:
            in_batch[key] = entry.get("Id")
            keys[entry.get("Id")] = key
            kept.append(entry)
    if duplicates:
        params["PublishBatchRequestEntries"] = kept
    context[_CONTEXT_KEY] = {"topic": topic_arn, "keys": keys, "duplicates": duplicates, "empty": not kept}


def _ok(parsed: dict[str, Any]) -> tuple[AWSResponse, dict[str, Any]]:
    request_id = str(uuid.uuid4())
    headers = {"x-amzn-requestid": request_id, "content-type": "text/xml"}
    parsed["ResponseMetadata"] = {"RequestId": request_id, "HTTPStatusCode": 200, "HTTPHeaders": headers,
                                  "RetryAttempts": 0}
    return AWSResponse("https://sns.amazonaws.com/", 200, headers, None), parsed


def _before_call(context: dict[str, Any], model: Any = None, **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
    info = context.get(_CONTEXT_KEY)
    if not info:
        return None
    if getattr(model, "name", "") == "Publish" and info.get("duplicate_of") is not None:
        earlier: _Published = info["duplicate_of"]
        return _ok({"MessageId": earlier.message_id, "SequenceNumber": earlier.sequence_number})
    if getattr(model, "name", "") == "PublishBatch" and info.get("empty"):
        successful = [{k: v for k, v in d.items() if k != "same_as"} for d in info["duplicates"]]
        return _ok({"Successful": successful, "Failed": []})
    return None


def _after_call(http_response: Any, parsed: dict[str, Any], context: dict[str, Any], model: Any = None,
                **_: Any) -> None:
    info = context.get(_CONTEXT_KEY)
    operation = getattr(model, "name", "")
    if operation == "DeleteTopic":
        return
    if not info or info.get("duplicate_of") is not None or info.get("empty"):
        return  # nothing to record: our own response stood in for the call
    if getattr(http_response, "status_code", 500) >= 300:
        return  # the publish failed: its id does not count
    topic_arn = info["topic"]
    if operation == "Publish" and "MessageId" in parsed:
        parsed["SequenceNumber"] = _record(topic_arn, info["key"], parsed["MessageId"])
    elif operation == "PublishBatch":
        published = {}
        for entry in parsed.get("Successful", []):
            key = info["keys"].get(entry.get("Id"))
            if key is not None:
                entry["SequenceNumber"] = _record(topic_arn, key, entry["MessageId"])
                published[entry["Id"]] = entry
        for duplicate in info["duplicates"]:
            if "same_as" in duplicate:
                first = published.get(duplicate["same_as"])
                if first is None:
                    continue  # the first copy failed, so this one would have been tried alone
                duplicate = {"Id": duplicate["Id"], "MessageId": first["MessageId"],
                             "SequenceNumber": first["SequenceNumber"]}
            parsed.setdefault("Successful", []).append(duplicate)


def _after_delete_topic(http_response: Any, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
    topic_arn = context.get("labkit_sns_deleted")
    if topic_arn and getattr(http_response, "status_code", 500) < 300:
        forget(topic_arn)


def _remember_deleted(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
    if isinstance(params.get("TopicArn"), str):
        context["labkit_sns_deleted"] = params["TopicArn"]


_HANDLERS = (
    ("before-parameter-build.sns.Publish", _before_parameter_build),
    ("before-parameter-build.sns.PublishBatch", _before_parameter_build),
    ("before-call.sns.Publish", _before_call),
    ("before-call.sns.PublishBatch", _before_call),
    ("after-call.sns.Publish", _after_call),
    ("after-call.sns.PublishBatch", _after_call),
    ("before-parameter-build.sns.DeleteTopic", _remember_deleted),
    ("after-call.sns.DeleteTopic", _after_delete_topic),
)
def install() -> None:
    """Register the handlers for every botocore client made from now on. Idempotent."""
    sandbox.register_handlers(_HANDLERS)


def installed() -> bool:
    """True when the handlers are registered."""
    return sandbox.handlers_registered(_HANDLERS)


install()
