"""SQL behind the endpoints of the emulated Amazon RDS and Aurora.

**What AWS does.** An RDS DB instance or an Aurora DB cluster runs a real
database engine (PostgreSQL, MySQL...). The API gives you DNS names: an
instance endpoint, and for Aurora a *cluster* (writer) endpoint that always
leads to the current writer and a *reader* endpoint that spreads connections
over the Aurora Replicas (or leads to the writer when there is none). Writes
through a read replica or an Aurora Replica fail with the engine's read-only
error. RDS read replicas copy the primary asynchronously, so they lag behind.
Aurora Replicas read the same cluster volume as the writer. A Multi-AZ DB
instance keeps a synchronous standby; a failover keeps the endpoint and every
committed write, and drops open connections. Snapshots and point-in-time
restores create a *new* instance with the data of that moment.

**What moto does.** The control plane only: instances, replicas, clusters,
snapshots, failovers and parameter groups are stored and described, but the
endpoints do not resolve and there is no SQL at all.

**What this module adds.** :func:`connect` takes the endpoint address the API
returned, asks the emulated RDS API (with plain boto3 ``describe`` calls) which
DB instance that name leads to *right now*, and returns a DB-API connection
(:class:`sqlite3.Connection`) to that instance's data:

- each RDS DB instance has its own SQLite file; each Aurora cluster has one
  file (its cluster volume) that every member opens;
- the writer/primary opens it read-write; readers and read replicas open it
  with SQLite's ``mode=ro``, so a write fails with the engine's own error
  (``attempt to write a readonly database``);
- the cluster endpoint follows ``IsClusterWriter``, so after
  ``failover_db_cluster`` it reaches the new writer; the reader endpoint hands
  out readers in turn (or the writer when the cluster has no reader);
- an RDS read replica has its own file, refreshed from the primary's committed
  history once a change is ``lag`` seconds old (:func:`set_replica_lag`,
  default :data:`DEFAULT_REPLICA_LAG`); reads on it can be stale, and
  ``promote_read_replica`` keeps only what had been applied;
- reboots and failovers (``reboot_db_instance``, ``failover_db_cluster``) drop
  the open connections of the instances involved: the next statement raises
  ``OperationalError`` and a new :func:`connect` reaches the current target;
- ``create_db_snapshot``/``create_db_cluster_snapshot`` copy the data;
  ``restore_db_instance_from_db_snapshot``, ``restore_db_instance_to_point_in_time``,
  ``restore_db_cluster_from_snapshot`` and ``restore_db_cluster_to_point_in_time``
  give the new instance or cluster the data of that snapshot or moment
  (labkit keeps every committed version of each database, see
  :data:`HISTORY_LIMIT`);
- ``max_connections``, when the instance's DB parameter group sets it to a
  number, limits open connections per instance. It is read when the instance
  boots (create or reboot), as for a static parameter;
- the master user name and password given at creation are checked;
- :func:`fail_instance` stands for a host or Availability Zone failure: a
  Multi-AZ instance fails over (through ``reboot_db_instance(ForceFailover=True)``),
  an Aurora writer with a replica fails over (``failover_db_cluster``), anything
  else becomes unreachable until :func:`recover_instance`.

labkit learns about creations, snapshots, promotions and failovers from botocore
``after-call`` events on every RDS client made after :func:`install` (which
:func:`connect` also calls). Nothing in moto is patched.

**Limits.** SQLite speaks SQLite's SQL, not PostgreSQL's or MySQL's dialect,
and its error messages are SQLite's. There is one region's worth of state (the
identifiers are the keys). Replication lag is a fixed number of seconds you
choose, not a consequence of load. The lag of Aurora Replicas is not modelled
(they read the shared volume at once). Connections are in-process: no socket
is opened, and the port and ``dbname`` are only checked against the API.
"""

from __future__ import annotations

import atexit
import itertools
import os
import shutil
import sqlite3
import tempfile
import threading
import time
import uuid
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import boto3
from labkit import sandbox

#: Seconds an RDS read replica stays behind its primary unless set otherwise.
DEFAULT_REPLICA_LAG = 1.0
#: Committed versions kept per database for replicas and point-in-time restore.
HISTORY_LIMIT = 2000

__all__ = [
    "DEFAULT_REPLICA_LAG",
    "RdsConnection",
    "Target",
    "connect",
    "fail_instance",
    "install",
    "recover_instance",
    "replica_lag",
    "resolve",
    "set_replica_lag",
    "wait_for_replica",
]


# --------------------------------------------------------------------------- storage


