"""What the RDS control plane's calls do to the data: creations, replicas,
reboots, snapshots, restores, failovers.

moto stores and describes instances, clusters and snapshots, but there is no
data behind them. An ``after`` subscriber of the hook dispatcher
(:func:`after_call`) sees every successful RDS call, labkit's own included
(:func:`labkit.services.rds.fail_instance` reboots through the API), and keeps
the volumes of :mod:`.storage` in step:

- ``CreateDBInstance``/``CreateDBCluster``: a new, empty volume (a reused
  name starts empty); the master password is remembered;
- ``CreateDBInstanceReadReplica``: a copy of the source, then lagging
  (:mod:`.replication`); ``PromoteReadReplica`` keeps what had been applied;
- ``RebootDBInstance``, ``FailoverDBCluster``: the instances involved restart
  (open connections fail);
- snapshots copy the data; restores give the new instance or cluster the data
  of that snapshot or moment (the point in time is on the sandbox clock);
- ``DeleteDBInstance``/``DeleteDBCluster``: the volume goes (after a final
  snapshot if asked for); a deleted source's replicas become standalone.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from typing import Any

from botocore.exceptions import ClientError

from labkit.core import hooks
from labkit.core.aws import epoch_of, internal_client
from labkit.core.clock import clock
from labkit.services.rds.endpoints import client, describe_all
from labkit.services.rds.replication import catch_up, start_replica
from labkit.services.rds.storage import LOCK, STATE, boot, bump, drop_volume, new_volume

Params = dict[str, Any]


def _moment(value: Any) -> float:
    moment = epoch_of(value)
    return clock.now() if moment is None else moment


def _create_instance(params: Params, parsed: Params) -> None:
    instance = parsed.get("DBInstance", {})
    ident = instance.get("DBInstanceIdentifier") or params.get("DBInstanceIdentifier")
    STATE.replicas.pop(ident, None)
    drop_volume(STATE.instances.pop(ident, None))
    if not instance.get("DBClusterIdentifier"):
        STATE.instances[ident] = new_volume()
        if params.get("MasterUserPassword"):
            STATE.passwords[ident] = params["MasterUserPassword"]
    boot(ident)


def _create_replica(params: Params, parsed: Params) -> None:
    instance = parsed.get("DBInstance", {})
    ident = instance["DBInstanceIdentifier"]
    source_id = instance.get("ReadReplicaSourceDBInstanceIdentifier") or params.get("SourceDBInstanceIdentifier")
    start_replica(ident, source_id)
    boot(ident)


def _promote(params: Params, parsed: Params) -> None:
    ident = parsed.get("DBInstance", {}).get("DBInstanceIdentifier") or params.get("DBInstanceIdentifier")
    catch_up(ident)
    link = STATE.replicas.pop(ident, None)
    if link is not None and link.source in STATE.passwords:
        STATE.passwords.setdefault(ident, STATE.passwords[link.source])
    boot(ident)


def _reboot(params: Params, parsed: Params) -> None:
    boot(params.get("DBInstanceIdentifier") or parsed.get("DBInstance", {}).get("DBInstanceIdentifier"))


def _delete_instance(params: Params, parsed: Params) -> None:
    ident = params.get("DBInstanceIdentifier")
    volume = STATE.instances.get(ident)
    if volume is not None and params.get("FinalDBSnapshotIdentifier") and not params.get("SkipFinalSnapshot"):
        volume.record()
        STATE.snapshots[params["FinalDBSnapshotIdentifier"]] = volume.image()
    drop_volume(STATE.instances.pop(ident, None))
    STATE.replicas.pop(ident, None)
    for link_id, link in list(STATE.replicas.items()):
        if link.source == ident:  # the replicas of a deleted source become standalone
            catch_up(link_id)
            STATE.replicas.pop(link_id)
    bump(ident)
    STATE.outages.discard(ident)


def _snapshot(params: Params, parsed: Params) -> None:
    snap = parsed.get("DBSnapshot", {})
    volume = STATE.instances.get(snap.get("DBInstanceIdentifier") or params.get("DBInstanceIdentifier"))
    if volume is not None:
        volume.record()
        STATE.snapshots[snap.get("DBSnapshotIdentifier") or params["DBSnapshotIdentifier"]] = volume.image()


def _copy_snapshot(params: Params, parsed: Params) -> None:
    source = str(params.get("SourceDBSnapshotIdentifier", "")).rsplit(":", 1)[-1]
    if source in STATE.snapshots:
        STATE.snapshots[params["TargetDBSnapshotIdentifier"]] = STATE.snapshots[source]


def _delete_snapshot(params: Params, parsed: Params) -> None:
    STATE.snapshots.pop(params.get("DBSnapshotIdentifier", ""), None)


def _restore_snapshot(params: Params, parsed: Params) -> None:
    ident = parsed.get("DBInstance", {}).get("DBInstanceIdentifier") or params["DBInstanceIdentifier"]
    drop_volume(STATE.instances.pop(ident, None))
    STATE.instances[ident] = new_volume(STATE.snapshots.get(params.get("DBSnapshotIdentifier", "")))
    boot(ident)


def _image_at(source: Any, params: Params, time_key: str) -> bytes | None:
    """The source volume as it was at the restore time the request names
    (``UseLatestRestorableTime``: now), or None when there is no source."""
    if source is None:
        return None
    source.record()
    moment = clock.now() if params.get("UseLatestRestorableTime") else _moment(params.get(time_key))
    return source.as_of(moment)


def _restore_point_in_time(params: Params, parsed: Params) -> None:
    ident = parsed.get("DBInstance", {}).get("DBInstanceIdentifier") or params["TargetDBInstanceIdentifier"]
    image = _image_at(STATE.instances.get(params.get("SourceDBInstanceIdentifier", "")), params, "RestoreTime")
    drop_volume(STATE.instances.pop(ident, None))
    STATE.instances[ident] = new_volume(image)
    boot(ident)


def _create_cluster(params: Params, parsed: Params, image: bytes | None = None) -> None:
    ident = parsed.get("DBCluster", {}).get("DBClusterIdentifier") or params["DBClusterIdentifier"]
    drop_volume(STATE.clusters.pop(ident, None))
    STATE.clusters[ident] = new_volume(image)
    if params.get("MasterUserPassword"):
        STATE.passwords[ident] = params["MasterUserPassword"]


def _modify(params: Params, parsed: Params) -> None:
    ident = params.get("DBClusterIdentifier") or params.get("DBInstanceIdentifier")
    if ident and params.get("MasterUserPassword"):
        STATE.passwords[ident] = params["MasterUserPassword"]


def _delete_cluster(params: Params, parsed: Params) -> None:
    ident = params.get("DBClusterIdentifier", "")
    volume = STATE.clusters.get(ident)
    if volume is not None and params.get("FinalDBSnapshotIdentifier") and not params.get("SkipFinalSnapshot"):
        STATE.cluster_snapshots[params["FinalDBSnapshotIdentifier"]] = volume.image()
    drop_volume(STATE.clusters.pop(ident, None))
    # moto keeps the deleted cluster's automated snapshot ("rds:<id>-<minute>"), so
    # creating a cluster with the same name in the same minute fails. Remove it.
    with suppress(ClientError):  # best effort; nothing in the lesson depends on it
        for snap in describe_all("describe_db_cluster_snapshots", "DBClusterSnapshots",
                                 DBClusterIdentifier=ident, SnapshotType="automated"):
            client().delete_db_cluster_snapshot(DBClusterSnapshotIdentifier=snap["DBClusterSnapshotIdentifier"])


def _failover_cluster(params: Params, parsed: Params) -> None:
    # The old and the new writer restart; labkit drops the connections of every member.
    for member in parsed.get("DBCluster", {}).get("DBClusterMembers", []):
        bump(member["DBInstanceIdentifier"])


def _cluster_snapshot(params: Params, parsed: Params) -> None:
    snap = parsed.get("DBClusterSnapshot", {})
    volume = STATE.clusters.get(snap.get("DBClusterIdentifier") or params.get("DBClusterIdentifier"))
    if volume is not None:
        key = snap.get("DBClusterSnapshotIdentifier") or params["DBClusterSnapshotIdentifier"]
        STATE.cluster_snapshots[key] = volume.image()


def _delete_cluster_snapshot(params: Params, parsed: Params) -> None:
    STATE.cluster_snapshots.pop(params.get("DBClusterSnapshotIdentifier", ""), None)


def _restore_cluster_snapshot(params: Params, parsed: Params) -> None:
    _create_cluster(params, parsed, STATE.cluster_snapshots.get(params.get("SnapshotIdentifier", "")))


def _restore_cluster_point_in_time(params: Params, parsed: Params) -> None:
    image = _image_at(STATE.clusters.get(params.get("SourceDBClusterIdentifier", "")), params, "RestoreToTime")
    _create_cluster(params, parsed, image)


HANDLERS: dict[str, Callable[[Params, Params], None]] = {
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


def after_call(call: hooks.Call, parsed: dict[str, Any], status: int) -> None:
    """``after`` every successful RDS call: keep labkit's data in step with the API."""
    handler = HANDLERS.get(call.operation)
    if handler is None or status >= 300 or "Error" in (parsed or {}):
        return
    with LOCK:
        handler(call.params, parsed or {})


def refuse_existing_cluster(call: hooks.Call) -> tuple[int, dict[str, Any]] | None:
    """``before`` CreateDBCluster: an identifier in use gets AWS's
    ``DBClusterAlreadyExistsFault``. moto would replace the cluster (and fail
    on its automatic snapshot), so code that catches AWS's error, the usual
    way to make a create safe to call twice, would break for the emulator's reason."""
    identifier = str(call.params.get("DBClusterIdentifier", ""))
    if not identifier:
        return None
    try:
        internal_client("rds", call.region).describe_db_clusters(DBClusterIdentifier=identifier)
    except ClientError:
        return None  # not found: create it
    return hooks.error_answer("DBClusterAlreadyExistsFault", "DB Cluster already exists", 400)


def subscribe() -> None:
    for operation in HANDLERS:
        hooks.subscribe("after", "rds", operation, after_call)
    hooks.subscribe("before", "rds", "CreateDBCluster", refuse_existing_cluster)
