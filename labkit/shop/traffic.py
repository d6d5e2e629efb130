"""Traffic for the shop: one request traced end to end, and a bounded load.

:func:`trace` sends one request and asks each plane it crossed what it did,
the way an operator pieces a request together from DNS, the load balancer's
access log, the application's own log and the database's:

==================  ======================================================================
hop                 where the fact comes from
==================  ======================================================================
DNS                 Route 53's answer for the host (``lab.route53.query``), or the
                    sandbox's own answer for an AWS name (``*.elb.amazonaws.com``)
load balancer       ``lab.elb.routed``: the rule matched, the target group and the target
                    chosen, for a request sent with an ``X-Amzn-Trace-Id`` header
backend             the app's ``X-Shop-Instance`` header (and ``"instance"`` in its JSON)
cache               ``X-Shop-Cache`` (``hit``, ``miss`` or ``none``)
database            ``X-Shop-Db`` and ``X-Shop-Query`` when the app read the database
calls made          every data call the request caused (DynamoDB, SNS, SQS,
                    EventBridge, Step Functions, Lambda), seen by labkit's call hooks
==================  ======================================================================

:func:`load` puts a bounded load on a URL of the sandbox: threads on
loopback, a hard cap on the rate, the duration and the number of requests,
and the sandbox clock moved forward tick by tick (so a minute of load is a
minute of CloudWatch data and one alarm evaluation, whatever the machine's
speed). It returns the answers by status and the latency percentiles.

Both refuse any URL whose host is not the sandbox's: nothing leaves the machine.
"""

from __future__ import annotations

import html
import ipaddress
import itertools
import os
import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests

from labkit.core import aws, hooks, names, platform, registry
from labkit.core.clock import clock

#: Where a path alone is sent (``trace("/products/1")``).
SHOP_URL = "http://shop.example.com"

#: The hard limits of :func:`load` (a load generator in a notebook must not run away).
MAX_RATE = 200.0  # requests per sandbox second
MAX_SECONDS = 3600.0  # sandbox seconds of load
MAX_REQUESTS = 20_000  # requests in one call
MAX_WORKERS = 16  # threads sending at once
MAX_REAL_SECONDS = 120.0  # real seconds one call may take, at most

#: The calls :func:`trace` reports as "calls made" (the data plane, not describes or lists).
DATA_CALLS = {
    "dynamodb": ("PutItem", "UpdateItem", "DeleteItem", "GetItem", "Query", "TransactWriteItems", "BatchWriteItem"),
    "sns": ("Publish", "PublishBatch"),
    "sqs": ("SendMessage", "SendMessageBatch"),
    "events": ("PutEvents",),
    "stepfunctions": ("StartExecution", "StartSyncExecution"),
    "lambda": ("Invoke",),
}


# --------------------------------------------------------------------------
# URLs: the sandbox's only
# --------------------------------------------------------------------------


def _full_url(url_or_path: str) -> str:
    if url_or_path.startswith("/"):
        return SHOP_URL + url_or_path
    return url_or_path