@dataclass
class _Volume:
    """One database's data: a SQLite file plus its committed history."""

    path: str
    history: list[tuple[float, bytes | None]] = field(default_factory=list)
    counter: bytes = b""

    def image(self) -> bytes | None:
        """The committed content now (``None`` for an empty database)."""
        if not os.path.exists(self.path) or os.path.getsize(self.path) == 0:
            return None
        src = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
        try:
            return src.serialize()
        finally:
            src.close()

    def _file_counter(self) -> bytes:
        try:
            with open(self.path, "rb") as fh:
                return fh.read(28)[24:28]  # SQLite's file change counter
        except FileNotFoundError:
            return b""

    def record(self, when: float | None = None) -> None:
        """Append the current content to the history if it changed."""
        counter = self._file_counter()
        if counter and counter != self.counter:
            self.counter = counter
            self.history.append((time.time() if when is None else when, self.image()))
            del self.history[:-HISTORY_LIMIT]

    def load(self, image: bytes | None) -> None:
        """Replace the content with ``image`` (a ``serialize()`` result or None)."""
        src = sqlite3.connect(":memory:")
        dst = sqlite3.connect(self.path, timeout=0.2)
        try:
            if image:
                src.deserialize(image)
            src.backup(dst)
        finally:
            dst.close()
            src.close()

    def as_of(self, moment: float) -> bytes | None:
        """The content committed at or before ``moment`` (epoch seconds)."""
        best: bytes | None = None
        for when, image in self.history:
            if when <= moment:
                best = image
            else:
                break
        return best


@dataclass
class _ReplicaLink:
    source: str
    lag: float
    applied: float  # commit time (on the source) of the last version applied


@dataclass
class _State:
    root: str = ""
    instances: dict[str, _Volume] = field(default_factory=dict)  # RDS DB instances
    clusters: dict[str, _Volume] = field(default_factory=dict)  # Aurora cluster volumes
    snapshots: dict[str, bytes | None] = field(default_factory=dict)
    cluster_snapshots: dict[str, bytes | None] = field(default_factory=dict)
    replicas: dict[str, _ReplicaLink] = field(default_factory=dict)
    passwords: dict[str, str] = field(default_factory=dict)  # instance or cluster id
    generation: dict[str, int] = field(default_factory=dict)  # per instance id
    outages: set[str] = field(default_factory=set)
    max_connections: dict[str, int | None] = field(default_factory=dict)
    open: dict[str, weakref.WeakSet[RdsConnection]] = field(default_factory=dict)
    turn: itertools.count[int] = field(default_factory=itertools.count)


_STATE = _State()
_LOCK = threading.RLock()


def _root() -> str:
    if not _STATE.root:
        _STATE.root = tempfile.mkdtemp(prefix="labkit-rds-")
        atexit.register(shutil.rmtree, _STATE.root, True)
    return _STATE.root


def _new_volume(image: bytes | None = None) -> _Volume:
    volume = _Volume(os.path.join(_root(), f"{uuid.uuid4().hex}.sqlite"))
    sqlite3.connect(volume.path).close()
    if image:
        volume.load(image)
    volume.counter = volume._file_counter()
    volume.history.append((time.time(), image))
    return volume


def _drop_volume(volume: _Volume | None) -> None:
    if volume is not None:
        try:
            os.remove(volume.path)
        except OSError:
            pass


def forget() -> None:
    """Forget every database, snapshot and setting labkit holds (tests use this)."""
    with _LOCK:
        for volume in [*_STATE.instances.values(), *_STATE.clusters.values()]:
            _drop_volume(volume)
        root = _STATE.root
        _STATE.__init__()  # type: ignore[misc]
        _STATE.root = root


# --------------------------------------------------------------------------- the API side


_CLIENTS: dict[str, Any] = {}


def _client() -> Any:
    """labkit's own RDS client (one per region, reused: creating one takes ~0.1 s)."""
    region = os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    if region not in _CLIENTS:
        _CLIENTS[region] = boto3.session.Session(region_name=region).client("rds")
    return _CLIENTS[region]


def _all(operation: str, key: str, **kwargs: Any) -> list[dict[str, Any]]:
    client = _client()
    items: list[dict[str, Any]] = []
    for page in client.get_paginator(operation).paginate(**kwargs):
        items.extend(page.get(key, []))
    return items


@dataclass(frozen=True)
class Target:
    """Where an endpoint leads right now.

    Attributes:
        instance_id: the DB instance that answers.
        cluster_id: its Aurora cluster, or None for an RDS DB instance.
        read_only: True for Aurora Replicas and RDS read replicas.
        engine: the engine the API reports (``postgres``, ``aurora-postgresql``...).
        port: the endpoint's port.
        master_username: the master user the API reports.
        dbname: the database name the API reports (may be None).
    """

    instance_id: str
    cluster_id: str | None
    read_only: bool
    engine: str
    port: int
    master_username: str | None
    dbname: str | None


