"""Local cache nodes behind the ElastiCache endpoints that boto3 reports.

What AWS does
    ElastiCache runs cache nodes (Memcached, Valkey or Redis OSS) in your VPC.
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
    (status stays ``deleting``), and ``test_failover`` is not implemented.

What labkit adds (this module, installed by :func:`install`)
    A botocore ``after-call`` hook fills the parsed ElastiCache responses you
    get from boto3 with loopback endpoints (``127.0.0.1`` and a free port) of
    servers labkit starts for that cluster, lazily, the first time a describe
    call shows it ``available``:

    * ``Engine="memcached"``: one :class:`MemcachedServer` per node, a small
      pure-Python server of Memcached's text protocol (get/gets/set/add/
      replace/append/prepend/cas/delete/incr/decr/touch/flush_all/stats and
      ``config get cluster`` for auto discovery). Each node has its own data,
      as in Memcached, and evicts least-recently-used items when it is full.
      Its memory is the node type's memory scaled down 1024 times (a node of
      about 0.5 GiB holds about 0.5 MiB here), so that eviction can be seen
      with a few hundred small items: a bigger node type holds more.
    * ``Engine="redis"`` or ``"valkey"``: fakeredis TCP servers. A replication
      group gets one server per member (the number you asked for), plus a
      primary endpoint and a reader endpoint; all of a group's servers share
      one dataset, and replicas and the reader endpoint refuse writes with
      Redis's ``READONLY`` error.
    * :func:`fail_over` does what ``TestFailover`` does to clients: it drops
      every connection to the primary, keeps the primary endpoint refusing
      connections for ``downtime`` seconds, then serves it from the promoted
      replica; ``describe_replication_groups`` then shows the roles swapped.
    * Deleting a cluster or group stops its servers; describe calls made after
      the delete no longer list it (``CacheClusterNotFound`` when asked by id),
      so the ``cache_cluster_deleted`` waiter works. Servers stop at interpreter
      exit too.

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

import atexit
import json
import socket
import socketserver
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Callable

import boto3
from botocore.exceptions import ClientError
from labkit import sandbox

#: Where every local node listens. Only loopback, ever.
HOST = "127.0.0.1"

#: Memory of a node type, in GiB, used only to size the local model (scaled
#: down by :data:`MEMORY_SCALE`). Approximate; unknown types count as 1 GiB.
NODE_MEMORY_GIB: dict[str, float] = {
    "cache.t2.micro": 0.555, "cache.t2.small": 1.55, "cache.t2.medium": 3.22,
    "cache.t3.micro": 0.5, "cache.t3.small": 1.37, "cache.t3.medium": 3.09,
    "cache.t4g.micro": 0.5, "cache.t4g.small": 1.37, "cache.t4g.medium": 3.09,
    "cache.m5.large": 6.38, "cache.m6g.large": 6.38, "cache.m7g.large": 6.38,
    "cache.r5.large": 13.07, "cache.r6g.large": 13.07, "cache.r7g.large": 13.07,
}
#: The local model holds 1/1024 of a node's memory (GiB become MiB).
MEMORY_SCALE = 1024
#: Memcached's default largest item (1 MiB); larger values are refused.
MAX_ITEM_SIZE = 1024 * 1024
#: Bytes counted per item on top of key and value (memcached's item header).
ITEM_OVERHEAD = 50


def local_memory_bytes(node_type: str) -> int:
    """How many bytes a local Memcached node of ``node_type`` can hold."""
    gib = NODE_MEMORY_GIB.get(node_type, 1.0)
    return int(gib * 1024**3 / MEMORY_SCALE)


# --------------------------------------------------------------------------- #
# Memcached: a small text-protocol server
# --------------------------------------------------------------------------- #
@dataclass
class _Item:
    value: bytes
    flags: int
    expires: float  # 0: never
    cas: int

    def size(self, key: bytes) -> int:
        return ITEM_OVERHEAD + len(key) + len(self.value)


class MemcachedServer:
    """One Memcached node on 127.0.0.1 (text protocol, LRU eviction, TTLs).

    Args:
        memory_limit: bytes the node can hold before it evicts.
        port: 0 picks a free port.
        cluster_nodes: returns ``[(host, port), ...]`` of every node in the
            cluster, for ``config get cluster`` (ElastiCache auto discovery).
    """

    VERSION = "1.6.22"

    def __init__(self, memory_limit: int, port: int = 0,
                 cluster_nodes: Callable[[], list[tuple[str, int]]] | None = None) -> None:
        self.memory_limit = memory_limit
        self.cluster_nodes = cluster_nodes or (lambda: [(HOST, self.port)])
        self.items: OrderedDict[bytes, _Item] = OrderedDict()
        self.used = 0
        self.lock = threading.Lock()
        self.started = time.time()
        self.counters = {"get_hits": 0, "get_misses": 0, "cmd_get": 0, "cmd_set": 0,
                         "evictions": 0, "expired_unfetched": 0, "total_items": 0,
                         "cmd_touch": 0, "delete_hits": 0, "delete_misses": 0}
        self._cas = 0
        self._connections: set[socket.socket] = set()
        outer = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                outer._connections.add(self.connection)
                try:
                    outer._serve(self.rfile, self.wfile)
                except (ConnectionError, OSError, ValueError):
                    pass
                finally:
                    outer._connections.discard(self.connection)

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self._server = socketserver.ThreadingTCPServer((HOST, port), Handler)
        self._server.daemon_threads = True
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True,
                                        name=f"labkit-memcached-{self.port}")
        self._thread.start()

    # -- life cycle ---------------------------------------------------------
    def stop(self) -> None:
        """Stop listening and drop every open connection."""
        self._server.shutdown()
        self._server.server_close()
        for conn in list(self._connections):
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    # -- storage ------------------------------------------------------------
    def _alive(self, key: bytes, now: float) -> _Item | None:
        item = self.items.get(key)
        if item is None:
            return None
        if item.expires and item.expires <= now:
            self._remove(key)
            self.counters["expired_unfetched"] += 1
            return None
        return item

    def _remove(self, key: bytes) -> None:
        item = self.items.pop(key)
        self.used -= item.size(key)

    def _store(self, key: bytes, item: _Item, now: float) -> bool:
        size = item.size(key)
        if size > self.memory_limit:
            return False
        if key in self.items:
            self._remove(key)
        # Reclaim expired items first, then evict from the cold end (LRU).
        if self.used + size > self.memory_limit:
            for k in [k for k, it in self.items.items() if it.expires and it.expires <= now]:
                self._remove(k)
                self.counters["expired_unfetched"] += 1
        while self.used + size > self.memory_limit and self.items:
            cold = next(iter(self.items))
            self._remove(cold)
            self.counters["evictions"] += 1
        self._cas += 1
        item.cas = self._cas
        self.items[key] = item
        self.used += size
        self.counters["total_items"] += 1
        return True

    @staticmethod
    def _expiry(exptime: int, now: float) -> float:
        if exptime == 0:
            return 0.0
        if exptime < 0:
            return now - 1
        if exptime > 30 * 24 * 3600:  # an absolute Unix time, as in memcached
            return float(exptime)
        return now + exptime

    # -- protocol -----------------------------------------------------------
    def _serve(self, rfile: Any, wfile: Any) -> None:
        while True:
            line = rfile.readline()
            if not line:
                return
            parts = line.rstrip(b"\r\n").split()
            if not parts:
                wfile.write(b"ERROR\r\n")
                wfile.flush()
                continue
            cmd = parts[0].lower()
            if cmd in (b"set", b"add", b"replace", b"append", b"prepend", b"cas"):
                reply = self._storage(cmd, parts, rfile)
            elif cmd == b"quit":
                return
            else:
                reply = self._command(cmd, parts)
            if reply is not None:
                wfile.write(reply)
                wfile.flush()

    def _storage(self, cmd: bytes, parts: list[bytes], rfile: Any) -> bytes | None:
        need = 6 if cmd == b"cas" else 5
        if len(parts) < need:
            return b"ERROR\r\n"
        key, flags, exptime, nbytes = parts[1], int(parts[2]), int(parts[3]), int(parts[4])
        noreply = parts[-1] == b"noreply" and len(parts) > need
        data = rfile.read(nbytes + 2)[:nbytes]
        if len(key) > 250:
            return None if noreply else b"CLIENT_ERROR key too long\r\n"
        if nbytes > MAX_ITEM_SIZE:
            return None if noreply else b"SERVER_ERROR object too large for cache\r\n"
        now = time.time()
        with self.lock:
            self.counters["cmd_set"] += 1
            current = self._alive(key, now)
            result = b"STORED"
            if cmd == b"add" and current is not None:
                result = b"NOT_STORED"
            elif cmd in (b"replace", b"append", b"prepend") and current is None:
                result = b"NOT_STORED"
            elif cmd == b"cas":
                if current is None:
                    result = b"NOT_FOUND"
                elif current.cas != int(parts[5]):
                    result = b"EXISTS"
            if result == b"STORED":
                if cmd == b"append" and current is not None:
                    item = _Item(current.value + data, current.flags, current.expires, 0)
                elif cmd == b"prepend" and current is not None:
                    item = _Item(data + current.value, current.flags, current.expires, 0)
                else:
                    item = _Item(data, flags, self._expiry(exptime, now), 0)
                if not self._store(key, item, now):
                    result = b"SERVER_ERROR out of memory storing object"
        return None if noreply else result + b"\r\n"

    def _command(self, cmd: bytes, parts: list[bytes]) -> bytes | None:
        now = time.time()
        noreply = parts[-1] == b"noreply"
        with self.lock:
            if cmd in (b"get", b"gets"):
                out = []
                for key in parts[1:]:
                    self.counters["cmd_get"] += 1
                    item = self._alive(key, now)
                    if item is None:
                        self.counters["get_misses"] += 1
                        continue
                    self.counters["get_hits"] += 1
                    self.items.move_to_end(key)  # recently used
                    cas = b" %d" % item.cas if cmd == b"gets" else b""
                    out.append(b"VALUE %s %d %d%s\r\n%s\r\n" % (key, item.flags, len(item.value), cas, item.value))
                return b"".join(out) + b"END\r\n"
            if cmd == b"delete" and len(parts) >= 2:
                if self._alive(parts[1], now) is None:
                    self.counters["delete_misses"] += 1
                    reply = b"NOT_FOUND\r\n"
                else:
                    self._remove(parts[1])
                    self.counters["delete_hits"] += 1
                    reply = b"DELETED\r\n"
                return None if noreply else reply
            if cmd in (b"incr", b"decr") and len(parts) >= 3:
                item = self._alive(parts[1], now)
                if item is None:
                    return None if noreply else b"NOT_FOUND\r\n"
                try:
                    number = int(item.value)
                except ValueError:
                    return b"CLIENT_ERROR cannot increment or decrement non-numeric value\r\n"
                delta = int(parts[2])
                number = (number + delta) % 2**64 if cmd == b"incr" else max(0, number - delta)
                self._store(parts[1], _Item(b"%d" % number, item.flags, item.expires, 0), now)
                return None if noreply else b"%d\r\n" % number
            if cmd == b"touch" and len(parts) >= 3:
                self.counters["cmd_touch"] += 1
                item = self._alive(parts[1], now)
                if item is None:
                    return None if noreply else b"NOT_FOUND\r\n"
                item.expires = self._expiry(int(parts[2]), now)
                return None if noreply else b"TOUCHED\r\n"
            if cmd == b"flush_all":
                self.items.clear()
                self.used = 0
                return None if noreply else b"OK\r\n"
            if cmd == b"stats" and len(parts) == 1:
                return self._stats(now)
            if cmd == b"version":
                return b"VERSION %s\r\n" % self.VERSION.encode()
            if cmd == b"verbosity":
                return None if noreply else b"OK\r\n"
            if cmd == b"config" and parts[1:3] == [b"get", b"cluster"]:
                nodes = " ".join(f"{h}|{h}|{p}" for h, p in self.cluster_nodes())
                body = f"1\n{nodes}\n".encode()
                return b"CONFIG cluster 0 %d\r\n%s\r\nEND\r\n" % (len(body), body)
        return b"ERROR\r\n"

    def _stats(self, now: float) -> bytes:
        stats: dict[str, Any] = {
            "pid": 1, "uptime": int(now - self.started), "time": int(now), "version": self.VERSION,
            "curr_connections": len(self._connections), "curr_items": len(self.items),
            "bytes": self.used, "limit_maxbytes": self.memory_limit, **self.counters,
        }
        lines = b"".join(b"STAT %s %s\r\n" % (k.encode(), str(v).encode()) for k, v in stats.items())
        return lines + b"END\r\n"


# --------------------------------------------------------------------------- #
# Redis / Valkey: fakeredis TCP servers
# --------------------------------------------------------------------------- #
def _write_commands() -> frozenset[str]:
    table = json.loads(resources.files("fakeredis").joinpath("commands.json").read_text())
    return frozenset(name for name, spec in table.items() if " " not in name and "write" in spec[2])


_WRITES: frozenset[str] | None = None
READONLY_MESSAGE = "READONLY You can't write against a read only replica."


class RedisNode:
    """A fakeredis TCP server on 127.0.0.1 serving a (possibly shared) dataset.

    Args:
        dataset: the ``fakeredis.FakeServer`` holding the data.
        port: 0 picks a free port; a fixed port lets an endpoint come back
            on the same address after a failover.
        readonly: refuse write commands with ``READONLY`` (a replica).
    """

    def __init__(self, dataset: Any, port: int = 0, readonly: bool = False) -> None:
        from fakeredis import TcpFakeServer
        from fakeredis._clients._tcp_server import TCPFakeRequestHandler

        global _WRITES
        if _WRITES is None:
            _WRITES = _write_commands()
        writes = _WRITES
        self.readonly = readonly
        node = self

        class Handler(TCPFakeRequestHandler):
            def setup(self) -> None:
                super().setup()
                fake = self.current_client.get_socket()
                original = fake._process_command

                def guarded(fields: list[bytes]) -> None:
                    name = fields[0].decode("utf-8", "replace").lower() if fields else ""
                    if node.readonly and name in writes:
                        from fakeredis._helpers import SimpleError

                        fake.put_response(SimpleError(READONLY_MESSAGE))
                        return
                    original(fields)

                fake._process_command = guarded

        server = TcpFakeServer((HOST, port), bind_and_activate=False)
        server.RequestHandlerClass = Handler
        server.daemon_threads = True
        server.allow_reuse_address = True
        server.server_bind()
        server.server_activate()
        server.fake_server = dataset
        self._server = server
        self.port: int = server.server_address[1]
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True, name=f"labkit-redis-{self.port}")
        self._thread.start()

    def stop(self) -> None:
        """Stop listening and drop every open connection."""
        self._server.shutdown()  # sets the event that ends each connection's loop
        self._server.server_close()


# --------------------------------------------------------------------------- #
# What labkit started, keyed by (region, id)
# --------------------------------------------------------------------------- #
@dataclass
class _Deployment:
    kind: str  # "cluster" or "group"
    engine: str
    node_type: str
    created: Any  # the create time moto reported: a new cluster with the same id gets new servers
    members: list[str] = field(default_factory=list)  # group member ids
    nodes: list[Any] = field(default_factory=list)  # MemcachedServer / RedisNode per node or member
    dataset: Any = None
    primary: RedisNode | None = None  # group primary endpoint
    reader: RedisNode | None = None  # group reader endpoint
    primary_index: int = 0
    failovers: int = 0

    def stop(self) -> None:
        for server in [*self.nodes, self.primary, self.reader]:
            if server is not None:
                try:
                    server.stop()
                except OSError:
                    pass


_LOCK = threading.RLock()
_DEPLOYMENTS: dict[tuple[str, str], _Deployment] = {}
_GROUP_SIZES: dict[tuple[str, str], int] = {}  # members asked for at CreateReplicationGroup
_DELETED: dict[tuple[str, str], Any] = {}  # (region, id) -> create time of the deleted resource


def _new_dataset(engine: str) -> Any:
    from fakeredis import FakeServer

    return FakeServer(server_type="valkey" if engine == "valkey" else "redis")


def _current(key: tuple[str, str], created: Any) -> _Deployment | None:
    """The running deployment for ``key`` if it serves the same resource (same
    creation time); a stale one, left by a deleted resource of the same id, is stopped.
    Call with ``_LOCK`` held."""
    dep = _DEPLOYMENTS.get(key)
    if dep is not None and dep.created == created:
        return dep
    if dep is not None:
        dep.stop()
    return None


def _cluster_deployment(region: str, cluster: dict[str, Any]) -> _Deployment:
    key = (region, cluster["CacheClusterId"])
    with _LOCK:
        dep = _current(key, cluster.get("CacheClusterCreateTime"))
        if dep is not None:
            return dep
        engine = cluster.get("Engine", "redis")
        node_type = cluster.get("CacheNodeType", "")
        dep = _Deployment("cluster", engine, node_type, cluster.get("CacheClusterCreateTime"))
        if engine == "memcached":
            count = max(1, int(cluster.get("NumCacheNodes") or 1))
            limit = local_memory_bytes(node_type)
            dep.nodes = [MemcachedServer(limit, cluster_nodes=lambda d=dep: [(HOST, n.port) for n in d.nodes])
                         for _ in range(count)]
        else:
            dep.dataset = _new_dataset(engine)
            dep.nodes = [RedisNode(dep.dataset)]
        _DEPLOYMENTS[key] = dep
        return dep


def _group_deployment(region: str, group: dict[str, Any]) -> _Deployment:
    gid = group["ReplicationGroupId"]
    key = (region, "rg:" + gid)
    with _LOCK:
        dep = _current(key, group.get("ReplicationGroupCreateTime"))
        if dep is not None:
            return dep
        engine = group.get("Engine", "redis")
        count = _GROUP_SIZES.get((region, gid), len(group.get("MemberClusters") or []) or 1)
        dep = _Deployment("group", engine, group.get("CacheNodeType", ""), group.get("ReplicationGroupCreateTime"))
        dep.members = [f"{gid}-{i:03d}" for i in range(1, count + 1)]
        dep.dataset = _new_dataset(engine)
        dep.nodes = [RedisNode(dep.dataset, readonly=i != 0) for i in range(count)]
        dep.primary = RedisNode(dep.dataset)
        dep.reader = RedisNode(dep.dataset, readonly=True) if count > 1 else None
        _DEPLOYMENTS[key] = dep
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
            {"CacheNodeId": f"{i:04d}", "CacheNodeStatus": "available",
             "CacheNodeCreateTime": cluster.get("CacheClusterCreateTime"),
             "Endpoint": _endpoint(node.port), "ParameterGroupStatus": "in-sync",
             "CustomerAvailabilityZone": azs}
            for i, node in enumerate(dep.nodes, start=1)
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
        for i, (member, node) in enumerate(zip(dep.members, dep.nodes))
    ]
    group["NodeGroups"] = [node_group]


# --------------------------------------------------------------------------- #
# botocore hooks
# --------------------------------------------------------------------------- #
def _remember_params(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
    """``before-parameter-build``: keep the request's parameters for the after-call hook."""
    context["labkit_params"] = dict(params)