def sandbox_host(url: str) -> str:
    """The URL's host, if the sandbox answers for it (a name a service claims,
    or a loopback address); otherwise :class:`ValueError`. Nothing else may be
    loaded or traced: traffic never leaves the machine."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{url!r} is not an http(s) URL")
    host = parts.hostname
    try:
        if ipaddress.ip_address(host).is_loopback:
            return host
    except ValueError:
        pass
    if host == "localhost":
        return host
    registry.ensure("route53")  # the hosted zones' names are the sandbox's once Route 53 is installed
    registry.ensure("elb")
    if names.resolve(host) is None:
        raise ValueError(f"{host!r} is not a name of the sandbox (no hosted zone, load balancer or API has it): "
                         "trace and load only send traffic on this machine")
    return host


# --------------------------------------------------------------------------
# trace
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Hop:
    """One hop of a traced request: the plane, the resource, and what it added."""

    plane: str  # "DNS", "load balancer", "backend", "cache", "database", "calls made"
    resource: str  # the name of what answered: a hosted zone, a rule, an instance, a table
    added: str  # what this hop added, in words
    detail: dict[str, Any] = field(default_factory=dict)  # the facts, as the plane gave them


@dataclass
class Trace:
    """One request, end to end: its answer and the hops it crossed, in order."""

    method: str
    url: str
    status: int
    trace_id: str
    hops: list[Hop]
    headers: dict[str, str]
    body: Any  # the JSON answer, or the text
    milliseconds: float

    def hop(self, plane: str) -> Hop | None:
        """The first hop of ``plane`` (``"DNS"``, ``"load balancer"``, ``"backend"``,
        ``"cache"``, ``"database"``, ``"calls made"``), or None."""
        return next((h for h in self.hops if h.plane == plane), None)

    @property
    def planes(self) -> list[str]:
        return [h.plane for h in self.hops]

    def rows(self) -> list[tuple[str, str, str, str]]:
        """The table: (number, plane, resource, what it added)."""
        return [(str(n), h.plane, h.resource, h.added) for n, h in enumerate(self.hops, start=1)]

    def __str__(self) -> str:
        header = ("#", "hop", "resource", "what it added")
        rows = [header, *self.rows()]
        widths = [max(len(r[i]) for r in rows) for i in range(3)]
        lines = [f"{self.method} {self.url} -> {self.status} in {self.milliseconds:.1f} ms (trace {self.trace_id})"]
        for row in rows:
            lines.append("  ".join(cell.ljust(widths[i]) if i < 3 else cell for i, cell in enumerate(row)))
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        cells = "".join(
            "<tr>" + "".join(f"<td style='text-align:left'>{html.escape(c)}</td>" for c in row) + "</tr>"
            for row in self.rows())
        return (f"<p><code>{html.escape(self.method)} {html.escape(self.url)}</code> &rarr; <b>{self.status}</b> "
                f"in {self.milliseconds:.1f} ms (trace <code>{html.escape(self.trace_id)}</code>)</p>"
                "<table><thead><tr><th>#</th><th>hop</th><th>resource</th><th style='text-align:left'>"
                f"what it added</th></tr></thead><tbody>{cells}</tbody></table>")


def _new_trace_root() -> str:
    return f"1-{int(clock.now()):08x}-{os.urandom(12).hex()}"


def _dns_hop(host: str) -> Hop:
    route53 = registry.ensure("route53")
    answer = route53.query(host, "A")
    if answer.rcode == "NOERROR" and answer.addresses:
        shown = ", ".join(answer.addresses)
        chain = [f"{r.type} {r.value}" for r in answer.records if r.type == "CNAME"]
        return Hop("DNS", f"hosted zone {answer.zone.rstrip('.') if answer.zone else '?'}",
                   f"A {shown} (TTL {answer.ttl} s){'; via ' + ', '.join(chain) if chain else ''}",
                   {"zone": answer.zone, "addresses": answer.addresses, "ttl": answer.ttl, "rcode": answer.rcode,
                    "records": [(r.name, r.type, r.ttl, r.value) for r in answer.records]})
    if answer.rcode == "NOERROR":
        return Hop("DNS", f"hosted zone {(answer.zone or '?').rstrip('.')}", "no A record (NODATA)", {"rcode": answer.rcode})
    if answer.rcode == "NXDOMAIN":
        return Hop("DNS", f"hosted zone {(answer.zone or '?').rstrip('.')}", "NXDOMAIN: no such name", {"rcode": answer.rcode})
    addresses = names.resolve(host) or []
    return Hop("DNS", "AWS's own DNS (not a hosted zone)", f"A {', '.join(addresses) or 'none'}",
               {"addresses": addresses, "rcode": "NOERROR" if addresses else "NXDOMAIN"})


def _route_hop(root: str) -> Hop | None:
    elb = registry.ensure("elb")
    route = elb.routed(root)
    if route is None:
        return None
    rule = route.get("rule")
    conditions = []
    for condition in route.get("conditions") or []:
        values = next((v.get("Values") for k, v in condition.items() if k.endswith("Config") and isinstance(v, dict)),
                      None) or condition.get("Values") or []
        conditions.append(f"{condition.get('Field')} {' or '.join(map(str, values))}")
    said = "default rule" if rule == "default" else f"rule {rule}" if rule is not None else "no rule"
    if conditions:
        said += f" ({'; '.join(conditions)})"
    if route.get("target"):
        target = route["target"] + (f":{route['target_port']}" if route.get("target_port") else "")
        said += f" -> {route.get('action')} to {route.get('target_group')}, target {target}"
    elif route.get("target_group"):
        said += f" -> {route.get('action')} to {route.get('target_group')}: no healthy target"
    elif route.get("action"):
        said += f" -> {route.get('action')}"
    return Hop("load balancer", f"{route['load_balancer']} :{route['port']}", said + f"; answered {route['status']}",
               route)


class _CallWatcher:
    """Records the data calls made anywhere in the process while it is active."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict[str, Any], int]] = []
        self._lock = threading.Lock()

    def __call__(self, call: Any, parsed: dict[str, Any], status: int) -> None:
        if call.operation in DATA_CALLS.get(call.service, ()):
            with self._lock:
                self.calls.append((call.service, call.operation, dict(call.params), status))

    def __enter__(self) -> _CallWatcher:
        for service, operations in DATA_CALLS.items():
            for operation in operations:
                hooks.subscribe("after", service, operation, self)
        return self

    def __exit__(self, *exc: object) -> None:
        hooks.unsubscribe(self)


