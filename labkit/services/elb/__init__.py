"""Elastic Load Balancing: Application and Network Load Balancers that carry traffic.

What AWS does
    A load balancer has a DNS name, listeners (a protocol and a port each) and,
    behind them, target groups of targets (instances, IP addresses, Lambda
    functions). An Application Load Balancer (layer 7) reads each HTTP request
    and routes it by its listener's rules (path, host, headers, query string,
    method, source address) to forward, redirect or answer it; it checks its
    targets' health and sends traffic only to healthy ones. A Network Load
    Balancer (layer 4) passes TCP connections through, bytes in and bytes out.

What moto does
    Stores load balancers, listeners, rules and target groups, and reports
    every registered target ``healthy`` at once; the DNS name answers nothing
    (``requests`` to it gets moto's 400), no health check ever runs. A Network
    Load Balancer's ARN says ``loadbalancer/app/``; one IP address registered
    on two ports counts as one target.

What this service adds (``lab.elb``)
    - a server per listener behind each load balancer's ``DNSName``
      (:mod:`.fronts`): ``requests.get("http://" + lb["DNSName"] + "/api")`` is
      routed by the listener's rules (:mod:`.rules`, :mod:`.alb`), with
      ``X-Forwarded-For``, ``-Proto`` and ``-Port``; ``HTTPS`` listeners
      present certificates from the sandbox's own authority, which the process
      trusts; an NLB listener is a TCP proxy (:mod:`.nlb`), with proxy protocol v2
      when the target group asks for it;
    - targets of the three kinds (:mod:`.targets`): ``ip`` (a server you start on
      127.0.0.1, or an address bound in the sandbox), ``instance`` (the app an
      instance serves, ``lab.ec2.serve``), ``lambda`` (the Lambda runtime, with
      the ALB event and response format);
    - health checks on the sandbox clock (:mod:`.health`), which
      ``describe_target_health`` reports with AWS's states and reason codes;
      draining for the deregistration delay; no traffic to unhealthy targets
      unless all are (AWS then fails open);
    - 502, 503 and 504 where AWS answers them, 400 for garbage on the port;
    - ``AWS/ApplicationELB`` metrics in CloudWatch (:mod:`.metrics`).

Helpers: :func:`url`, :func:`address`, :func:`handle` (one request,
in-process), :func:`routed` (how a traced request was routed), :func:`run_health_checks`, :func:`flush_metrics`,
:func:`proxy_v2_header`, :func:`parse_proxy_v2`.

Limits (each said in the chapter where a reader could notice)
    * One process, one machine: every client is 127.0.0.1, there are no
      Availability Zones (cross-zone load balancing has nothing to spread
      over), and a target's connections all come from the same place.
    * Authentication actions, ``app_cookie`` stickiness, slow start,
      HTTP/2 and gRPC, UDP listeners and ``AWS/NetworkELB`` metrics are not
      emulated. An HTTPS listener's certificate ARN is not read.
    * AWS refuses loopback addresses as ``ip`` targets; the sandbox accepts
      127.0.0.0/8, because that is where a notebook's servers are.
"""

from __future__ import annotations

from typing import Any

from labkit.core import hooks, names
from labkit.core.httpfront import HttpRequest, HttpResponse
from labkit.services.elb import alb, fronts, health, metrics, nlb, state
from labkit.services.elb.health import PROBE_WAIT, USER_AGENT
from labkit.services.elb.nlb import parse_proxy_v2, proxy_v2_header
from labkit.services.elb.seams import SEAMS

__all__ = [
    "PROBE_WAIT",
    "SEAMS",
    "USER_AGENT",
    "address",
    "flush_metrics",
    "handle",
    "install",
    "parse_proxy_v2",
    "proxy_v2_header",
    "reset",
    "routed",
    "run_health_checks",
    "url",
]

#: CloudWatch calls that read metrics: the pending data points are written first.
_CLOUDWATCH_READS = ("GetMetricStatistics", "GetMetricData", "ListMetrics")
_EC2_STATE_CHANGES = ("StopInstances", "StartInstances", "TerminateInstances", "RebootInstances")


def _balancer(name_or_arn: str, region: str | None = None) -> Any:
    if name_or_arn.startswith("arn:"):
        lb = state.balancer(name_or_arn)
    else:
        from labkit.core import aws

        backend = state.backend(region or aws.default_region())
        lb = next((b for b in list(backend.load_balancers.values()) if b.name == name_or_arn), None)
    if lb is None:
        raise ValueError(f"no load balancer {name_or_arn!r}: create_load_balancer first")
    return lb