def _not_found(code: str, message: str, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message, "Type": "Sender"},
                        "ResponseMetadata": {"HTTPStatusCode": 404}}, operation)


def _after_call(http_response: Any, parsed: dict[str, Any], model: Any, context: dict[str, Any],
                **_: Any) -> None:
    """``after-call``: fill endpoints, hide deleted resources, stop their servers."""
    if not isinstance(parsed, dict) or "Error" in parsed:
        return
    region = context.get("client_region") or "us-east-1"
    params = context.get("labkit_params", {})
    op = model.name
    if op == "CreateReplicationGroup":
        count = params.get("NumCacheClusters") or (params.get("ReplicasPerNodeGroup", 0) + 1)
        count = max(count, len(params.get("PreferredCacheClusterAZs") or []), 1)
        gid = params.get("ReplicationGroupId", "")
        with _LOCK:
            _GROUP_SIZES[(region, gid)] = min(int(count), 6)
            _DELETED.pop((region, "rg:" + gid), None)
        group = parsed.get("ReplicationGroup", {})
        group["MemberClusters"] = [f"{gid}-{i:03d}" for i in range(1, min(int(count), 6) + 1)]
    elif op == "CreateCacheCluster":
        with _LOCK:
            _DELETED.pop((region, params.get("CacheClusterId", "")), None)
    elif op == "DescribeCacheClusters":
        clusters = parsed.get("CacheClusters", [])
        kept = [c for c in clusters
                if not _hidden((region, c.get("CacheClusterId", "")), c.get("CacheClusterCreateTime"))]
        if params.get("CacheClusterId") and not kept:
            raise _not_found("CacheClusterNotFound", f"Cache cluster {params['CacheClusterId']} not found.", op)
        parsed["CacheClusters"] = kept
        for cluster in kept:
            _fill_cluster(region, cluster, bool(params.get("ShowCacheNodeInfo")))
    elif op == "DescribeReplicationGroups":
        groups = parsed.get("ReplicationGroups", [])
        kept = [g for g in groups
                if not _hidden((region, "rg:" + g.get("ReplicationGroupId", "")), g.get("ReplicationGroupCreateTime"))]
        if params.get("ReplicationGroupId") and not kept:
            raise _not_found("ReplicationGroupNotFoundFault",
                             f"Replication group {params['ReplicationGroupId']} not found.", op)
        parsed["ReplicationGroups"] = kept
        for group in kept:
            _fill_group(region, group)
    elif op == "DeleteCacheCluster":
        cluster = parsed.get("CacheCluster", {})
        _forget(region, cluster.get("CacheClusterId", ""), cluster.get("CacheClusterCreateTime"), "cluster")
    elif op == "DeleteReplicationGroup":
        group = parsed.get("ReplicationGroup", {})
        gid = group.get("ReplicationGroupId", "")
        _forget(region, "rg:" + gid, group.get("ReplicationGroupCreateTime"), "group")


