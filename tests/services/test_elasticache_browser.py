"""ElastiCache in the browser edition, in a local process: redis-py and pymemcache
reach the in-process nodes (no socket connects: the tests take connecting away),
with what a client sees locally: replicas refuse writes, a failover drops
connections and keeps the endpoint down on the sandbox clock, keys expire on
that clock, pub/sub delivers, a replaced Memcached node is reconnected to, empty.
(tests/lite/test_browser_mode.py runs the walkthrough where threads and sockets
really fail; tests/services/test_elasticache.py covers the local edition.)"""

from __future__ import annotations

import socket
import threading
import uuid

import pytest
import redis
from pymemcache.client.base import Client as Memcache
from pymemcache.exceptions import MemcacheUnexpectedCloseError
from redis.backoff import NoBackoff
from redis.retry import Retry

from labkit.core import loopback, platform, seams
from labkit.services import elasticache as local
from labkit.services.elasticache import browser
from tests.support.nosockets import take_sockets_away


@pytest.fixture()
def ec(aws):
    return aws["elasticache"]


@pytest.fixture()
def in_browser(lab, monkeypatch):
    """Browser mode on, the client seams installed, and no socket can connect
    (so every answer below came in-process)."""
    monkeypatch.setenv(platform.VARIABLE, "1")
    lab.elasticache.install()  # the service's install(): in browser mode, the client seams too (idempotent)
    assert {seam.path for seam in browser.SEAMS if seam.patched} <= set(seams.patched())
    take_sockets_away(monkeypatch, ("connect", "connect_ex"))
    yield lab
    lab.reset()  # in-process nodes are stopped before browser mode ends
    seams.uninstall(browser.SEAMS)


def name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def redis_group(ec, members=2):
    gid = name("rg")
    ec.create_replication_group(ReplicationGroupId=gid, ReplicationGroupDescription="test", Engine="redis",
                                CacheNodeType="cache.t3.micro", NumCacheClusters=members,
                                AutomaticFailoverEnabled=True)
    return gid, ec.describe_replication_groups(ReplicationGroupId=gid)["ReplicationGroups"][0]["NodeGroups"][0]


def memcached_cluster(ec):
    cid = name("mc")
    ec.create_cache_cluster(CacheClusterId=cid, Engine="memcached", CacheNodeType="cache.t3.micro", NumCacheNodes=1)
    cluster = ec.describe_cache_clusters(CacheClusterId=cid, ShowCacheNodeInfo=True)["CacheClusters"][0]
    return cid, cluster["CacheNodes"][0]["Endpoint"]


def addr(endpoint):
    return endpoint["Address"], endpoint["Port"]


def fragile(endpoint, **kwargs):
    """A client that does not retry: it reports the first error it meets."""
    return redis.Redis(*addr(endpoint), retry=Retry(NoBackoff(), 0), **kwargs)


# ---- Redis ------------------------------------------------------------------------

def test_redis_reaches_the_primary_in_process_and_a_replica_refuses_writes(in_browser, ec):
    _, group = redis_group(ec)
    primary = redis.Redis(*addr(group["PrimaryEndpoint"]), decode_responses=True)
    assert primary.set("order:1", "paid") and primary.get("order:1") == "paid"
    assert isinstance(primary.connection_pool.get_connection()._sock, browser.RedisPipe)
    assert loopback.in_process(group["PrimaryEndpoint"]["Port"]).in_process
    reader = redis.Redis(*addr(group["ReaderEndpoint"]), decode_responses=True)
    assert reader.get("order:1") == "paid"  # one dataset: the replica has the write
    with pytest.raises(redis.exceptions.ReadOnlyError, match="read only replica"):
        reader.set("order:2", "new")
    replica = next(m for m in group["NodeGroupMembers"] if m["CurrentRole"] == "replica")
    with pytest.raises(redis.exceptions.ReadOnlyError):
        redis.Redis(*addr(replica["ReadEndpoint"])).incr("visits")
    primary.zadd("board", {"ann": 3, "bob": 5})
    assert reader.zrevrange("board", 0, -1, withscores=True) == [("bob", 5.0), ("ann", 3.0)]


def test_a_redis_key_expires_on_the_sandbox_clock(in_browser, ec):
    _, group = redis_group(ec, members=1)
    r = redis.Redis(*addr(group["PrimaryEndpoint"]), decode_responses=True)
    r.set("login:42", "ann", ex=60)
    r.set("login:43", "bob", ex=3600)
    assert r.ttl("login:42") == 60
    in_browser.clock.advance(61)
    assert r.get("login:42") is None and r.get("login:43") == "bob"


