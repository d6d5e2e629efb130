"""DynamoDB behaviours that the local emulation stores but does not perform.

moto emulates DynamoDB's tables, keys, indexes, queries, conditions,
transactions and streams faithfully. Three things a learner must see are
missing, and this module supplies them, always driven by what the learner
configured through boto3:

**Time to live.** On AWS, once TTL is enabled on a table, a background process
deletes items whose TTL attribute (a Number holding epoch seconds) is in the
past, typically within a few days of expiry; until then they still show up in
reads. moto stores the TTL setting and never deletes anything.
:func:`sweep_expired` is that background process run on demand: it reads the
table's real TTL attribute name from ``DescribeTimeToLive`` and deletes each
expired item, with a condition so that an item whose expiry was pushed into
the future meanwhile survives. Nothing runs on a timer: a lab calls it when it
wants "the background process" to have passed.

**Streams.** moto records stream events, but botocore 1.44 sends
``DescribeStream``, ``GetShardIterator`` and ``GetRecords`` to an
account-prefixed host (``<account>.streams-ddb.<region>...``) that moto does
not answer. :func:`streams_client` returns a ``dynamodbstreams`` client pinned
to the regional endpoint ``streams.dynamodb.<region>.amazonaws.com`` (a real
AWS endpoint too), which moto does answer.

**Throttling.** AWS refuses a request to a provisioned-capacity table that
would exceed its read or write capacity, with the error code
``ProvisionedThroughputExceededException``; moto never throttles.
:func:`simulate_throttling` opts one table in to a simulation:

- one token bucket for reads and one for writes per table, refilled
  continuously at the table's *current* ``ReadCapacityUnits`` and
  ``WriteCapacityUnits`` (read from ``DescribeTable`` on every request, so an
  ``UpdateTable`` takes effect at once), holding at most one second of
  capacity, or ``burst_seconds`` of it if you ask for burst capacity;
- a request costs what AWS documents: writes 1 unit per started 1 KB of the
  larger of the old and new item (``PutItem``, ``UpdateItem``) or of the
  deleted item (``DeleteItem``); ``GetItem`` 1 unit per started 4 KB, half of
  that when eventually consistent; ``Query`` and ``Scan`` the summed size of
  the items read, rounded up to 4 KB once; item sizes follow AWS's sizing
  rules (:func:`item_size`);
- a request whose cost the bucket cannot pay is refused before it reaches the
  table, as a ``ClientError`` of the real error class
  (``client.exceptions.ProvisionedThroughputExceededException``); tables in
  on-demand mode are never throttled.

What it does not model: per-partition limits and hot keys, adaptive capacity,
on-demand tables' own limits, global secondary index capacity, batch and
transaction requests (they pass unthrottled), and the SDK's automatic retries
(boto3 retries a throttled request itself on AWS; the simulation raises on
the first refusal so that you see every one). Time is the wall clock, or a
:class:`ManualClock` you advance yourself, so that a minute of traffic can be
replayed in a fraction of a second.

The throttle is a botocore ``before-call``/``after-call`` handler added to
botocore's built-in handlers when this module is imported: it applies to
DynamoDB clients created *after* ``import labkit.dynamodb``. It does nothing
for tables that were not opted in.
"""

from __future__ import annotations

import base64
import json
import math
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import boto3
import botocore.client
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError
from labkit import sandbox

#: The region labs use (same as :data:`labkit.sandbox.REGION`).
REGION = "us-east-1"
#: Error code AWS returns when a provisioned table cannot serve a request.
THROTTLE_CODE = "ProvisionedThroughputExceededException"

KB = 1024
WRITE_UNIT_BYTES = 1 * KB
READ_UNIT_BYTES = 4 * KB


# ---------------------------------------------------------------------------
# Item sizes and capacity units (AWS: "DynamoDB item sizes and formats")
# ---------------------------------------------------------------------------