def _unknown_host(host: str) -> sqlite3.OperationalError:
    return sqlite3.OperationalError(
        f'could not translate host name "{host}" to address: Name or service not known'
    )


def resolve(host: str) -> Target:
    """Ask the RDS API which DB instance ``host`` leads to now.

    Raises:
        sqlite3.OperationalError: no instance or cluster has this endpoint.
    """
    clusters = _all("describe_db_clusters", "DBClusters")
    instances = {i["DBInstanceIdentifier"]: i for i in _all("describe_db_instances", "DBInstances")}
    for cluster in clusters:
        if host not in (cluster.get("Endpoint"), cluster.get("ReaderEndpoint")):
            continue
        members = [m for m in cluster.get("DBClusterMembers", []) if m["DBInstanceIdentifier"] in instances]
        writers = [m["DBInstanceIdentifier"] for m in members if m.get("IsClusterWriter")]
        readers = [m["DBInstanceIdentifier"] for m in members if not m.get("IsClusterWriter")]
        if host == cluster.get("ReaderEndpoint"):
            healthy = [r for r in readers if r not in _STATE.outages]
            if healthy:
                chosen, read_only = healthy[next(_STATE.turn) % len(healthy)], True
            elif writers:  # no Aurora Replica: the reader endpoint leads to the writer
                chosen, read_only = writers[0], False
            else:
                raise sqlite3.OperationalError(f'could not connect to "{host}": the cluster has no DB instance')
        else:
            if not writers:
                raise sqlite3.OperationalError(f'could not connect to "{host}": the cluster has no writer instance')
            chosen, read_only = writers[0], False
        return Target(chosen, cluster["DBClusterIdentifier"], read_only, cluster["Engine"],
                      int(cluster.get("Port") or 0), cluster.get("MasterUsername"), cluster.get("DatabaseName"))
    for instance in instances.values():
        if (instance.get("Endpoint") or {}).get("Address") != host:
            continue
        cluster_id = instance.get("DBClusterIdentifier")
        if cluster_id:
            cluster = next((c for c in clusters if c["DBClusterIdentifier"] == cluster_id), {})
            writer = any(m["DBInstanceIdentifier"] == instance["DBInstanceIdentifier"] and m.get("IsClusterWriter")
                         for m in cluster.get("DBClusterMembers", []))
            return Target(instance["DBInstanceIdentifier"], cluster_id, not writer, instance["Engine"],
                          int(instance["Endpoint"].get("Port") or 0), cluster.get("MasterUsername"),
                          cluster.get("DatabaseName"))
        ident = instance["DBInstanceIdentifier"]
        # moto keeps ReadReplicaSourceDBInstanceIdentifier after promote_read_replica:
        # labkit's own record of the link wins when it has one.
        replica = (ident in _STATE.replicas) if ident in _STATE.instances else bool(
            instance.get("ReadReplicaSourceDBInstanceIdentifier"))
        return Target(ident, None, replica, instance["Engine"],
                      int(instance["Endpoint"].get("Port") or 0), instance.get("MasterUsername"),
                      instance.get("DBName"))
    raise _unknown_host(host)


# --------------------------------------------------------------------------- replication


def _catch_up(replica_id: str, now: float | None = None) -> None:
    """Apply to an RDS read replica the source versions that are old enough."""
    link = _STATE.replicas.get(replica_id)
    source = _STATE.instances.get(link.source) if link else None
    replica = _STATE.instances.get(replica_id)
    if link is None or source is None or replica is None:
        return
    source.record()
    cutoff = (time.time() if now is None else now) - link.lag
    due = [(when, image) for when, image in source.history if link.applied < when <= cutoff]
    if not due:
        return
    when, image = due[-1]
    try:
        replica.load(image)
    except sqlite3.OperationalError:  # a reader holds the file: try again on the next statement
        return
    link.applied = when
    replica.record()


def set_replica_lag(replica_id: str, seconds: float) -> None:
    """Make the RDS read replica ``replica_id`` apply changes ``seconds`` after they commit.

    This stands for the network and load that make real replicas lag; it is not an
    AWS setting.
    """
    with _LOCK:
        _sync()
        if replica_id not in _STATE.replicas:
            raise KeyError(f"{replica_id!r} is not an RDS read replica that labkit knows")
        _STATE.replicas[replica_id].lag = float(seconds)


