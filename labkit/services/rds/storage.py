"""The data behind the RDS endpoints: one SQLite file per database, with its history.

Each RDS DB instance has its own *volume* (a SQLite file); each Aurora cluster
has one volume that every member opens. A volume keeps every committed
version of its content (up to :data:`HISTORY_LIMIT`), stamped with the
sandbox clock (:mod:`labkit.core.clock`): read replicas apply the versions
older than their lag, and point-in-time restores pick the version of a moment.

:data:`STATE` is everything the RDS plane holds; :func:`reset` forgets it all.
"""

from __future__ import annotations

import atexit
import itertools
import os
import shutil
import sqlite3
import tempfile
import threading
import uuid
import weakref
from dataclasses import dataclass, field
from typing import Any

from labkit.core.clock import clock

#: Seconds an RDS read replica stays behind its primary unless set otherwise.
DEFAULT_REPLICA_LAG = 1.0
#: Committed versions kept per database for replicas and point-in-time restore.
HISTORY_LIMIT = 2000


@dataclass
class Volume:
    """One database's data: a SQLite file plus its committed history."""

    path: str
    history: list[tuple[float, bytes | None]] = field(default_factory=list)  # (sandbox time, content)
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

    def file_counter(self) -> bytes:
        try:
            with open(self.path, "rb") as fh:
                return fh.read(28)[24:28]  # SQLite's file change counter
        except FileNotFoundError:
            return b""

    def record(self, when: float | None = None) -> None:
        """Append the current content to the history if it changed (stamped
        ``when``, default the sandbox clock's now)."""
        counter = self.file_counter()
        if counter and counter != self.counter:
            self.counter = counter
            self.history.append((clock.now() if when is None else when, self.image()))
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
        """The content committed at or before ``moment`` (sandbox epoch seconds)."""
        best: bytes | None = None
        for when, image in self.history:
            if when <= moment:
                best = image
            else:
                break
        return best


@dataclass
class ReplicaLink:
    """An RDS read replica's link to its source."""

    source: str
    lag: float
    applied: float  # commit time (on the source) of the last version applied


@dataclass
class State:
    """Everything the RDS plane holds, by identifier."""

    root: str = ""
    instances: dict[str, Volume] = field(default_factory=dict)  # RDS DB instances
    clusters: dict[str, Volume] = field(default_factory=dict)  # Aurora cluster volumes
    snapshots: dict[str, bytes | None] = field(default_factory=dict)
    cluster_snapshots: dict[str, bytes | None] = field(default_factory=dict)
    replicas: dict[str, ReplicaLink] = field(default_factory=dict)
    passwords: dict[str, str] = field(default_factory=dict)  # instance or cluster id
    generation: dict[str, int] = field(default_factory=dict)  # per instance id: bumped by reboots
    outages: set[str] = field(default_factory=set)
    max_connections: dict[str, int | None] = field(default_factory=dict)
    open: dict[str, weakref.WeakSet[Any]] = field(default_factory=dict)  # open connections per instance
    accepted: dict[str, int] = field(default_factory=dict)  # connections each instance has accepted
    turn: itertools.count[int] = field(default_factory=itertools.count)  # reader endpoint round robin


STATE = State()
#: Held around every change to :data:`STATE` (re-entrant: handlers call each other).
LOCK = threading.RLock()


def _root() -> str:
    if not STATE.root:
        STATE.root = tempfile.mkdtemp(prefix="labkit-rds-")
        atexit.register(shutil.rmtree, STATE.root, True)
    return STATE.root


def new_volume(image: bytes | None = None) -> Volume:
    """A new database file holding ``image`` (or empty), its history started now."""
    volume = Volume(os.path.join(_root(), f"{uuid.uuid4().hex}.sqlite"))
    sqlite3.connect(volume.path).close()
    if image:
        volume.load(image)
    volume.counter = volume.file_counter()
    volume.history.append((clock.now(), image))
    return volume


def drop_volume(volume: Volume | None) -> None:
    """Delete a database file (a deleted instance or cluster)."""
    if volume is not None:
        try:
            os.remove(volume.path)
        except OSError:
            pass


def bump(instance_id: str) -> None:
    """The instance restarted: every connection open to it fails from now on."""
    STATE.generation[instance_id] = STATE.generation.get(instance_id, 0) + 1
    STATE.open.pop(instance_id, None)


def boot(instance_id: str) -> None:
    """The instance (re)started: connections drop, an outage ends, and
    ``max_connections`` is read again at the next connect (a static parameter)."""
    bump(instance_id)
    STATE.outages.discard(instance_id)
    STATE.max_connections.pop(instance_id, None)


def reset() -> None:
    """Forget every database, snapshot, replica link and setting (``lab.reset()``)."""
    with LOCK:
        for volume in [*STATE.instances.values(), *STATE.clusters.values()]:
            drop_volume(volume)
        root = STATE.root
        STATE.__init__()  # type: ignore[misc]
        STATE.root = root
