"""Failures a learner can cause: a replication group's failover, a node's replacement.

Both act on the local servers of :mod:`.deployments` the way ElastiCache
acts on real nodes, so that a client sees what it would see on AWS. A
failover's downtime is measured on the sandbox clock: the primary endpoint
closes every connection until that moment, and serves again once the clock
reads past it (``lab.clock.advance(downtime)`` ends it at once). No timer or
thread waits for it.
"""

from __future__ import annotations

import socket
import time
from typing import Any

from labkit.core import platform
from labkit.core.aws import default_region, internal_client
from labkit.core.clock import clock
from labkit.services.elasticache import browser, deployments
from labkit.services.elasticache.memcached import MemcachedNode
from labkit.services.elasticache.servers import MemcachedServer, RedisNode, new_dataset


class FailoverError(RuntimeError):
    """The replication group cannot fail over (what AWS would refuse too)."""


def fail_over(replication_group_id: str, downtime: float = 1.0, region: str | None = None,
              wait: bool = False) -> dict[str, str]:
    """Fail the primary of a replication group over to its first replica.

    What it simulates (what ``TestFailover`` does to your clients): every
    connection to the primary endpoint and to the old primary node is dropped;
    the primary endpoint refuses connections for ``downtime`` seconds of the
    sandbox clock; then the same endpoint (same address and port, as the DNS
    name stays the same on AWS) is served by the promoted replica, which holds
    the data that had been replicated (here: all of it), and the old primary
    comes back as a replica.

    Args:
        replication_group_id: a group described at least once since it was created.
        downtime: seconds during which the primary endpoint refuses connections.
        region: the group's region (default: the sandbox's).
        wait: block until the primary endpoint serves again.

    Returns:
        ``{"old_primary": ..., "new_primary": ...}`` member cluster ids.

    Raises:
        FailoverError: the group has no replica, or automatic failover is off.
    """
    region = region or default_region()
    dep = deployments.deployment(deployments.group_key(region, replication_group_id))
    if dep is None:
        raise FailoverError(
            f"No local nodes for replication group {replication_group_id!r} in {region}: "
            "create it, then call describe_replication_groups once (labkit starts nodes lazily).")
    if len(dep.members) < 2:
        raise FailoverError(f"{replication_group_id} has no replica to promote: create it with NumCacheClusters >= 2.")
    auto = _automatic_failover(region, replication_group_id)
    if auto != "enabled":
        raise FailoverError(f"{replication_group_id} has AutomaticFailover {auto!r}: enable it "
                            "(TestFailover needs automatic failover).")
    assert dep.primary is not None
    old = dep.primary_index
    new = (old + 1) % len(dep.members)
    old_node: RedisNode = dep.nodes[old]
    back = dep.primary.go_down(downtime)
    old_node.go_down(downtime)
    old_node.readonly = True  # it comes back as a replica
    dep.nodes[new].readonly = False
    dep.primary_index = new
    dep.failovers += 1
    if wait:
        while (remaining := back - clock.now()) > 0:
            before = clock.now()
            time.sleep(min(remaining, 0.05))
            if clock.now() == before:  # a frozen clock: only advancing it ends the downtime
                clock.advance(remaining)
    return {"old_primary": dep.members[old], "new_primary": dep.members[new]}


def _automatic_failover(region: str, group_id: str) -> str:
    group = internal_client("elasticache", region).describe_replication_groups(
        ReplicationGroupId=group_id)["ReplicationGroups"][0]
    return str(group.get("AutomaticFailover", "disabled"))


def fail_node(cache_cluster_id: str, node_index: int = 0, region: str | None = None) -> int:
    """Make one node of a cache cluster fail and be replaced, as ElastiCache does.

    What it simulates: the node's connections drop and ElastiCache replaces it
    with a new, empty node at the same endpoint. A Memcached node's items (and
    a single-node Valkey/Redis cluster's data) are gone: nothing replicated
    them. Replication groups fail over instead (see :func:`fail_over`).

    Returns:
        The port of the replaced node (the same as before).
    """
    region = region or default_region()
    dep = deployments.deployment((region, cache_cluster_id))
    if dep is None:
        raise FailoverError(
            f"No local nodes for cache cluster {cache_cluster_id!r} in {region}: create it, then "
            "call describe_cache_clusters once (labkit starts nodes lazily).")
    server = dep.nodes[node_index]
    if isinstance(server, MemcachedServer):
        old = server.node
        server.replace_node(MemcachedNode(old.memory_limit, cluster_nodes=old.cluster_nodes))
    else:
        dep.dataset = new_dataset(dep.engine)
        server.replace_dataset(dep.dataset)
    return int(server.port)


def memcached_stats(host: str, port: int) -> dict[str, str]:
    """The ``stats`` of one Memcached node, as strings (a raw-socket helper;
    in the browser edition, an in-process connection)."""
    with _connect(host, port) as conn:
        conn.sendall(b"stats\r\n")
        data = b""
        while not data.endswith(b"END\r\n"):
            chunk = conn.recv(65536)
            if not chunk:
                break
            data += chunk
    stats = {}
    for line in data.decode().splitlines():
        if line.startswith("STAT "):
            _, name, value = line.split(" ", 2)
            stats[name] = value
    return stats


def _connect(host: str, port: int) -> Any:
    """A connection to a Memcached node: a socket locally, a pipe in the browser edition."""
    if platform.in_browser():
        return browser.connect_memcached(host, port, timeout=2)
    return socket.create_connection((host, port), timeout=2)
