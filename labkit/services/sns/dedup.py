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
    Three subscribers of labkit's hook dispatcher (:mod:`labkit.core.hooks`)
    on ``Publish`` and ``PublishBatch``:

    * ``params``: for a FIFO topic (its attributes are read with
      ``GetTopicAttributes``, so they are exactly what was stored through
      boto3), fill in the content-based id when the topic asks for one, and
      look the id up among the ids published in the last
      :data:`DEDUP_INTERVAL_SECONDS`. Duplicate entries of a batch are taken
      out of the request.
    * ``before``: a duplicate ``Publish`` (or a batch made only of duplicates)
      never reaches the emulation; it is answered with the original message's
      ``MessageId`` and ``SequenceNumber``.
    * ``after``: a successful publish records its id for the interval and gets
      an increasing ``SequenceNumber``; duplicates taken out of a batch are
      reported back as ``Successful``. ``DeleteTopic`` forgets the topic's ids.

Time
    The interval is measured on the sandbox clock: ``lab.clock.advance(300)``
    ends it at once. (A subscribed SQS FIFO queue deduplicates on its own, in
    moto, on real time.)

Limits
    The ids live in this process, keyed by topic ARN, until ``lab.reset()``.
    Sequence numbers increase per topic but do not look like AWS's 128-bit
    numbers. Standard topics are left alone.
"""

from __future__ import annotations

import hashlib
import threading
import uuid
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from labkit.core import hooks
from labkit.core.aws import internal_client, parse_arn
from labkit.core.clock import clock

__all__ = ["DEDUP_INTERVAL_SECONDS", "TopicConfig", "content_deduplication_id", "entry_key", "forget",
           "remembered_ids", "subscribe", "topic_config"]

#: The deduplication interval of FIFO topics (and FIFO queues), in seconds.
DEDUP_INTERVAL_SECONDS = 300.0


@dataclass(frozen=True)
class _Published:
    """A message id that was published: who it was, and until when it counts."""

    message_id: str
    sequence_number: str
    expires_at: float  # sandbox time (epoch seconds)


@dataclass(frozen=True)
class TopicConfig:
    """A topic's FIFO settings, as stored through boto3."""

    fifo: bool
    content_based: bool
    per_group: bool  # FifoThroughputScope == "MessageGroup"


Key = tuple[str | None, str]  # (message group, or None for the whole topic; deduplication id)

_LOCK = threading.RLock()
_SEEN: dict[str, dict[Key, _Published]] = {}  # topic ARN -> key -> published
_SEQUENCE: dict[str, int] = {}  # topic ARN -> last sequence number handed out


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


def topic_config(topic_arn: str) -> TopicConfig | None:
    """The topic's FIFO settings as stored through boto3; None if it is not a
    FIFO topic's ARN or the topic is unknown (the real call reports that)."""
    try:
        arn = parse_arn(topic_arn)
    except ValueError:
        return None
    if arn.service != "sns" or not topic_arn.endswith(".fifo"):
        return None  # only FIFO topics' names end in .fifo
    try:
        attributes = internal_client("sns", arn.region).get_topic_attributes(TopicArn=topic_arn)["Attributes"]
    except ClientError as error:
        if error.response["Error"]["Code"] in ("NotFound", "NotFoundException", "InvalidParameter"):
            return None
        raise
    return TopicConfig(
        fifo=str(attributes.get("FifoTopic", "false")).lower() == "true",
        content_based=str(attributes.get("ContentBasedDeduplication", "false")).lower() == "true",
        per_group=attributes.get("FifoThroughputScope") == "MessageGroup",
    )


def entry_key(config: TopicConfig, entry: dict[str, Any]) -> Key | None:
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
# The remembered ids
# ---------------------------------------------------------------------------


def _expire(topic_arn: str) -> None:
    seen = _SEEN.get(topic_arn)
    if not seen:
        return
    now = clock.now()
    for key in [k for k, v in seen.items() if v.expires_at <= now]:
        del seen[key]


def _lookup(topic_arn: str, key: Key) -> _Published | None:
    with _LOCK:
        _expire(topic_arn)
        return _SEEN.get(topic_arn, {}).get(key)


