"""Health checks that really probe, on the sandbox clock.

On AWS, health checkers in several locations send a request to the endpoint
every ``RequestInterval`` seconds (10 or 30); an endpoint changes status after
``FailureThreshold`` consecutive results that disagree with its current one
(Route 53 Developer Guide, "How Amazon Route 53 determines whether a health
check is healthy"). A probe succeeds when:

- ``TCP``: a TCP connection opens (within 10 s);
- ``HTTP`` / ``HTTPS``: the connection opens within 4 s and the endpoint answers
  a GET for ``ResourcePath`` with a status from 200 to 399 within 2 s (HTTPS
  certificates are not validated);
- ``HTTP_STR_MATCH`` / ``HTTPS_STR_MATCH``: as HTTP, and ``SearchString``
  appears in the first 5,120 bytes of the body.

A new health check counts as healthy until there is enough data; ``Inverted``
swaps the result; a ``Disabled`` one is always healthy; a ``CALCULATED`` one is
healthy when at least ``HealthThreshold`` of its children are.

Here one checker probes (on AWS there are many, and a check is healthy when
more than 18% of them say so). Each probe is scheduled on the sandbox clock
(:meth:`labkit.core.clock.Clock.call_at`), which only counts it due; the due
probes run the next time the plane needs a status (a DNS query, in-process
resolution, ``get_health_check_status``), outside the clock's lock, so that a
probe of a local server that itself reads the clock cannot block it.
``lab.clock.advance(30)`` therefore makes three 10-second probes due at once,
and they all see the endpoint as it is then. At most ``FailureThreshold`` due
probes run for one check at a time (more could not change its status).

In the browser edition (no sockets) a probe reaches the endpoint's in-process
server (:func:`labkit.core.inprocess.server_at`): a TCP check passes when a
server is there, an HTTP check gets the same GET from its HTTP front. The
endpoint answers to its end in the same thread, so a probe cannot time out there.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http import HTTPStatus
from typing import Any

from labkit.core import inprocess, names, platform
from labkit.core.clock import clock
from labkit.core.httpfront import HttpFront, HttpRequest
from labkit.core.offline import is_loopback
from labkit.services.route53 import zones

CONNECT_TIMEOUT = 4.0  # HTTP/HTTPS: Route 53 must connect within four seconds
RESPONSE_TIMEOUT = 2.0  # ...and get the status within two seconds
TCP_TIMEOUT = 10.0  # TCP checks: a connection within ten seconds
BODY_SEARCH_BYTES = 5120  # *_STR_MATCH: the string must be in the first 5,120 bytes
USER_AGENT = "Amazon-Route53-Health-Check-Service (labkit sandbox checker)"
#: The checker's location, as get_health_check_status reports it.
CHECKER_REGION = "us-east-1"
CHECKER_ADDRESS = "127.0.0.1"

PROBED_TYPES = ("HTTP", "HTTPS", "HTTP_STR_MATCH", "HTTPS_STR_MATCH", "TCP")


@dataclass
class CheckState:
    """What the checker knows about one health check."""

    id: str
    healthy: bool = True  # new checks are healthy until there is enough data
    consecutive_ok: int = 0
    consecutive_failed: int = 0
    probes: int = 0
    due: int = 0  # probes the clock made due that have not run yet
    last_report: str = "Success: the health check has not run yet. Route 53 treats a new health check as healthy."
    last_success: str | None = None
    last_failure: str | None = None
    checked_at: float | None = None
    entry: Any = None
    lock: threading.Lock = field(default_factory=threading.Lock)


_LOCK = threading.RLock()
_STATES: dict[str, CheckState] = {}
_LOCAL = threading.local()


# --------------------------------------------------------------------------
# Scheduling
# --------------------------------------------------------------------------

def _config(check_id: str) -> Any:
    """moto's HealthCheck object, or None once it is deleted."""
    return zones.backend().health_checks.get(check_id)


