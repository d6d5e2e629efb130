"""Simulated throttling of provisioned-capacity tables.

AWS refuses a request to a provisioned-capacity table that would exceed its
read or write capacity, with the error code
``ProvisionedThroughputExceededException``; moto never throttles.
:func:`simulate_throttling` opts one table in to a simulation:

- one token bucket (:class:`labkit.core.ratelimit.TokenBucket`) for reads and
  one for writes per table, refilled continuously at the table's *current*
  ``ReadCapacityUnits`` and ``WriteCapacityUnits`` (read from ``DescribeTable``
  on every request, so an ``UpdateTable`` takes effect at once), holding at
  most one second of capacity, or ``burst_seconds`` of it if you ask for burst
  capacity;
- a request costs what AWS documents: writes 1 unit per started 1 KB of the
  larger of the old and new item (``PutItem``, ``UpdateItem``) or of the
  deleted item (``DeleteItem``); ``GetItem`` 1 unit per started 4 KB, half of
  that when eventually consistent; ``Query`` and ``Scan`` the summed size of
  the items read, rounded up to 4 KB once; item sizes follow AWS's sizing
  rules (:func:`.sizes.item_size`);
- a request whose cost the bucket cannot pay is refused before it reaches the
  table, as a ``ClientError`` of the real error class
  (``client.exceptions.ProvisionedThroughputExceededException``); tables in
  on-demand mode are never throttled.

Time is the sandbox clock (:mod:`labkit.core.clock`): ``lab.clock.advance(1)``
refills a second of capacity at once, and inside ``with lab.clock.frozen():``
a minute of traffic replays in a fraction of a second with the same result on
any machine.

What it does not model: per-partition limits and hot keys, adaptive capacity,
on-demand tables' own limits, global secondary index capacity, batch and
transaction requests (they pass unthrottled), and the SDK's automatic retries
(boto3 retries a throttled request itself on AWS; the simulation raises on
the first refusal so that you see every one).

The simulation listens to the learner's DynamoDB calls through the hook
dispatcher (:mod:`labkit.core.hooks`). labkit's own calls (the
``DescribeTable`` that reads the capacity, a TTL sweep) are internal and never
throttled.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from labkit.core import hooks
from labkit.core.aws import default_region, internal_client
from labkit.core.ratelimit import TokenBucket
from labkit.services.dynamodb.sizes import item_size, read_units, write_units

#: Error code AWS returns when a provisioned table cannot serve a request.
THROTTLE_CODE = "ProvisionedThroughputExceededException"

READS = ("GetItem", "Query", "Scan")
WRITES = ("PutItem", "UpdateItem", "DeleteItem")


def _empty_bucket() -> TokenBucket:
    return TokenBucket(rate=0.0, capacity=0.0)  # rate and capacity come from DescribeTable


@dataclass
class Throttle:
    """The throttling simulation of one table, with what it has counted so far."""

    table_name: str
    region_name: str
    burst_seconds: float = 0.0
    reads: TokenBucket = field(default_factory=_empty_bucket)
    writes: TokenBucket = field(default_factory=_empty_bucket)
    #: Requests refused, by "read" and "write".
    throttled: dict[str, int] = field(default_factory=lambda: {"read": 0, "write": 0})
    #: Requests let through, by "read" and "write".
    allowed: dict[str, int] = field(default_factory=lambda: {"read": 0, "write": 0})
    #: Capacity units consumed by requests let through, by "read" and "write".
    consumed: dict[str, float] = field(default_factory=lambda: {"read": 0.0, "write": 0.0})
    #: The table's key attribute names (a key schema never changes).
    key_names: list[str] = field(default_factory=list)

    def _describe(self) -> dict[str, Any]:
        table: dict[str, Any] = internal_client("dynamodb", self.region_name).describe_table(
            TableName=self.table_name)["Table"]
        return table

    def provisioned(self) -> tuple[str, int, int]:
        """(billing mode, RCU, WCU) as ``DescribeTable`` reports them now."""
        table = self._describe()
        mode = table.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED")
        throughput = table.get("ProvisionedThroughput", {})
        return mode, int(throughput.get("ReadCapacityUnits", 0)), int(throughput.get("WriteCapacityUnits", 0))

    def key_of(self, item: dict[str, Any]) -> dict[str, Any]:
        """The key attributes of ``item``."""
        if not self.key_names:
            self.key_names = [k["AttributeName"] for k in self._describe()["KeySchema"]]
        return {name: item[name] for name in self.key_names if name in item}

    def _refilled(self, kind: str) -> TokenBucket | None:
        """The bucket of ``kind``, refilled at the table's capacity now; None on demand."""
        mode, rcu, wcu = self.provisioned()
        if mode == "PAY_PER_REQUEST":
            return None
        rate = float(rcu if kind == "read" else wcu)
        bucket = self.reads if kind == "read" else self.writes
        bucket.refill(rate, rate * max(1.0, self.burst_seconds))
        return bucket

    def try_consume(self, kind: str, units: float) -> bool:
        """Take ``units`` from the read or write bucket; False (and count a throttle) if it cannot pay.

        A request larger than the bucket can ever hold is let through when the
        bucket is full, and leaves it in debt that later refills repay.
        """
        bucket = self._refilled(kind)
        if bucket is not None and not bucket.try_take(units):
            self.throttled[kind] += 1
            return False
        self.allowed[kind] += 1
        self.consumed[kind] += units
        return True

    def charge(self, kind: str, units: float) -> None:
        """Consume ``units`` after the fact (a query's real cost, an update that grew the item)."""
        bucket = self._refilled(kind)
        self.consumed[kind] += units
        if bucket is not None:
            bucket.charge(units)


