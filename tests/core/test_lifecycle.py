"""``lab.reset()`` resets everything: no plane leaves a thread, a listening socket,
a database or a throttle behind, and every plane starts clean afterwards."""

from __future__ import annotations

import socket
import sqlite3
import threading

import pytest
import redis
from pymemcache.client.base import Client as Memcache

from labkit.core import loopback

USER, PASSWORD = "admin", "correct-horse-battery"


def refused(address: tuple[str, int]) -> bool:
    """True if nothing listens at ``address`` any more."""
    try:
        socket.create_connection(address, timeout=1).close()
    except OSError:
        return True
    return False


def endpoint(description: dict) -> tuple[str, int]:
    return description["Address"], description["Port"]


def throttled_writes(dynamodb, count: int = 5) -> int:
    """Write ``count`` items at once; how many the table refused."""
    refused_writes = 0
    for n in range(count):
        try:
            dynamodb.put_item(TableName="orders", Item={"id": {"S": str(n)}})
        except dynamodb.exceptions.ProvisionedThroughputExceededException:
            refused_writes += 1
    return refused_writes


def use_every_plane(lab, aws, *, throttle: bool = True) -> dict:
    """Start a Memcached and a Redis cluster and talk to them, write to an RDS
    database, make a DynamoDB table with 1 WCU (throttled, unless ``throttle``
    is false). Returns what a test needs to look again."""
    ec = aws["elasticache"]
    ec.create_cache_cluster(CacheClusterId="sessions", Engine="memcached", CacheNodeType="cache.t3.micro",
                            NumCacheNodes=2)
    ec.create_cache_cluster(CacheClusterId="leaderboard", Engine="redis", CacheNodeType="cache.t3.micro",
                            NumCacheNodes=1)
    memcached = [endpoint(node["Endpoint"]) for node in ec.describe_cache_clusters(
        CacheClusterId="sessions", ShowCacheNodeInfo=True)["CacheClusters"][0]["CacheNodes"]]
    redis_node = endpoint(ec.describe_cache_clusters(
        CacheClusterId="leaderboard", ShowCacheNodeInfo=True)["CacheClusters"][0]["CacheNodes"][0]["Endpoint"])
    cache = Memcache(memcached[0])
    cache.set("user:1", "ada", noreply=False)
    board = redis.Redis(*redis_node)
    board.zadd("scores", {"ada": 42})
    assert cache.get("user:1") == b"ada" and board.zscore("scores", "ada") == 42

    rds = aws["rds"]
    host = rds.create_db_instance(DBInstanceIdentifier="shop", Engine="postgres", DBInstanceClass="db.t3.micro",
                                  MasterUsername=USER, MasterUserPassword=PASSWORD, AllocatedStorage=20,
                                  DBName="shop")["DBInstance"]["Endpoint"]["Address"]
    with lab.rds.connect(host, user=USER, password=PASSWORD) as db:
        db.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY)")

    dynamodb = aws["dynamodb"]
    dynamodb.create_table(TableName="orders", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                          AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                          ProvisionedThroughput={"ReadCapacityUnits": 1, "WriteCapacityUnits": 1})
    if throttle:
        lab.dynamodb.simulate_throttling("orders")
        assert throttled_writes(dynamodb) > 0
    return {"servers": memcached + [redis_node], "clients": (cache, board), "rds_host": host}


def test_reset_leaves_no_thread_socket_database_or_throttle_behind(lab, aws):
    threads_after_start = set(threading.enumerate())
    servers_after_start = loopback.live_servers()
    used = use_every_plane(lab, aws)
    assert len(loopback.live_servers()) >= len(servers_after_start) + 3  # two Memcached nodes and a Redis node
    assert {t for t in threading.enumerate() if t.name.startswith("labkit-")} - threads_after_start, \
        "the planes started no thread of their own"

    lab.reset()

    assert loopback.live_servers() == servers_after_start
    for address in used["servers"]:
        assert refused(address), f"still listening: {address}"
    for thread in set(threading.enumerate()) - threads_after_start:
        # A connection's thread ends once its server closed the socket under it.
        thread.join(timeout=5)
    assert {t for t in threading.enumerate() if t.is_alive()} <= threads_after_start, [
        t.name for t in set(threading.enumerate()) - threads_after_start]
    assert lab.dynamodb.throttling("orders") is None
    with pytest.raises(sqlite3.OperationalError):
        lab.rds.connect(used["rds_host"], user=USER, password=PASSWORD)


def test_every_plane_starts_clean_after_reset(lab, aws):
    use_every_plane(lab, aws)
    lab.reset()
    # The same names again: nothing left over refuses them or serves old data.
    used = use_every_plane(lab, aws, throttle=False)
    cache, board = used["clients"]
    assert board.zcard("scores") == 1 and cache.get("user:1") == b"ada"
    with lab.rds.connect(used["rds_host"], user=USER, password=PASSWORD) as db:
        assert db.execute("SELECT count(*) FROM orders").fetchone() == (0,)
    assert throttled_writes(aws["dynamodb"]) == 0