def watch(check_id: str, start: float | None = None) -> CheckState:
    """Start probing a health check (idempotent): the first probe is due at once."""
    with _LOCK:
        state = _STATES.get(check_id)
        if state is not None:
            return state
        state = _STATES[check_id] = CheckState(check_id)
    # Scheduled outside the lock: the clock holds its own lock while _fire takes this one.
    when = clock.peek() if start is None else start
    state.entry = clock.call_at(when, lambda: _fire(check_id, when))
    return state


def _fire(check_id: str, when: float) -> None:
    """A probe falls due (runs inside the clock: only counts, never does I/O)."""
    with _LOCK:
        state = _STATES.get(check_id)
        config = _config(check_id)
        if state is None:
            return
        if config is None:  # deleted: stop probing
            _STATES.pop(check_id, None)
            return
        if str(config.type_).upper() in PROBED_TYPES and not config.disabled:
            state.due += 1
        interval = int(config.request_interval or 30)
        following = when + interval
        state.entry = clock.call_at(following, lambda: _fire(check_id, following))


def sync() -> None:
    """Watch every health check moto has that the checker does not know yet,
    and forget those that were deleted."""
    try:
        known = set(zones.backend().health_checks)
    except Exception:  # noqa: BLE001  (moto not started: nothing to watch)
        return
    with _LOCK:
        for check_id in list(_STATES):
            if check_id not in known:
                state = _STATES.pop(check_id)
                if state.entry is not None:
                    clock.cancel(state.entry)
        missing = known - set(_STATES)
    for check_id in missing:
        watch(check_id)


def settle() -> None:
    """Bring every health check up to the sandbox time: run the clock's due
    actions, then the probes they made due. Re-entrant calls (a probe that
    resolves a sandbox name) return at once."""
    if getattr(_LOCAL, "settling", False):
        return
    _LOCAL.settling = True
    try:
        sync()
        clock.now()  # runs what fell due: probes are counted
        with _LOCK:
            states = [s for s in _STATES.values() if s.due]
        for state in states:
            _run_due(state)
    finally:
        _LOCAL.settling = False


def _run_due(state: CheckState) -> None:
    if not state.lock.acquire(blocking=False):
        return  # another thread is probing it now
    try:
        config = _config(state.id)
        if config is None:
            state.due = 0
            return
        threshold = max(1, int(config.failure_threshold or 3))
        count, state.due = min(state.due, threshold), 0
        for _ in range(count):
            ok, report = probe(config)
            record(state, ok, report, threshold)
    finally:
        state.lock.release()


def record(state: CheckState, ok: bool, report: str, threshold: int) -> None:
    """Count one probe's result and change the status after ``threshold`` in a row."""
    state.probes += 1
    state.checked_at = clock.peek()
    if ok:
        state.consecutive_ok += 1
        state.consecutive_failed = 0
        state.last_success = report
        if not state.healthy and state.consecutive_ok >= threshold:
            state.healthy = True
    else:
        state.consecutive_failed += 1
        state.consecutive_ok = 0
        state.last_failure = report
        if state.healthy and state.consecutive_failed >= threshold:
            state.healthy = False
    state.last_report = report


# --------------------------------------------------------------------------
# Probing
# --------------------------------------------------------------------------

def _outside(host: str) -> ConnectionRefusedError:
    return ConnectionRefusedError(
        f"{host} is outside the lab sandbox; the local health checker only probes loopback addresses and "
        "the sandbox's own names (records in hosted zones, load balancers)")


def _targets(host: str, port: int) -> list[tuple[str, int]]:
    """Where a probe of ``host:port`` connects: the sandbox's own names and
    addresses, or loopback. Anything else is never contacted."""
    found = names.connect_targets(host, port)
    if found is not None:
        return found
    if is_loopback(host):
        return [(host, port)]
    raise _outside(host)


def _server_at(host: str, port: int) -> Any:
    """The browser edition's connection: the in-process server at ``host:port``
    (:func:`labkit.core.inprocess.server_at`), refused as a socket would be."""
    server = inprocess.server_at(host, port)
    if server is None:
        if is_loopback(host):
            raise ConnectionRefusedError(f"nothing serves on {host}:{port}")
        raise _outside(host)
    return server