def _record(topic_arn: str, key: Key, message_id: str) -> str:
    """Remember a successful publish; return its sequence number."""
    with _LOCK:
        number = _SEQUENCE.get(topic_arn, 10_000_000_000_000_000_000) + 1_000
        _SEQUENCE[topic_arn] = number
        sequence = str(number)
        _SEEN.setdefault(topic_arn, {})[key] = _Published(message_id, sequence,
                                                          clock.now() + DEDUP_INTERVAL_SECONDS)
        return sequence


# ---------------------------------------------------------------------------
# Hook subscribers
# ---------------------------------------------------------------------------


def _on_params(call: hooks.Call, params: dict[str, Any]) -> None:
    """Before the request is built: content-based ids, and which entries are duplicates."""
    topic_arn = params.get("TopicArn")
    if not isinstance(topic_arn, str):
        return
    config = topic_config(topic_arn)
    if config is None or not config.fifo:
        return
    if call.operation == "Publish":
        key = entry_key(config, params)
        if key is not None:
            call.state["dedup"] = {"topic": topic_arn, "key": key, "duplicate_of": _lookup(topic_arn, key)}
        return
    entries = params.get("PublishBatchRequestEntries")
    if not isinstance(entries, list):
        return
    kept: list[Any] = []
    keys: dict[Any, Key] = {}
    duplicates: list[dict[str, Any]] = []
    in_batch: dict[Key, Any] = {}
    for entry in entries:
        key = entry_key(config, entry) if isinstance(entry, dict) else None
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
    call.state["dedup"] = {"topic": topic_arn, "keys": keys, "duplicates": duplicates, "empty": not kept}


def _success(parsed: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """An HTTP 200 answer with AWS's response metadata."""
    request_id = str(uuid.uuid4())
    headers = {"x-amzn-requestid": request_id, "content-type": "text/xml"}
    parsed["ResponseMetadata"] = {"RequestId": request_id, "HTTPStatusCode": 200, "HTTPHeaders": headers,
                                  "RetryAttempts": 0}
    return 200, parsed


def _before(call: hooks.Call) -> tuple[int, dict[str, Any]] | None:
    """A duplicate never reaches the emulation: answer as AWS does, with the first copy's ids."""
    info = call.state.get("dedup")
    if not info:
        return None
    if call.operation == "Publish" and info.get("duplicate_of") is not None:
        earlier: _Published = info["duplicate_of"]
        return _success({"MessageId": earlier.message_id, "SequenceNumber": earlier.sequence_number})
    if call.operation == "PublishBatch" and info.get("empty"):
        successful = [{k: v for k, v in d.items() if k != "same_as"} for d in info["duplicates"]]
        return _success({"Successful": successful, "Failed": []})
    return None


def _after(call: hooks.Call, parsed: dict[str, Any], status: int) -> None:
    """Record what was published; report a batch's duplicates as successful."""
    info = call.state.get("dedup")
    if not info or info.get("duplicate_of") is not None or info.get("empty"):
        return  # nothing to record: our own answer stood in for the call
    if status >= 300:
        return  # the publish failed: its id does not count
    topic_arn = info["topic"]
    if call.operation == "Publish" and "MessageId" in parsed:
        parsed["SequenceNumber"] = _record(topic_arn, info["key"], parsed["MessageId"])
    elif call.operation == "PublishBatch":
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


def _after_delete_topic(call: hooks.Call, parsed: dict[str, Any], status: int) -> None:
    topic_arn = call.params.get("TopicArn")
    if isinstance(topic_arn, str) and status < 300:
        forget(topic_arn)


def subscribe() -> None:
    """Subscribe the deduplication to SNS calls (idempotent)."""
    for operation in ("Publish", "PublishBatch"):
        hooks.subscribe("params", "sns", operation, _on_params)
        hooks.subscribe("before", "sns", operation, _before)
        hooks.subscribe("after", "sns", operation, _after)
    hooks.subscribe("after", "sns", "DeleteTopic", _after_delete_topic)
