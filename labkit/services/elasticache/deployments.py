"""What labkit runs behind each cluster and replication group, and how the
API answers learn about it.

A *deployment* is the set of local servers of one cache cluster or
replication group, started lazily the first time a describe call shows the
resource ``available``. An ``after`` subscriber of the hook dispatcher
(:func:`after_call`) fills moto's answers with their endpoints:

- ``Engine="memcached"``: one :class:`.servers.MemcachedServer` per node, each
  with its own data; the cluster's configuration endpoint is the first node;
- ``Engine="redis"``/``"valkey"``: a cluster gets one :class:`.servers.RedisNode`;
  a replication group gets one per member (the number asked for at creation),
  plus a primary endpoint and a reader endpoint, all serving one shared dataset.

moto reports a group created with ``NumCacheClusters=2`` as having one member,
and keeps a deleted resource ``deleting`` forever; the subscriber corrects the
first, and makes moto forget the second (:func:`.seams.forget_resource`), so
the same id can be created again. Deleting a resource stops its servers.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from fakeredis import FakeServer

from labkit.core import hooks
from labkit.core.loopback import HOST, LoopbackServer
from labkit.services.elasticache import seams
from labkit.services.elasticache.memcached import MemcachedNode, local_memory_bytes
from labkit.services.elasticache.servers import MemcachedServer, RedisNode, new_dataset

#: A replication group has at most this many members here (a primary and five replicas).
MAX_MEMBERS = 6


@dataclass
class Deployment:
    """The local servers of one cluster or replication group."""

    kind: str  # "cluster" or "group"
    engine: str
    node_type: str
    created: Any  # the create time moto reported: a new resource with the same id gets new servers
    members: list[str] = field(default_factory=list)  # group member ids
    nodes: list[Any] = field(default_factory=list)  # a MemcachedServer or RedisNode per node or member
    node_ids: list[str] = field(default_factory=list)  # a cluster's CacheNodeIds, one per node (stable on removal)
    dataset: FakeServer | None = None
    primary: RedisNode | None = None  # group primary endpoint
    reader: RedisNode | None = None  # group reader endpoint
    primary_index: int = 0
    failovers: int = 0

    def servers(self) -> list[LoopbackServer]:
        return [s for s in (*self.nodes, self.primary, self.reader) if s is not None]

    def stop(self) -> None:
        for server in self.servers():
            try:
                server.stop()
            except OSError:
                pass


class _State:
    """Everything the plane holds, keyed by (region, id); a group's id is ``rg:<id>``."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.deployments: dict[tuple[str, str], Deployment] = {}
        self.group_sizes: dict[tuple[str, str], int] = {}  # members asked for at CreateReplicationGroup


STATE = _State()


def group_key(region: str, group_id: str) -> tuple[str, str]:
    return region, "rg:" + group_id


def deployment(key: tuple[str, str]) -> Deployment | None:
    """The running deployment of a (region, id), if labkit started one."""
    with STATE.lock:
        return STATE.deployments.get(key)


def _current(key: tuple[str, str], created: Any) -> Deployment | None:
    """The running deployment for ``key`` if it serves the same resource (same
    creation time); a stale one, left by a deleted resource of the same id, is
    stopped. Call with the lock held."""
    dep = STATE.deployments.get(key)
    if dep is not None and dep.created == created:
        return dep
    if dep is not None:
        dep.stop()
    return None


def memcached_server(memory_limit: int, dep: Deployment, port: int = 0) -> MemcachedServer:
    """A Memcached node of ``dep`` whose auto discovery lists every node of ``dep``."""
    node = MemcachedNode(memory_limit, cluster_nodes=lambda: [(HOST, n.port) for n in dep.nodes])
    return MemcachedServer(node, port=port)


def _cluster_deployment(region: str, cluster: dict[str, Any]) -> Deployment:
    key = (region, cluster["CacheClusterId"])
    with STATE.lock:
        dep = _current(key, cluster.get("CacheClusterCreateTime"))
        if dep is not None:
            return dep
        engine = cluster.get("Engine", "redis")
        node_type = cluster.get("CacheNodeType", "")
        dep = Deployment("cluster", engine, node_type, cluster.get("CacheClusterCreateTime"))
        if engine == "memcached":
            count = max(1, int(cluster.get("NumCacheNodes") or 1))
            dep.nodes = [memcached_server(local_memory_bytes(node_type), dep) for _ in range(count)]
        else:
            dep.dataset = new_dataset(engine)
            dep.nodes = [RedisNode(dep.dataset)]
        dep.node_ids = [f"{i:04d}" for i in range(1, len(dep.nodes) + 1)]
        STATE.deployments[key] = dep
        return dep


def _group_deployment(region: str, group: dict[str, Any]) -> Deployment:
    gid = group["ReplicationGroupId"]
    key = group_key(region, gid)
    with STATE.lock:
        dep = _current(key, group.get("ReplicationGroupCreateTime"))
        if dep is not None:
            return dep
        engine = group.get("Engine", "redis")
        count = STATE.group_sizes.get(key, len(group.get("MemberClusters") or []) or 1)
        dep = Deployment("group", engine, group.get("CacheNodeType", ""), group.get("ReplicationGroupCreateTime"))
        dep.members = [f"{gid}-{i:03d}" for i in range(1, count + 1)]
        dep.dataset = new_dataset(engine)
        dep.nodes = [RedisNode(dep.dataset, readonly=i != 0) for i in range(count)]
        dep.primary = RedisNode(dep.dataset)
        dep.reader = RedisNode(dep.dataset, readonly=True) if count > 1 else None
        STATE.deployments[key] = dep
        return dep


