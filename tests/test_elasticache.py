"""labkit.elasticache: the endpoints boto3 reports are served locally, driven by the configuration."""

from __future__ import annotations

import socket
import time
import uuid

import pytest
import redis
from botocore.exceptions import ClientError
from pymemcache.client.base import Client as Memcache
from redis.backoff import NoBackoff
from redis.retry import Retry

import labkit
from labkit import elasticache as local


@pytest.fixture()
def ec():
    lab = labkit.start()
    local.install()
    return lab.client("elasticache")


def name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def memcached_cluster(ec, node_type="cache.t3.micro", nodes=1):
    cid = name("mc")
    ec.create_cache_cluster(CacheClusterId=cid, Engine="memcached", CacheNodeType=node_type, NumCacheNodes=nodes)
    return cid, ec.describe_cache_clusters(CacheClusterId=cid, ShowCacheNodeInfo=True)["CacheClusters"][0]


def redis_group(ec, members=2, auto=True, engine="redis"):
    gid = name("rg")
    ec.create_replication_group(ReplicationGroupId=gid, ReplicationGroupDescription="test", Engine=engine,
                                CacheNodeType="cache.t3.micro", NumCacheClusters=members,
                                AutomaticFailoverEnabled=auto)
    return gid, ec.describe_replication_groups(ReplicationGroupId=gid)["ReplicationGroups"][0]


def addr(endpoint):
    return endpoint["Address"], endpoint["Port"]


def test_hooks_are_installed_and_idempotent(ec):
    local.install()
    local.install()
    assert local.installed()


def test_memcached_cluster_reports_loopback_nodes_that_speak_memcached(ec):
    cid, cluster = memcached_cluster(ec, nodes=3)
    nodes = [n["Endpoint"] for n in cluster["CacheNodes"]]
    assert len(nodes) == 3 and all(n["Address"] == "127.0.0.1" for n in nodes)
    assert len({n["Port"] for n in nodes}) == 3
    assert cluster["ConfigurationEndpoint"]["Address"] == "127.0.0.1"
    client = Memcache(addr(nodes[0]))
    assert client.set("k", "v", noreply=False) and client.get("k") == b"v"
    # each node has its own data, as in Memcached
    assert Memcache(addr(nodes[1])).get("k") is None
    # auto discovery through the configuration endpoint lists every node
    raw = Memcache(addr(cluster["ConfigurationEndpoint"])).raw_command(b"config get cluster", b"END")
    assert all(f"|{n['Port']}".encode() in raw for n in nodes)
    ec.delete_cache_cluster(CacheClusterId=cid)


def test_cache_nodes_only_with_show_cache_node_info(ec):
    cid, _ = memcached_cluster(ec)
    plain = ec.describe_cache_clusters(CacheClusterId=cid)["CacheClusters"][0]
    assert "CacheNodes" not in plain or not plain["CacheNodes"]
    ec.delete_cache_cluster(CacheClusterId=cid)


def test_memcached_ttl_expires_items(ec):
    cid, cluster = memcached_cluster(ec)
    client = Memcache(addr(cluster["CacheNodes"][0]["Endpoint"]))
    client.set("short", "1", expire=1, noreply=False)
    client.set("long", "1", expire=60, noreply=False)
    assert client.get("short") == b"1"
    time.sleep(1.2)
    assert client.get("short") is None and client.get("long") == b"1"
    ec.delete_cache_cluster(CacheClusterId=cid)


def test_memcached_evicts_lru_and_node_type_drives_capacity(ec):
    kept = {}
    for node_type in ("cache.t3.micro", "cache.t3.small"):
        cid, cluster = memcached_cluster(ec, node_type=node_type)
        client = Memcache(addr(cluster["CacheNodes"][0]["Endpoint"]))
        client.set("hot", "h", noreply=False)
        for i in range(3000):
            client.set(f"item{i}", "x" * 400, noreply=False)
            if i % 100 == 0:
                client.get("hot")  # recently used: survives
        stats = client.stats()
        assert stats[b"evictions"] > 0 if node_type == "cache.t3.micro" else True
        assert stats[b"bytes"] <= stats[b"limit_maxbytes"] == local.local_memory_bytes(node_type)
        assert client.get("hot") == b"h"
        assert client.get("item0") is None or node_type != "cache.t3.micro"  # coldest went first
        kept[node_type] = stats[b"curr_items"]
        ec.delete_cache_cluster(CacheClusterId=cid)
    assert kept["cache.t3.small"] > kept["cache.t3.micro"]


