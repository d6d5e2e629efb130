"""An Application Load Balancer listener, as a function: a request in, an answer out.

:func:`handle` is the whole layer-7 data plane of one listener. The HTTP(S)
front (:mod:`.fronts`) only parses bytes and calls it, so tests call it
in-process. For each request it

1. picks the rule (:mod:`.rules`): priorities from lowest to highest, the default rule last;
2. performs the rule's action:

   ``fixed-response``  the configured status, content type and body;
   ``redirect``        301 or 302 to the URL built from ``#{protocol}``, ``#{host}``,
                       ``#{port}``, ``#{path}``, ``#{query}`` and the parts set;
   ``forward``         one target group (by weight when there are several, or the
                       one named by the ``AWSALBTG`` cookie when the rule has
                       group stickiness), then one routable target of it (round
                       robin, least outstanding requests, or the one named by
                       the ``AWSALB`` cookie when the group has ``lb_cookie``
                       stickiness), which gets the request with
                       ``X-Forwarded-For``, ``-Proto``, ``-Port`` and ``X-Amzn-Trace-Id``;

3. answers itself when forwarding cannot work: **503** when the group has no
   routable target, **502** and **504** from :mod:`.targets`;
4. adds the request's data points to the ``AWS/ApplicationELB`` metrics;
5. remembers the routing decision of a request that arrived with an
   ``X-Amzn-Trace-Id`` header (rule, target group, target, status), for
   :func:`routed`: what a request tracer reads, as AWS's access logs would show it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import os
import random
import threading
import time
from collections import OrderedDict, defaultdict
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from http import HTTPStatus
from typing import Any

from labkit.core.clock import clock
from labkit.core.httpfront import HttpRequest, HttpResponse
from labkit.services.elb import health, metrics, rules, state, targets

#: The ``Server`` header of answers the load balancer makes itself.
SERVER = "awselb/2.0"

_SECRET = os.urandom(16)  # signs stickiness cookies (AWS encrypts them)
_COUNTERS: dict[str, itertools.count[int]] = defaultdict(itertools.count)
_IN_FLIGHT: dict[tuple[str, str], int] = defaultdict(int)
_LOCK = threading.Lock()
#: Routing decisions of traced requests, by the Root of their X-Amzn-Trace-Id (the latest few only).
_ROUTES: OrderedDict[str, dict[str, Any]] = OrderedDict()
ROUTES_KEPT = 256


def elb_error(status: int) -> HttpResponse:
    """An error page made by the load balancer (not by a target)."""
    phrase = HTTPStatus(status).phrase
    body = (f"<html>\r\n<head><title>{status} {phrase}</title></head>\r\n<body>\r\n"
            f"<center><h1>{status} {phrase}</h1></center>\r\n</body>\r\n</html>\r\n")
    return HttpResponse(status, [("Server", SERVER), ("Content-Type", "text/html")], body.encode())


def find_listener(lb: Any, port: int) -> Any | None:
    for listener in list(lb.listeners.values()):
        if int(listener.port) == int(port):
            return listener
    return None


def trace_root(request: HttpRequest) -> str | None:
    """The ``Root=`` field of the request's ``X-Amzn-Trace-Id`` header, if it has one."""
    value = request.header("x-amzn-trace-id")
    if not value:
        return None
    for part in value.split(";"):
        key, _, field = part.strip().partition("=")
        if key == "Root" and field:
            return field
    return None


def routed(root: str) -> dict[str, Any] | None:
    """How the load balancer routed the request whose ``X-Amzn-Trace-Id`` has
    this ``Root``: ``load_balancer``, ``port``, ``rule`` (``"default"`` or its
    priority), ``rule_arn``, ``conditions``, ``action``, ``target_group``,
    ``target``, ``target_port``, ``status``; None if no such request came by.
    Only the latest :data:`ROUTES_KEPT` traced requests are remembered."""
    with _LOCK:
        found = _ROUTES.get(root)
        return dict(found) if found is not None else None


def _remember(root: str | None, route: dict[str, Any], status: int) -> None:
    if root is None:
        return
    route["status"] = status
    with _LOCK:
        _ROUTES[root] = route
        _ROUTES.move_to_end(root)
        while len(_ROUTES) > ROUTES_KEPT:
            _ROUTES.popitem(last=False)