def _hidden(key: tuple[str, str], created: Any) -> bool:
    """True for a resource deleted through boto3 that moto still lists as ``deleting``."""
    with _LOCK:
        return key in _DELETED and _DELETED[key] == created


def _forget(region: str, key_id: str, created: Any, kind: str) -> None:
    with _LOCK:
        dep = _DEPLOYMENTS.pop((region, key_id), None)
        if dep is not None:
            dep.stop()
            created = dep.created if created is None else created
        _DELETED[(region, key_id)] = created
    # Let moto forget it too, so the same id can be created again (a moto seam,
    # owned by labkit.moto_seams when it provides one).
    try:
        from labkit import moto_seams

        forget = getattr(moto_seams, "forget_elasticache_resource", None)
    except ImportError:  # pragma: no cover
        forget = None
    if forget is not None:
        forget(region, kind, key_id.removeprefix("rg:"))
        with _LOCK:
            _DELETED.pop((region, key_id), None)


_HANDLERS = (
    ("before-parameter-build.elasticache", _remember_params),
    ("after-call.elasticache", _after_call),
)
_ATEXIT = False


def install() -> None:
    """Register the hooks for every botocore client made from now on. Idempotent.

    Clients created before this call do not have the hooks; create ElastiCache
    clients after ``labkit.start()``.
    """
    global _ATEXIT
    with _LOCK:
        if not _ATEXIT:
            atexit.register(stop_all)
            _ATEXIT = True
    sandbox.register_handlers(_HANDLERS)