def _pending(replica_id: str) -> list[float]:
    """Commit times of the source's changes the replica has not applied yet."""
    link = _STATE.replicas.get(replica_id)
    if link is None:
        return []
    _catch_up(replica_id)
    source = _STATE.instances.get(link.source)
    return [when for when, _ in (source.history if source else []) if when > link.applied]


def replica_lag(replica_id: str) -> float:
    """Seconds since the oldest change the replica has not applied yet (0.0 when caught up)."""
    with _LOCK:
        pending = _pending(replica_id)
        return max(time.time() - pending[0], 0.001) if pending else 0.0


def wait_for_replica(replica_id: str, timeout: float = 30.0) -> float:
    """Wait until the replica has applied every committed change; return the seconds waited.

    A waiter, like boto3's: it polls the replica until nothing is pending.
    """
    start = time.monotonic()
    while True:
        with _LOCK:
            if not _pending(replica_id):
                break
        if time.monotonic() - start > timeout:
            raise TimeoutError(f"{replica_id} still lags after {timeout} s")
        time.sleep(0.05)
    return round(time.monotonic() - start, 3)


# --------------------------------------------------------------------------- connections


class RdsConnection(sqlite3.Connection):
    """A DB-API connection to one DB instance, reached through an endpoint.

    It is a :class:`sqlite3.Connection` with three more attributes:
    ``endpoint`` (the address you connected to), ``instance_id`` (the DB
    instance that answered) and ``read_only``. After a reboot or failover of
    that instance, every statement raises :class:`sqlite3.OperationalError`:
    open a new connection.
    """

    endpoint: str
    instance_id: str
    read_only: bool
    _volume_key: tuple[str, str]
    _generation: int

    def _guard(self) -> None:
        with _LOCK:
            dropped = (self.instance_id in _STATE.outages
                       or _STATE.generation.get(self.instance_id, 0) != self._generation)
            if dropped:
                raise sqlite3.OperationalError(
                    f"server closed the connection unexpectedly: DB instance {self.instance_id} "
                    "was rebooted, failed over or is unreachable; open a new connection"
                )
            if self.instance_id in _STATE.replicas:
                _catch_up(self.instance_id)

    def _after(self) -> None:
        if not self.read_only and not self.in_transaction:
            with _LOCK:
                kind, key = self._volume_key
                volume = (_STATE.clusters if kind == "cluster" else _STATE.instances).get(key)
                if volume is not None:
                    volume.record()

    def cursor(self, factory: Any = None) -> sqlite3.Cursor:  # type: ignore[override]
        return super().cursor(factory or _RdsCursor)

    @contextmanager
    def _statement(self) -> Iterator[None]:
        """Around every statement: refuse it on a closed or failed-over connection,
        then record what a writer committed (replicas and restores read that record)."""
        self._guard()
        try:
            yield
        finally:
            self._after()

    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:  # type: ignore[override]
        with self._statement():
            return super().execute(sql, parameters)

    def executemany(self, sql: str, parameters: Any, /) -> sqlite3.Cursor:  # type: ignore[override]
        with self._statement():
            return super().executemany(sql, parameters)

    def executescript(self, script: str, /) -> sqlite3.Cursor:  # type: ignore[override]
        with self._statement():
            return super().executescript(script)

    def commit(self) -> None:
        self._guard()
        super().commit()
        self._after()

    def __exit__(self, *exc: Any) -> Any:
        result = super().__exit__(*exc)
        self._after()
        return result

    def close(self) -> None:
        with _LOCK:
            _STATE.open.get(self.instance_id, weakref.WeakSet()).discard(self)
        super().close()

    def __repr__(self) -> str:
        mode = "read-only" if self.read_only else "read-write"
        return f"<RdsConnection to {self.instance_id} via {self.endpoint} ({mode})>"


class _RdsCursor(sqlite3.Cursor):
    """A cursor whose statements go through its connection's checks.

    (``Connection.execute`` in CPython makes a plain cursor, hence the
    overrides on both classes.)"""

    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:  # type: ignore[override]
        with self.connection._statement():  # type: ignore[attr-defined]
            return super().execute(sql, parameters)

    def executemany(self, sql: str, parameters: Any, /) -> sqlite3.Cursor:  # type: ignore[override]
        with self.connection._statement():  # type: ignore[attr-defined]
            return super().executemany(sql, parameters)

    def executescript(self, script: str, /) -> sqlite3.Cursor:  # type: ignore[override]
        with self.connection._statement():  # type: ignore[attr-defined]
            return super().executescript(script)