def _number_size(text: str) -> int:
    digits = text.lstrip("+-").replace(".", "").split("e")[0].split("E")[0]
    significant = digits.strip("0") or "0"
    return math.ceil(len(significant) / 2) + 1


def _value_size(value: dict[str, Any]) -> int:
    (kind, data), = value.items()
    if kind == "S":
        return len(data.encode("utf-8"))
    if kind == "N":
        return _number_size(str(data))
    if kind == "B":
        return len(data if isinstance(data, (bytes, bytearray)) else base64.b64decode(data))
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(s.encode("utf-8")) for s in data)
    if kind == "NS":
        return sum(_number_size(str(n)) for n in data)
    if kind == "BS":
        return sum(len(b if isinstance(b, (bytes, bytearray)) else base64.b64decode(b)) for b in data)
    if kind == "L":
        return 3 + sum(1 + _value_size(v) for v in data)
    if kind == "M":
        return 3 + sum(1 + len(k.encode("utf-8")) + _value_size(v) for k, v in data.items())
    raise ValueError(f"unknown DynamoDB type {kind!r}")


def item_size(item: dict[str, dict[str, Any]] | None) -> int:
    """Size in bytes of an item in DynamoDB's wire format (``{"name": {"S": "..."}}``).

    Attribute names count (UTF-8 bytes); strings count their UTF-8 bytes;
    numbers about one byte per two significant digits plus one; binary its raw
    bytes; booleans and nulls one byte; lists and maps 3 bytes plus one byte per
    element. Follows AWS's published sizing guide, which calls the number rule
    approximate.
    """
    if not item:
        return 0
    return sum(len(name.encode("utf-8")) + _value_size(value) for name, value in item.items())


def write_units(size: int) -> int:
    """Write capacity units for an item of ``size`` bytes: 1 per started 1 KB (at least 1)."""
    return max(1, math.ceil(size / WRITE_UNIT_BYTES))


def read_units(size: int, consistent: bool = False) -> float:
    """Read capacity units for ``size`` bytes read: 1 per started 4 KB (at least 1),
    halved for an eventually consistent read."""
    units = max(1, math.ceil(size / READ_UNIT_BYTES))
    return float(units) if consistent else units / 2


# ---------------------------------------------------------------------------
# Streams
# ---------------------------------------------------------------------------

def streams_client(region_name: str = REGION, **kwargs: Any) -> botocore.client.BaseClient:
    """A ``dynamodbstreams`` client that the local emulation answers.

    Same as ``boto3.client("dynamodbstreams", region_name=...)`` with the
    regional endpoint ``https://streams.dynamodb.<region>.amazonaws.com`` set
    explicitly (botocore would otherwise pick an account-specific host for
    calls that name a stream ARN, which moto does not answer).
    """
    kwargs.setdefault("endpoint_url", f"https://streams.dynamodb.{region_name}.amazonaws.com")
    return boto3.client("dynamodbstreams", region_name=region_name, **kwargs)


# ---------------------------------------------------------------------------
# Time to live
# ---------------------------------------------------------------------------

_internal = threading.local()  # set while labkit makes its own calls: never throttled


def _client(region_name: str) -> Any:
    return boto3.session.Session(region_name=region_name).client("dynamodb")


_CLIENTS: dict[str, Any] = {}


def _own_client(region_name: str) -> Any:
    if region_name not in _CLIENTS:
        _CLIENTS[region_name] = _client(region_name)
    return _CLIENTS[region_name]


class _Internal:
    def __enter__(self) -> None:
        _internal.active = getattr(_internal, "active", 0) + 1

    def __exit__(self, *exc: object) -> None:
        _internal.active -= 1


