"""Local cache nodes behind the ElastiCache endpoints that boto3 reports.

What AWS does
    ElastiCache runs cache nodes (Valkey, Memcached or Redis OSS) in your VPC.
    ``describe_cache_clusters(ShowCacheNodeInfo=True)`` returns each node's
    endpoint (DNS name and port); a Memcached cluster also has a configuration
    endpoint; a Valkey/Redis OSS replication group has a primary endpoint (it
    always names the node that takes writes, even after a failover) and a
    reader endpoint (spread over the read-only replicas). Your application
    connects to those endpoints with an ordinary client (redis-py, pymemcache).

What moto does
    The control plane only: clusters and replication groups are created and
    described as ``available``, but ``CacheNodes`` and ``ConfigurationEndpoint``
    are null, a replication group created with ``NumCacheClusters=2`` has one
    member, the endpoints it reports resolve nowhere, deletion never finishes
    (status stays ``deleting``), ``modify_cache_cluster`` and ``test_failover``
    are not implemented, and the tag calls answer without the tag list.

What this service adds (``lab.elasticache``)
    - :mod:`.memcached`: a Memcached node as an in-process function (bytes in,
      bytes out): text protocol, LRU eviction, TTLs. Its memory is the node
      type's memory scaled down 1024 times, so that eviction shows with a few
      hundred small items;
    - :mod:`.servers`: the TCP fronts on 127.0.0.1 (loopback servers):
      Memcached over :mod:`.memcached`, Redis/Valkey over fakeredis, replicas
      that refuse writes with ``READONLY``;
    - :mod:`.browser`: in the browser edition (no sockets), redis-py and
      pymemcache reach the same nodes in-process, at the same addresses;
    - :mod:`.deployments`: the servers of each cluster and group, started the
      first time a describe call shows it ``available``, and the endpoints
      filled into boto3's answers; a delete stops them and lets moto forget
      the resource, so the same id can be created again;
    - :mod:`.failover`: :func:`fail_over` (what ``TestFailover`` does to your
      clients) and :func:`fail_node` (a node replaced, empty);
    - :mod:`.metrics`: each Memcached node's ``Evictions`` published to
      CloudWatch (``AWS/ElastiCache``) once a sandbox minute;
    - :mod:`.control`: ``ModifyCacheCluster`` (nodes added or removed on the
      local servers, a new node type, pending changes), ``TestFailover``
      (through :func:`fail_over`, 15 node groups per rolling day) and the
      ``TagList`` of the tag calls; :class:`NotEmulated` names what is left out.

Time: Memcached and Redis TTLs, a node's uptime and a failover's downtime
follow the sandbox clock, ``lab.clock`` (real time unless advanced).

Limits (said in the chapter where a learner could notice)
    * Replication is instantaneous here (one shared dataset). On AWS it is
      asynchronous, so writes acknowledged just before a failover can be lost.
    * Redis ``maxmemory`` and ``maxmemory-policy`` are not enforced: fakeredis
      never evicts (moto does not implement parameter groups either). Eviction
      is shown with Memcached.
    * Cluster mode enabled (several shards), TLS, AUTH tokens and the member
      clusters of a replication group in ``describe_cache_clusters`` are not
      modelled. Latency is loopback latency, far below a network round trip.
"""

from __future__ import annotations

from labkit.core import hooks
from labkit.services.elasticache import browser as _browser
from labkit.services.elasticache import control as _control
from labkit.services.elasticache import deployments as _deployments
from labkit.services.elasticache import metrics as _metrics
from labkit.services.elasticache.control import TEST_FAILOVER_DOWNTIME, NotEmulated
from labkit.services.elasticache.failover import (
    FailoverError,
    fail_node,
    fail_over,
    memcached_stats,
)
from labkit.services.elasticache.memcached import (
    MAX_ITEM_SIZE,
    MEMORY_SCALE,
    NODE_MEMORY_GIB,
    MemcachedNode,
    local_memory_bytes,
)
from labkit.services.elasticache.seams import SEAMS
from labkit.services.elasticache.servers import (
    READONLY_MESSAGE,
    MemcachedServer,
    RedisNode,
    use_sandbox_clock,
)

__all__ = [
    "MAX_ITEM_SIZE",
    "MEMORY_SCALE",
    "NODE_MEMORY_GIB",
    "READONLY_MESSAGE",
    "SEAMS",
    "TEST_FAILOVER_DOWNTIME",
    "FailoverError",
    "MemcachedNode",
    "MemcachedServer",
    "NotEmulated",
    "RedisNode",
    "fail_node",
    "fail_over",
    "install",
    "local_memory_bytes",
    "memcached_stats",
    "reset",
    "stop_all",
]


def install() -> None:
    """Fill ElastiCache answers with local endpoints, let fakeredis read the
    sandbox clock and, in the browser edition, let redis-py and pymemcache
    reach the nodes in-process (the registry calls this once, at first use).
    Idempotent."""
    use_sandbox_clock()
    _browser.install()
    _deployments.subscribe()
    _control.subscribe()
    hooks.subscribe("after", "elasticache", "DescribeCacheClusters", _metrics.after_describe)


def stop_all() -> None:
    """Stop every local node; a later describe call starts them again, empty
    (as after a node replacement)."""
    _deployments.stop_all()


def reset() -> None:
    """Stop every server and forget every deployment (``lab.reset()``)."""
    _deployments.reset()
    _control.reset()
    _metrics.reset()