_LOCK = threading.RLock()
_THROTTLES: dict[tuple[str, str], Throttle] = {}


def simulate_throttling(table_name: str, *, burst_seconds: float = 0.0,
                        region_name: str | None = None) -> Throttle:
    """Throttle requests to ``table_name`` the way a provisioned table on AWS would.

    Args:
        table_name: the table; its capacity is read from ``DescribeTable`` on
            every request, so later ``UpdateTable`` calls count.
        burst_seconds: how many seconds of unused capacity the buckets may
            save up. 0 (the default) keeps one second, so the limit shows at
            once; AWS documents retaining up to 300 seconds, best effort.
        region_name: the table's region (default: the sandbox's).

    Returns:
        The :class:`Throttle`, whose ``throttled``, ``allowed`` and ``consumed``
        counters you can read. Calling again replaces it with a fresh one.
        Its buckets refill with the sandbox clock (``lab.clock``).
    """
    throttle = Throttle(table_name, region_name or default_region(), burst_seconds)
    with _LOCK:
        _THROTTLES[(throttle.region_name, table_name)] = throttle
    return throttle


def stop_throttling(table_name: str | None = None, *, region_name: str | None = None) -> None:
    """Stop simulating throttling for one table, or for every table when ``table_name`` is None."""
    with _LOCK:
        if table_name is None:
            _THROTTLES.clear()
        else:
            _THROTTLES.pop((region_name or default_region(), table_name), None)


def throttling(table_name: str, *, region_name: str | None = None) -> Throttle | None:
    """The active :class:`Throttle` of a table, or None."""
    return _THROTTLES.get((region_name or default_region(), table_name))


# --------------------------------------------------------------------------
# The hooks: charge before the call, settle after it
# --------------------------------------------------------------------------


def _existing_item(throttle: Throttle, key: dict[str, Any]) -> dict[str, Any] | None:
    item: dict[str, Any] | None = internal_client("dynamodb", throttle.region_name).get_item(
        TableName=throttle.table_name, Key=key, ConsistentRead=True).get("Item")
    return item


def before_call(call: hooks.Call) -> tuple[int, dict[str, Any]] | None:
    """``before`` a learner's read or write: refuse it if the table cannot pay for it."""
    if not _THROTTLES:
        return None
    throttle = _THROTTLES.get((call.region, call.params.get("TableName", "")))
    if throttle is None:
        return None
    try:
        return _charge_before(throttle, call)
    except ClientError:
        return None  # no such table (any more): let the table's own answer through


def _charge_before(throttle: Throttle, call: hooks.Call) -> tuple[int, dict[str, Any]] | None:
    request = call.params
    units: float
    if call.operation in WRITES:
        kind = "write"
        key = request.get("Key") or throttle.key_of(request.get("Item", {}))
        old_size = item_size(_existing_item(throttle, key))
        new_size = item_size(request.get("Item")) if call.operation == "PutItem" else 0
        units = write_units(max(old_size, new_size))
        pending: tuple[Any, ...] = (throttle, kind, units, key, old_size)
    else:
        kind = "read"
        consistent = bool(request.get("ConsistentRead"))
        if call.operation == "GetItem":
            units = read_units(item_size(_existing_item(throttle, request["Key"])), consistent)
        else:
            units = read_units(0, consistent)  # the minimum; the real cost is charged after the call
        pending = (throttle, kind, units, consistent, None)
    if not throttle.try_consume(kind, units):
        message = (f"The level of configured provisioned throughput for the table was exceeded "
                   f"({kind}s on {throttle.table_name}; simulated by labkit).")
        return hooks.error_answer(THROTTLE_CODE, message, 400)
    call.state["dynamodb_throttle"] = pending
    return None


def after_call(call: hooks.Call, parsed: dict[str, Any], status: int) -> None:
    """``after`` a read or write let through: charge what only the answer reveals."""
    pending = call.state.pop("dynamodb_throttle", None)
    if pending is None or status >= 300 or "Error" in parsed:
        return
    throttle, kind, paid, extra, old_size = pending
    if call.operation in ("Query", "Scan"):
        items = parsed.get("Items", [])
        size = sum(item_size(i) for i in items)
        scanned, count = parsed.get("ScannedCount", len(items)), max(1, len(items))
        if items and scanned > len(items):  # a filter dropped items that were still read
            size = int(size * scanned / count)
        throttle.charge(kind, max(0.0, read_units(size, bool(extra)) - paid))
    elif call.operation == "UpdateItem":
        new_size = item_size(_existing_item(throttle, extra))
        throttle.charge(kind, max(0, write_units(max(old_size, new_size)) - paid))


def subscribe() -> None:
    """Listen to the learner's DynamoDB reads and writes (labkit's own calls excluded)."""
    for operation in (*READS, *WRITES):
        hooks.subscribe("before", "dynamodb", operation, before_call, internal=False)
        hooks.subscribe("after", "dynamodb", operation, after_call, internal=False)


def reset() -> None:
    """Forget every throttle (``lab.reset()``)."""
    stop_throttling()
