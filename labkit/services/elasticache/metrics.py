"""``AWS/ElastiCache`` Evictions of the local Memcached nodes, once a sandbox minute.

**What AWS does.** ElastiCache measures its metrics for each cache node and
publishes them to CloudWatch every 60 seconds. For Memcached, ``Evictions``
(unit Count, dimensions ``CacheClusterId`` and ``CacheNodeId``) comes from the
engine's ``stats``: the items the node evicted to make room for new writes.
The ElastiCache guide's *Which Metrics Should I Monitor?* lists it among the
metrics to set alarms on.

**What labkit publishes.** For every Memcached node labkit runs, at the end of
every sandbox minute: the evictions the node counted during that minute (the
``evictions`` of its ``stats``). A node replaced by
:func:`labkit.services.elasticache.fail_node` starts again from 0, as a new
node does. Nothing else is published: the Redis/Valkey nodes (fakeredis) never
evict, and host metrics (CPU, memory, network) have no honest local source.
The data point is written half a second before the minute ends, stamped at the
minute's start, so an alarm with a 60-second period sees it in the same
minute.

The minute's work is scheduled on the sandbox clock while a Memcached node
runs, so ``lab.clock.advance(300)`` publishes five minutes at once.
"""

from __future__ import annotations

import threading
from typing import Any

from labkit.core.clock import EveryPeriod

from . import deployments

NAMESPACE = "AWS/ElastiCache"
PERIOD = 60
_EARLY = 0.5  # seconds before the minute ends: ahead of CloudWatch's own minute

_LOCK = threading.Lock()


def memcached_nodes() -> list[tuple[str, str, str, Any]]:
    """``(region, cluster id, node id, MemcachedNode)`` for every running Memcached node."""
    found = []
    # A copy, without the plane's lock: this runs from the clock, in whichever thread read it,
    # and must never wait for a thread that holds the lock while it stops a server.
    for (region, cluster_id), dep in list(deployments.STATE.deployments.items()):
        if dep.kind != "cluster" or dep.engine != "memcached":
            continue
        for node_id, server in zip(list(dep.node_ids), list(dep.nodes), strict=False):
            found.append((region, cluster_id, node_id, server.node))
    return found


def publish(period_end: float) -> list[tuple[str, str, int]]:
    """Write each Memcached node's evictions of the minute ending at ``period_end``;
    return ``(cluster id, node id, evictions)`` for each."""
    from labkit.services.cloudwatch import put_service_metric  # CloudWatch imports no ElastiCache module

    published = []
    for region, cluster_id, node_id, node in memcached_nodes():
        total = int(node.counters.get("evictions", 0))
        with _LOCK:  # what this node's earlier minutes published is kept on the node itself
            count = max(total - getattr(node, "evictions_published", 0), 0)
            node.evictions_published = total
        put_service_metric(NAMESPACE, "Evictions", count, {"CacheClusterId": cluster_id, "CacheNodeId": node_id},
                           unit="Count", timestamp=period_end - PERIOD, region=region)
        published.append((cluster_id, node_id, count))
    return published


#: Each minute's evictions, published just before it ends while a Memcached node runs.
_MINUTES = EveryPeriod(lambda end: publish(end), period=PERIOD, early=_EARLY, keep_going=lambda: bool(memcached_nodes()))


def ensure() -> None:
    """Make sure the next minute's data points are scheduled (idempotent)."""
    _MINUTES.ensure()


def after_describe(call: Any, parsed: dict[str, Any], status: int) -> None:
    """After a describe call that may have started Memcached nodes: count their evictions."""
    if status < 300 and any(c.get("Engine") == "memcached" for c in (parsed or {}).get("CacheClusters", [])):
        ensure()


def reset() -> None:
    _MINUTES.reset()