def test_memcached_protocol_details():
    server = local.MemcachedServer(memory_limit=1 << 20)
    try:
        client = Memcache(("127.0.0.1", server.port), default_noreply=False)
        assert client.add("a", "1") and not client.add("a", "2")
        assert client.replace("a", "3") and not client.replace("zz", "1")
        assert client.incr("a", 4) == 7 and client.decr("a", 10) == 0
        value, cas = client.gets("a")
        assert client.cas("a", "9", cas) and not client.cas("a", "10", cas)
        assert client.append("a", "x") and client.get("a") == b"9x"
        assert client.touch("a", 100) and client.delete("a") and not client.delete("a")
        with pytest.raises(Exception):
            client.set("big", b"x" * (local.MAX_ITEM_SIZE + 1))
        assert client.version().startswith(b"1.6")
    finally:
        server.stop()


def test_redis_cluster_gets_one_loopback_node(ec):
    cid = name("rc")
    ec.create_cache_cluster(CacheClusterId=cid, Engine="redis", CacheNodeType="cache.t3.micro", NumCacheNodes=1)
    cluster = ec.describe_cache_clusters(CacheClusterId=cid, ShowCacheNodeInfo=True)["CacheClusters"][0]
    (node,) = cluster["CacheNodes"]
    r = redis.Redis(*addr(node["Endpoint"]))
    assert r.ping() and r.set("k", "v") and r.get("k") == b"v"
    assert "ConfigurationEndpoint" not in cluster or not cluster["ConfigurationEndpoint"]
    ec.delete_cache_cluster(CacheClusterId=cid)


def test_replication_group_has_the_members_asked_for(ec):
    gid, group = redis_group(ec, members=3)
    assert group["MemberClusters"] == [f"{gid}-001", f"{gid}-002", f"{gid}-003"]
    members = group["NodeGroups"][0]["NodeGroupMembers"]
    assert [m["CurrentRole"] for m in members] == ["primary", "replica", "replica"]
    ec.delete_replication_group(ReplicationGroupId=gid)


def test_replicas_serve_reads_and_refuse_writes(ec):
    gid, group = redis_group(ec)
    node_group = group["NodeGroups"][0]
    primary = redis.Redis(*addr(node_group["PrimaryEndpoint"]), decode_responses=True)
    reader = redis.Redis(*addr(node_group["ReaderEndpoint"]), decode_responses=True)
    primary.zadd("board", {"ann": 3, "bob": 5})
    assert reader.zrevrange("board", 0, 0) == ["bob"]
    with pytest.raises(redis.exceptions.ReadOnlyError):
        reader.set("x", "1")
    replica = next(m for m in node_group["NodeGroupMembers"] if m["CurrentRole"] == "replica")
    with pytest.raises(redis.exceptions.ReadOnlyError):
        redis.Redis(*addr(replica["ReadEndpoint"])).set("x", "1")
    ec.delete_replication_group(ReplicationGroupId=gid)


def test_valkey_engine_is_served_too(ec):
    gid, group = redis_group(ec, members=1, engine="valkey", auto=False)
    r = redis.Redis(*addr(group["NodeGroups"][0]["PrimaryEndpoint"]))
    assert r.ping()
    ec.delete_replication_group(ReplicationGroupId=gid)


def test_fail_over_drops_clients_keeps_endpoint_and_swaps_roles(ec):
    gid, group = redis_group(ec)
    endpoint = group["NodeGroups"][0]["PrimaryEndpoint"]
    fragile = redis.Redis(*addr(endpoint), retry=Retry(NoBackoff(), 0), decode_responses=True)
    patient = redis.Redis(*addr(endpoint), decode_responses=True)  # redis-py's default retries
    fragile.set("order:1", "paid")
    moved = local.fail_over(gid, downtime=0.5)
    assert moved == {"old_primary": f"{gid}-001", "new_primary": f"{gid}-002"}
    with pytest.raises(redis.exceptions.ConnectionError):
        fragile.get("order:1")
    assert patient.get("order:1") == "paid"  # retried until the promoted replica served
    after = ec.describe_replication_groups(ReplicationGroupId=gid)["ReplicationGroups"][0]
    node_group = after["NodeGroups"][0]
    assert node_group["PrimaryEndpoint"] == endpoint
    roles = {m["CacheClusterId"]: m["CurrentRole"] for m in node_group["NodeGroupMembers"]}
    assert roles == {f"{gid}-001": "replica", f"{gid}-002": "primary"}
    assert patient.set("order:2", "new")  # the new primary takes writes
    ec.delete_replication_group(ReplicationGroupId=gid)