def connect(
    host: str,
    port: int | None = None,
    *,
    user: str | None = None,
    password: str | None = None,
    dbname: str | None = None,
    timeout: float = 5.0,
) -> RdsConnection:
    """Open a DB-API connection to the DB instance that ``host`` leads to now.

    Args:
        host: an endpoint address the RDS API returned: an instance's
            ``Endpoint["Address"]``, or a cluster's ``Endpoint`` or ``ReaderEndpoint``.
        port: if given, must be the endpoint's port.
        user, password: the master user name and password given at creation.
            They are checked when labkit saw the creation call.
        dbname: if given, must be the database name the API reports (when it reports one).
        timeout: seconds SQLite waits for a lock.

    Raises:
        sqlite3.OperationalError: the name does not resolve, the port is wrong, the
            credentials are refused, the instance is unreachable, or
            ``max_connections`` is reached.
    """
    install()
    with _LOCK:
        target = resolve(host)
        _sync()
        if port is not None and target.port and int(port) != target.port:
            raise sqlite3.OperationalError(
                f'could not connect to server: Connection refused. Is the server running on host "{host}" '
                f"and accepting TCP/IP connections on port {port}?"
            )
        if target.instance_id in _STATE.outages:
            raise sqlite3.OperationalError(
                f'could not connect to server "{host}": DB instance {target.instance_id} is unreachable'
            )
        secret_key = target.cluster_id or _password_owner(target.instance_id)
        known = _STATE.passwords.get(secret_key) if secret_key else None
        if (user is not None and target.master_username and user != target.master_username) or (
            known is not None and password != known
        ):
            raise sqlite3.OperationalError(f'password authentication failed for user "{user}"')
        if dbname is not None and target.dbname and dbname != target.dbname:
            raise sqlite3.OperationalError(f'database "{dbname}" does not exist')
        limit = _STATE.max_connections.get(target.instance_id)
        if target.instance_id not in _STATE.max_connections:
            limit = _STATE.max_connections[target.instance_id] = _read_max_connections(target.instance_id)
        live = _STATE.open.setdefault(target.instance_id, weakref.WeakSet())
        if limit is not None and len(live) >= limit:
            raise sqlite3.OperationalError("FATAL: sorry, too many clients already")
        if target.cluster_id:
            volume, key = _STATE.clusters[target.cluster_id], ("cluster", target.cluster_id)
        else:
            volume, key = _STATE.instances[target.instance_id], ("instance", target.instance_id)
        if target.instance_id in _STATE.replicas:
            _catch_up(target.instance_id)
        uri = f"file:{volume.path}?mode={'ro' if target.read_only else 'rw'}"
        conn = sqlite3.connect(uri, uri=True, timeout=timeout, factory=RdsConnection,
                               check_same_thread=False)
        conn.endpoint, conn.instance_id, conn.read_only = host, target.instance_id, target.read_only
        conn._volume_key, conn._generation = key, _STATE.generation.get(target.instance_id, 0)
        if target.engine.startswith("aurora"):
            instance_id = target.instance_id
            conn.create_function("aurora_db_instance_identifier", 0, lambda: instance_id)
        live.add(conn)
        return conn


def _password_owner(instance_id: str) -> str:
    """Read replicas use their source's master password."""
    seen = set()
    while instance_id in _STATE.replicas and instance_id not in seen:
        seen.add(instance_id)
        instance_id = _STATE.replicas[instance_id].source
    return instance_id


def _read_max_connections(instance_id: str) -> int | None:
    """``max_connections`` from the instance's DB parameter group, if it is a number."""
    try:
        instance = _client().describe_db_instances(DBInstanceIdentifier=instance_id)["DBInstances"][0]
    except Exception:  # noqa: BLE001 - the instance is being deleted: no limit
        return None
    for group in instance.get("DBParameterGroups", []):
        name = group["DBParameterGroupName"]
        if name.startswith("default."):
            continue
        try:
            for parameter in _all("describe_db_parameters", "Parameters", DBParameterGroupName=name):
                if parameter.get("ParameterName") == "max_connections":
                    value = str(parameter.get("ParameterValue", ""))
                    return int(value) if value.isdigit() else None
        except Exception:  # noqa: BLE001
            return None
    return None


# --------------------------------------------------------------------------- failures


