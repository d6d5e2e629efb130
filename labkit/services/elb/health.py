"""Target health checks, driven by the sandbox clock.

Every registered target of a target group that a listener uses gets a health
check every ``HealthCheckIntervalSeconds``: an HTTP ``GET`` of
``HealthCheckPath`` (or, for TCP, a connection) answered within
``HealthCheckTimeoutSeconds`` with a code the ``Matcher`` accepts. Each check
is scheduled with :meth:`labkit.core.clock.Clock.call_at`: it runs when the
sandbox clock is read at or after its moment (a request through the load
balancer, ``describe_target_health``) or when ``lab.clock.advance`` passes it.
No thread waits for it.

The states and reason codes are AWS's:

``initial``     registered, no check passed yet (``Elb.InitialHealthChecking``);
                one passing check makes it ``healthy``, ``UnhealthyThresholdCount``
                failures in a row ``unhealthy``;
``healthy``     ``UnhealthyThresholdCount`` failures in a row make it ``unhealthy``;
``unhealthy``   ``Target.ResponseCodeMismatch``, ``Target.Timeout`` or
                ``Target.FailedHealthChecks``; ``HealthyThresholdCount``
                passes in a row make it ``healthy`` again;
``draining``    deregistered, for ``deregistration_delay.timeout_seconds``
                (``Target.DeregistrationInProgress``); then it is gone;
``unused``      the group is used by no listener (``Target.NotInUse``), or the
                instance is not running (``Target.InvalidState``);
``unavailable`` health checks are disabled (``Target.HealthCheckDisabled``).

A check waits at most :data:`PROBE_WAIT` real seconds, whatever the timeout
says: a target slower than that counts as timed out (so a lab never waits the
default five seconds). When ``lab.clock.advance`` passes many checks at once,
one real check answers for all those that one advance passed (within half a
second of real time).

In the browser edition (no sockets) a check reaches the target's in-process
server (:mod:`labkit.core.inprocess`): TCP passes when it is there, HTTP gets
the same GET from its HTTP front; a target answers to its end, so no check
times out there.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from typing import Any

from labkit.core import inprocess, names, platform
from labkit.core.clock import clock
from labkit.core.httpfront import HttpFront, HttpRequest
from labkit.core.offline import is_loopback
from labkit.services.elb import state, targets

#: The longest a health check waits for a target, in real seconds.
PROBE_WAIT = 1.0
#: The user agent of AWS's health checks.
USER_AGENT = targets.USER_AGENT

DESCRIPTIONS = {
    "Elb.InitialHealthChecking": "Initial health checks in progress",
    "Target.FailedHealthChecks": "Health checks failed",
    "Target.Timeout": "Request timed out",
    "Target.DeregistrationInProgress": "Target deregistration is in progress",
    "Target.NotInUse": "Target group is not configured to receive traffic from the load balancer",
    "Target.NotRegistered": "Target is not registered to the target group",
    "Target.HealthCheckDisabled": "Health checks are disabled",
}


@dataclass
class TargetHealth:
    """What the load balancer knows about one registered target."""

    group_arn: str
    target_id: str
    port: int
    state: str = "initial"
    reason: str | None = "Elb.InitialHealthChecking"
    description: str | None = DESCRIPTIONS["Elb.InitialHealthChecking"]
    successes: int = 0
    failures: int = 0
    checks: int = 0  # health checks run so far
    scheduled: Any = None  # the clock entry of the next check, or of the end of draining
    token: object = None  # the next check's token: a check whose token is stale does nothing
    last_real: tuple[float, float, bool, str | None, str | None] | None = None  # (offset, monotonic, answer...)

    @property
    def key(self) -> str:
        return state.target_key(self.target_id, self.port)

    def set(self, new_state: str, reason: str | None = None, description: str | None = None) -> None:
        self.state = new_state
        self.reason = reason
        self.description = description if description is not None else DESCRIPTIONS.get(reason or "")


_LOCK = threading.RLock()
_RECORDS: dict[tuple[str, str], TargetHealth] = {}
_DIRTY = True


def mark_dirty(*_: Any) -> None:
    """Configuration changed (a hook): reconcile before the next look."""
    global _DIRTY
    _DIRTY = True


def _cancel(record: TargetHealth) -> None:
    record.token = None
    if record.scheduled is not None:
        clock.cancel(record.scheduled)
        record.scheduled = None


def _instance_state(tg: Any, target_id: str) -> str | None:
    if not target_id.startswith("i-"):
        return None
    instance = tg.ec2_backend.get_instance_by_id(target_id)
    return None if instance is None else instance.state


def sync(force: bool = False) -> None:
    """Reconcile the records with moto's configuration: new targets start
    ``initial`` and get their first check now; groups no listener uses make
    their targets ``unused``; targets gone (and not draining) are forgotten."""
    global _DIRTY
    if not (_DIRTY or force):
        return
    due: list[TargetHealth] = []
    with _LOCK:
        _DIRTY = False
        used = state.groups_in_use()
        seen: set[tuple[str, str]] = set()
        now = clock.peek()
        for tg in state.all_target_groups():
            for target in state.registered(tg):
                port = int(target.get("Port") or tg.port or 0)
                key = (tg.arn, state.target_key(target["Id"], port))
                seen.add(key)
                record = _RECORDS.get(key)
                if record is None or record.state == "draining":
                    if record is not None:
                        _cancel(record)
                    record = _RECORDS[key] = TargetHealth(tg.arn, target["Id"], port)
                    record.state = ""  # decided below
                instance_state = _instance_state(tg, target["Id"])
                if tg.arn not in used:
                    _cancel(record)
                    record.set("unused", "Target.NotInUse")
                elif instance_state is not None and instance_state not in ("running", "pending"):
                    _cancel(record)
                    record.set("unused", "Target.InvalidState", f"Target is in the {instance_state} state")
                elif not tg.health_check_enabled:
                    _cancel(record)
                    record.set("unavailable", "Target.HealthCheckDisabled")
                elif record.state in ("", "unused", "unavailable"):
                    record.set("initial", "Elb.InitialHealthChecking")
                    record.successes = record.failures = 0
                    due.append(record)
        for key, record in list(_RECORDS.items()):
            if key not in seen and record.state != "draining":
                _cancel(record)
                del _RECORDS[key]
    # Scheduled outside the lock: a check runs under the clock's lock and then
    # takes this one, so this one is never held while asking for the clock's.
    for record in due:
        _schedule_check(record, now)


def _schedule_check(record: TargetHealth, when: float) -> None:
    _cancel(record)
    token = record.token = object()
    record.scheduled = clock.call_at(when, lambda: _check(record, when, token))


def start_draining(group_arn: str, target_id: str, port: int | None) -> None:
    """A target was deregistered: ``draining`` for the group's deregistration
    delay, then forgotten."""
    ends: list[tuple[tuple[str, str], float]] = []
    with _LOCK:
        tg = state.target_group(group_arn)
        for key, record in list(_RECORDS.items()):
            if key[0] != group_arn or record.target_id != target_id:
                continue
            if port is not None and record.port != port:
                continue
            _cancel(record)
            if record.state in ("unused",) or tg is None:
                del _RECORDS[key]
                continue
            delay = float(state.tg_attribute(tg, "deregistration_delay.timeout_seconds") or 0)
            record.set("draining", "Target.DeregistrationInProgress")
            ends.append((key, clock.peek() + delay))
    for key, when in ends:
        entry = clock.call_at(when, lambda k=key: _forget(k))
        found = _RECORDS.get(key)
        if found is not None and found.state == "draining":
            found.scheduled = entry


def _forget(key: tuple[str, str]) -> None:
    with _LOCK:
        record = _RECORDS.get(key)
        if record is not None and record.state == "draining":
            del _RECORDS[key]


def records(group_arn: str) -> list[TargetHealth]:
    """Every record of a group (registered and draining), after due checks ran."""
    look()
    with _LOCK:
        return [r for (arn, _), r in _RECORDS.items() if arn == group_arn]


def record(group_arn: str, target_id: str, port: int) -> TargetHealth | None:
    look()
    return _RECORDS.get((group_arn, state.target_key(target_id, port)))


def look() -> None:
    """Reconcile if needed, then let the checks that fell due run (reading the clock runs them)."""
    sync()
    clock.now()


# --------------------------------------------------------------------------
# One health check
# --------------------------------------------------------------------------


def _matcher_accepts(matcher: dict[str, Any] | None, code: int) -> bool:
    spec = str((matcher or {}).get("HttpCode") or "200")
    for part in spec.split(","):
        part = part.strip()
        if "-" in part:
            low, high = part.split("-", 1)
            if int(low) <= code <= int(high):
                return True
        elif part and int(part) == code:
            return True
    return False


def connect_address(target_id: str, port: int, tg: Any) -> tuple[str, int] | None:
    """Where a connection to a target goes on this machine, or ``None`` (nowhere)."""
    address = target_id
    if target_id.startswith("i-"):
        instance = tg.ec2_backend.get_instance_by_id(target_id)
        address = getattr(instance, "private_ip", None) if instance is not None else None
        if not address:
            return None
    if is_loopback(address):
        return (address, port)
    try:
        targets = names.connect_targets(address, port)
    except ConnectionRefusedError:
        return None
    return targets[0] if targets else None


def run_check(tg: Any, target_id: str, port: int) -> tuple[bool, str | None, str | None]:
    """One real health check of a target: ``(passed, reason, description)``."""
    if tg.target_type == "lambda":
        return _lambda_check(tg, target_id)
    check_port = port if str(tg.health_check_port or "traffic-port") == "traffic-port" else int(tg.health_check_port)
    where = connect_address(target_id, check_port, tg)
    if where is None:
        return False, "Target.FailedHealthChecks", None
    timeout = min(float(tg.health_check_timeout_seconds or 5), PROBE_WAIT)
    protocol = (tg.health_check_protocol or tg.protocol or "HTTP").upper()
    if platform.in_browser():
        return _check_in_process(tg, target_id, check_port, where, protocol)
    if protocol in ("TCP", "TLS", "UDP", "TCP_UDP"):
        try:
            socket.create_connection(where, timeout=timeout).close()
        except OSError:
            return False, "Target.FailedHealthChecks", None
        return True, None, None
    if protocol == "HTTPS":
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # the load balancer does not verify its targets' certificates
        connection: http.client.HTTPConnection = http.client.HTTPSConnection(*where, timeout=timeout, context=context)
    else:
        connection = http.client.HTTPConnection(*where, timeout=timeout)
    try:
        connection.request("GET", tg.health_check_path or "/",
                           headers={"Host": f"{target_id}:{check_port}", "User-Agent": USER_AGENT,
                                    "Connection": "close"})
        code = connection.getresponse().status
    except TimeoutError:
        return False, "Target.Timeout", None
    except (OSError, http.client.HTTPException):
        return False, "Target.FailedHealthChecks", None
    finally:
        connection.close()
    return _judge(tg, code)


def _check_in_process(tg: Any, target_id: str, check_port: int, where: tuple[str, int],
                      protocol: str) -> tuple[bool, str | None, str | None]:
    """The browser edition's health check: the target's in-process server is
    there (TCP), or its HTTP front answers the same GET (HTTP, HTTPS)."""
    try:
        server = inprocess.server_at(*where)
    except OSError:
        server = None
    if server is None:
        return False, "Target.FailedHealthChecks", None
    if protocol in ("TCP", "TLS", "UDP", "TCP_UDP"):
        return True, None, None
    front = getattr(server, "front", None)
    if not isinstance(front, HttpFront):
        return False, "Target.FailedHealthChecks", None
    answer = front.dispatch(HttpRequest(method="GET", path=tg.health_check_path or "/", headers=[
        ("Host", f"{target_id}:{check_port}"), ("User-Agent", USER_AGENT), ("Connection", "close")]))
    return _judge(tg, answer.status)


def _judge(tg: Any, code: int) -> tuple[bool, str | None, str | None]:
    if _matcher_accepts(tg.matcher if hasattr(tg, "matcher") else None, code):
        return True, None, None
    return False, "Target.ResponseCodeMismatch", f"Health checks failed with these codes: [{code}]"


def _lambda_check(tg: Any, function_arn: str) -> tuple[bool, str | None, str | None]:
    status = targets.lambda_health_status(tg, function_arn)
    if status is None:
        return False, "Target.FailedHealthChecks", None
    if _matcher_accepts(getattr(tg, "matcher", None), status):
        return True, None, None
    return False, "Target.ResponseCodeMismatch", f"Health checks failed with these codes: [{status}]"


def _check(record: TargetHealth, due: float, token: object) -> None:
    with _LOCK:
        if record.token is not token or _RECORDS.get((record.group_arn, record.key)) is not record:
            return
        record.scheduled = record.token = None
        tg = state.target_group(record.group_arn)
        if tg is None:
            return
    cached = record.last_real
    if cached is not None and cached[0] == clock.offset and time.monotonic() - cached[1] < 0.5:
        passed, reason, description = cached[2:]  # the same advance passed this check too
    else:
        passed, reason, description = run_check(tg, record.target_id, record.port)
        record.last_real = (clock.offset, time.monotonic(), passed, reason, description)
    with _LOCK:
        if _RECORDS.get((record.group_arn, record.key)) is not record or record.state in ("draining", "unused"):
            return
        record.checks += 1
        healthy_after = int(tg.healthy_threshold_count or 5)
        unhealthy_after = int(tg.unhealthy_threshold_count or 2)
        if passed:
            record.successes += 1
            record.failures = 0
            if record.state == "initial" or (record.state == "unhealthy" and record.successes >= healthy_after):
                record.set("healthy")
        else:
            record.failures += 1
            record.successes = 0
            if record.failures >= unhealthy_after or record.state == "unhealthy":
                record.set("unhealthy", reason, description)
        interval = float(tg.health_check_interval_seconds or 30)
        _schedule_check(record, due + interval)


# --------------------------------------------------------------------------
# What routing and describe_target_health read
# --------------------------------------------------------------------------


def routable(group_arn: str) -> list[TargetHealth]:
    """The targets that may receive new requests: the healthy ones; if every
    target in service is unhealthy, all of them (AWS fails open); with health
    checks disabled, every registered target. Empty: the load balancer answers 503."""
    found = records(group_arn)
    healthy = [r for r in found if r.state in ("healthy", "unavailable")]
    if healthy:
        return healthy
    in_service = [r for r in found if r.state in ("healthy", "unhealthy", "initial")]
    if in_service and all(r.state == "unhealthy" for r in in_service):
        return in_service
    return []


def counts(group_arn: str) -> tuple[int, int]:
    """(healthy, unhealthy) targets of a group, for HealthyHostCount and UnHealthyHostCount."""
    found = records(group_arn)
    return (sum(r.state == "healthy" for r in found), sum(r.state == "unhealthy" for r in found))


def reset() -> None:
    global _DIRTY
    with _LOCK:
        for record in _RECORDS.values():
            _cancel(record)
        _RECORDS.clear()
        _DIRTY = True