def handle(lb_arn: str, port: int, request: HttpRequest) -> HttpResponse:
    """Answer one request arriving on the listener ``port`` of load balancer ``lb_arn``."""
    lb = state.balancer(lb_arn)
    listener = find_listener(lb, port) if lb is not None else None
    if listener is None:
        return elb_error(503)
    root = trace_root(request)
    route: dict[str, Any] = {"load_balancer": lb.name, "port": int(port), "rule": None, "rule_arn": None,
                             "conditions": [], "action": None, "target_group": None, "target": None,
                             "target_port": None}
    if request.method == "TRACE":
        metrics.request_done(lb_arn, None, 405, by_target=False)
        _remember(root, route, 405)
        return elb_error(405)  # AWS: Application Load Balancers do not support TRACE
    rule = rules.choose_rule(listener.rules.values(), request)
    action = rules.final_action(rule.actions) if rule is not None else None
    kind = (action or {}).get("Type")
    if rule is not None:
        route.update(rule="default" if rule.is_default else int(rule.priority), rule_arn=rule.arn,
                     conditions=list(rule.conditions or []), action=kind)
    if kind == "fixed-response":
        response = fixed_response(action or {})
        metrics.request_done(lb_arn, None, response.status, by_target=False)
    elif kind == "redirect":
        response = redirect(action or {}, request, port)
        metrics.request_done(lb_arn, None, response.status, by_target=False)
    elif kind == "forward":
        response = forward(lb, port, action or {}, request, route)
    else:
        metrics.request_done(lb_arn, None, 500, by_target=False)
        response = elb_error(500)  # authenticate actions alone are not emulated
    _remember(root, route, response.status)
    return response


# --------------------------------------------------------------------------
# fixed-response and redirect
# --------------------------------------------------------------------------


def fixed_response(action: dict[str, Any]) -> HttpResponse:
    config = action.get("FixedResponseConfig") or {}
    headers = [("Server", SERVER)]
    if config.get("ContentType"):
        headers.append(("Content-Type", config["ContentType"]))
    return HttpResponse(int(config.get("StatusCode", 200)), headers, str(config.get("MessageBody") or "").encode())


def redirect(action: dict[str, Any], request: HttpRequest, port: int) -> HttpResponse:
    config = action.get("RedirectConfig") or {}
    original = {"#{protocol}": request.scheme, "#{host}": request.host or "",
                "#{port}": str(port), "#{path}": request.path.lstrip("/"), "#{query}": request.query}

    def fill(template: str) -> str:
        for key, value in original.items():
            template = template.replace(key, value)
        return template

    protocol = fill(str(config.get("Protocol") or "#{protocol}")).lower()
    host = fill(str(config.get("Host") or "#{host}"))
    target_port = fill(str(config.get("Port") or "#{port}"))
    path = fill(str(config.get("Path") or "/#{path}"))
    query = fill(str(config.get("Query") or "#{query}"))
    default_port = {"http": "80", "https": "443"}.get(protocol)
    location = f"{protocol}://{host}{'' if target_port == default_port else ':' + target_port}{path}"
    if query:
        location += "?" + query
    status = 301 if config.get("StatusCode") == "HTTP_301" else 302
    return HttpResponse(status, [("Server", SERVER), ("Location", location), ("Content-Type", "text/html")],
                        f"<html><body>{status} {HTTPStatus(status).phrase}</body></html>".encode())


# --------------------------------------------------------------------------
# Stickiness cookies
# --------------------------------------------------------------------------


def _sign(text: str) -> str:
    mac = hmac.new(_SECRET, text.encode(), hashlib.sha256).hexdigest()[:16]
    return base64.urlsafe_b64encode(f"{text}|{mac}".encode()).decode().rstrip("=")


def _unsign(token: str) -> str | None:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except ValueError:
        return None
    text, _, mac = raw.rpartition("|")
    if not hmac.compare_digest(mac, hmac.new(_SECRET, text.encode(), hashlib.sha256).hexdigest()[:16]):
        return None
    value, _, expires = text.rpartition("|")
    try:
        if float(expires) < clock.now():
            return None
    except ValueError:
        return None
    return value


def _cookie(request: HttpRequest, name: str) -> str | None:
    for header in request.header_values("cookie"):
        for part in header.split(";"):
            key, _, value = part.strip().partition("=")
            if key == name:
                return value
    return None


def _set_cookies(name: str, value: str, seconds: float) -> list[tuple[str, str]]:
    token = _sign(f"{value}|{clock.now() + seconds}")
    expires = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=seconds), usegmt=True)
    return [("Set-Cookie", f"{name}={token}; Expires={expires}; Path=/"),
            ("Set-Cookie", f"{name}CORS={token}; Expires={expires}; Path=/; SameSite=None; Secure")]


# --------------------------------------------------------------------------
# forward
# --------------------------------------------------------------------------


def choose_group(action: dict[str, Any], request: HttpRequest) -> tuple[str | None, list[tuple[str, str]]]:
    """The target group a forward action sends this request to, and cookies to set."""
    groups = state.forwarded_groups(action)
    if not groups:
        return None, []
    stickiness = (action.get("ForwardConfig") or {}).get("TargetGroupStickinessConfig") or {}
    sticky = bool(stickiness.get("Enabled")) and len(groups) > 1
    if sticky:
        token = _cookie(request, "AWSALBTG")
        chosen = _unsign(token) if token else None
        if chosen in [arn for arn, _ in groups]:
            return chosen, []
    weights = [max(0, weight) for _, weight in groups]
    if len(groups) == 1:
        chosen = groups[0][0]
    elif sum(weights) == 0:
        return None, []
    else:
        chosen = random.choices([arn for arn, _ in groups], weights=weights)[0]
    cookies = _set_cookies("AWSALBTG", chosen, float(stickiness.get("DurationSeconds") or 3600)) if sticky else []
    return chosen, cookies


