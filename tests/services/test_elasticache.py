"""The ElastiCache service (lab.elasticache): the endpoints boto3 reports are served
locally, driven by the configuration; its seams; its lifecycle."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
import uuid

import pytest
import redis
from botocore.exceptions import ClientError
from pymemcache.client.base import Client as Memcache
from redis.backoff import NoBackoff
from redis.retry import Retry

from labkit.core import hooks, loopback, seams
from labkit.services import elasticache as local
from labkit.services.elasticache import deployments
from tests.support.lifecycle import assert_nothing_left_running


@pytest.fixture()
def ec(aws):
    return aws["elasticache"]


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


def refused(host, port) -> bool:
    try:
        socket.create_connection((host, port), timeout=1).close()
    except OSError:
        return True
    return False


# ---- the Memcached plane, in-process ---------------------------------------------

def test_memcached_node_answers_bytes_in_process():
    node = local.MemcachedNode(memory_limit=1 << 20)
    assert node.handle(b"set k 0 0 5\r\nhello\r\nget k\r\n") == b"STORED\r\nVALUE k 0 5\r\nhello\r\nEND\r\n"
    assert node.handle(b"add k 0 0 1\r\nx\r\nincr k 1\r\n") == (
        b"NOT_STORED\r\nCLIENT_ERROR cannot increment or decrement non-numeric value\r\n")
    assert node.handle(b"set n 0 0 1 noreply\r\n7\r\nincr n 5\r\ndelete n\r\ndelete n\r\n") == (
        b"12\r\nDELETED\r\nNOT_FOUND\r\n")
    assert node.handle(b"version\r\nquit\r\nversion\r\n") == b"VERSION 1.6.22\r\n"  # nothing after quit
    assert node.handle(b"set k 0 0 10\r\nshort\r\n") == b"CLIENT_ERROR bad data chunk\r\n"
    assert node.handle(b"touch k x\r\n") == b"CLIENT_ERROR bad command line format\r\n"
    assert node.handle(b"\r\nbogus\r\n") == b"ERROR\r\nERROR\r\n"


def test_memcached_ttl_and_uptime_follow_the_sandbox_clock(lab):
    node = local.MemcachedNode(memory_limit=1 << 20)
    node.handle(b"set short 0 60 1\r\n1\r\nset long 0 3600 1\r\n1\r\n")
    lab.clock.advance(61)
    assert node.handle(b"get short long\r\n") == b"VALUE long 0 1\r\n1\r\nEND\r\n"
    stats = dict(line.split(b" ")[1:] for line in node.handle(b"stats\r\n").splitlines() if line.startswith(b"STAT"))
    assert int(stats[b"uptime"]) >= 61 and stats[b"expired_unfetched"] == b"1"


def test_memcached_evicts_the_least_recently_used_item():
    node = local.MemcachedNode(memory_limit=3 * (local.memcached.ITEM_OVERHEAD + 1 + 100))
    for key in (b"a", b"b", b"c"):
        node.handle(b"set %s 0 0 100\r\n%s\r\n" % (key, b"x" * 100))
    node.handle(b"get a\r\n")  # a is recently used now; b is the coldest
    node.handle(b"set d 0 0 100\r\n%s\r\n" % (b"x" * 100))
    assert [k for k in (b"a", b"b", b"c", b"d") if b"VALUE" in node.handle(b"get %s\r\n" % k)] == [b"a", b"c", b"d"]
    assert node.counters["evictions"] == 1


# ---- Memcached behind the endpoints ------------------------------------------------

def test_memcached_cluster_reports_loopback_nodes_that_speak_memcached(ec):
    _cid, cluster = memcached_cluster(ec, nodes=3)
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


def test_cache_nodes_only_with_show_cache_node_info(ec):
    cid, _ = memcached_cluster(ec)
    plain = ec.describe_cache_clusters(CacheClusterId=cid)["CacheClusters"][0]
    assert "CacheNodes" not in plain or not plain["CacheNodes"]


def test_memcached_ttl_expires_items_on_the_sandbox_clock(lab, ec):
    _cid, cluster = memcached_cluster(ec)
    client = Memcache(addr(cluster["CacheNodes"][0]["Endpoint"]))
    client.set("short", "1", expire=60, noreply=False)
    client.set("long", "1", expire=3600, noreply=False)
    assert client.get("short") == b"1"
    lab.clock.advance(61)  # a minute later, without waiting a minute
    assert client.get("short") is None and client.get("long") == b"1"


def fill(ec, node_type):
    """Fill one node of ``node_type`` with 3,000 items of 400 bytes, reading "hot" now and then."""
    _, cluster = memcached_cluster(ec, node_type=node_type)
    client = Memcache(addr(cluster["CacheNodes"][0]["Endpoint"]))
    client.set("hot", "h", noreply=False)
    for i in range(3000):
        client.set(f"item{i}", "x" * 400, noreply=False)
        if i % 100 == 0:
            client.get("hot")  # recently used: survives
    return client.stats(), client


def test_memcached_evicts_lru_and_node_type_drives_capacity(ec):
    micro, micro_client = fill(ec, "cache.t3.micro")
    small, small_client = fill(ec, "cache.t3.small")
    for stats, client, node_type in ((micro, micro_client, "cache.t3.micro"), (small, small_client, "cache.t3.small")):
        assert stats[b"bytes"] <= stats[b"limit_maxbytes"] == local.local_memory_bytes(node_type)
        assert client.get("hot") == b"h"
    assert micro[b"evictions"] > 0
    assert micro_client.get("item0") is None  # the coldest went first
    assert micro_client.get("item2999") == b"x" * 400
    assert small[b"curr_items"] > micro[b"curr_items"]  # a bigger node type holds more


def test_memcached_evictions_reach_cloudwatch_once_a_sandbox_minute_per_node(lab, aws, ec):
    from datetime import datetime, timezone

    from labkit.services.elasticache import metrics

    cw = aws["cloudwatch"]
    cid, cluster = memcached_cluster(ec, nodes=2)
    dims = [{"Name": "CacheClusterId", "Value": cid}, {"Name": "CacheNodeId", "Value": "0001"}]
    cw.put_metric_alarm(AlarmName=f"{cid}-evictions", Namespace="AWS/ElastiCache", MetricName="Evictions",
                        Dimensions=dims, Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=0,
                        ComparisonOperator="GreaterThanThreshold", TreatMissingData="breaching")
    lab.clock.advance(120)  # nodes running, nothing evicted: zeros are published
    assert cw.describe_alarms(AlarmNames=[f"{cid}-evictions"])["MetricAlarms"][0]["StateValue"] == "OK"
    client = Memcache(addr(cluster["CacheNodes"][0]["Endpoint"]))
    # Every eviction falls in one sandbox minute, however long the writes take on a busy machine
    # (otherwise a minute could end during them, and the next one, the alarm's, hold none).
    with lab.clock.frozen():
        for i in range(1500):
            client.set(f"item{i}", "x" * 400, noreply=False)
        evicted = int(client.stats()[b"evictions"])
        assert evicted > 0
        lab.clock.advance(60)
        assert cw.describe_alarms(AlarmNames=[f"{cid}-evictions"])["MetricAlarms"][0]["StateValue"] == "ALARM"
    lab.clock.advance(60)
    end = lab.clock.now()

    def sums(node_id):
        points = cw.get_metric_statistics(
            Namespace="AWS/ElastiCache", MetricName="Evictions", Period=60, Statistics=["Sum", "SampleCount"],
            Dimensions=[{"Name": "CacheClusterId", "Value": cid}, {"Name": "CacheNodeId", "Value": node_id}],
            StartTime=datetime.fromtimestamp(end - 600, timezone.utc), EndTime=datetime.fromtimestamp(end, timezone.utc),
        )["Datapoints"]
        assert all(p["SampleCount"] == 1 for p in points)  # one data point a minute
        return [p["Sum"] for p in sorted(points, key=lambda p: p["Timestamp"])]

    first, second = sums("0001"), sums("0002")
    assert sum(first) == evicted and first[-1] == 0  # each eviction counted once, in its minute
    assert len(second) == len(first) and not any(second)  # the other node evicted nothing
    client.close()
    ec.delete_cache_cluster(CacheClusterId=cid)
    assert not [p for p in metrics.publish(lab.clock.now()) if p[0] == cid]  # a deleted cluster publishes nothing


def test_memcached_protocol_details():
    server = local.MemcachedServer(local.MemcachedNode(memory_limit=1 << 20))
    try:
        client = Memcache(("127.0.0.1", server.port), default_noreply=False)
        assert client.add("a", "1") and not client.add("a", "2")
        assert client.replace("a", "3") and not client.replace("zz", "1")
        assert client.incr("a", 4) == 7 and client.decr("a", 10) == 0
        _value, cas = client.gets("a")
        assert client.cas("a", "9", cas) and not client.cas("a", "10", cas)
        assert client.append("a", "x") and client.get("a") == b"9x"
        assert client.touch("a", 100) and client.delete("a") and not client.delete("a")
        with pytest.raises(Exception, match="too large"):
            client.set("big", b"x" * (local.MAX_ITEM_SIZE + 1))
        assert client.version().startswith(b"1.6")
        # pymemcache reconnected after the "too large" error, and each stats read opens
        # its own connection; the server notices a closed socket in that connection's own
        # thread, so poll until it has caught up and judge the last reading.
        deadline = time.monotonic() + 15
        while True:
            connections = local.memcached_stats("127.0.0.1", server.port)["curr_connections"]
            if connections == "2" or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert connections == "2"  # ours and the stats one: the dropped connections were let go
    finally:
        server.stop()
    assert refused("127.0.0.1", server.port)


# ---- Redis and Valkey -------------------------------------------------------------

def test_redis_cluster_gets_one_loopback_node(ec):
    cid = name("rc")
    ec.create_cache_cluster(CacheClusterId=cid, Engine="redis", CacheNodeType="cache.t3.micro", NumCacheNodes=1)
    cluster = ec.describe_cache_clusters(CacheClusterId=cid, ShowCacheNodeInfo=True)["CacheClusters"][0]
    (node,) = cluster["CacheNodes"]
    r = redis.Redis(*addr(node["Endpoint"]))
    assert r.ping() and r.set("k", "v") and r.get("k") == b"v"
    assert "ConfigurationEndpoint" not in cluster or not cluster["ConfigurationEndpoint"]


def test_redis_ttl_follows_the_sandbox_clock(lab, ec):
    _, group = redis_group(ec, members=1, auto=False)
    r = redis.Redis(*addr(group["NodeGroups"][0]["PrimaryEndpoint"]), decode_responses=True)
    r.set("login:42", "ann", ex=60)
    r.set("login:43", "bob", ex=3600)
    lab.clock.advance(61)
    assert r.get("login:42") is None and r.get("login:43") == "bob"


def test_replication_group_has_the_members_asked_for(ec):
    gid, group = redis_group(ec, members=3)
    assert group["MemberClusters"] == [f"{gid}-001", f"{gid}-002", f"{gid}-003"]
    members = group["NodeGroups"][0]["NodeGroupMembers"]
    assert [m["CurrentRole"] for m in members] == ["primary", "replica", "replica"]


def test_replicas_serve_reads_and_refuse_writes(ec):
    _gid, group = redis_group(ec)
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


def test_valkey_engine_is_served_too(ec):
    gid, group = redis_group(ec, members=1, engine="valkey", auto=False)
    r = redis.Redis(*addr(group["NodeGroups"][0]["PrimaryEndpoint"]))
    assert r.ping()
    assert deployments.deployment(deployments.group_key("us-east-1", gid)).dataset.server_type == "valkey"


# ---- failures ---------------------------------------------------------------------

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
    old_primary = next(m for m in node_group["NodeGroupMembers"] if m["CacheClusterId"] == f"{gid}-001")
    with pytest.raises(redis.exceptions.ReadOnlyError):  # the old primary came back as a replica
        redis.Redis(*addr(old_primary["ReadEndpoint"])).set("x", "1")


def test_failover_downtime_is_measured_on_the_sandbox_clock(lab, ec):
    gid, group = redis_group(ec)
    endpoint = addr(group["NodeGroups"][0]["PrimaryEndpoint"])
    redis.Redis(*endpoint).set("k", "v")
    local.fail_over(gid, downtime=3600)  # an hour down
    with pytest.raises(redis.exceptions.ConnectionError):
        redis.Redis(*endpoint, retry=Retry(NoBackoff(), 0)).get("k")
    lab.clock.advance(3600)  # ...and an hour later, without waiting
    assert redis.Redis(*endpoint, retry=Retry(NoBackoff(), 0)).get("k") == b"v"


def test_fail_over_with_wait_returns_once_the_endpoint_serves(lab, ec):
    gid, group = redis_group(ec)
    endpoint = addr(group["NodeGroups"][0]["PrimaryEndpoint"])
    with lab.clock.frozen():  # a frozen clock does not keep the endpoint down forever
        local.fail_over(gid, downtime=30, wait=True)
    assert redis.Redis(*endpoint, retry=Retry(NoBackoff(), 0)).ping()


def test_fail_over_refused_without_replica_or_automatic_failover(ec):
    gid, _ = redis_group(ec, members=1, auto=False)
    with pytest.raises(local.FailoverError, match="no replica"):
        local.fail_over(gid)
    gid2, _ = redis_group(ec, members=2, auto=False)
    with pytest.raises(local.FailoverError, match="AutomaticFailover"):
        local.fail_over(gid2)
    with pytest.raises(local.FailoverError, match="No local nodes"):
        local.fail_over("never-created")


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


# ---- deletes, moto's memory of them ---------------------------------------------------

def test_delete_stops_servers_and_hides_the_resource(ec):
    cid, cluster = memcached_cluster(ec)
    host, port = addr(cluster["CacheNodes"][0]["Endpoint"])
    ec.delete_cache_cluster(CacheClusterId=cid)
    ec.get_waiter("cache_cluster_deleted").wait(CacheClusterId=cid, WaiterConfig={"Delay": 1, "MaxAttempts": 3})
    with pytest.raises(ClientError) as err:
        ec.describe_cache_clusters(CacheClusterId=cid)
    assert err.value.response["Error"]["Code"] == "CacheClusterNotFound"
    assert cid not in [c["CacheClusterId"] for c in ec.describe_cache_clusters()["CacheClusters"]]
    assert refused(host, port)
    gid, group = redis_group(ec)
    primary = addr(group["NodeGroups"][0]["PrimaryEndpoint"])
    ec.delete_replication_group(ReplicationGroupId=gid)
    ec.get_waiter("replication_group_deleted").wait(ReplicationGroupId=gid,
                                                    WaiterConfig={"Delay": 1, "MaxAttempts": 3})
    assert refused(*primary)


def test_a_deleted_cache_cluster_or_replication_group_id_can_be_created_again(ec):
    """moto keeps deleted ElastiCache resources 'deleting' forever; labkit lets it
    forget them, so a notebook that creates and deletes them can run twice."""
    for attempt in ("first", "second"):
        tags = [{"Key": "attempt", "Value": "first"}] if attempt == "first" else []
        arn = ec.create_cache_cluster(CacheClusterId="again", Engine="memcached", CacheNodeType="cache.t3.micro",
                                      NumCacheNodes=1, Tags=tags)["CacheCluster"]["ARN"]
        assert ec.list_tags_for_resource(ResourceName=arn)["TagList"] == tags  # no tags left from the first
        ec.delete_cache_cluster(CacheClusterId="again")
        with pytest.raises(ClientError) as error:
            ec.describe_cache_clusters(CacheClusterId="again")
        assert error.value.response["Error"]["Code"] == "CacheClusterNotFound"

        ec.create_replication_group(ReplicationGroupId="again-rg", ReplicationGroupDescription=attempt,
                                    Engine="redis", CacheNodeType="cache.t3.micro", NumCacheClusters=2)
        ec.delete_replication_group(ReplicationGroupId="again-rg")
        with pytest.raises(ClientError) as error:
            ec.describe_replication_groups(ReplicationGroupId="again-rg")
        assert error.value.response["Error"]["Code"] == "ReplicationGroupNotFoundFault"

# ---- what AWS's SDK examples call: modify_cache_cluster, test_failover, tags ----------


def test_modify_cache_cluster_adds_and_removes_memcached_nodes(ec):
    cid, cluster = memcached_cluster(ec, nodes=2)
    first = cluster["CacheNodes"][0]["Endpoint"]
    Memcache(addr(first)).set("kept", b"1")
    answer = ec.modify_cache_cluster(CacheClusterId=cid, NumCacheNodes=3, ApplyImmediately=True)["CacheCluster"]
    assert answer["NumCacheNodes"] == 3
    nodes = ec.describe_cache_clusters(CacheClusterId=cid, ShowCacheNodeInfo=True)["CacheClusters"][0]["CacheNodes"]
    assert [n["CacheNodeId"] for n in nodes] == ["0001", "0002", "0003"]
    assert Memcache(addr(nodes[2]["Endpoint"])).get("kept") is None  # a new node starts empty
    assert Memcache(addr(first)).get("kept") == b"1"  # the old ones keep their items
    with pytest.raises(ClientError) as error:  # fewer nodes: say which ones go
        ec.modify_cache_cluster(CacheClusterId=cid, NumCacheNodes=2, ApplyImmediately=True)
    assert error.value.response["Error"]["Code"] == "InvalidParameterValue"
    ec.modify_cache_cluster(CacheClusterId=cid, NumCacheNodes=2, CacheNodeIdsToRemove=["0002"], ApplyImmediately=True)
    nodes = ec.describe_cache_clusters(CacheClusterId=cid, ShowCacheNodeInfo=True)["CacheClusters"][0]["CacheNodes"]
    assert [n["CacheNodeId"] for n in nodes] == ["0001", "0003"]
    assert refused(*addr(cluster["CacheNodes"][1]["Endpoint"]))  # the removed node's server stopped
    assert Memcache(addr(first)).get("kept") == b"1"


def test_modify_cache_cluster_pending_node_type_and_refusals(ec):
    cid = name("rc")
    ec.create_cache_cluster(CacheClusterId=cid, Engine="redis", CacheNodeType="cache.t3.micro", NumCacheNodes=1)
    host = ec.describe_cache_clusters(CacheClusterId=cid, ShowCacheNodeInfo=True)["CacheClusters"][0]
    client = redis.Redis(*addr(host["CacheNodes"][0]["Endpoint"]))
    client.set("cart", "3")
    pending = ec.modify_cache_cluster(CacheClusterId=cid, CacheNodeType="cache.t3.small")["CacheCluster"]
    assert pending["CacheNodeType"] == "cache.t3.micro"  # without ApplyImmediately: at the maintenance window
    assert pending["PendingModifiedValues"]["CacheNodeType"] == "cache.t3.small"
    ec.modify_cache_cluster(CacheClusterId=cid, CacheNodeType="cache.t3.small", ApplyImmediately=True)
    now = ec.describe_cache_clusters(CacheClusterId=cid)["CacheClusters"][0]
    assert now["CacheNodeType"] == "cache.t3.small" and not now.get("PendingModifiedValues")
    assert client.get("cart") == b"3"  # scaling a Valkey/Redis OSS node up keeps its data
    for bad, code in [({"NumCacheNodes": 2}, "InvalidParameterValue"),
                      ({"CacheClusterId": "nope"}, "CacheClusterNotFound")]:
        with pytest.raises(ClientError) as error:
            ec.modify_cache_cluster(**{"CacheClusterId": cid, "ApplyImmediately": True, **bad})
        assert error.value.response["Error"]["Code"] == code
    mc, _ = memcached_cluster(ec)
    with pytest.raises(local.NotEmulated, match="vertical scaling"):
        ec.modify_cache_cluster(CacheClusterId=mc, CacheNodeType="cache.m5.large", ApplyImmediately=True)


def test_test_failover_promotes_the_replica(lab, ec):
    gid, group = redis_group(ec)
    primary = addr(group["NodeGroups"][0]["PrimaryEndpoint"])
    redis.Redis(*primary).set("order", "42")
    with lab.clock.frozen():
        answer = ec.test_failover(ReplicationGroupId=gid, NodeGroupId="0001")["ReplicationGroup"]
        assert answer["ReplicationGroupId"] == gid
        roles = {m["CacheClusterId"]: m["CurrentRole"] for m in ec.describe_replication_groups(
            ReplicationGroupId=gid)["ReplicationGroups"][0]["NodeGroups"][0]["NodeGroupMembers"]}
        assert roles == {f"{gid}-001": "replica", f"{gid}-002": "primary"}
        with pytest.raises(redis.exceptions.ConnectionError):  # the primary endpoint is down during the failover
            redis.Redis(*primary, retry=Retry(NoBackoff(), 0)).get("order")
        lab.clock.advance(local.TEST_FAILOVER_DOWNTIME)
        served = redis.Redis(*primary, retry=Retry(NoBackoff(), 0))
        assert served.get("order") == b"42"  # the same endpoint, now the promoted replica
        assert served.set("order", "43")  # which takes writes


def test_test_failover_refusals(ec):
    single, _ = redis_group(ec, members=1, auto=False)
    cases = [({"ReplicationGroupId": "nope", "NodeGroupId": "0001"}, "ReplicationGroupNotFoundFault"),
             ({"ReplicationGroupId": single, "NodeGroupId": "0001"}, "InvalidReplicationGroupState"),
             ({"ReplicationGroupId": single, "NodeGroupId": "0009"}, "NodeGroupNotFoundFault")]
    for params, code in cases:
        with pytest.raises(ClientError) as error:
            ec.test_failover(**params)
        assert error.value.response["Error"]["Code"] == code


def test_test_failover_quota_per_rolling_day(lab, ec):
    groups = [redis_group(ec)[0] for _ in range(16)]
    for gid in groups[:15]:
        ec.test_failover(ReplicationGroupId=gid, NodeGroupId="0001")
    with pytest.raises(ClientError) as error:
        ec.test_failover(ReplicationGroupId=groups[15], NodeGroupId="0001")
    assert error.value.response["Error"]["Code"] == "TestFailoverNotAvailableFault"
    lab.clock.advance(24 * 3600)
    ec.test_failover(ReplicationGroupId=groups[15], NodeGroupId="0001")


def test_tag_calls_answer_with_the_tag_list(ec):
    cid, cluster = memcached_cluster(ec)
    arn = cluster["ARN"]
    added = ec.add_tags_to_resource(ResourceName=arn, Tags=[{"Key": "team", "Value": "shop"}])
    assert added["TagList"] == [{"Key": "team", "Value": "shop"}]
    ec.add_tags_to_resource(ResourceName=arn, Tags=[{"Key": "env", "Value": "lab"}])
    left = ec.remove_tags_from_resource(ResourceName=arn, TagKeys=["team"])
    assert left["TagList"] == [{"Key": "env", "Value": "lab"}]
    assert ec.list_tags_for_resource(ResourceName=arn)["TagList"] == left["TagList"]



def test_forget_elasticache_resource_only_knows_clusters_and_groups(lab, ec):
    assert local.seams.forget_resource(lab.region, "cluster", "never-created") is False
    ec.create_cache_cluster(CacheClusterId="known", Engine="memcached", CacheNodeType="cache.t3.micro",
                            NumCacheNodes=1)
    assert local.seams.forget_resource(lab.region, "cluster", "known") is True
    with pytest.raises(ValueError):
        local.seams.forget_resource(lab.region, "snapshot", "x")


# ---- seams -------------------------------------------------------------------------

def test_every_seam_is_where_the_service_expects_it(lab):
    lab.elasticache  # noqa: B018  (installs the service, which checks its seams)
    assert seams.check(local.SEAMS) == []
    assert not [seam for seam in local.SEAMS if seam.patched]  # nothing in moto or fakeredis is replaced


def test_instance_attributes_named_in_seams_exist_on_real_objects(lab, ec):
    """Seams with ``instance=True`` are attributes of moto's objects: only their
    class is checked by seams.check(), so check each on a real object here."""
    from moto.elasticache.models import elasticache_backends

    ec.create_cache_cluster(CacheClusterId="c", Engine="memcached", CacheNodeType="cache.t3.micro", NumCacheNodes=1)
    ec.create_replication_group(ReplicationGroupId="g", ReplicationGroupDescription="d", Engine="redis",
                                CacheNodeType="cache.t3.micro", NumCacheClusters=1)
    backend = elasticache_backends[lab.account_id][lab.region]
    objects = {
        "ElastiCacheBackend": backend,
        "CacheCluster": backend.cache_clusters["c"],
        "ReplicationGroup": backend.replication_groups["g"],
    }
    instance_seams = [seam for seam in local.SEAMS if seam.instance]
    assert instance_seams
    for seam in instance_seams:
        owner, attribute = seam.qualname.rsplit(".", 1)
        assert owner in objects, f"add a real {owner} to this test for {seam.path}"
        assert hasattr(objects[owner], attribute), seam.path


# ---- lifecycle ---------------------------------------------------------------------

def test_reset_stops_every_server_and_thread(lab, ec):
    lab.elasticache  # noqa: B018
    threads_before, servers_before = threading.active_count(), len(loopback.live_servers())
    assert servers_before == 0
    _, cluster = memcached_cluster(ec, nodes=2)
    gid, group = redis_group(ec, members=3)
    mc = Memcache(addr(cluster["CacheNodes"][0]["Endpoint"]))
    mc.set("k", "v", noreply=False)
    r = redis.Redis(*addr(group["NodeGroups"][0]["PrimaryEndpoint"]))
    r.set("k", "v")
    local.fail_over(gid, downtime=60)
    assert len(loopback.live_servers()) == 2 + 3 + 2  # memcached nodes; members, primary and reader
    assert threading.active_count() > threads_before
    lab.reset()
    assert_nothing_left_running(threads_before)
    assert deployments.STATE.deployments == {} and deployments.STATE.group_sizes == {}


def test_new_cluster_gets_fresh_servers_after_reset(lab, ec):
    cid, cluster = memcached_cluster(ec)
    Memcache(addr(cluster["CacheNodes"][0]["Endpoint"])).set("k", "v", noreply=False)
    lab.reset()
    ec = lab.client("elasticache")
    ec.create_cache_cluster(CacheClusterId=cid, Engine="memcached", CacheNodeType="cache.t3.micro", NumCacheNodes=1)
    fresh = ec.describe_cache_clusters(CacheClusterId=cid, ShowCacheNodeInfo=True)["CacheClusters"][0]
    assert Memcache(addr(fresh["CacheNodes"][0]["Endpoint"])).get("k") is None


def test_stop_all_closes_every_node(ec):
    cid, cluster = memcached_cluster(ec)
    host, port = addr(cluster["CacheNodes"][0]["Endpoint"])
    local.stop_all()
    assert refused(host, port)
    # a later describe starts the nodes again (empty, as after a node replacement)
    again = ec.describe_cache_clusters(CacheClusterId=cid, ShowCacheNodeInfo=True)["CacheClusters"][0]
    assert Memcache(addr(again["CacheNodes"][0]["Endpoint"])).version()


def test_importing_the_service_installs_nothing():
    code = ("import labkit.services.elasticache, labkit.core.hooks as h, labkit.core.loopback as l; "
            "print(sorted({k[1] for k, v in h._SUBSCRIBERS.items() if v}), len(l.live_servers()))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[] 0"


def test_install_subscribes_once(lab):
    lab.elasticache.install()
    lab.elasticache.install()
    subscribers = [fn for fn, _ in hooks._SUBSCRIBERS.get(("after", "elasticache", "*"), [])]
    assert subscribers.count(deployments.after_call) == 1