def fail_instance(instance_id: str) -> str:
    """Make the host (or Availability Zone) of ``instance_id`` fail, and let RDS react.

    Returns what happened:

    - ``"multi-az failover"``: a Multi-AZ DB instance; RDS fails over to the
      standby (here through ``reboot_db_instance(ForceFailover=True)``). Same
      endpoint, same data; open connections drop.
    - ``"aurora failover"``: the writer of an Aurora cluster with at least one
      replica; Aurora promotes a replica (``failover_db_cluster``).
    - ``"unavailable"``: nothing can take over. The instance refuses connections
      until :func:`recover_instance`.
    """
    install()
    client = _client()
    instance = client.describe_db_instances(DBInstanceIdentifier=instance_id)["DBInstances"][0]
    cluster_id = instance.get("DBClusterIdentifier")
    if cluster_id:
        cluster = client.describe_db_clusters(DBClusterIdentifier=cluster_id)["DBClusters"][0]
        members = cluster.get("DBClusterMembers", [])
        is_writer = any(m["DBInstanceIdentifier"] == instance_id and m.get("IsClusterWriter") for m in members)
        others = [m["DBInstanceIdentifier"] for m in members
                  if m["DBInstanceIdentifier"] != instance_id and m["DBInstanceIdentifier"] not in _STATE.outages]
        if is_writer and others:
            client.failover_db_cluster(DBClusterIdentifier=cluster_id)
            return "aurora failover"
    elif instance.get("MultiAZ"):
        client.reboot_db_instance(DBInstanceIdentifier=instance_id, ForceFailover=True)
        return "multi-az failover"
    with _LOCK:
        _STATE.outages.add(instance_id)
    return "unavailable"


def recover_instance(instance_id: str) -> None:
    """End a failure made by :func:`fail_instance` (the host or zone is back)."""
    with _LOCK:
        _STATE.outages.discard(instance_id)
        _bump(instance_id)


def _bump(instance_id: str) -> None:
    _STATE.generation[instance_id] = _STATE.generation.get(instance_id, 0) + 1
    _STATE.open.pop(instance_id, None)


# --------------------------------------------------------------------------- botocore events


def _remember_params(params: Any = None, context: Any = None, **_: Any) -> None:
    if isinstance(context, dict) and isinstance(params, dict):
        context["labkit_rds_params"] = dict(params)


def _moment(value: Any) -> float:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).timestamp()
    if isinstance(value, str):
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    return time.time()


def _on_call(http_response: Any = None, parsed: Any = None, model: Any = None, context: Any = None,
             **_: Any) -> None:
    """botocore ``after-call`` handler: keep labkit's data in step with the API."""
    if model is None or http_response is None or getattr(http_response, "status_code", 500) >= 300:
        return
    handler = _HANDLERS.get(model.name)
    if handler is not None:
        params = (context or {}).get("labkit_rds_params", {}) if isinstance(context, dict) else {}
        with _LOCK:
            handler(params, parsed or {})


def _create_instance(params: dict[str, Any], parsed: dict[str, Any]) -> None:
    instance = parsed.get("DBInstance", {})
    ident = instance.get("DBInstanceIdentifier") or params.get("DBInstanceIdentifier")
    _STATE.replicas.pop(ident, None)
    _drop_volume(_STATE.instances.pop(ident, None))
    if not instance.get("DBClusterIdentifier"):
        _STATE.instances[ident] = _new_volume()
        if params.get("MasterUserPassword"):
            _STATE.passwords[ident] = params["MasterUserPassword"]
    _boot(ident)


def _boot(ident: str) -> None:
    _bump(ident)
    _STATE.outages.discard(ident)
    _STATE.max_connections.pop(ident, None)  # read again at the next connect


def _create_replica(params: dict[str, Any], parsed: dict[str, Any]) -> None:
    instance = parsed.get("DBInstance", {})
    ident = instance["DBInstanceIdentifier"]
    source_id = instance.get("ReadReplicaSourceDBInstanceIdentifier") or params.get("SourceDBInstanceIdentifier")
    source = _STATE.instances.get(source_id)
    if source is None:
        source = _STATE.instances[source_id] = _new_volume()
    source.record()
    _drop_volume(_STATE.instances.pop(ident, None))
    last_commit, image = source.history[-1]
    _STATE.instances[ident] = _new_volume(image)
    _STATE.replicas[ident] = _ReplicaLink(source_id, DEFAULT_REPLICA_LAG, last_commit)
    _boot(ident)


def _promote(params: dict[str, Any], parsed: dict[str, Any]) -> None:
    ident = parsed.get("DBInstance", {}).get("DBInstanceIdentifier") or params.get("DBInstanceIdentifier")
    _catch_up(ident)
    link = _STATE.replicas.pop(ident, None)
    if link is not None and link.source in _STATE.passwords:
        _STATE.passwords.setdefault(ident, _STATE.passwords[link.source])
    _boot(ident)


