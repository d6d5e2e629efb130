"""Control-plane calls moto lacks or answers short: ``ModifyCacheCluster``,
``TestFailover``, and the tag list of ``AddTagsToResource``/``RemoveTagsFromResource``.

**What AWS does.**

- ``ModifyCacheCluster`` changes a cluster's settings. ``NumCacheNodes`` adds
  Memcached nodes (new, empty ones) or removes the ones named in
  ``CacheNodeIdsToRemove``; a Valkey or Redis OSS cluster (not a replication
  group) has exactly one node. ``CacheNodeType`` scales a Valkey/Redis OSS node
  to another type. With ``ApplyImmediately=False`` (the default) the changes
  wait for the maintenance window and show as ``PendingModifiedValues``.
- ``TestFailover`` fails the primary of one node group over to a replica, for
  testing an application; at most 15 node groups in any rolling 24 hours.
- ``AddTagsToResource`` and ``RemoveTagsFromResource`` answer with the
  resource's tags afterwards (``TagList``).

**What moto does.** The first two raise NotImplementedError; the tag calls
answer with nothing.

**What labkit does.** ``before`` subscribers answer the first two from the
local servers (:mod:`.deployments`, :func:`.failover.fail_over`) and moto's
stored cluster (its node count and type, patched in place through
:mod:`.seams`); an ``after`` subscriber adds the tag list. Pending changes are
kept and shown, and never applied: there is no maintenance window here.
``AZMode``, ``NewAvailabilityZones``, security groups, engine upgrades and the
other settings are accepted and not modelled. Scaling a Memcached node type
raises :class:`NotEmulated`.
"""

from __future__ import annotations

import threading
from typing import Any

from botocore.exceptions import ClientError

from labkit.core import errors, hooks
from labkit.core.aws import internal_client
from labkit.core.clock import clock
from labkit.services.elasticache import deployments, seams
from labkit.services.elasticache.failover import FailoverError, fail_over
from labkit.services.elasticache.memcached import local_memory_bytes

Answer = tuple[int, dict[str, Any]]

#: Node groups TestFailover may test in any rolling 24 hours (ElastiCache API Reference, TestFailover).
FAILOVER_TESTS_PER_DAY = 15
#: Seconds the primary endpoint stays down during a TestFailover (sandbox clock).
TEST_FAILOVER_DOWNTIME = 1.0
MAX_MEMCACHED_NODES = 40


class NotEmulated(errors.NotEmulated):
    """A real ElastiCache feature that labkit's emulation does not offer."""


_LOCK = threading.Lock()
_PENDING: dict[tuple[str, str], dict[str, Any]] = {}  # (region, cluster id) -> PendingModifiedValues
_FAILOVER_TESTS: list[float] = []  # sandbox times of TestFailover calls


def _client(call: hooks.Call) -> Any:
    return internal_client("elasticache", call.region)


def _client_error(error: ClientError) -> Answer:
    err = error.response["Error"]
    return hooks.error_answer(err["Code"], err.get("Message", ""), error.response["ResponseMetadata"]["HTTPStatusCode"])


# ---------------------------------------------------------------- ModifyCacheCluster


def _apply_nodes(call: hooks.Call, cid: str, cluster: dict[str, Any], count: int, remove: list[str]) -> None:
    seams.set_cluster_field(call.region, cid, "num_cache_nodes", count)
    dep = deployments.deployment((call.region, cid))
    if dep is None:
        return  # no servers yet: the next describe starts as many as moto now reports
    with deployments.STATE.lock:
        for node_id in remove:
            index = dep.node_ids.index(node_id)
            dep.nodes.pop(index).stop()
            dep.node_ids.pop(index)
        while len(dep.nodes) < count:
            next_id = max((int(i) for i in dep.node_ids), default=0) + 1
            dep.nodes.append(deployments.memcached_server(local_memory_bytes(dep.node_type), dep))
            dep.node_ids.append(f"{next_id:04d}")