def url(name_or_arn: str, path: str = "/", *, port: int | None = None, https: bool | None = None) -> str:
    """The URL of a path on a load balancer, from its ``DNSName``:
    ``http://shop-1.us-east-1.elb.amazonaws.com/api``. ``port`` defaults to
    the first listener's (left out of the URL when it is the scheme's default)."""
    lb = _balancer(name_or_arn)
    listeners = sorted(lb.listeners.values(), key=lambda item: int(item.port))
    if port is None and listeners:
        port = int(listeners[0].port)
    listener = next((item for item in listeners if int(item.port) == port), None)
    if https is None:
        https = listener is not None and (listener.protocol or "").upper() in ("HTTPS", "TLS")
    scheme = "https" if https else "http"
    shown = "" if port in (None, 443 if https else 80) else f":{port}"
    return f"{scheme}://{lb.dns_name}{shown}{path if path.startswith('/') else '/' + path}"


def address(name_or_arn: str) -> str:
    """The virtual IPv4 address the load balancer's name resolves to in the sandbox."""
    return fronts.address_of(_balancer(name_or_arn).arn)


def handle(lb_arn: str, port: int, request: HttpRequest) -> HttpResponse:
    """One request through an Application Load Balancer listener, in-process (no socket)."""
    return alb.handle(lb_arn, port, request)


def routed(trace_id: str) -> dict[str, Any] | None:
    """How an Application Load Balancer routed the request sent with this
    ``X-Amzn-Trace-Id`` (the whole header value or just its ``Root``): the
    load balancer, listener port, rule (``"default"`` or its priority) and its
    conditions, the action, the target group and the target chosen, and the
    status answered. None for a request that never came, or is too old (the
    latest 256 are kept). Only requests that carried the header are kept."""
    root = trace_id
    if "Root=" in trace_id:
        root = alb.trace_root(HttpRequest("GET", "/", headers=[("X-Amzn-Trace-Id", trace_id)])) or trace_id
    return alb.routed(root)


def run_health_checks() -> None:
    """Let the health checks that fell due run now (reading the clock does this too)."""
    health.look()


def flush_metrics() -> None:
    """Write pending ``AWS/ApplicationELB`` data points into CloudWatch (reading CloudWatch does this too)."""
    metrics.flush()


# --------------------------------------------------------------------------
# Hooks and lifecycle
# --------------------------------------------------------------------------


def after_call(call: Any, parsed: dict[str, Any], status: int) -> None:
    """After each ELBv2 call that changes something: draining for deregistered
    targets, health records and listener servers brought up to date."""
    if status >= 300 or call.operation.startswith("Describe"):
        return
    if call.operation == "CreateTargetGroup" and call.params.get("HealthCheckEnabled") is False:
        # moto reads the boolean False as "not given" and enables health checks; AWS does not.
        for created in parsed.get("TargetGroups", []):
            tg = state.target_group(created["TargetGroupArn"])
            if tg is not None:
                tg.health_check_enabled = False
                created["HealthCheckEnabled"] = False
    if call.operation == "DeregisterTargets":
        for target in call.params.get("Targets", []):
            port = target.get("Port")
            health.start_draining(call.params["TargetGroupArn"], target["Id"], int(port) if port else None)
    health.sync(force=True)  # new targets get their first health check now
    fronts.sync()


def after_instance_change(call: Any, parsed: dict[str, Any], status: int) -> None:
    """After an instance stops, starts or is terminated: its targets' health
    follows; a terminated instance is deregistered (and drains), as on AWS."""
    if status < 300 and call.operation == "TerminateInstances":
        ended = {entry.get("InstanceId") for entry in parsed.get("TerminatingInstances", [])}
        for tg in state.all_target_groups():
            for target in state.registered(tg):
                if target["Id"] in ended:
                    tg.deregister([target])
                    health.start_draining(tg.arn, target["Id"], target.get("Port"))
    health.sync(force=True)


def install() -> None:
    """Subscribe to ELBv2, EC2 and CloudWatch calls, claim load balancer names
    (the registry calls this once, at first use). Idempotent."""
    hooks.subscribe("after", "elbv2", "*", after_call)
    for operation in _EC2_STATE_CHANGES:
        hooks.subscribe("after", "ec2", operation, after_instance_change)
    for operation in _CLOUDWATCH_READS:
        hooks.subscribe("before", "cloudwatch", operation, _flush_before)
    names.claim("elb", fronts.resolve)


def _flush_before(call: Any) -> None:
    metrics.flush()


def reset() -> None:
    """Stop every listener server, forget health, stickiness and pending metrics (``lab.reset()``)."""
    fronts.reset()
    health.reset()
    alb.reset()
    nlb.reset()
    metrics.reset()