def test_fail_over_refused_without_replica_or_automatic_failover(ec):
    gid, _ = redis_group(ec, members=1, auto=False)
    with pytest.raises(local.FailoverError, match="no replica"):
        local.fail_over(gid)
    gid2, _ = redis_group(ec, members=2, auto=False)
    with pytest.raises(local.FailoverError, match="AutomaticFailover"):
        local.fail_over(gid2)
    for g in (gid, gid2):
        ec.delete_replication_group(ReplicationGroupId=g)


def test_delete_stops_servers_and_hides_the_resource(ec):
    cid, cluster = memcached_cluster(ec)
    host, port = addr(cluster["CacheNodes"][0]["Endpoint"])
    ec.delete_cache_cluster(CacheClusterId=cid)
    ec.get_waiter("cache_cluster_deleted").wait(CacheClusterId=cid, WaiterConfig={"Delay": 1, "MaxAttempts": 3})
    with pytest.raises(ClientError) as err:
        ec.describe_cache_clusters(CacheClusterId=cid)
    assert err.value.response["Error"]["Code"] == "CacheClusterNotFound"
    assert cid not in [c["CacheClusterId"] for c in ec.describe_cache_clusters()["CacheClusters"]]
    with pytest.raises(OSError):
        socket.create_connection((host, port), timeout=1).close()
    gid, group = redis_group(ec)
    ec.delete_replication_group(ReplicationGroupId=gid)
    ec.get_waiter("replication_group_deleted").wait(ReplicationGroupId=gid,
                                                    WaiterConfig={"Delay": 1, "MaxAttempts": 3})


def test_new_cluster_gets_fresh_servers_after_reset(ec):
    cid, cluster = memcached_cluster(ec)
    Memcache(addr(cluster["CacheNodes"][0]["Endpoint"])).set("k", "v", noreply=False)
    labkit.start(reset=True)
    lab = labkit.start()
    ec2 = lab.client("elasticache")
    ec2.create_cache_cluster(CacheClusterId=cid, Engine="memcached", CacheNodeType="cache.t3.micro", NumCacheNodes=1)
    fresh = ec2.describe_cache_clusters(CacheClusterId=cid, ShowCacheNodeInfo=True)["CacheClusters"][0]
    assert Memcache(addr(fresh["CacheNodes"][0]["Endpoint"])).get("k") is None
    ec2.delete_cache_cluster(CacheClusterId=cid)


def test_stop_all_closes_every_node(ec):
    cid, cluster = memcached_cluster(ec)
    host, port = addr(cluster["CacheNodes"][0]["Endpoint"])
    local.stop_all()
    with pytest.raises(OSError):
        socket.create_connection((host, port), timeout=1).close()
    # a later describe starts the nodes again (empty, as after a node replacement)
    again = ec.describe_cache_clusters(CacheClusterId=cid, ShowCacheNodeInfo=True)["CacheClusters"][0]
    assert Memcache(addr(again["CacheNodes"][0]["Endpoint"])).version()
    ec.delete_cache_cluster(CacheClusterId=cid)


def test_fail_node_replaces_a_node_empty_at_the_same_endpoint(ec):
    cid, cluster = memcached_cluster(ec)
    endpoint = addr(cluster["CacheNodes"][0]["Endpoint"])
    Memcache(endpoint).set("k", "v", noreply=False)
    assert local.fail_node(cid) == endpoint[1]
    assert Memcache(endpoint).get("k") is None
    rid = name("rc")
    ec.create_cache_cluster(CacheClusterId=rid, Engine="redis", CacheNodeType="cache.t3.micro", NumCacheNodes=1)
    node = ec.describe_cache_clusters(CacheClusterId=rid, ShowCacheNodeInfo=True)["CacheClusters"][0]["CacheNodes"][0]
    r = redis.Redis(*addr(node["Endpoint"]))
    r.set("k", "v")
    local.fail_node(rid)
    assert r.get("k") is None  # redis-py reconnects to the replacement, which is empty
    ec.delete_cache_cluster(CacheClusterId=cid)
    ec.delete_cache_cluster(CacheClusterId=rid)
