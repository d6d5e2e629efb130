"""RDS read replicas: asynchronous copies that lag behind their source.

A replica has its own volume, refreshed from the source's committed history
once a change is ``lag`` seconds old on the sandbox clock (default
:data:`.storage.DEFAULT_REPLICA_LAG`; :func:`set_lag` stands for the network
and load that make real replicas lag). Nothing runs in the background: a
replica catches up when it is read (a statement, a connect, :func:`replica_lag`),
so ``lab.clock.advance(lag)`` brings it up to date at its next read.

Aurora Replicas are not here: they read their cluster's shared volume at once.
"""

from __future__ import annotations

import sqlite3
import time

from labkit.core.clock import clock
from labkit.services.rds.storage import (
    DEFAULT_REPLICA_LAG,
    LOCK,
    STATE,
    ReplicaLink,
    drop_volume,
    new_volume,
)


def start_replica(replica_id: str, source_id: str) -> None:
    """A new replica of ``source_id``: a copy of its committed content now."""
    source = STATE.instances.get(source_id)
    if source is None:
        source = STATE.instances[source_id] = new_volume()
    source.record()
    drop_volume(STATE.instances.pop(replica_id, None))
    last_commit, image = source.history[-1]
    STATE.instances[replica_id] = new_volume(image)
    STATE.replicas[replica_id] = ReplicaLink(source_id, DEFAULT_REPLICA_LAG, last_commit)


def catch_up(replica_id: str, now: float | None = None) -> None:
    """Apply to an RDS read replica the source versions that are old enough."""
    link = STATE.replicas.get(replica_id)
    source = STATE.instances.get(link.source) if link else None
    replica = STATE.instances.get(replica_id)
    if link is None or source is None or replica is None:
        return
    source.record()
    cutoff = (clock.now() if now is None else now) - link.lag
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


def set_lag(replica_id: str, seconds: float) -> None:
    """Set a known replica's lag (:func:`labkit.services.rds.set_replica_lag` is the public one)."""
    if replica_id not in STATE.replicas:
        raise KeyError(f"{replica_id!r} is not an RDS read replica that labkit knows")
    STATE.replicas[replica_id].lag = float(seconds)


def pending(replica_id: str) -> list[float]:
    """Commit times of the source's changes the replica has not applied yet."""
    link = STATE.replicas.get(replica_id)
    if link is None:
        return []
    catch_up(replica_id)
    source = STATE.instances.get(link.source)
    return [when for when, _ in (source.history if source else []) if when > link.applied]


def replica_lag(replica_id: str) -> float:
    """Seconds since the oldest change the replica has not applied yet (0.0 when caught up)."""
    with LOCK:
        changes = pending(replica_id)
        return max(clock.now() - changes[0], 0.001) if changes else 0.0


def wait_for_replica(replica_id: str, timeout: float = 30.0) -> float:
    """Wait until the replica has applied every committed change; return the
    seconds waited (sandbox time).

    A waiter, like boto3's: it polls the replica until nothing is pending. On
    a frozen sandbox clock (``lab.clock.frozen()``) it advances the clock by
    the lag instead of waiting for a time that would never come.
    """
    start = clock.monotonic()
    while True:
        with LOCK:
            changes = pending(replica_id)
            link = STATE.replicas.get(replica_id)
        if not changes or link is None:
            break
        if clock.monotonic() - start > timeout:
            raise TimeoutError(f"{replica_id} still lags after {timeout} s")
        remaining = max(changes[-1] + link.lag - clock.now(), 0.0)
        before = clock.monotonic()
        time.sleep(min(remaining, 0.05) or 0.01)
        if clock.monotonic() == before:  # frozen: only advancing the clock lets the lag pass
            clock.advance(max(remaining, 0.001))
    return round(clock.monotonic() - start, 3)
