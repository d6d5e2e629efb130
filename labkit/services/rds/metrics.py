"""``AWS/RDS`` ReplicaLag: how far each read replica is behind, once a sandbox minute.

**What AWS does.** Every RDS read replica (MariaDB, MySQL, Oracle, PostgreSQL,
SQL Server) publishes ``ReplicaLag`` in the ``AWS/RDS`` namespace, in
seconds, with the dimension ``DBInstanceIdentifier`` (the replica's
identifier), once a minute. 0 means caught up.

**What labkit publishes.** For each replica labkit knows, at the end of every
sandbox minute: the delay it applies to every change (the value given to
:func:`labkit.services.rds.set_replica_lag`, :data:`.storage.DEFAULT_REPLICA_LAG`
unless set), which is the lag a replica shows while its source keeps writing.
labkit does not make the lag rise and fall with load, nor drop to 0 when the
source is idle. The data point is written half a second before the minute
ends, stamped at the minute's start, so that an alarm with a 60-second period
sees it in the same minute (the order :mod:`labkit.services.ec2.metrics` uses).

Nothing runs in the background: the minute's work is scheduled on the sandbox
clock (:meth:`labkit.core.clock.Clock.call_at`) while there is a replica, so
``lab.clock.advance(300)`` publishes five minutes at once.
"""

from __future__ import annotations

from labkit.core import aws
from labkit.core.clock import EveryPeriod
from labkit.services.rds.storage import LOCK, STATE

NAMESPACE = "AWS/RDS"
PERIOD = 60
_EARLY = 0.5  # seconds before the minute ends: ahead of CloudWatch's own minute

#: replica id -> the region of the call that created it.
REGIONS: dict[str, str] = {}


def publish(period_end: float) -> list[tuple[str, float]]:
    """Write one ``ReplicaLag`` data point per replica for the minute ending at
    ``period_end``; return ``(replica id, seconds)`` for each."""
    from labkit.services.cloudwatch import put_service_metric  # CloudWatch imports no RDS module

    with LOCK:
        lags = sorted((replica_id, link.lag) for replica_id, link in STATE.replicas.items())
    for replica_id, lag in lags:
        put_service_metric(NAMESPACE, "ReplicaLag", lag, {"DBInstanceIdentifier": replica_id}, unit="Seconds",
                           timestamp=period_end - PERIOD, region=REGIONS.get(replica_id) or aws.default_region())
    return lags


def _replicas_left() -> bool:
    with LOCK:
        return bool(STATE.replicas)


#: Each minute's ReplicaLag, published just before it ends while a replica exists.
_MINUTES = EveryPeriod(lambda end: publish(end), period=PERIOD, early=_EARLY, keep_going=_replicas_left)


def ensure(replica_id: str | None = None, region: str | None = None) -> None:
    """Make sure the next minute's data points are scheduled (idempotent);
    remember the region of a new replica."""
    if replica_id and region:
        REGIONS[replica_id] = region
    _MINUTES.ensure()


def reset() -> None:
    _MINUTES.reset()
    REGIONS.clear()
