"""The moto internals the load balancing service patches or calls.

Patched:

- ``ELBv2Backend.describe_target_health``: moto says ``healthy`` at once for
  every target and never checks; the replacement answers from the health
  checks of :mod:`.health` (``initial``, ``healthy``, ``unhealthy``,
  ``draining``, ``unused``, ``unavailable``, with AWS's reason codes);
- ``FakeTargetGroup.register`` and ``deregister``: moto keys a group's targets
  by id alone, so one IP address registered on two ports (two servers on one
  machine) became one target; the replacements key them by id and port, as AWS does;
- ``ELBv2Backend.create_load_balancer``: moto gives a Network Load Balancer an
  ARN with ``loadbalancer/app/``; AWS's has ``loadbalancer/net/`` (and the
  listener ARNs follow). The replacement renames it before anyone sees it.

Called: the backends and the attributes :mod:`.state` reads.
"""

from __future__ import annotations

from typing import Any

from labkit.core.seams import Seam


def describe_target_health(original: Any, self: Any, target_group_arn: str, targets: list[dict[str, Any]]) -> Any:
    """Target health from the sandbox's health checks."""
    from moto.elbv2.models import FakeHealthStatus

    from labkit.services.elb import health

    target_group = self.target_groups.get(target_group_arn)
    if target_group is None:
        return original(self, target_group_arn, targets)
    found = {record.key: record for record in health.records(target_group_arn)}
    answers = []
    check_port = target_group.health_check_port
    if targets:
        for target in targets:
            port = target.get("Port") or target_group.port
            record = found.get(_key(target["Id"], port))
            if record is None:
                answers.append(FakeHealthStatus(target["Id"], port, check_port, "unused", "Target.NotRegistered",
                                                health.DESCRIPTIONS["Target.NotRegistered"]))
            else:
                answers.append(_status(record, check_port))
        return answers
    return [_status(record, check_port) for record in found.values()]


def _key(target_id: str, port: Any) -> str:
    from labkit.services.elb.state import target_key

    return target_key(target_id, port if port is None else int(port))


def _status(record: Any, check_port: Any) -> Any:
    from moto.elbv2.models import FakeHealthStatus

    port = record.port if record.port else None
    return FakeHealthStatus(record.target_id, port, check_port, record.state,
                            record.reason if record.state != "healthy" else None,
                            record.description if record.state != "healthy" else None)


def register(original: Any, self: Any, targets: list[dict[str, Any]]) -> None:
    """Register targets keyed by id and port."""
    from moto.elbv2.exceptions import TargetNotRunning

    for target in targets:
        instance = self.ec2_backend.get_instance_by_id(target["Id"])
        if instance is not None and instance.state != "running":
            raise TargetNotRunning(instance_id=target["Id"])
        port = target.get("Port", self.port)
        key = _key(target["Id"], port)
        self.targets[key] = {"Id": target["Id"], "Port": int(port) if port is not None else None}
        self.deregistered_targets.pop(key, None)


def deregister(original: Any, self: Any, targets: list[dict[str, Any]]) -> None:
    """Deregister targets keyed by id and port (no port: every port of that id)."""
    from moto.elbv2.exceptions import InvalidTargetError

    for target in targets:
        if target.get("Port") is not None:
            keys = [_key(target["Id"], target["Port"])]
        else:
            keys = [key for key, value in self.targets.items() if value["Id"] == target["Id"]]
        removed = [self.targets.pop(key) for key in keys if key in self.targets]
        if not removed:
            raise InvalidTargetError()
        for key, value in zip(keys, removed, strict=False):
            self.deregistered_targets[key] = value


def create_load_balancer(original: Any, self: Any, *args: Any, **kwargs: Any) -> Any:
    """Create, then give a Network Load Balancer its ``loadbalancer/net/`` ARN."""
    balancer = original(self, *args, **kwargs)
    if balancer.type == "network" and ":loadbalancer/app/" in balancer.arn:
        old = balancer.arn
        new = old.replace(":loadbalancer/app/", ":loadbalancer/net/")
        self.load_balancers.pop(old, None)
        balancer.arn = new
        self.load_balancers[new] = balancer
        tags = self.tagging_service.list_tags_for_resource(old).get("Tags", [])
        self.tagging_service.delete_all_tags_for_resource(old)
        if tags:
            self.tagging_service.tag_resource(new, tags)
    return balancer


SEAMS: tuple[Seam, ...] = (
    # Patched.
    Seam("moto.elbv2.models", "ELBv2Backend.describe_target_health", ("self", "target_group_arn", "targets"),
         describe_target_health),
    Seam("moto.elbv2.models", "FakeTargetGroup.register", ("self", "targets"), register),
    Seam("moto.elbv2.models", "FakeTargetGroup.deregister", ("self", "targets"), deregister),
    Seam("moto.elbv2.models", "ELBv2Backend.create_load_balancer",
         ("self", "name", "security_groups", "subnet_ids", "subnet_mappings", "scheme", "loadbalancer_type",
          "ip_address_type", "tags"), create_load_balancer),
    # Called or read.
    Seam("moto.elbv2.models", "elbv2_backends", None),
    Seam("moto.elbv2.models", "FakeHealthStatus.__init__",
         ("self", "instance_id", "port", "health_port", "status", "reason", "description")),
    Seam("moto.elbv2.exceptions", "TargetNotRunning", None),
    Seam("moto.elbv2.exceptions", "InvalidTargetError", None),
    Seam("moto.elbv2.models", "ELBv2Backend.load_balancers", None, instance=True),
    Seam("moto.elbv2.models", "ELBv2Backend.target_groups", None, instance=True),
    Seam("moto.elbv2.models", "ELBv2Backend.tagging_service", None, instance=True),
    Seam("moto.elbv2.models", "FakeLoadBalancer.listeners", None, instance=True),
    Seam("moto.elbv2.models", "FakeLoadBalancer.attrs", None, instance=True),
    Seam("moto.elbv2.models", "FakeLoadBalancer.dns_name", None, instance=True),
    Seam("moto.elbv2.models", "FakeLoadBalancer.type", None, instance=True),
    Seam("moto.elbv2.models", "FakeListener.rules", None),
    Seam("moto.elbv2.models", "FakeListener.default_actions", None, instance=True),
    Seam("moto.elbv2.models", "FakeListener.attributes", None, instance=True),
    Seam("moto.elbv2.models", "FakeListenerRule.conditions", None, instance=True),
    Seam("moto.elbv2.models", "FakeListenerRule.is_default", None, instance=True),
    Seam("moto.elbv2.models", "FakeRule.is_default", None, instance=True),
    Seam("moto.elbv2.models", "FakeAction.data", None, instance=True),
    Seam("moto.elbv2.models", "FakeTargetGroup.targets", None, instance=True),
    Seam("moto.elbv2.models", "FakeTargetGroup.attributes", None, instance=True),
    Seam("moto.elbv2.models", "FakeTargetGroup.health_check_enabled", None, instance=True),
    Seam("moto.elbv2.models", "FakeTargetGroup.matcher", None, instance=True),
    Seam("moto.elbv2.models", "FakeTargetGroup.target_type", None, instance=True),
    Seam("moto.elbv2.models", "FakeTargetGroup.ec2_backend", None),
    Seam("moto.cloudwatch.models", "CloudWatchBackend.put_metric_data", ("self", "namespace", "metric_data")),
    Seam("moto.utilities.tagging_service", "TaggingService.delete_all_tags_for_resource", ("self", "arn")),
    Seam("moto.utilities.tagging_service", "TaggingService.list_tags_for_resource", ("self", "arn")),
)