def _target_of(service: str, params: Mapping[str, Any]) -> str:
    for key in ("TableName", "TopicArn", "QueueUrl", "stateMachineArn", "FunctionName"):
        if params.get(key):
            return str(params[key]).rsplit(":", 1)[-1].rsplit("/", 1)[-1]
    entries = params.get("Entries") or []
    if service == "events" and entries:
        return ", ".join(sorted({f"{e.get('EventBusName', 'default')}: {e.get('DetailType')}" for e in entries}))
    return service


def _template_matches(template: str, path: str) -> bool:
    wanted, given = template.strip("/").split("/"), path.strip("/").split("/")
    for n, part in enumerate(wanted):
        if part.startswith("{") and part.endswith("+}"):
            return len(given) > n
        if n >= len(given) or (part != given[n] and not (part.startswith("{") and part.endswith("}"))):
            return False
    return len(wanted) == len(given)


def _api_hops(host: str, path: str, method: str, status: int) -> list[Hop]:
    """The API Gateway stage, resource and integration a request to an invoke URL went through."""
    apigateway = registry.ensure("apigateway")
    parsed = apigateway.parse_host(host)
    if parsed is None:
        return []
    api_id, region = parsed
    stage, _, rest = path.lstrip("/").partition("/")
    client = aws.internal_client("apigateway", region)
    try:
        resources = [item for page in client.get_paginator("get_resources").paginate(restApiId=api_id)
                     for item in page["items"]]
    except Exception:  # noqa: BLE001  (no such API: API Gateway answered 403 itself)
        resources = []
    exact = [r for r in resources if r["path"] == "/" + rest]
    matched = exact or [r for r in resources if _template_matches(r["path"], "/" + rest)]
    resource = matched[0] if matched else None
    methods = (resource or {}).get("resourceMethods") or {}
    verb = method if method in methods else "ANY" if "ANY" in methods else None
    if resource is None or verb is None:
        return [Hop("API Gateway", f"stage {stage}", f"no method for {method} /{rest}; answered {status}",
                    {"api_id": api_id, "stage": stage})]
    integration = {}
    try:
        integration = client.get_integration(restApiId=api_id, resourceId=resource["id"], httpMethod=verb)
    except Exception:  # noqa: BLE001  (a method without an integration)
        pass
    kind, uri = integration.get("type", "?"), integration.get("uri", "")
    hops = [Hop("API Gateway", f"stage {stage}, {verb} {resource['path']}", f"{kind} integration; answered {status}",
                {"api_id": api_id, "stage": stage, "resource": resource["path"], "method": verb, "type": kind,
                 "uri": uri})]
    if ":lambda:path/" in uri:
        function = uri.split("/functions/", 1)[-1].split("/invocations", 1)[0].rsplit(":function:", 1)[-1]
        hops.append(Hop("backend", function.split(":", 1)[0], "Lambda function ran", {"function": function}))
    return hops