def test_pub_sub_delivers_to_a_subscriber_in_process(in_browser, ec):
    _, group = redis_group(ec, members=1)
    publisher = redis.Redis(*addr(group["PrimaryEndpoint"]), decode_responses=True)
    subscriber = redis.Redis(*addr(group["PrimaryEndpoint"]), decode_responses=True).pubsub()
    subscriber.subscribe("invalidate")
    assert subscriber.get_message(timeout=1)["type"] == "subscribe"
    assert subscriber.get_message(timeout=1) is None  # nothing published yet: the wait ends at once
    assert publisher.publish("invalidate", "product:7") == 1
    message = subscriber.get_message(timeout=1)
    assert (message["channel"], message["data"]) == ("invalidate", "product:7")
    subscriber.close()
    assert publisher.publish("invalidate", "product:8") == 0  # closed: nobody listens any more


def test_a_read_that_could_only_wait_for_ever_is_a_browser_gap(in_browser, ec):
    _, group = redis_group(ec, members=1)
    subscriber = redis.Redis(*addr(group["PrimaryEndpoint"])).pubsub()
    subscriber.subscribe("news")
    subscriber.get_message(timeout=1)
    with pytest.raises(platform.BrowserGap, match="give the call a timeout"):
        subscriber.get_message(timeout=None)  # blocks until a message: nothing else could send one


def test_a_failover_drops_clients_and_the_endpoint_refuses_until_the_sandbox_clock_says(in_browser, ec):
    gid, group = redis_group(ec)
    endpoint = group["PrimaryEndpoint"]
    client = fragile(endpoint, decode_responses=True)
    client.set("order:1001", "paid")
    local.fail_over(gid, downtime=3600)  # an hour down
    with pytest.raises(redis.exceptions.ConnectionError, match="closed by server"):
        client.get("order:1001")  # its connection was dropped
    with pytest.raises(redis.exceptions.ConnectionError):
        fragile(endpoint).ping()  # a new connection is closed at once while the endpoint is down
    in_browser.clock.advance(3600)
    assert client.get("order:1001") == "paid"  # the same address, served by the promoted replica
    assert client.set("order:1002", "new")
    old_primary = next(m for m in group["NodeGroupMembers"] if m["CacheClusterId"] == f"{gid}-001")
    with pytest.raises(redis.exceptions.ReadOnlyError):  # the old primary came back as a replica
        fragile(old_primary["ReadEndpoint"]).set("x", "1")


def test_a_replaced_redis_node_is_reconnected_to_empty(in_browser, ec):
    rid = name("rc")
    ec.create_cache_cluster(CacheClusterId=rid, Engine="redis", CacheNodeType="cache.t3.micro", NumCacheNodes=1)
    node = ec.describe_cache_clusters(CacheClusterId=rid, ShowCacheNodeInfo=True)["CacheClusters"][0]["CacheNodes"][0]
    r = redis.Redis(*addr(node["Endpoint"]))
    r.set("k", "v")
    local.fail_node(rid)  # replace_dataset: open connections drop
    assert r.get("k") is None  # redis-py retries on a new connection, to the new, empty dataset


def test_a_deleted_cache_is_a_refused_connection(in_browser, ec):
    rid = name("rc")
    ec.create_cache_cluster(CacheClusterId=rid, Engine="redis", CacheNodeType="cache.t3.micro", NumCacheNodes=1)
    node = ec.describe_cache_clusters(CacheClusterId=rid, ShowCacheNodeInfo=True)["CacheClusters"][0]["CacheNodes"][0]
    r = fragile(node["Endpoint"])
    assert r.ping()
    ec.delete_cache_cluster(CacheClusterId=rid)
    with pytest.raises(redis.exceptions.ConnectionError):
        r.ping()
    with pytest.raises(redis.exceptions.ConnectionError, match="nothing serves on 127.0.0.1"):
        fragile(node["Endpoint"]).ping()


# ---- Memcached ----------------------------------------------------------------------

def test_memcached_get_after_a_node_replacement_reconnects_to_the_new_empty_node(in_browser, ec):
    cid, endpoint = memcached_cluster(ec)
    mc = Memcache(addr(endpoint))
    mc.set("score:ann", "70", noreply=False)
    assert mc.get("score:ann") == b"70"
    assert isinstance(mc.sock, browser.MemcachedPipe)
    assert local.memcached_stats(*addr(endpoint))["curr_connections"] == "2"  # mc, and the stats helper's own
    local.fail_node(cid)
    with pytest.raises(MemcacheUnexpectedCloseError):
        mc.get("score:ann")  # the old connection was dropped
    assert mc.get("score:ann") is None  # pymemcache reconnects, to the replacement
    mc.set("score:bob", "25", noreply=False)
    assert mc.get("score:bob") == b"25"
    stats = local.memcached_stats(*addr(endpoint))
    assert (stats["curr_connections"], stats["curr_items"]) == ("2", "1")
    mc.close()
    assert local.memcached_stats(*addr(endpoint))["curr_connections"] == "1"