def _connect(host: str, port: int, timeout: float) -> tuple[socket.socket, str]:
    last: Exception | None = None
    for ip, local_port in _targets(host, port):
        try:
            return socket.create_connection((ip, local_port), timeout=timeout), ip
        except OSError as error:
            last = error
    raise last or ConnectionRefusedError(f"no address for {host}")


def probe(config: Any) -> tuple[bool, str]:
    """Probe the endpoint a health check describes once: ``(ok, report)``."""
    kind = str(config.type_).upper()
    host = config.ip_address or (config.fqdn or "")
    port = int(config.port or (443 if kind.startswith("HTTPS") else 80))
    if not host:
        return False, "Failure: the health check names neither an IP address nor a domain name."
    browser = platform.in_browser()
    try:
        if browser:  # no sockets in a browser tab: the in-process server the connection would reach
            server = _server_at(host, port)
        else:
            sock, ip = _connect(host, port, TCP_TIMEOUT if kind == "TCP" else CONNECT_TIMEOUT)
    except OSError as error:
        if "outside the lab sandbox" in str(error):
            return False, f"Failure: {error}."
        if isinstance(error, ConnectionRefusedError):
            return False, f"Failure: Connection refused: nothing listens on {host}:{port}."
        return False, f"Failure: Connection timed out: {host}:{port} did not accept a connection."
    if kind == "TCP":
        if not browser:
            sock.close()
        return True, f"Success: TCP connection to {host}:{port} established."
    if browser:
        return _http_probe_in_process(config, kind, server, host, port)
    try:
        return _http_probe(config, kind, sock, host, port)
    finally:
        sock.close()


def _request_line(config: Any, kind: str, host: str, port: int) -> tuple[str, str]:
    """The path a probe asks for and its ``Host`` header."""
    path = config.resource_path or "/"
    if not path.startswith("/"):
        path = "/" + path
    host_header = config.fqdn or config.ip_address or host
    default_port = 443 if kind.startswith("HTTPS") else 80
    if port != default_port:
        host_header = f"{host_header}:{port}"
    return path, host_header


def _http_probe(config: Any, kind: str, sock: socket.socket, host: str, port: int) -> tuple[bool, str]:
    path, host_header = _request_line(config, kind, host, port)
    sock.settimeout(RESPONSE_TIMEOUT)
    try:
        if kind.startswith("HTTPS"):
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE  # Route 53 does not validate the certificate
            server_name = config.fqdn if (config.enable_sni and config.fqdn) else None
            sock = context.wrap_socket(sock, server_hostname=server_name)
        connection = http.client.HTTPConnection(host, port, timeout=RESPONSE_TIMEOUT)
        connection.sock = sock
        connection.request("GET", path, headers={"Host": host_header, "User-Agent": USER_AGENT})
        response = connection.getresponse()
        body = response.read(BODY_SEARCH_BYTES) if kind.endswith("STR_MATCH") else b""
        status, text = response.status, response.reason
    except (OSError, http.client.HTTPException, ssl.SSLError) as error:
        return False, f"Failure: no HTTP response from {host}:{port}{path} within {RESPONSE_TIMEOUT:g} s ({error})."
    return _judge(config, kind, status, text, body, f"{host}:{port}{path}")


def _http_probe_in_process(config: Any, kind: str, server: Any, host: str, port: int) -> tuple[bool, str]:
    """The browser edition's HTTP probe: the same GET, answered by the
    endpoint's HTTP front in-process (no TLS there: HTTPS is not validated anyway)."""
    path, host_header = _request_line(config, kind, host, port)
    front = getattr(server, "front", None)
    if not isinstance(front, HttpFront):
        return False, f"Failure: no HTTP response from {host}:{port}{path} within {RESPONSE_TIMEOUT:g} s (not an HTTP server)."
    answer = front.dispatch(HttpRequest(method="GET", path=path,
                                        headers=[("Host", host_header), ("User-Agent", USER_AGENT)]))
    body = answer.body[:BODY_SEARCH_BYTES] if kind.endswith("STR_MATCH") else b""
    reason = HTTPStatus(answer.status).phrase if answer.status in HTTPStatus._value2member_map_ else ""
    return _judge(config, kind, answer.status, reason, body, f"{host}:{port}{path}")


