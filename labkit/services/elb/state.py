"""Reading moto's load balancers, listeners and target groups.

moto's ELBv2 backend is the single source of truth for configuration: a rule
modified through boto3 routes the very next request differently. This module
only finds things in it and reads their attributes with AWS's defaults.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from labkit.core import aws

#: Defaults AWS applies when an attribute was never set.
LB_DEFAULTS = {
    "idle_timeout.timeout_seconds": "60",
    "routing.http.xff_header_processing.mode": "append",
}
TG_DEFAULTS = {
    "deregistration_delay.timeout_seconds": "300",
    "stickiness.enabled": "false",
    "stickiness.type": "lb_cookie",
    "stickiness.lb_cookie.duration_seconds": "86400",
    "load_balancing.algorithm.type": "round_robin",
    "proxy_protocol_v2.enabled": "false",
    "preserve_client_ip.enabled": "true",
    "lambda.multi_value_headers.enabled": "false",
}


def _account() -> str:
    from labkit.core import sandbox

    return sandbox.current().account_id if sandbox.running() else aws.ACCOUNT_ID


def backend(region: str) -> Any:
    """moto's ELBv2 backend of ``region``."""
    from moto.elbv2.models import elbv2_backends

    return elbv2_backends[_account()][region]


def backends() -> Iterator[tuple[str, Any]]:
    """Every ELBv2 backend moto has made so far, with its region."""
    from moto.elbv2.models import elbv2_backends

    regions = elbv2_backends.get(_account(), {})
    for region in list(regions.keys()):
        yield region, regions[region]


def region_of_arn(arn: str) -> str:
    return aws.region_of(arn=arn)


def balancer(arn: str) -> Any | None:
    """moto's load balancer for an ARN, or ``None``."""
    return backend(region_of_arn(arn)).load_balancers.get(arn)


def target_group(arn: str) -> Any | None:
    """moto's target group for an ARN, or ``None``."""
    return backend(region_of_arn(arn)).target_groups.get(arn)


def all_balancers() -> list[Any]:
    return [lb for _, b in backends() for lb in list(b.load_balancers.values())]


def all_target_groups() -> list[Any]:
    return [tg for _, b in backends() for tg in list(b.target_groups.values())]


def lb_attribute(lb: Any, key: str) -> str:
    """A load balancer attribute, or AWS's default."""
    value = lb.attrs.get(key)
    return str(value) if value not in (None, "") else LB_DEFAULTS.get(key, "")


def tg_attribute(tg: Any, key: str) -> str:
    """A target group attribute, or AWS's default."""
    value = tg.attributes.get(key)
    return str(value) if value not in (None, "") else TG_DEFAULTS.get(key, "")


def idle_timeout(lb: Any) -> float:
    """The load balancer's idle timeout, in seconds (``idle_timeout.timeout_seconds``, 60 by default)."""
    try:
        return max(0.05, float(lb_attribute(lb, "idle_timeout.timeout_seconds")))
    except ValueError:
        return 60.0


def dimension_of(arn: str) -> str:
    """The CloudWatch dimension value of a load balancer or target group ARN:
    ``app/shop/50dc6c495c0c9188`` or ``targetgroup/web/73e2d6bc24d8a067``."""
    resource = aws.parse_arn(arn).resource
    return resource.split("/", 1)[1] if resource.startswith("loadbalancer/") else resource


def target_key(target_id: str, port: Any) -> str:
    """How a registered target is keyed: its id and port (one IP may be
    registered on several ports, as on AWS)."""
    return f"{target_id}:{port}"


def registered(tg: Any) -> list[dict[str, Any]]:
    """The targets registered in a target group: ``[{"Id", "Port"}]``."""
    return [dict(t) for t in list(tg.targets.values())]


def forwarded_groups(action: dict[str, Any]) -> list[tuple[str, int]]:
    """``(target group ARN, weight)`` of a forward action."""
    if action.get("ForwardConfig", {}).get("TargetGroups"):
        return [(g["TargetGroupArn"], int(g.get("Weight", 1) if g.get("Weight") is not None else 1))
                for g in action["ForwardConfig"]["TargetGroups"]]
    if action.get("TargetGroupArn"):
        return [(action["TargetGroupArn"], 1)]
    return []


def groups_in_use() -> dict[str, list[str]]:
    """Target group ARN -> the ARNs of the load balancers whose listeners or
    rules forward to it (a group used by none has ``unused`` targets)."""
    used: dict[str, list[str]] = {}
    for lb in all_balancers():
        for listener in list(lb.listeners.values()):
            for rule in list(listener.rules.values()):
                for action in rule.actions:
                    data = action.data if hasattr(action, "data") else action
                    if data.get("Type") != "forward":
                        continue
                    for arn, _ in forwarded_groups(data):
                        if lb.arn not in used.setdefault(arn, []):
                            used[arn].append(lb.arn)
    return used