def installed() -> bool:
    """True when the hooks are registered."""
    return sandbox.handlers_registered(_HANDLERS)


def stop_all() -> None:
    """Stop every local node labkit started (also run at interpreter exit)."""
    with _LOCK:
        for dep in _DEPLOYMENTS.values():
            dep.stop()
        _DEPLOYMENTS.clear()


# --------------------------------------------------------------------------- #
# Failover
# --------------------------------------------------------------------------- #
class FailoverError(RuntimeError):
    """The replication group cannot fail over (what AWS would refuse too)."""


def fail_over(replication_group_id: str, downtime: float = 1.0, region: str = "us-east-1",
              wait: bool = False) -> dict[str, str]:
    """Fail the primary of a replication group over to its first replica.

    What it simulates (what ``TestFailover`` does to your clients): every
    connection to the primary endpoint and to the old primary node is dropped;
    the primary endpoint refuses connections for ``downtime`` seconds; then the
    same endpoint (same address and port, as the DNS name stays the same on
    AWS) is served by the promoted replica, which holds the data that had been
    replicated (here: all of it), and the old primary comes back as a replica.

    Args:
        replication_group_id: a group described at least once since it was created.
        downtime: seconds during which the primary endpoint refuses connections.
        wait: block until the primary endpoint serves again.

    Returns:
        ``{"old_primary": ..., "new_primary": ...}`` member cluster ids.

    Raises:
        FailoverError: the group has no replica, or automatic failover is off.
    """
    key = (region, "rg:" + replication_group_id)
    with _LOCK:
        dep = _DEPLOYMENTS.get(key)
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
    primary_port, old_port = dep.primary.port, dep.nodes[old].port
    dep.primary.stop()
    dep.nodes[old].stop()
    dep.nodes[new].readonly = False
    dep.primary_index = new
    dep.failovers += 1
    done = threading.Event()

    def recover() -> None:
        with _LOCK:
            if _DEPLOYMENTS.get(key) is dep:
                dep.primary = RedisNode(dep.dataset, port=primary_port)
                dep.nodes[old] = RedisNode(dep.dataset, port=old_port, readonly=True)
        done.set()

    timer = threading.Timer(downtime, recover)
    timer.daemon = True
    timer.start()
    if wait:
        done.wait(downtime + 5)
    return {"old_primary": dep.members[old], "new_primary": dep.members[new]}


