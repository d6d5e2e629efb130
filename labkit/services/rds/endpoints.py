"""Where an RDS or Aurora endpoint leads right now, asked of the RDS API.

:func:`resolve` is what DNS does on AWS: it takes an endpoint address the API
returned and finds the DB instance behind it, with plain ``describe`` calls
(labkit's own, marked internal). The cluster endpoint follows
``IsClusterWriter``, so after ``failover_db_cluster`` it reaches the new
writer; the reader endpoint hands out readers in turn (or the writer when the
cluster has no reader).

:func:`sync` gives a volume to instances and clusters labkit has not seen
created, and forgets those the API no longer lists.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from labkit.core.aws import internal_client
from labkit.services.rds.replication import start_replica
from labkit.services.rds.storage import STATE, drop_volume, new_volume


def client() -> Any:
    """labkit's own RDS client (its calls are internal)."""
    return internal_client("rds")


def describe_all(operation: str, key: str, **kwargs: Any) -> list[dict[str, Any]]:
    """Every item of a paginated ``describe`` call."""
    items: list[dict[str, Any]] = []
    for page in client().get_paginator(operation).paginate(**kwargs):
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


def _cluster_target(host: str, cluster: dict[str, Any], instances: dict[str, Any]) -> Target:
    members = [m for m in cluster.get("DBClusterMembers", []) if m["DBInstanceIdentifier"] in instances]
    writers = [m["DBInstanceIdentifier"] for m in members if m.get("IsClusterWriter")]
    readers = [m["DBInstanceIdentifier"] for m in members if not m.get("IsClusterWriter")]
    if host == cluster.get("ReaderEndpoint"):
        healthy = [r for r in readers if r not in STATE.outages]
        if healthy:
            chosen, read_only = healthy[next(STATE.turn) % len(healthy)], True
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


def resolve(host: str) -> Target:
    """Ask the RDS API which DB instance ``host`` leads to now.

    Raises:
        sqlite3.OperationalError: no instance or cluster has this endpoint.
    """
    clusters = describe_all("describe_db_clusters", "DBClusters")
    instances = {i["DBInstanceIdentifier"]: i for i in describe_all("describe_db_instances", "DBInstances")}
    for cluster in clusters:
        if host in (cluster.get("Endpoint"), cluster.get("ReaderEndpoint")):
            return _cluster_target(host, cluster, instances)
    for instance in instances.values():
        if (instance.get("Endpoint") or {}).get("Address") != host:
            continue
        port = int(instance["Endpoint"].get("Port") or 0)
        cluster_id = instance.get("DBClusterIdentifier")
        if cluster_id:
            cluster = next((c for c in clusters if c["DBClusterIdentifier"] == cluster_id), {})
            writer = any(m["DBInstanceIdentifier"] == instance["DBInstanceIdentifier"] and m.get("IsClusterWriter")
                         for m in cluster.get("DBClusterMembers", []))
            return Target(instance["DBInstanceIdentifier"], cluster_id, not writer, instance["Engine"], port,
                          cluster.get("MasterUsername"), cluster.get("DatabaseName"))
        ident = instance["DBInstanceIdentifier"]
        # moto keeps ReadReplicaSourceDBInstanceIdentifier after promote_read_replica:
        # labkit's own record of the link wins when it has one.
        replica = (ident in STATE.replicas) if ident in STATE.instances else bool(
            instance.get("ReadReplicaSourceDBInstanceIdentifier"))
        return Target(ident, None, replica, instance["Engine"], port, instance.get("MasterUsername"),
                      instance.get("DBName"))
    raise _unknown_host(host)


def sync() -> None:
    """Give a data file to instances and clusters labkit did not see created,
    and forget those the API no longer lists. Call with the lock held."""
    instances = describe_all("describe_db_instances", "DBInstances")
    clusters = describe_all("describe_db_clusters", "DBClusters")
    names = {i["DBInstanceIdentifier"] for i in instances if not i.get("DBClusterIdentifier")}
    for instance in instances:
        ident = instance["DBInstanceIdentifier"]
        if ident in names and ident not in STATE.instances:
            source = instance.get("ReadReplicaSourceDBInstanceIdentifier")
            if source and source in STATE.instances:
                start_replica(ident, source)
            else:
                STATE.instances[ident] = new_volume()
    for ident in set(STATE.instances) - names:
        drop_volume(STATE.instances.pop(ident))
        STATE.replicas.pop(ident, None)
    cluster_names = {c["DBClusterIdentifier"] for c in clusters}
    for ident in cluster_names - set(STATE.clusters):
        STATE.clusters[ident] = new_volume()
    for ident in set(STATE.clusters) - cluster_names:
        drop_volume(STATE.clusters.pop(ident))
