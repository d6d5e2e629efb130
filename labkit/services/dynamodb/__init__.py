"""DynamoDB behaviours that the local emulation stores but does not perform.

moto emulates DynamoDB's tables, keys, indexes, queries, conditions,
transactions and streams faithfully. Three things a learner must see are
missing or broken, and this service supplies them, always driven by what the learner
configured through boto3 (``lab.dynamodb.<helper>``):

- **Time to live** (:mod:`.ttl`): :func:`sweep_expired` runs DynamoDB's
  background deletion of expired items once, at the sandbox clock's now.
- **Streams** (:mod:`.streams`): :func:`streams_client` is a
  ``dynamodbstreams`` client pinned to an endpoint moto answers.
- **Throttling** (:mod:`.throttle`): :func:`simulate_throttling` refuses the
  requests a provisioned table could not pay for, from its real capacity.
- **PartiQL** (:mod:`.partiql`, :mod:`.partiql_run`): ``ExecuteStatement``,
  ``BatchExecuteStatement`` and ``ExecuteTransaction`` run as the item
  operations they stand for (moto's own PartiQL cannot bind ``?`` in an
  ``INSERT`` and compares numbers as text); :class:`PartiQLNotEmulated` names
  what the subset leaves out.

Sizes and capacity units (:mod:`.sizes`) are plain arithmetic. TTL sweeps and
throttling refill follow the sandbox clock, ``lab.clock``: ``lab.clock.advance(60)``
is a minute later for both, and ``with lab.clock.frozen():`` replays traffic
exactly.
"""

from __future__ import annotations

from labkit.services.dynamodb import partiql_run as _partiql_run
from labkit.services.dynamodb import throttle as _throttle
from labkit.services.dynamodb.partiql import NotEmulated as PartiQLNotEmulated
from labkit.services.dynamodb.seams import SEAMS
from labkit.services.dynamodb.sizes import (
    item_size,
    read_units,
    units_for_items,
    write_units,
)
from labkit.services.dynamodb.streams import streams_client
from labkit.services.dynamodb.throttle import (
    THROTTLE_CODE,
    Throttle,
    simulate_throttling,
    stop_throttling,
    throttling,
)
from labkit.services.dynamodb.ttl import sweep_expired

__all__ = [
    "SEAMS",
    "PartiQLNotEmulated",
    "THROTTLE_CODE",
    "Throttle",
    "install",
    "item_size",
    "read_units",
    "reset",
    "simulate_throttling",
    "stop_throttling",
    "streams_client",
    "sweep_expired",
    "throttling",
    "units_for_items",
    "write_units",
]


def install() -> None:
    """Listen to the learner's DynamoDB calls (the registry calls this once, at first use)."""
    _throttle.subscribe()
    _partiql_run.subscribe()


def reset() -> None:
    """Forget every simulated throttle (``lab.reset()``)."""
    _throttle.reset()