def _judge(config: Any, kind: str, status: int, text: str, body: bytes, where: str) -> tuple[bool, str]:
    """A probe's result from the endpoint's answer (``where``: ``host:port/path``)."""
    if not 200 <= status < 400:
        return False, f"Failure: HTTP Status Code {status}, {text} ({where})."
    if kind.endswith("STR_MATCH"):
        wanted = (config.search_string or "").encode()
        if wanted not in body:
            return False, (f"Failure: the search string {config.search_string!r} is not in the first "
                           f"{BODY_SEARCH_BYTES} bytes of the response body ({where}).")
    return True, f"Success: HTTP Status Code {status}, {text} ({where})."


# --------------------------------------------------------------------------
# Status
# --------------------------------------------------------------------------

def is_healthy(check_id: str, _seen: frozenset[str] = frozenset()) -> bool:
    """The health check's current status, as routing reads it (``Inverted``
    and ``Disabled`` applied; a health check that does not exist counts as healthy)."""
    config = _config(check_id)
    if config is None:
        return True
    if config.disabled:
        return True
    kind = str(config.type_).upper()
    if kind == "CALCULATED":
        if check_id in _seen:
            return False
        children = config.children or []
        threshold = int(config.health_threshold or 0)
        status = sum(is_healthy(child, _seen | {check_id}) for child in children) >= threshold
    elif kind in PROBED_TYPES:
        state = watch(check_id)
        status = state.healthy
    else:  # CLOUDWATCH_METRIC, RECOVERY_CONTROL: not emulated
        status = True
    return (not status) if config.inverted else status


def state_of(check_id: str) -> CheckState | None:
    with _LOCK:
        return _STATES.get(check_id)


def observations(check_id: str) -> list[dict[str, Any]]:
    """What ``get_health_check_status`` returns: one observation, the local checker's."""
    config = _config(check_id)
    state = watch(check_id) if config is not None else None
    healthy = is_healthy(check_id)
    if config is not None and config.disabled:
        report = "Success: the health check is disabled; Route 53 considers it healthy."
    elif config is not None and str(config.type_).upper() == "CALCULATED":
        children = config.children or []
        up = sum(is_healthy(child) for child in children)
        report = (f"{'Success' if healthy else 'Failure'}: {up} of {len(children)} child health checks are healthy "
                  f"(threshold {config.health_threshold}).")
    elif state is None or state.probes == 0:
        report = state.last_report if state else "Success: no data yet."
    elif state.healthy:
        report = state.last_success or state.last_report
    else:
        report = state.last_failure or state.last_report
    if config is not None and config.inverted and not config.disabled:
        report = f"{'Success' if healthy else 'Failure'} (inverted): {report}"
    checked = state.checked_at if state and state.checked_at is not None else clock.peek()
    return [{
        "Region": CHECKER_REGION,
        "IPAddress": CHECKER_ADDRESS,
        "StatusReport": {"Status": report, "CheckedTime": datetime.fromtimestamp(checked, tz=timezone.utc)},
    }]


def summary(check_id: str) -> dict[str, Any]:
    """The checker's view of one health check, for ``lab.route53.health(...)``."""
    healthy = is_healthy(check_id)
    state = state_of(check_id)
    return {
        "HealthCheckId": check_id,
        "Healthy": healthy,
        "Probes": state.probes if state else 0,
        "ConsecutiveFailures": state.consecutive_failed if state else 0,
        "ConsecutiveSuccesses": state.consecutive_ok if state else 0,
        "LastReport": state.last_report if state else None,
    }


def reset() -> None:
    """Forget every health check's state (the clock's queue is reset by the sandbox)."""
    with _LOCK:
        for state in _STATES.values():
            if state.entry is not None:
                clock.cancel(state.entry)
        _STATES.clear()
