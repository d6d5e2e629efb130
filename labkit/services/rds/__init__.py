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
endpoints do not resolve and there is no SQL at all; ``DescribeDBEngineVersions``
is missing and a new parameter group holds no engine parameters.

**What this service adds** (``lab.rds``), all in-process, no socket:

- :func:`connect` (:mod:`.connections`): a DB-API connection
  (:class:`sqlite3.Connection`) to the instance an endpoint leads to *now*
  (:func:`resolve`, :mod:`.endpoints`), with the port, master user and
  password, database name and ``max_connections`` (read from the instance's
  DB parameter group when it boots) checked; :func:`connections_accepted`
  counts the connections each instance accepted;
- the data (:mod:`.storage`): one SQLite file per RDS DB instance, one per
  Aurora cluster volume, opened read-only on readers and replicas;
- read replicas (:mod:`.replication`) that apply changes :func:`set_replica_lag`
  seconds after they commit; :func:`replica_lag`, :func:`wait_for_replica`;
  each replica's ``ReplicaLag`` published to CloudWatch (``AWS/RDS``) once a
  sandbox minute (:mod:`.metrics`);
- the control plane's effects (:mod:`.control`): reboots and failovers drop
  open connections; snapshots and restores copy data (labkit keeps every
  committed version of each database, see :data:`HISTORY_LIMIT`);
- :func:`fail_instance` / :func:`recover_instance` (:mod:`.failures`): a host
  or Availability Zone failure, and what RDS does about it;
- the first calls of AWS's SDK examples (:mod:`.catalogue_api`, data in
  :mod:`.catalogue`): engine versions, orderable instance classes, engine
  parameters in DB and DB cluster parameter groups, and AWS's refusals;
  :class:`NotEmulated` names an engine outside the sample.

Time: replica lag, the committed history and point-in-time restores follow
the sandbox clock, ``lab.clock`` (``lab.clock.advance(lag)`` brings a replica
up to date at its next read).

**Limits.** SQLite speaks SQLite's SQL, not PostgreSQL's or MySQL's dialect,
and its error messages are SQLite's. There is one region's worth of state (the
identifiers are the keys). Replication lag is a fixed number of seconds you
choose, not a consequence of load. The lag of Aurora Replicas is not modelled
(they read the shared volume at once). The port and ``dbname`` are only
checked against the API.
"""

from __future__ import annotations

from typing import Any

from labkit.core import hooks
from labkit.services.rds import catalogue_api as _catalogue_api
from labkit.services.rds import control as _control
from labkit.services.rds import endpoints as _endpoints
from labkit.services.rds import metrics as _metrics
from labkit.services.rds import replication as _replication
from labkit.services.rds import storage as _storage
from labkit.services.rds.catalogue_api import NotEmulated
from labkit.services.rds.connections import RdsConnection, connect, connections_accepted
from labkit.services.rds.endpoints import Target, resolve
from labkit.services.rds.failures import fail_instance, recover_instance
from labkit.services.rds.replication import replica_lag, wait_for_replica
from labkit.services.rds.seams import SEAMS
from labkit.services.rds.storage import DEFAULT_REPLICA_LAG, HISTORY_LIMIT

__all__ = [
    "DEFAULT_REPLICA_LAG",
    "HISTORY_LIMIT",
    "NotEmulated",
    "SEAMS",
    "RdsConnection",
    "Target",
    "connect",
    "connections_accepted",
    "fail_instance",
    "install",
    "recover_instance",
    "replica_lag",
    "reset",
    "resolve",
    "set_replica_lag",
    "wait_for_replica",
]


def set_replica_lag(replica_id: str, seconds: float) -> None:
    """Make the RDS read replica ``replica_id`` apply changes ``seconds`` after they commit.

    This stands for the network and load that make real replicas lag; it is not an
    AWS setting. The seconds are sandbox seconds (``lab.clock``). The replica's
    CloudWatch metric ``AWS/RDS`` ``ReplicaLag`` reports this value once a sandbox minute.
    """
    with _storage.LOCK:
        _endpoints.sync()
        _replication.set_lag(replica_id, seconds)
    _metrics.ensure()


def _after_replica(call: hooks.Call, parsed: dict[str, Any], status: int) -> None:
    """A new read replica: its ReplicaLag is published from the next sandbox minute."""
    if status < 300 and "Error" not in (parsed or {}):
        ident = (parsed or {}).get("DBInstance", {}).get("DBInstanceIdentifier") or call.params.get("DBInstanceIdentifier")
        _metrics.ensure(ident, call.region)


def install() -> None:
    """Follow the RDS control plane's calls (the registry calls this once, at first use)."""
    _control.subscribe()
    _catalogue_api.subscribe()
    hooks.subscribe("after", "rds", "CreateDBInstanceReadReplica", _after_replica)


def reset() -> None:
    """Forget every database, snapshot, replica link and outage (``lab.reset()``)."""
    _storage.reset()
    _metrics.reset()