def test_memcached_items_expire_on_the_sandbox_clock_and_evict_when_full(in_browser, ec):
    _, endpoint = memcached_cluster(ec)
    mc = Memcache(addr(endpoint))
    mc.set("session", "x", expire=60, noreply=False)
    in_browser.clock.advance(61)
    assert mc.get("session") is None
    mc.set_many({f"page:{n}": "x" * 1000 for n in range(1000)}, noreply=False)
    assert int(mc.stats()[b"evictions"]) > 0 and mc.get("page:0") is None and mc.get("page:999") == b"x" * 1000


def test_the_memcached_pipe_waits_for_a_whole_command_before_it_answers(in_browser, ec):
    _, endpoint = memcached_cluster(ec)
    pipe = browser.connect_memcached(*addr(endpoint), timeout=1)
    pipe.sendall(b"set k 0 0 5\r\nhel")
    with pytest.raises(TimeoutError):  # the data block is not complete: no answer yet, and none can come
        pipe.recv(100)
    pipe.sendall(b"lo\r\nget k\r\n")
    assert pipe.recv(100) == b"STORED\r\nVALUE k 0 5\r\nhello\r\nEND\r\n"
    pipe.sendall(b"quit\r\n")
    assert pipe.recv(100) == b""  # the node closed the connection
    pipe.close()
    with pytest.raises(OSError):
        pipe.sendall(b"version\r\n")


def test_reset_drops_every_in_process_connection(in_browser, ec):
    _, group = redis_group(ec, members=1)
    _, endpoint = memcached_cluster(ec)
    r = fragile(group["PrimaryEndpoint"])
    mc = Memcache(addr(endpoint))
    r.set("k", "v")
    mc.set("k", "v", noreply=False)
    threads = threading.active_count()
    assert loopback.live_servers() and all(server.in_process for server in loopback.live_servers())
    in_browser.reset()
    assert loopback.live_servers() == [] and threading.active_count() == threads
    with pytest.raises(redis.exceptions.ConnectionError):
        r.get("k")
    with pytest.raises((MemcacheUnexpectedCloseError, ConnectionRefusedError)):
        mc.get("k")


# ---- locally, and the seams -----------------------------------------------------------

def test_locally_the_clients_keep_their_sockets_even_with_the_seams_installed(lab, ec, monkeypatch):
    monkeypatch.setenv(platform.VARIABLE, "1")
    browser.install()
    monkeypatch.delenv(platform.VARIABLE)
    try:
        _, group = redis_group(ec, members=1)
        _, endpoint = memcached_cluster(ec)
        r = redis.Redis(*addr(group["PrimaryEndpoint"]))
        assert r.ping()
        assert isinstance(r.connection_pool.get_connection()._sock, socket.socket)
        mc = Memcache(addr(endpoint))
        assert mc.version() and isinstance(mc.sock, socket.socket)
        mc.close()
    finally:
        seams.uninstall(browser.SEAMS)


def test_the_client_seams_are_where_the_browser_edition_expects_them():
    """redis-py, pymemcache and fakeredis internals the browser edition patches or calls:
    an upgrade that moves one fails here, loudly."""
    assert seams.check(browser.SEAMS) == []
    from fakeredis._clients._tcp_server import _INTERNAL_CONNECTION_KWARGS, FakeRedisConnection

    fake = FakeRedisConnection(server=local.servers.new_dataset("redis"), **_INTERNAL_CONNECTION_KWARGS)
    objects = {
        "Connection": redis.connection.Connection(host="127.0.0.1", port=6379),
        "Client": Memcache(("127.0.0.1", 11211)),
        "BaseFakeSocket": fake.get_socket(),
    }
    instance_seams = [seam for seam in browser.SEAMS if seam.instance]
    assert instance_seams
    for seam in instance_seams:
        owner, attribute = seam.qualname.rsplit(".", 1)
        assert owner in objects, f"add a real {owner} to this test for {seam.path}"
        assert hasattr(objects[owner], attribute), seam.path
    assert objects["BaseFakeSocket"]._client_info.protocol_version == 2  # RESP2 until the client sends HELLO 3


def test_the_browser_seams_are_installed_only_in_the_browser_edition(lab, monkeypatch):
    monkeypatch.delenv(platform.VARIABLE, raising=False)
    seams.uninstall(browser.SEAMS)
    browser.install()
    assert not {seam.path for seam in browser.SEAMS} & set(seams.patched())
