"""A host or Availability Zone failure, and what RDS does about it."""

from __future__ import annotations

from labkit.services.rds.endpoints import client
from labkit.services.rds.storage import LOCK, STATE, bump


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
    rds = client()
    instance = rds.describe_db_instances(DBInstanceIdentifier=instance_id)["DBInstances"][0]
    cluster_id = instance.get("DBClusterIdentifier")
    if cluster_id:
        cluster = rds.describe_db_clusters(DBClusterIdentifier=cluster_id)["DBClusters"][0]
        members = cluster.get("DBClusterMembers", [])
        is_writer = any(m["DBInstanceIdentifier"] == instance_id and m.get("IsClusterWriter") for m in members)
        others = [m["DBInstanceIdentifier"] for m in members
                  if m["DBInstanceIdentifier"] != instance_id and m["DBInstanceIdentifier"] not in STATE.outages]
        if is_writer and others:
            rds.failover_db_cluster(DBClusterIdentifier=cluster_id)
            return "aurora failover"
    elif instance.get("MultiAZ"):
        rds.reboot_db_instance(DBInstanceIdentifier=instance_id, ForceFailover=True)
        return "multi-az failover"
    with LOCK:
        STATE.outages.add(instance_id)
    return "unavailable"


def recover_instance(instance_id: str) -> None:
    """End a failure made by :func:`fail_instance` (the host or zone is back)."""
    with LOCK:
        STATE.outages.discard(instance_id)
        bump(instance_id)