def _call_hops(calls: Iterable[tuple[str, str, dict[str, Any], int]]) -> list[Hop]:
    hops = []
    for service, operation, params, status in calls:
        outcome = "ok" if status < 300 else f"failed ({status})"
        hops.append(Hop("calls made", _target_of(service, params), f"{service} {operation}: {outcome}",
                        {"service": service, "operation": operation, "status": status}))
    return hops


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value
    return None


def _db_connections() -> dict[str, int]:
    """Connections each DB instance has accepted so far (empty before the RDS plane is in use)."""
    if "rds" not in registry.installed():
        return {}
    rds = registry.ensure("rds")
    accepted = getattr(rds, "connections_accepted", None)
    if accepted is None:
        return {}
    found = {}
    for page in aws.internal_client("rds").get_paginator("describe_db_instances").paginate():
        for instance in page["DBInstances"]:
            found[instance["DBInstanceIdentifier"]] = accepted(instance["DBInstanceIdentifier"])
    return found


def _parameter(name: str) -> str | None:
    """One of the shop's SSM parameters (``/shop/<name>``), or None."""
    try:
        return aws.internal_client("ssm").get_parameter(Name=f"/shop/{name}")["Parameter"]["Value"]
    except Exception:  # noqa: BLE001  (no such parameter: that chapter is not built)
        return None


def _app_hops(headers: Mapping[str, str], body: Any, databases: list[str] | None = None) -> list[Hop]:
    said = body if isinstance(body, dict) else {}
    hops = []
    instance = _header(headers, "X-Shop-Instance") or said.get("instance")
    task = _header(headers, "X-Shop-Task") or said.get("task")
    if instance:
        hops.append(Hop("backend", str(instance), "EC2 instance ran the storefront", {"instance": instance}))
    elif task:
        hops.append(Hop("backend", str(task), "ECS task ran the cart", {"task": task}))
    cache = _header(headers, "X-Shop-Cache") or said.get("cache")
    if cache:
        endpoint = _header(headers, "X-Shop-Cache-Node") or _parameter("cache/endpoint")
        node = "shop-cache" + (f" ({endpoint})" if endpoint else "")
        words = {"hit": "hit: answered from the cache, no database read",
                 "miss": "miss: the app read the database, then filled the cache",
                 "none": "no cache yet: nothing to ask"}.get(str(cache), str(cache))
        hops.append(Hop("cache", node, words, {"cache": cache}))
    database = _header(headers, "X-Shop-Db") or said.get("db") or (", ".join(databases) if databases else None)
    query = _header(headers, "X-Shop-Query")
    read_database = said.get("source") == "database" and str(cache) != "hit"
    if database or query or read_database:
        endpoint = _parameter("db/reader") or _parameter("db/endpoint")
        via = f" through {endpoint.split(':', 1)[0]}" if endpoint else ""
        words = (query or "read the product") + via
        hops.append(Hop("database", str(database or "the shop's database"), words,
                        {"db": database, "query": query, "endpoint": endpoint}))
    elif said.get("source") == "memory":
        hops.append(Hop("database", "none yet", "served from the app's in-memory catalogue", {"source": "memory"}))
    return hops


