"""Item sizes and capacity units, as AWS documents them.

AWS bills and throttles DynamoDB in *capacity units*, computed from the size
of the items a request reads or writes ("DynamoDB item sizes and formats" in
the Developer Guide):

- a write costs 1 write capacity unit (WCU) per started 1 KB of the item;
- a strongly consistent read costs 1 read capacity unit (RCU) per started
  4 KB, an eventually consistent read half of that.

Plain arithmetic, no AWS call: the chapter uses these to size a table, the
throttling simulation (:mod:`.throttling`) to charge each request.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Iterable
from typing import Any

KB = 1024
WRITE_UNIT_BYTES = 1 * KB
READ_UNIT_BYTES = 4 * KB


def _number_size(text: str) -> int:
    digits = text.lstrip("+-").replace(".", "").split("e")[0].split("E")[0]
    significant = digits.strip("0") or "0"
    return math.ceil(len(significant) / 2) + 1


def _binary_size(data: Any) -> int:
    return len(data if isinstance(data, (bytes, bytearray)) else base64.b64decode(data))


def _value_size(value: dict[str, Any]) -> int:
    (kind, data), = value.items()
    if kind == "S":
        return len(data.encode("utf-8"))
    if kind == "N":
        return _number_size(str(data))
    if kind == "B":
        return _binary_size(data)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(s.encode("utf-8")) for s in data)
    if kind == "NS":
        return sum(_number_size(str(n)) for n in data)
    if kind == "BS":
        return sum(_binary_size(b) for b in data)
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


def units_for_items(items: Iterable[dict[str, Any]], *, write: bool = True) -> float:
    """Total capacity units to write (or strongly read) each item once: a sizing helper."""
    return sum(write_units(item_size(i)) if write else read_units(item_size(i), True) for i in items)
