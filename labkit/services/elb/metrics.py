"""``AWS/ApplicationELB`` metrics, as CloudWatch shows them.

Each request through a load balancer adds data points: ``RequestCount``,
``HTTPCode_Target_<n>XX_Count`` and ``TargetResponseTime`` (seconds) when a
target answered, ``HTTPCode_ELB_<n>XX_Count`` and ``HTTPCode_ELB_<code>_Count``
(502, 503, 504) when the load balancer answered itself. Health adds
``HealthyHostCount`` and ``UnHealthyHostCount`` per target group. The
dimensions are AWS's: ``LoadBalancer`` (``app/<name>/<id>``, the end of the
ARN), and ``LoadBalancer`` with ``TargetGroup`` (``targetgroup/<name>/<id>``).

Data points are kept in memory and written into moto's CloudWatch when
CloudWatch is read (a hook on its read calls, or :func:`flush`), and just
before each sandbox minute ends (so that CloudWatch's alarms, evaluated at the
minute, see them), so a request never pays for a CloudWatch write. Each point keeps the sandbox time of its
request. AWS aggregates into 60-second periods; here every request is one
point, which gives the same sums.
"""

from __future__ import annotations

import threading
from datetime import datetime, timezone
from typing import Any

from labkit.core.clock import EveryPeriod, clock
from labkit.services.elb import state

NAMESPACE = "AWS/ApplicationELB"

_LOCK = threading.Lock()
_PENDING: dict[str, list[dict[str, Any]]] = {}  # region -> MetricData entries
_EARLY = 0.5  # seconds before the minute ends: ahead of CloudWatch's alarm evaluation


def _dimensions(lb_arn: str, tg_arn: str | None) -> list[list[dict[str, str]]]:
    lb = [{"Name": "LoadBalancer", "Value": state.dimension_of(lb_arn)}]
    if tg_arn is None:
        return [lb]
    return [lb, [{"Name": "TargetGroup", "Value": state.dimension_of(tg_arn)}, *lb]]


def record(lb_arn: str, tg_arn: str | None, values: dict[str, tuple[float, str]]) -> None:
    """Add data points (``{name: (value, unit)}``) for one request."""
    # The sandbox time of the request (peek: a request thread never runs scheduled actions); moto keeps naive UTC.
    stamp = datetime.fromtimestamp(clock.peek(), timezone.utc).replace(tzinfo=None)
    entries = [{"MetricName": name, "Value": float(value), "Unit": unit, "Dimensions": dims, "Timestamp": stamp}
               for name, (value, unit) in values.items() for dims in _dimensions(lb_arn, tg_arn)]
    with _LOCK:
        _PENDING.setdefault(state.region_of_arn(lb_arn), []).extend(entries)
    ensure()


#: The pending points, flushed just before the sandbox minute of their requests ends; the next
#: request schedules the next minute, so an idle sandbox costs nothing.
_MINUTES = EveryPeriod(lambda end: flush(), period=60, early=_EARLY, keep_going=lambda: False)


def ensure() -> None:
    """Make sure the pending points are flushed just before the current sandbox minute ends (idempotent)."""
    _MINUTES.ensure()


def request_done(lb_arn: str, tg_arn: str | None, status: int, *, by_target: bool, seconds: float = 0.0) -> None:
    """The data points of one request, answered by a target or by the load balancer."""
    klass = f"{status // 100}XX"
    if by_target:
        record(lb_arn, tg_arn, {"RequestCount": (1, "Count"), f"HTTPCode_Target_{klass}_Count": (1, "Count"),
                                "TargetResponseTime": (seconds, "Seconds")})
        return
    values = {f"HTTPCode_ELB_{klass}_Count": (1.0, "Count")}
    if status in (500, 502, 503, 504):
        values[f"HTTPCode_ELB_{status}_Count"] = (1.0, "Count")
    record(lb_arn, tg_arn if status in (502, 504) else None, values)


def host_counts() -> None:
    """One ``HealthyHostCount`` and ``UnHealthyHostCount`` point per load balancer and target group in use."""
    from labkit.services.elb import health

    for tg_arn, lb_arns in state.groups_in_use().items():
        tg = state.target_group(tg_arn)
        if tg is None or not tg.health_check_enabled:
            continue
        healthy, unhealthy = health.counts(tg_arn)
        for lb_arn in lb_arns:
            record(lb_arn, tg_arn, {"HealthyHostCount": (healthy, "Count"), "UnHealthyHostCount": (unhealthy, "Count")})


def flush(*_: Any) -> None:
    """Write the pending data points into CloudWatch (moto)."""
    from moto.cloudwatch.models import cloudwatch_backends

    if state.groups_in_use():
        host_counts()
    with _LOCK:
        pending = dict(_PENDING)
        _PENDING.clear()
    account = state._account()
    for region, entries in pending.items():
        backend = cloudwatch_backends[account][region]
        for start in range(0, len(entries), 500):
            backend.put_metric_data(NAMESPACE, entries[start:start + 500])


def reset() -> None:
    with _LOCK:
        _PENDING.clear()
    _MINUTES.reset()