def trace(url_or_path: str, *, method: str = "GET", json: Any = None, headers: Mapping[str, str] | None = None,
          timeout: float = 10.0) -> Trace:
    """Send one request to the shop (or any URL of the sandbox) and trace it end to end.

    Args:
        url_or_path: a URL such as ``"http://shop.example.com/products/1"``, or a
            path (``"/products/1"``), sent to ``http://shop.example.com``.
        method: the HTTP method.
        json: a body to send as JSON (an order for ``POST /orders``).
        headers: more headers. An ``X-Amzn-Trace-Id`` is added (as a client or an
            upstream load balancer would) so that the load balancer's decision
            can be found again.
        timeout: seconds to wait for the answer.

    Returns:
        A :class:`Trace`: status, answer, and the hops (DNS, load balancer,
        backend, cache, database, calls made) each plane reported. In a
        notebook it shows as a table; ``print(trace)`` gives the same as text.

    Raises:
        ValueError: the URL's host is not the sandbox's.
    """
    url = _full_url(url_or_path)
    host = sandbox_host(url)
    root = _new_trace_root()
    sent = {"X-Amzn-Trace-Id": f"Root={root}", **dict(headers or {})}
    hops = [_dns_hop(host)] if not _is_address(host) else []
    connections = _db_connections()
    with _CallWatcher() as watcher:
        started = time.perf_counter()
        try:
            answer = requests.request(method, url, json=json, headers=sent, timeout=timeout)
        except requests.RequestException as error:
            elapsed = (time.perf_counter() - started) * 1000
            reason = str(error.__cause__ or error).splitlines()[0][:200]
            hops.append(Hop("connection", host, f"no answer: {reason}", {"error": type(error).__name__}))
            return Trace(method, url, 0, f"Root={root}", hops, {}, None, elapsed)
        elapsed = (time.perf_counter() - started) * 1000
    try:
        body: Any = answer.json()
    except ValueError:
        body = answer.text
    hops += _api_hops(host, urlsplit(url).path, method, answer.status_code)
    route = _route_hop(root)
    if route is not None:
        hops.append(route)
    after = _db_connections()
    databases = sorted(i for i, n in after.items() if n > connections.get(i, 0))
    hops += _app_hops(answer.headers, body, databases)
    hops += _call_hops(watcher.calls)
    return Trace(method, url, answer.status_code, f"Root={root}", hops, dict(answer.headers), body, elapsed)


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


# --------------------------------------------------------------------------
# load
# --------------------------------------------------------------------------


@dataclass
class Tick:
    """What one tick of a load saw: its sandbox time and the answers by status."""

    at: float  # sandbox seconds since the epoch, at the start of the tick
    by_status: Counter[str]


