"""SQL connections to the DB instance an endpoint leads to.

:func:`connect` resolves the endpoint (:mod:`.endpoints`), checks what the
database would check (port, master user and password, database name,
``max_connections``, an outage) and returns a DB-API connection
(:class:`RdsConnection`, a :class:`sqlite3.Connection`) to that instance's
volume: read-write on a writer or primary, ``mode=ro`` on readers and read
replicas, so a write there fails with the engine's own read-only error.
Everything is in-process: no socket is opened.

Every statement goes through one check (:meth:`RdsConnection._statement`): a
connection to an instance that was rebooted, failed over or is unreachable
fails, as a dropped TCP connection would; a replica catches up first; and
what a writer committed is recorded in the volume's history.
"""

from __future__ import annotations

import sqlite3
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from labkit.services.rds.endpoints import client, describe_all, resolve, sync
from labkit.services.rds.replication import catch_up
from labkit.services.rds.storage import LOCK, STATE


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
        with LOCK:
            dropped = (self.instance_id in STATE.outages
                       or STATE.generation.get(self.instance_id, 0) != self._generation)
            if dropped:
                raise sqlite3.OperationalError(
                    f"server closed the connection unexpectedly: DB instance {self.instance_id} "
                    "was rebooted, failed over or is unreachable; open a new connection"
                )
            if self.instance_id in STATE.replicas:
                catch_up(self.instance_id)

    def _after(self) -> None:
        if not self.read_only and not self.in_transaction:
            with LOCK:
                kind, key = self._volume_key
                volume = (STATE.clusters if kind == "cluster" else STATE.instances).get(key)
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

    def __exit__(self, *exc: object) -> Any:
        result = super().__exit__(*exc)
        self._after()
        return result

    def close(self) -> None:
        with LOCK:
            STATE.open.get(self.instance_id, weakref.WeakSet()).discard(self)
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
    with LOCK:
        target = resolve(host)
        sync()
        if port is not None and target.port and int(port) != target.port:
            raise sqlite3.OperationalError(
                f'could not connect to server: Connection refused. Is the server running on host "{host}" '
                f"and accepting TCP/IP connections on port {port}?"
            )
        if target.instance_id in STATE.outages:
            raise sqlite3.OperationalError(
                f'could not connect to server "{host}": DB instance {target.instance_id} is unreachable'
            )
        secret_key = target.cluster_id or _password_owner(target.instance_id)
        known = STATE.passwords.get(secret_key) if secret_key else None
        if (user is not None and target.master_username and user != target.master_username) or (
            known is not None and password != known
        ):
            raise sqlite3.OperationalError(f'password authentication failed for user "{user}"')
        if dbname is not None and target.dbname and dbname != target.dbname:
            raise sqlite3.OperationalError(f'database "{dbname}" does not exist')
        if target.instance_id not in STATE.max_connections:
            STATE.max_connections[target.instance_id] = _read_max_connections(target.instance_id)
        limit = STATE.max_connections[target.instance_id]
        live = STATE.open.setdefault(target.instance_id, weakref.WeakSet())
        if limit is not None and len(live) >= limit:
            raise sqlite3.OperationalError("FATAL: sorry, too many clients already")
        if target.cluster_id:
            volume, key = STATE.clusters[target.cluster_id], ("cluster", target.cluster_id)
        else:
            volume, key = STATE.instances[target.instance_id], ("instance", target.instance_id)
        if target.instance_id in STATE.replicas:
            catch_up(target.instance_id)
        uri = f"file:{volume.path}?mode={'ro' if target.read_only else 'rw'}"
        conn = sqlite3.connect(uri, uri=True, timeout=timeout, factory=RdsConnection,
                               check_same_thread=False)
        conn.endpoint, conn.instance_id, conn.read_only = host, target.instance_id, target.read_only
        conn._volume_key, conn._generation = key, STATE.generation.get(target.instance_id, 0)
        if target.engine.startswith("aurora"):
            instance_id = target.instance_id
            conn.create_function("aurora_db_instance_identifier", 0, lambda: instance_id)
        live.add(conn)
        STATE.accepted[target.instance_id] = STATE.accepted.get(target.instance_id, 0) + 1
        return conn


def connections_accepted(instance_id: str) -> int:
    """How many connections the DB instance ``instance_id`` has accepted since
    labkit started (or was reset): which instance served a request. (On AWS,
    the ``DatabaseConnections`` metric shows the connections open at a moment.)"""
    with LOCK:
        return STATE.accepted.get(instance_id, 0)


def _password_owner(instance_id: str) -> str:
    """Read replicas use their source's master password."""
    seen = set()
    while instance_id in STATE.replicas and instance_id not in seen:
        seen.add(instance_id)
        instance_id = STATE.replicas[instance_id].source
    return instance_id


def _read_max_connections(instance_id: str) -> int | None:
    """``max_connections`` from the instance's DB parameter group, if it is a number."""
    try:
        instance = client().describe_db_instances(DBInstanceIdentifier=instance_id)["DBInstances"][0]
    except Exception:  # noqa: BLE001 - the instance is being deleted: no limit
        return None
    for group in instance.get("DBParameterGroups", []):
        name = group["DBParameterGroupName"]
        if name.startswith("default."):
            continue
        try:
            for parameter in describe_all("describe_db_parameters", "Parameters", DBParameterGroupName=name):
                if parameter.get("ParameterName") == "max_connections":
                    value = str(parameter.get("ParameterValue", ""))
                    return int(value) if value.isdigit() else None
        except Exception:  # noqa: BLE001
            return None
    return None