def modify_cache_cluster(call: hooks.Call) -> Answer:
    p = call.params
    cid = p.get("CacheClusterId", "")
    try:
        cluster = _client(call).describe_cache_clusters(CacheClusterId=cid, ShowCacheNodeInfo=True)["CacheClusters"][0]
    except ClientError as error:
        return _client_error(error)
    engine = cluster.get("Engine", "redis")
    current = int(cluster.get("NumCacheNodes") or 1)
    count = p.get("NumCacheNodes")
    remove = list(p.get("CacheNodeIdsToRemove") or [])
    node_type = p.get("CacheNodeType")
    if count is not None:
        if engine != "memcached" and count != 1:
            return hooks.error_answer("InvalidParameterValue",
                                      f"NumCacheNodes must be 1 for a {engine} cluster; add replicas with a replication group.")
        if not 1 <= count <= MAX_MEMCACHED_NODES:
            return hooks.error_answer("InvalidParameterValue", f"NumCacheNodes must be between 1 and {MAX_MEMCACHED_NODES}.")
        known = [n["CacheNodeId"] for n in cluster.get("CacheNodes") or []]
        if count < current and len(remove) != current - count:
            return hooks.error_answer("InvalidParameterValue",
                                      f"Going from {current} to {count} nodes: name the {current - count} node(s) to remove "
                                      "in CacheNodeIdsToRemove.")
        if count >= current and remove:
            return hooks.error_answer("InvalidParameterCombination",
                                      "CacheNodeIdsToRemove is only for lowering NumCacheNodes.")
        unknown = [n for n in remove if known and n not in known]
        if unknown:
            return hooks.error_answer("InvalidParameterValue", f"Unknown cache node ids: {', '.join(unknown)}")
    if node_type and node_type != cluster.get("CacheNodeType") and engine == "memcached":
        raise NotEmulated("labkit does not emulate vertical scaling of a Memcached cluster (a new node type); "
                          "create a new cluster with the node type you want and move the traffic to it.")
    key = (call.region, cid)
    if p.get("ApplyImmediately"):
        if count is not None and count != current:
            _apply_nodes(call, cid, cluster, count, remove)
        if node_type:
            seams.set_cluster_field(call.region, cid, "cache_node_type", node_type)
            dep = deployments.deployment(key)
            if dep is not None:
                dep.node_type = node_type
        with _LOCK:
            _PENDING.pop(key, None)
    else:
        pending: dict[str, Any] = {}
        if count is not None and count != current:
            pending["NumCacheNodes"] = count
            if remove:
                pending["CacheNodeIdsToRemove"] = remove
        if node_type and node_type != cluster.get("CacheNodeType"):
            pending["CacheNodeType"] = node_type
        with _LOCK:
            if pending:
                _PENDING[key] = pending
            else:
                _PENDING.pop(key, None)
    described = _client(call).describe_cache_clusters(CacheClusterId=cid)["CacheClusters"][0]
    return 200, {"CacheCluster": described, "ResponseMetadata": {"HTTPStatusCode": 200}}


def _show_pending(call: hooks.Call, parsed: dict[str, Any], status: int) -> None:
    if status >= 300 or not isinstance(parsed, dict):
        return
    with _LOCK:
        for cluster in parsed.get("CacheClusters", []):
            pending = _PENDING.get((call.region, cluster.get("CacheClusterId", "")))
            if pending:
                cluster["PendingModifiedValues"] = dict(pending)


# ---------------------------------------------------------------- TestFailover


def answer_test_failover(call: hooks.Call) -> Answer:
    gid = call.params.get("ReplicationGroupId", "")
    try:
        group = _client(call).describe_replication_groups(ReplicationGroupId=gid)["ReplicationGroups"][0]
    except ClientError as error:
        return _client_error(error)
    node_groups = [g.get("NodeGroupId") for g in group.get("NodeGroups") or []]
    if call.params.get("NodeGroupId") not in node_groups:
        return hooks.error_answer("NodeGroupNotFoundFault",
                                  f"Node group {call.params.get('NodeGroupId')} not found in {gid}.", 404)
    now = clock.now()
    with _LOCK:
        _FAILOVER_TESTS[:] = [t for t in _FAILOVER_TESTS if t > now - 24 * 3600]
        if len(_FAILOVER_TESTS) >= FAILOVER_TESTS_PER_DAY:
            return hooks.error_answer("TestFailoverNotAvailableFault",
                                      f"TestFailover is limited to {FAILOVER_TESTS_PER_DAY} node groups in any rolling "
                                      "24 hours; try again later.")
    try:
        fail_over(gid, downtime=TEST_FAILOVER_DOWNTIME, region=call.region)
    except FailoverError as error:
        return hooks.error_answer("InvalidReplicationGroupState", str(error))
    with _LOCK:
        _FAILOVER_TESTS.append(now)
    described = _client(call).describe_replication_groups(ReplicationGroupId=gid)["ReplicationGroups"][0]
    return 200, {"ReplicationGroup": described, "ResponseMetadata": {"HTTPStatusCode": 200}}


# ---------------------------------------------------------------- tags


def _tag_list(call: hooks.Call, parsed: dict[str, Any], status: int) -> None:
    if status >= 300 or not isinstance(parsed, dict) or "TagList" in parsed:
        return
    tags = _client(call).list_tags_for_resource(ResourceName=call.params["ResourceName"])
    parsed["TagList"] = tags.get("TagList", [])


def subscribe() -> None:
    hooks.subscribe("before", "elasticache", "ModifyCacheCluster", modify_cache_cluster, internal=False)
    hooks.subscribe("before", "elasticache", "TestFailover", answer_test_failover, internal=False)
    hooks.subscribe("after", "elasticache", "DescribeCacheClusters", _show_pending)
    hooks.subscribe("after", "elasticache", "AddTagsToResource", _tag_list)
    hooks.subscribe("after", "elasticache", "RemoveTagsFromResource", _tag_list)


def reset() -> None:
    with _LOCK:
        _PENDING.clear()
        _FAILOVER_TESTS.clear()