@dataclass
class LoadResult:
    """What a load saw: answers by status, latency percentiles, and a timeline."""

    url: str
    rate: float
    seconds: float  # sandbox seconds the load lasted
    by_status: Counter[str]  # "200", "503"... and "error" for a request that got no answer
    latencies_ms: list[float]  # real time of each answered request
    timeline: list[Tick]
    real_seconds: float
    stopped_early: str | None = None  # why the load stopped before its end (its real-time budget)

    @property
    def sent(self) -> int:
        return sum(self.by_status.values())

    @property
    def errors(self) -> int:
        """Requests answered 5xx, or not answered at all."""
        return sum(n for status, n in self.by_status.items() if status == "error" or status.startswith("5"))

    @property
    def error_rate(self) -> float:
        """The share of requests that failed (5xx or no answer), from 0 to 1."""
        return self.errors / self.sent if self.sent else 0.0

    def percentile(self, p: float) -> float | None:
        """The ``p``-th percentile of the latency in milliseconds (``p`` from 0 to 100)."""
        if not self.latencies_ms:
            return None
        ordered = sorted(self.latencies_ms)
        index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))
        return ordered[index]

    @property
    def p50_ms(self) -> float | None:
        return self.percentile(50)

    @property
    def p90_ms(self) -> float | None:
        return self.percentile(90)

    @property
    def p99_ms(self) -> float | None:
        return self.percentile(99)

    def per_minute(self) -> list[tuple[float, Counter[str]]]:
        """The timeline summed per sandbox minute: (minute start, answers by status)."""
        minutes: dict[float, Counter[str]] = {}
        for tick in self.timeline:
            minutes.setdefault(tick.at - tick.at % 60, Counter()).update(tick.by_status)
        return sorted(minutes.items())

    def summary(self) -> dict[str, Any]:
        """The figures a reader wants, as a dict."""
        def ms(value: float | None) -> float | None:
            return None if value is None else round(value, 1)

        return {"requests": self.sent, "by status": dict(sorted(self.by_status.items())),
                "error rate": round(self.error_rate, 4), "p50 ms": ms(self.p50_ms), "p90 ms": ms(self.p90_ms),
                "p99 ms": ms(self.p99_ms), "sandbox seconds": self.seconds, "real seconds": round(self.real_seconds, 1),
                **({"stopped early": self.stopped_early} if self.stopped_early else {})}

    def __str__(self) -> str:
        return ", ".join(f"{k}: {v}" for k, v in self.summary().items())

    def _repr_html_(self) -> str:
        rows = "".join(f"<tr><td style='text-align:left'>{html.escape(str(k))}</td>"
                       f"<td style='text-align:left'>{html.escape(str(v))}</td></tr>" for k, v in self.summary().items())
        return f"<p>Load on <code>{html.escape(self.url)}</code></p><table><tbody>{rows}</tbody></table>"


def _check_limits(rate: float, seconds: float, tick: float, workers: int) -> None:
    if not 0 < rate <= MAX_RATE:
        raise ValueError(f"rate must be above 0 and at most {MAX_RATE:g} requests per second, not {rate!r}")
    if not 0 < seconds <= MAX_SECONDS:
        raise ValueError(f"seconds must be above 0 and at most {MAX_SECONDS:g}, not {seconds!r}")
    if not 0 < tick <= 60:
        raise ValueError(f"tick must be above 0 and at most 60 seconds, not {tick!r}")
    if rate * seconds > MAX_REQUESTS:
        raise ValueError(f"{rate:g} requests a second for {seconds:g} s is {rate * seconds:.0f} requests; "
                         f"one load sends at most {MAX_REQUESTS}")
    if not 1 <= workers <= MAX_WORKERS:
        raise ValueError(f"workers must be from 1 to {MAX_WORKERS}, not {workers!r}")