def sweep_expired(table_name: str, *, now: float | None = None, region_name: str = REGION) -> list[dict[str, Any]]:
    """Do what DynamoDB's TTL background process does, once, now.

    Reads the table's TTL setting with ``DescribeTimeToLive``. If TTL is
    enabled, scans the table (every page) and deletes each item whose TTL
    attribute is a Number of epoch seconds earlier than ``now`` (default: the
    current time). Items without the attribute, or with a non-Number value,
    are left alone, as on AWS. Each delete carries a condition that the item
    is still expired, so an item renewed in the meantime survives.

    Returns:
        The keys of the deleted items (wire format), in scan order. Empty when
        TTL is not enabled on the table.
    """
    moment = time.time() if now is None else now
    with _Internal():
        ddb = _own_client(region_name)
        ttl = ddb.describe_time_to_live(TableName=table_name)["TimeToLiveDescription"]
        if ttl.get("TimeToLiveStatus") != "ENABLED" or not ttl.get("AttributeName"):
            return []
        attribute = ttl["AttributeName"]
        key_names = [k["AttributeName"] for k in ddb.describe_table(TableName=table_name)["Table"]["KeySchema"]]
        deleted: list[dict[str, Any]] = []
        for page in ddb.get_paginator("scan").paginate(TableName=table_name):
            for item in page.get("Items", []):
                value = item.get(attribute, {})
                if "N" not in value or Decimal(value["N"]) >= Decimal(str(moment)):
                    continue
                key = {name: item[name] for name in key_names}
                try:
                    ddb.delete_item(
                        TableName=table_name,
                        Key=key,
                        ConditionExpression="#ttl < :now",
                        ExpressionAttributeNames={"#ttl": attribute},
                        ExpressionAttributeValues={":now": {"N": str(moment)}},
                    )
                    deleted.append(key)
                except ddb.exceptions.ConditionalCheckFailedException:
                    pass  # renewed since the scan read it
        return deleted


# ---------------------------------------------------------------------------
# Throttling
# ---------------------------------------------------------------------------