def _reboot(params: dict[str, Any], parsed: dict[str, Any]) -> None:
    _boot(params.get("DBInstanceIdentifier") or parsed.get("DBInstance", {}).get("DBInstanceIdentifier"))


def _delete_instance(params: dict[str, Any], parsed: dict[str, Any]) -> None:
    ident = params.get("DBInstanceIdentifier")
    volume = _STATE.instances.get(ident)
    if volume is not None and params.get("FinalDBSnapshotIdentifier") and not params.get("SkipFinalSnapshot"):
        volume.record()
        _STATE.snapshots[params["FinalDBSnapshotIdentifier"]] = volume.image()
    _drop_volume(_STATE.instances.pop(ident, None))
    _STATE.replicas.pop(ident, None)
    for link_id, link in list(_STATE.replicas.items()):
        if link.source == ident:  # the replicas of a deleted source become standalone
            _catch_up(link_id)
            _STATE.replicas.pop(link_id)
    _bump(ident)
    _STATE.outages.discard(ident)


def _snapshot(params: dict[str, Any], parsed: dict[str, Any]) -> None:
    snap = parsed.get("DBSnapshot", {})
    volume = _STATE.instances.get(snap.get("DBInstanceIdentifier") or params.get("DBInstanceIdentifier"))
    if volume is not None:
        volume.record()
        _STATE.snapshots[snap.get("DBSnapshotIdentifier") or params["DBSnapshotIdentifier"]] = volume.image()


def _copy_snapshot(params: dict[str, Any], parsed: dict[str, Any]) -> None:
    source = str(params.get("SourceDBSnapshotIdentifier", "")).rsplit(":", 1)[-1]
    if source in _STATE.snapshots:
        _STATE.snapshots[params["TargetDBSnapshotIdentifier"]] = _STATE.snapshots[source]


def _delete_snapshot(params: dict[str, Any], parsed: dict[str, Any]) -> None:
    _STATE.snapshots.pop(params.get("DBSnapshotIdentifier", ""), None)


def _restore_snapshot(params: dict[str, Any], parsed: dict[str, Any]) -> None:
    ident = parsed.get("DBInstance", {}).get("DBInstanceIdentifier") or params["DBInstanceIdentifier"]
    _drop_volume(_STATE.instances.pop(ident, None))
    _STATE.instances[ident] = _new_volume(_STATE.snapshots.get(params.get("DBSnapshotIdentifier", "")))
    _boot(ident)


def _restore_point_in_time(params: dict[str, Any], parsed: dict[str, Any]) -> None:
    ident = parsed.get("DBInstance", {}).get("DBInstanceIdentifier") or params["TargetDBInstanceIdentifier"]
    source = _STATE.instances.get(params.get("SourceDBInstanceIdentifier", ""))
    image = None
    if source is not None:
        source.record()
        moment = time.time() if params.get("UseLatestRestorableTime") else _moment(params.get("RestoreTime"))
        image = source.as_of(moment)
    _drop_volume(_STATE.instances.pop(ident, None))
    _STATE.instances[ident] = _new_volume(image)
    _boot(ident)


def _create_cluster(params: dict[str, Any], parsed: dict[str, Any], image: bytes | None = None) -> None:
    ident = parsed.get("DBCluster", {}).get("DBClusterIdentifier") or params["DBClusterIdentifier"]
    _drop_volume(_STATE.clusters.pop(ident, None))
    _STATE.clusters[ident] = _new_volume(image)
    if params.get("MasterUserPassword"):
        _STATE.passwords[ident] = params["MasterUserPassword"]


def _modify(params: dict[str, Any], parsed: dict[str, Any]) -> None:
    ident = params.get("DBClusterIdentifier") or params.get("DBInstanceIdentifier")
    if ident and params.get("MasterUserPassword"):
        _STATE.passwords[ident] = params["MasterUserPassword"]


def _delete_cluster(params: dict[str, Any], parsed: dict[str, Any]) -> None:
    ident = params.get("DBClusterIdentifier", "")
    volume = _STATE.clusters.get(ident)
    if volume is not None and params.get("FinalDBSnapshotIdentifier") and not params.get("SkipFinalSnapshot"):
        _STATE.cluster_snapshots[params["FinalDBSnapshotIdentifier"]] = volume.image()
    _drop_volume(_STATE.clusters.pop(ident, None))
    # moto keeps the deleted cluster's automated snapshot ("rds:<id>-<minute>"), so
    # creating a cluster with the same name in the same minute fails. Remove it.
    try:
        client = _client()
        for snap in _all("describe_db_cluster_snapshots", "DBClusterSnapshots",
                         DBClusterIdentifier=ident, SnapshotType="automated"):
            client.delete_db_cluster_snapshot(DBClusterSnapshotIdentifier=snap["DBClusterSnapshotIdentifier"])
    except Exception:  # noqa: BLE001 - best effort; nothing in the lesson depends on it
        pass