def load(url: str, *, rate: float, seconds: float, tick: float = 1.0, paths: Iterable[str] | None = None,
         method: str = "GET", json: Any = None, workers: int = 4, timeout: float = 5.0,
         at: Mapping[float, Callable[[], object]] | None = None, real_time: bool = False,
         max_real_seconds: float = 60.0) -> LoadResult:
    """Put a bounded load on a URL of the sandbox and count what comes back.

    By default the load is driven by the sandbox clock: each ``tick`` (sandbox
    seconds) sends ``rate * tick`` requests as fast as ``workers`` threads can,
    then moves the clock ``tick`` seconds ahead, so health checks, CloudWatch
    minutes, alarms and scaling see ``rate`` requests a second however fast this
    machine is. With ``real_time=True`` the requests are paced on the real clock
    instead (and the sandbox clock runs with it).

    Args:
        url: a URL of the sandbox, or a path sent to ``http://shop.example.com``.
        rate: requests per second (at most :data:`MAX_RATE`).
        seconds: how long (at most :data:`MAX_SECONDS`; and ``rate * seconds`` at
            most :data:`MAX_REQUESTS`).
        tick: sandbox seconds per batch (1 to 60; 10 is plenty for alarms that
            evaluate each minute).
        paths: paths to cycle through instead of the URL's own (e.g. several
            products, so the cache sees hits and misses); each joined to the URL's origin.
        method, json: the request (a body is sent as JSON).
        workers: threads sending at once (at most :data:`MAX_WORKERS`).
        timeout: seconds a request may take before it counts as an ``"error"``.
        at: actions to run when the load has lasted that many sandbox seconds,
            e.g. ``{60: lambda: ec2.terminate_instances(...)}``: a failure in
            the middle of the load.
        real_time: pace on the real clock (see above).
        max_real_seconds: stop (and say so in ``stopped_early``) after this many
            real seconds, at most :data:`MAX_REAL_SECONDS`.

    Returns:
        A :class:`LoadResult`: ``by_status``, ``error_rate``, ``p50_ms``,
        ``p90_ms``, ``p99_ms``, ``timeline`` and ``per_minute()``.
    """
    _check_limits(rate, seconds, tick, workers)
    budget = min(float(max_real_seconds), MAX_REAL_SECONDS)
    base = _full_url(url)
    sandbox_host(base)
    parts = urlsplit(base)
    origin = f"{parts.scheme}://{parts.netloc}"
    targets = [origin + (p if p.startswith("/") else "/" + p) for p in paths] if paths else [base]
    for target in targets:
        sandbox_host(target)
    next_url = itertools.cycle(targets).__next__
    pending = sorted((at or {}).items())
    local = threading.local()

    def send(target: str) -> tuple[str, float | None]:
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
        started = time.perf_counter()
        try:
            answer = session.request(method, target, json=json, timeout=timeout)
        except requests.RequestException:
            return "error", None
        answer.close()
        return str(answer.status_code), (time.perf_counter() - started) * 1000

    by_status: Counter[str] = Counter()
    latencies: list[float] = []
    timeline: list[Tick] = []
    stopped = None
    real_start = time.monotonic()
    owed = 0.0
    elapsed = 0.0
    # (in the browser edition the pool runs each request in turn: a tab has no threads)
    with platform.thread_pool(workers, "shop-load") as pool:
        freeze = clock.frozen() if not real_time else _nothing()
        with freeze:
            while elapsed < seconds - 1e-9:
                step = min(tick, seconds - elapsed)
                while pending and pending[0][0] <= elapsed + 1e-9:
                    pending.pop(0)[1]()
                owed += rate * step
                count = int(owed + 1e-9)
                owed -= count
                tick_start = clock.now()
                seen: Counter[str] = Counter()
                batch = [next_url() for _ in range(count)]
                if real_time:
                    results = _paced(pool, send, batch, step)
                else:
                    results = list(pool.map(send, batch))
                for status, ms in results:
                    seen[status] += 1
                    if ms is not None:
                        latencies.append(ms)
                by_status.update(seen)
                timeline.append(Tick(tick_start, seen))
                if not real_time:
                    clock.advance(step)
                elapsed += step
                if time.monotonic() - real_start > budget and elapsed < seconds - 1e-9:
                    stopped = f"the real-time budget of {budget:g} s ran out after {elapsed:g} sandbox seconds"
                    break
    return LoadResult(base, rate, elapsed, by_status, latencies, timeline, time.monotonic() - real_start, stopped)


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def _paced(pool: Executor, send: Callable[[str], tuple[str, float | None]], batch: list[str],
           step: float) -> list[tuple[str, float | None]]:
    """Send the batch spread evenly over ``step`` real seconds."""
    futures = []
    start = time.monotonic()
    gap = step / len(batch) if batch else step
    for n, target in enumerate(batch):
        delay = start + n * gap - time.monotonic()
        if delay > 0:
            time.sleep(delay)  # pacing a load generator, not waiting for a plane
        futures.append(pool.submit(send, target))
    results = [f.result() for f in futures]
    rest = start + step - time.monotonic()
    if rest > 0:
        time.sleep(rest)
    return results


def median_ms(values: Iterable[float]) -> float | None:
    """The median of a list of milliseconds, or None."""
    values = list(values)
    return statistics.median(values) if values else None