class ManualClock:
    """A clock that moves only when you say so: replay minutes of traffic in a moment.

    >>> clock = ManualClock()
    >>> clock.advance(1.5); clock()
    1.5
    """

    def __init__(self, start: float = 0.0) -> None:
        self.now = float(start)

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds``."""
        if seconds < 0:
            raise ValueError("time only moves forward")
        self.now += seconds

    def set(self, moment: float) -> None:
        """Move the clock to ``moment`` (not backwards)."""
        self.advance(moment - self.now)


@dataclass
class _Bucket:
    tokens: float | None = None  # None: full at the first request
    updated: float = 0.0

    def refill(self, rate: float, capacity: float, now: float) -> None:
        if self.tokens is None:
            self.tokens = capacity
        else:
            self.tokens = min(capacity, self.tokens + rate * max(0.0, now - self.updated))
        self.updated = now


@dataclass
class Throttle:
    """The throttling simulation of one table, with what it has counted so far."""

    table_name: str
    region_name: str = REGION
    burst_seconds: float = 0.0
    clock: Callable[[], float] = time.monotonic
    reads: _Bucket = field(default_factory=_Bucket)
    writes: _Bucket = field(default_factory=_Bucket)
    #: Requests refused, by "read" and "write".
    throttled: dict[str, int] = field(default_factory=lambda: {"read": 0, "write": 0})
    #: Requests let through, by "read" and "write".
    allowed: dict[str, int] = field(default_factory=lambda: {"read": 0, "write": 0})
    #: Capacity units consumed by requests let through, by "read" and "write".
    consumed: dict[str, float] = field(default_factory=lambda: {"read": 0.0, "write": 0.0})
    #: The table's key attribute names (a key schema never changes).
    key_names: list[str] = field(default_factory=list)

    def provisioned(self) -> tuple[str, int, int]:
        """(billing mode, RCU, WCU) as ``DescribeTable`` reports them now."""
        with _Internal():
            table = _own_client(self.region_name).describe_table(TableName=self.table_name)["Table"]
        mode = table.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED")
        throughput = table.get("ProvisionedThroughput", {})
        return mode, int(throughput.get("ReadCapacityUnits", 0)), int(throughput.get("WriteCapacityUnits", 0))

    def _bucket(self, kind: str) -> _Bucket:
        return self.reads if kind == "read" else self.writes

    def try_consume(self, kind: str, units: float) -> bool:
        """Take ``units`` from the read or write bucket; False (and count a throttle) if it cannot pay.

        A request larger than the bucket can ever hold is let through when the
        bucket is full, and leaves it in debt that later refills repay.
        """
        mode, rcu, wcu = self.provisioned()
        if mode == "PAY_PER_REQUEST":
            self.allowed[kind] += 1
            self.consumed[kind] += units
            return True
        rate = float(rcu if kind == "read" else wcu)
        capacity = rate * max(1.0, self.burst_seconds)
        bucket = self._bucket(kind)
        bucket.refill(rate, capacity, self.clock())
        assert bucket.tokens is not None
        if bucket.tokens + 1e-9 < min(units, capacity):
            self.throttled[kind] += 1
            return False
        bucket.tokens -= units
        self.allowed[kind] += 1
        self.consumed[kind] += units
        return True

    def charge(self, kind: str, units: float) -> None:
        """Consume ``units`` after the fact (a query's real cost, an update that grew the item)."""
        mode, rcu, wcu = self.provisioned()
        self.consumed[kind] += units
        if mode == "PAY_PER_REQUEST":
            return
        rate = float(rcu if kind == "read" else wcu)
        bucket = self._bucket(kind)
        bucket.refill(rate, rate * max(1.0, self.burst_seconds), self.clock())
        assert bucket.tokens is not None
        bucket.tokens -= units


_THROTTLES: dict[tuple[str, str], Throttle] = {}


def simulate_throttling(
    table_name: str,
    *,
    burst_seconds: float = 0.0,
    clock: Callable[[], float] | None = None,
    region_name: str = REGION,
) -> Throttle:
    """Throttle requests to ``table_name`` the way a provisioned table on AWS would.

    Args:
        table_name: the table; its capacity is read from ``DescribeTable`` on
            every request, so later ``UpdateTable`` calls count.
        burst_seconds: how many seconds of unused capacity the buckets may
            save up. 0 (the default) keeps one second, so the limit shows at
            once; AWS documents retaining up to 300 seconds, best effort.
        clock: a function returning seconds (default ``time.monotonic``); pass
            a :class:`ManualClock` to replay traffic faster than real time.
        region_name: the table's region.

    Returns:
        The :class:`Throttle`, whose ``throttled``, ``allowed`` and ``consumed``
        counters you can read. Calling again replaces it with a fresh one.
    """
    install()
    throttle = Throttle(table_name, region_name, burst_seconds, clock or time.monotonic)
    _THROTTLES[(region_name, table_name)] = throttle
    return throttle


def stop_throttling(table_name: str | None = None, *, region_name: str = REGION) -> None:
    """Stop simulating throttling for one table, or for every table when ``table_name`` is None."""
    if table_name is None:
        _THROTTLES.clear()
    else:
        _THROTTLES.pop((region_name, table_name), None)


def throttling(table_name: str, *, region_name: str = REGION) -> Throttle | None:
    """The active :class:`Throttle` of a table, or None."""
    return _THROTTLES.get((region_name, table_name))


_READS = {"GetItem", "Query", "Scan"}
_WRITES = {"PutItem", "UpdateItem", "DeleteItem"}


def _existing_item(region: str, table: str, key: dict[str, Any]) -> dict[str, Any] | None:
    with _Internal():
        return _own_client(region).get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")


def _table_key(throttle: Throttle, item: dict[str, Any]) -> dict[str, Any]:
    if not throttle.key_names:
        with _Internal():
            table = _own_client(throttle.region_name).describe_table(TableName=throttle.table_name)["Table"]
        throttle.key_names = [k["AttributeName"] for k in table["KeySchema"]]
    return {name: item[name] for name in throttle.key_names if name in item}


def _throttled_response(operation: str, table: str, kind: str) -> tuple[AWSResponse, dict[str, Any]]:
    message = (
        f"The level of configured provisioned throughput for the table was exceeded "
        f"({kind}s on {table}; simulated by labkit.dynamodb)."
    )
    parsed = {
        "Error": {"Code": THROTTLE_CODE, "Message": message},
        "message": message,
        "ResponseMetadata": {"HTTPStatusCode": 400, "HTTPHeaders": {}, "RetryAttempts": 0},
    }
    return AWSResponse("", 400, {}, None), parsed


def _before_call(model: Any, params: dict[str, Any], context: dict[str, Any], **_: Any) -> Any:
    """botocore ``before-call.dynamodb`` handler: refuse a request the table cannot pay for."""
    operation = model.name
    if getattr(_internal, "active", 0) or (operation not in _READS and operation not in _WRITES) or not _THROTTLES:
        return None
    try:
        request = json.loads(params.get("body") or b"{}")
    except ValueError:
        return None
    table = request.get("TableName", "")
    region = context.get("client_region") or REGION
    throttle = _THROTTLES.get((region, table))
    if throttle is None:
        return None
    try:
        return _charge_before(throttle, operation, request, region, table, context)
    except ClientError:
        return None  # no such table (any more): let the table's own answer through


def _charge_before(
    throttle: Throttle, operation: str, request: dict[str, Any], region: str, table: str, context: dict[str, Any]
) -> Any:
    if operation in _WRITES:
        kind = "write"
        key = request.get("Key") or _table_key(throttle, request.get("Item", {}))
        old_size = item_size(_existing_item(region, table, key))
        new_size = item_size(request.get("Item")) if operation == "PutItem" else 0
        units: float = write_units(max(old_size, new_size))
        context["labkit_throttle"] = (throttle, kind, units, key, old_size)
    else:
        kind = "read"
        consistent = bool(request.get("ConsistentRead"))
        if operation == "GetItem":
            units = read_units(item_size(_existing_item(region, table, request["Key"])), consistent)
        else:
            units = read_units(0, consistent)  # the minimum; the real cost is charged after the call
        context["labkit_throttle"] = (throttle, kind, units, consistent, None)
    if not throttle.try_consume(kind, units):
        context.pop("labkit_throttle", None)
        return _throttled_response(operation, table, kind)
    return None


def _after_call(model: Any, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
    """botocore ``after-call.dynamodb`` handler: charge what only the answer reveals."""
    pending = context.pop("labkit_throttle", None)
    if pending is None or "Error" in parsed:
        return
    throttle, kind, paid, extra, old_size = pending
    operation = model.name
    if operation in ("Query", "Scan"):
        items = parsed.get("Items", [])
        size = sum(item_size(i) for i in items)
        scanned, count = parsed.get("ScannedCount", len(items)), max(1, len(items))
        if items and scanned > len(items):  # a filter dropped items that were still read
            size = int(size * scanned / count)
        throttle.charge(kind, max(0.0, read_units(size, bool(extra)) - paid))
    elif operation == "UpdateItem":
        region, table = throttle.region_name, throttle.table_name
        new_size = item_size(_existing_item(region, table, extra))
        throttle.charge(kind, max(0, write_units(max(old_size, new_size)) - paid))


_HANDLERS = (("before-call.dynamodb", _before_call), ("after-call.dynamodb", _after_call))


def install() -> None:
    """Register the throttle handlers for every botocore client made from now on. Idempotent."""
    sandbox.register_handlers(_HANDLERS)


def installed() -> bool:
    """True when the throttle handlers are registered."""
    return sandbox.handlers_registered(_HANDLERS)


def units_for_items(items: Iterable[dict[str, Any]], *, write: bool = True) -> float:
    """Total capacity units to write (or strongly read) each item once: a sizing helper."""
    return sum(write_units(item_size(i)) if write else read_units(item_size(i), True) for i in items)


install()