def _automatic_failover(region: str, group_id: str) -> str:
    client = boto3.client("elasticache", region_name=region)
    group = client.describe_replication_groups(ReplicationGroupId=group_id)["ReplicationGroups"][0]
    return str(group.get("AutomaticFailover", "disabled"))


def memcached_stats(host: str, port: int) -> dict[str, str]:
    """The ``stats`` of one Memcached node, as strings (a raw-socket helper)."""
    with socket.create_connection((host, port), timeout=2) as conn:
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


def fail_node(cache_cluster_id: str, node_index: int = 0, region: str = "us-east-1") -> int:
    """Make one node of a cache cluster fail and be replaced, as ElastiCache does.

    What it simulates: the node's connections drop and ElastiCache replaces it
    with a new, empty node at the same endpoint. A Memcached node's items (and
    a single-node Valkey/Redis cluster's data) are gone: nothing replicated
    them. Replication groups fail over instead (see :func:`fail_over`).

    Returns:
        The port of the replaced node (the same as before).
    """
    with _LOCK:
        dep = _DEPLOYMENTS.get((region, cache_cluster_id))
        if dep is None:
            raise FailoverError(
                f"No local nodes for cache cluster {cache_cluster_id!r} in {region}: create it, then "
                "call describe_cache_clusters once (labkit starts nodes lazily).")
        old = dep.nodes[node_index]
        port = old.port
        old.stop()
        if dep.engine == "memcached":
            dep.nodes[node_index] = MemcachedServer(old.memory_limit, port=port, cluster_nodes=old.cluster_nodes)
        else:
            dep.dataset = _new_dataset(dep.engine)
            dep.nodes[node_index] = RedisNode(dep.dataset, port=port)
        return port