def _endpoint(port: int) -> dict[str, Any]:
    return {"Address": HOST, "Port": port}


def _fill_cluster(region: str, cluster: dict[str, Any], show_nodes: bool) -> None:
    if cluster.get("CacheClusterStatus") != "available":
        return
    dep = _cluster_deployment(region, cluster)
    azs = cluster.get("PreferredAvailabilityZone") or f"{region}a"
    if dep.engine == "memcached":
        cluster["ConfigurationEndpoint"] = _endpoint(dep.nodes[0].port)
    if show_nodes:
        cluster["CacheNodes"] = [
            {"CacheNodeId": node_id, "CacheNodeStatus": "available",
             "CacheNodeCreateTime": cluster.get("CacheClusterCreateTime"),
             "Endpoint": _endpoint(node.port), "ParameterGroupStatus": "in-sync",
             "CustomerAvailabilityZone": azs}
            for node_id, node in zip(dep.node_ids, dep.nodes, strict=True)
        ]


def _fill_group(region: str, group: dict[str, Any]) -> None:
    if group.get("Status") != "available" or group.get("ClusterEnabled"):
        return
    dep = _group_deployment(region, group)
    group["MemberClusters"] = list(dep.members)
    assert dep.primary is not None
    node_group = (group.get("NodeGroups") or [{"NodeGroupId": "0001", "Status": "available"}])[0]
    node_group["PrimaryEndpoint"] = _endpoint(dep.primary.port)
    if dep.reader is not None:
        node_group["ReaderEndpoint"] = _endpoint(dep.reader.port)
    letters = "abcdef"
    node_group["NodeGroupMembers"] = [
        {"CacheClusterId": member, "CacheNodeId": "0001", "ReadEndpoint": _endpoint(node.port),
         "PreferredAvailabilityZone": f"{region}{letters[i % len(letters)]}",
         "CurrentRole": "primary" if i == dep.primary_index else "replica"}
        for i, (member, node) in enumerate(zip(dep.members, dep.nodes, strict=False))
    ]
    group["NodeGroups"] = [node_group]


def _forget(key: tuple[str, str], kind: str, resource_id: str) -> None:
    """A resource was deleted: stop its servers, and let moto forget it."""
    with STATE.lock:
        dep = STATE.deployments.pop(key, None)
        STATE.group_sizes.pop(key, None)
    if dep is not None:
        dep.stop()
    seams.forget_resource(key[0], kind, resource_id)


# --------------------------------------------------------------------------- #
# The hook
# --------------------------------------------------------------------------- #
def after_call(call: hooks.Call, parsed: dict[str, Any], status: int) -> None:
    """``after`` every ElastiCache call: fill endpoints, size groups, forget deleted resources."""
    if status >= 300 or not isinstance(parsed, dict) or "Error" in parsed:
        return
    region, params, op = call.region, call.params, call.operation
    if op == "CreateReplicationGroup":
        count = params.get("NumCacheClusters") or (params.get("ReplicasPerNodeGroup", 0) + 1)
        count = min(max(int(count), len(params.get("PreferredCacheClusterAZs") or []), 1), MAX_MEMBERS)
        gid = params.get("ReplicationGroupId", "")
        with STATE.lock:
            STATE.group_sizes[group_key(region, gid)] = count
        group = parsed.get("ReplicationGroup", {})
        group["MemberClusters"] = [f"{gid}-{i:03d}" for i in range(1, count + 1)]
    elif op == "DescribeCacheClusters":
        for cluster in parsed.get("CacheClusters", []):
            _fill_cluster(region, cluster, bool(params.get("ShowCacheNodeInfo")))
    elif op == "DescribeReplicationGroups":
        for group in parsed.get("ReplicationGroups", []):
            _fill_group(region, group)
    elif op == "DeleteCacheCluster":
        cid = parsed.get("CacheCluster", {}).get("CacheClusterId") or params.get("CacheClusterId", "")
        _forget((region, cid), "cluster", cid)
    elif op == "DeleteReplicationGroup":
        gid = parsed.get("ReplicationGroup", {}).get("ReplicationGroupId") or params.get("ReplicationGroupId", "")
        _forget(group_key(region, gid), "group", gid)


def subscribe() -> None:
    hooks.subscribe("after", "elasticache", "*", after_call)


def stop_all() -> None:
    """Stop every local node labkit started; a later describe starts them again, empty."""
    with STATE.lock:
        deployments = list(STATE.deployments.values())
        STATE.deployments.clear()
    for dep in deployments:
        dep.stop()


def reset() -> None:
    """Stop every server and forget every deployment and group size (``lab.reset()``)."""
    stop_all()
    with STATE.lock:
        STATE.group_sizes.clear()