def choose_target(tg: Any, request: HttpRequest) -> tuple[health.TargetHealth | None, list[tuple[str, str]]]:
    """A routable target of the group for this request, and cookies to set."""
    candidates = health.routable(tg.arn)
    if not candidates:
        return None, []
    sticky = (state.tg_attribute(tg, "stickiness.enabled").lower() == "true"
              and state.tg_attribute(tg, "stickiness.type") == "lb_cookie")
    if sticky:
        token = _cookie(request, "AWSALB")
        wanted = _unsign(token) if token else None
        for record in candidates:
            if f"{tg.arn}|{record.key}" == wanted:
                return record, []
    if state.tg_attribute(tg, "load_balancing.algorithm.type") == "least_outstanding_requests":
        with _LOCK:
            chosen = min(candidates, key=lambda r: _IN_FLIGHT[(tg.arn, r.key)])
    else:
        chosen = candidates[next(_COUNTERS[tg.arn]) % len(candidates)]
    cookies = []
    if sticky:
        seconds = float(state.tg_attribute(tg, "stickiness.lb_cookie.duration_seconds") or 86400)
        cookies = _set_cookies("AWSALB", f"{tg.arn}|{chosen.key}", seconds)
    return chosen, cookies


def forwarded_headers(lb: Any, request: HttpRequest, port: int) -> list[tuple[str, str]]:
    """The request's headers as the target sees them."""
    skip = targets.HOP_BY_HOP | {"content-length", "x-forwarded-proto", "x-forwarded-port"}
    mode = state.lb_attribute(lb, "routing.http.xff_header_processing.mode")
    headers = [(k, v) for k, v in request.headers if k.lower() not in skip and k.lower() != "x-forwarded-for"]
    given = ", ".join(request.header_values("x-forwarded-for"))
    client = request.client[0]
    if mode == "preserve":
        xff = given or None
    elif mode == "remove":
        xff = None
    else:
        xff = f"{given}, {client}" if given else client
    if xff:
        headers.append(("X-Forwarded-For", xff))
    headers.append(("X-Forwarded-Proto", request.scheme))
    headers.append(("X-Forwarded-Port", str(port)))
    if request.header("x-amzn-trace-id") is None:
        headers.append(("X-Amzn-Trace-Id", f"Root=1-{int(clock.now()):08x}-{os.urandom(12).hex()}"))
    return headers


def forward(lb: Any, port: int, action: dict[str, Any], request: HttpRequest,
            route: dict[str, Any] | None = None) -> HttpResponse:
    """Send the request to a target of the action's group; ``route`` (if given) gets the group and target chosen."""
    route = route if route is not None else {}
    group_arn, group_cookies = choose_group(action, request)
    tg = state.target_group(group_arn) if group_arn else None
    if tg is None:
        metrics.request_done(lb.arn, None, 503, by_target=False)
        return elb_error(503)
    route["target_group"] = tg.name
    record, target_cookies = choose_target(tg, request)
    if record is not None:
        route.update(target=record.target_id, target_port=record.port)
    if record is None:
        metrics.request_done(lb.arn, tg.arn, 503, by_target=False)
        return elb_error(503)
    headers = forwarded_headers(lb, request, port)
    started = time.perf_counter()
    key = (tg.arn, record.key)
    with _LOCK:
        _IN_FLIGHT[key] += 1
    try:
        response = _send(lb, tg, record, request, headers)
    except targets.TargetError as error:
        metrics.request_done(lb.arn, tg.arn, error.status, by_target=False)
        return elb_error(error.status)
    finally:
        with _LOCK:
            _IN_FLIGHT[key] -= 1
    seconds = time.perf_counter() - started
    metrics.request_done(lb.arn, tg.arn, response.status, by_target=True, seconds=seconds)
    if group_cookies or target_cookies:
        response = HttpResponse(response.status, [*response.headers, *target_cookies, *group_cookies],
                                        response.body)
    return response


def _send(lb: Any, tg: Any, record: health.TargetHealth, request: HttpRequest,
          headers: list[tuple[str, str]]) -> HttpResponse:
    if tg.target_type == "lambda":
        multi = state.tg_attribute(tg, "lambda.multi_value_headers.enabled").lower() == "true"
        event = targets.lambda_event(request, tg.arn, headers, multi_value=multi)
        return targets.invoke_lambda(record.target_id, event)
    where = health.connect_address(record.target_id, record.port, tg)
    if where is None:
        raise targets.TargetError(502, "nothing listens at the target's address and port")
    return targets.send_http(where, request.method, request.target, headers, request.body, state.idle_timeout(lb))


def reset() -> None:
    with _LOCK:
        _COUNTERS.clear()
        _IN_FLIGHT.clear()
        _ROUTES.clear()
    targets.close_connections()
