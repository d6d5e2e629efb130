"""A Memcached node, in-process: its memory and its text protocol.

:class:`MemcachedNode` is the whole behaviour of one node, callable without a
socket: :meth:`MemcachedNode.handle` takes the bytes a client would send
(``b"set k 0 60 1\\r\\nv\\r\\nget k\\r\\n"``) and returns the bytes the node
would answer. The TCP server a learner's client (pymemcache) talks to is a
thin front over it (:class:`labkit.services.elasticache.servers.MemcachedServer`).

What it implements: get/gets/set/add/replace/append/prepend/cas/delete/incr/
decr/touch/flush_all/stats/version/verbosity and ``config get cluster`` (the
ElastiCache auto-discovery command). Each node has its own data, as in
Memcached, and evicts least-recently-used items when it is full. Expiry times
and uptime read the sandbox clock (:mod:`labkit.core.clock`): after
``lab.clock.advance(60)`` an item set with a 60-second TTL is gone.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from labkit.core.clock import clock

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
#: Commands followed by a data block.
STORAGE_COMMANDS = (b"set", b"add", b"replace", b"append", b"prepend", b"cas")

_BAD_FORMAT = b"CLIENT_ERROR bad command line format\r\n"


def local_memory_bytes(node_type: str) -> int:
    """How many bytes a local Memcached node of ``node_type`` can hold."""
    gib = NODE_MEMORY_GIB.get(node_type, 1.0)
    return int(gib * 1024**3 / MEMORY_SCALE)


def command_name(line: bytes) -> bytes:
    """The command of a request line, lower case (``b""`` for an empty line)."""
    parts = line.split(None, 1)
    return parts[0].lower() if parts else b""


@dataclass
class _Item:
    value: bytes
    flags: int
    expires: float  # sandbox epoch seconds; 0: never
    cas: int

    def size(self, key: bytes) -> int:
        return ITEM_OVERHEAD + len(key) + len(self.value)


class MemcachedNode:
    """One Memcached node: items, LRU eviction, TTLs, the text protocol.

    Args:
        memory_limit: bytes the node can hold before it evicts.
        cluster_nodes: returns ``[(host, port), ...]`` of every node in the
            cluster, for ``config get cluster`` (ElastiCache auto discovery).
    """

    VERSION = "1.6.22"

    def __init__(self, memory_limit: int,
                 cluster_nodes: Callable[[], list[tuple[str, int]]] | None = None) -> None:
        self.memory_limit = memory_limit
        self.cluster_nodes: Callable[[], list[tuple[str, int]]] = cluster_nodes or list
        self.items: OrderedDict[bytes, _Item] = OrderedDict()
        self.used = 0
        self.lock = threading.Lock()
        self.started = clock.now()
        self.connections = 0  # open connections, counted by a TCP front
        self.counters = {"get_hits": 0, "get_misses": 0, "cmd_get": 0, "cmd_set": 0,
                         "evictions": 0, "expired_unfetched": 0, "total_items": 0,
                         "cmd_touch": 0, "delete_hits": 0, "delete_misses": 0}
        self._cas = 0

    # -- the protocol, in-process -------------------------------------------
    def handle(self, request: bytes) -> bytes:
        """Serve ``request``, one or more commands exactly as a client sends
        them over TCP, and return every reply, in order. Stops at ``quit``."""
        replies: list[bytes] = []
        rest = request
        while rest:
            line, _, rest = rest.partition(b"\n")
            if command_name(line) == b"quit":
                break
            length = self.data_length(line)
            data = b""
            if length is not None:
                data, rest = rest[:length], rest[length:]
                if len(data) < length or not rest.startswith((b"\r\n", b"\n")):
                    replies.append(b"CLIENT_ERROR bad data chunk\r\n")
                    break
                rest = rest[2:] if rest.startswith(b"\r\n") else rest[1:]
            reply = self.execute(line, data)
            if reply:
                replies.append(reply)
        return b"".join(replies)

    @staticmethod
    def data_length(line: bytes) -> int | None:
        """For a storage command (``set k 0 60 5``), how many data bytes follow
        its line (then ``\\r\\n``); None for any other line."""
        parts = line.split()
        if not parts or parts[0].lower() not in STORAGE_COMMANDS:
            return None
        if len(parts) < (6 if parts[0].lower() == b"cas" else 5):
            return None
        try:
            length = int(parts[4])
        except ValueError:
            return None
        return length if length >= 0 else None

    def execute(self, line: bytes, data: bytes = b"") -> bytes | None:
        """Run one command: its line (without the line end) and, for a storage
        command, its data block. Returns the reply, or None when the client
        asked for none (``noreply``)."""
        parts = line.rstrip(b"\r\n").split()
        if not parts:
            return b"ERROR\r\n"
        command = parts[0].lower()
        try:
            if command in STORAGE_COMMANDS:
                return self._storage(command, parts, data)
            return self._command(command, parts)
        except ValueError:  # a number that is not one
            return _BAD_FORMAT

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

    # -- commands -----------------------------------------------------------
    def _storage(self, cmd: bytes, parts: list[bytes], data: bytes) -> bytes | None:
        need = 6 if cmd == b"cas" else 5
        if len(parts) < need:
            return b"ERROR\r\n"
        key, flags, exptime, nbytes = parts[1], int(parts[2]), int(parts[3]), int(parts[4])
        noreply = parts[-1] == b"noreply" and len(parts) > need
        if len(key) > 250:
            return None if noreply else b"CLIENT_ERROR key too long\r\n"
        if nbytes > MAX_ITEM_SIZE:
            return None if noreply else b"SERVER_ERROR object too large for cache\r\n"
        now = clock.now()
        with self.lock:
            self.counters["cmd_set"] += 1
            current = self._alive(key, now)
            result = b"STORED"
            if cmd == b"add" and current is not None or cmd in (b"replace", b"append", b"prepend") and current is None:
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
        now = clock.now()
        noreply = parts[-1] == b"noreply"
        with self.lock:
            if cmd in (b"get", b"gets"):
                return self._get(parts[1:], cmd == b"gets", now)
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
                reply = self._count(parts[1], int(parts[2]), cmd == b"incr", now)
                return None if noreply and not reply.startswith(b"CLIENT_ERROR") else reply
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

    def _get(self, keys: list[bytes], with_cas: bool, now: float) -> bytes:
        out = []
        for key in keys:
            self.counters["cmd_get"] += 1
            item = self._alive(key, now)
            if item is None:
                self.counters["get_misses"] += 1
                continue
            self.counters["get_hits"] += 1
            self.items.move_to_end(key)  # recently used
            cas = b" %d" % item.cas if with_cas else b""
            out.append(b"VALUE %s %d %d%s\r\n%s\r\n" % (key, item.flags, len(item.value), cas, item.value))
        return b"".join(out) + b"END\r\n"

    def _count(self, key: bytes, delta: int, up: bool, now: float) -> bytes:
        item = self._alive(key, now)
        if item is None:
            return b"NOT_FOUND\r\n"
        try:
            number = int(item.value)
        except ValueError:
            return b"CLIENT_ERROR cannot increment or decrement non-numeric value\r\n"
        number = (number + delta) % 2**64 if up else max(0, number - delta)
        self._store(key, _Item(b"%d" % number, item.flags, item.expires, 0), now)
        return b"%d\r\n" % number

    def _stats(self, now: float) -> bytes:
        stats: dict[str, Any] = {
            "pid": 1, "uptime": int(now - self.started), "time": int(now), "version": self.VERSION,
            "curr_connections": self.connections, "curr_items": len(self.items),
            "bytes": self.used, "limit_maxbytes": self.memory_limit, **self.counters,
        }
        lines = b"".join(b"STAT %s %s\r\n" % (k.encode(), str(v).encode()) for k, v in stats.items())
        return lines + b"END\r\n"