def _failover_cluster(params: dict[str, Any], parsed: dict[str, Any]) -> None:
    # The old and the new writer restart; labkit drops the connections of every member.
    for member in parsed.get("DBCluster", {}).get("DBClusterMembers", []):
        _bump(member["DBInstanceIdentifier"])


def _cluster_snapshot(params: dict[str, Any], parsed: dict[str, Any]) -> None:
    snap = parsed.get("DBClusterSnapshot", {})
    volume = _STATE.clusters.get(snap.get("DBClusterIdentifier") or params.get("DBClusterIdentifier"))
    if volume is not None:
        key = snap.get("DBClusterSnapshotIdentifier") or params["DBClusterSnapshotIdentifier"]
        _STATE.cluster_snapshots[key] = volume.image()


def _delete_cluster_snapshot(params: dict[str, Any], parsed: dict[str, Any]) -> None:
    _STATE.cluster_snapshots.pop(params.get("DBClusterSnapshotIdentifier", ""), None)


def _restore_cluster_snapshot(params: dict[str, Any], parsed: dict[str, Any]) -> None:
    _create_cluster(params, parsed, _STATE.cluster_snapshots.get(params.get("SnapshotIdentifier", "")))


def _restore_cluster_point_in_time(params: dict[str, Any], parsed: dict[str, Any]) -> None:
    source = _STATE.clusters.get(params.get("SourceDBClusterIdentifier", ""))
    image = None
    if source is not None:
        source.record()
        moment = time.time() if params.get("UseLatestRestorableTime") else _moment(params.get("RestoreToTime"))
        image = source.as_of(moment)
    _create_cluster(params, parsed, image)


_HANDLERS = {
    "CreateDBInstance": _create_instance,
    "CreateDBInstanceReadReplica": _create_replica,
    "PromoteReadReplica": _promote,
    "RebootDBInstance": _reboot,
    "DeleteDBInstance": _delete_instance,
    "CreateDBSnapshot": _snapshot,
    "CopyDBSnapshot": _copy_snapshot,
    "DeleteDBSnapshot": _delete_snapshot,
    "RestoreDBInstanceFromDBSnapshot": _restore_snapshot,
    "RestoreDBInstanceToPointInTime": _restore_point_in_time,
    "ModifyDBInstance": _modify,
    "CreateDBCluster": _create_cluster,
    "ModifyDBCluster": _modify,
    "DeleteDBCluster": _delete_cluster,
    "FailoverDBCluster": _failover_cluster,
    "CreateDBClusterSnapshot": _cluster_snapshot,
    "DeleteDBClusterSnapshot": _delete_cluster_snapshot,
    "RestoreDBClusterFromSnapshot": _restore_cluster_snapshot,
    "RestoreDBClusterToPointInTime": _restore_cluster_point_in_time,
}

_EVENTS = (("before-parameter-build.rds", _remember_params), ("after-call.rds", _on_call))


def install() -> None:
    """Listen to RDS calls on every boto3 client made from now on. Idempotent."""
    sandbox.register_handlers(_EVENTS)


def installed() -> bool:
    """True when the handlers are registered."""
    return sandbox.handlers_registered(_EVENTS)


def _sync() -> None:
    """Give a data file to instances and clusters created before :func:`install`,
    and forget those that no longer exist (after ``lab.reset()``)."""
    instances = _all("describe_db_instances", "DBInstances")
    clusters = _all("describe_db_clusters", "DBClusters")
    names = {i["DBInstanceIdentifier"] for i in instances if not i.get("DBClusterIdentifier")}
    for instance in instances:
        ident = instance["DBInstanceIdentifier"]
        if ident in names and ident not in _STATE.instances:
            source = instance.get("ReadReplicaSourceDBInstanceIdentifier")
            if source and source in _STATE.instances:
                _create_replica({}, {"DBInstance": instance})
            else:
                _STATE.instances[ident] = _new_volume()
    for ident in set(_STATE.instances) - names:
        _drop_volume(_STATE.instances.pop(ident))
        _STATE.replicas.pop(ident, None)
    cluster_names = {c["DBClusterIdentifier"] for c in clusters}
    for ident in cluster_names - set(_STATE.clusters):
        _STATE.clusters[ident] = _new_volume()
    for ident in set(_STATE.clusters) - cluster_names:
        _drop_volume(_STATE.clusters.pop(ident))
