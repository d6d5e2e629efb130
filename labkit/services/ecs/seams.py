"""The moto internals the ECS service patches or calls.

Patched (each pinned by a test in tests/services/test_ecs.py):

- ``EC2ContainerServiceBackend.run_task``: an ``awsvpc`` configuration without
  ``securityGroups`` gets the VPC's default security group, as on AWS (moto
  raised ``KeyError``); the EC2 launch type needs registered container
  instances (AWS's ``InvalidParameterException``, where moto raised a bare
  ``Exception``) and a task definition compatible with the launch type; the
  tasks moto makes are adopted by :mod:`.tasks` before the answer is written,
  so ``RunTask`` answers ``PROVISIONING`` or ``PENDING`` as AWS does;
- ``EC2ContainerServiceBackend.create_service``: the same default security
  group (moto raised ``KeyError``);
- ``EC2ContainerServiceBackend._calculate_task_resource_requirements``: a
  task's size is its task-level ``cpu`` and ``memory`` when given (moto added
  ``None`` and failed), and only fixed host ports are reserved (a dynamic
  ``hostPort`` 0, or an ``awsvpc`` task with its own interface, reserves none);
- ``Task.advance`` (per task, not per class: it is moto's shared
  ``ManagedState``): moto moved a task one state on at each
  ``DescribeTasks`` (to ``STOPPED`` after four looks); an adopted task's
  state moves only with the sandbox clock.
"""

from __future__ import annotations

import threading
from typing import Any

from labkit.core.seams import Seam

_THREAD = threading.local()


#: AWS's answer to RunTask (EC2 launch type) in a cluster without container instances.
NO_INSTANCES = "No Container Instances were found in your cluster."


def last_placement_detail() -> str | None:
    return getattr(_THREAD, "detail", None)


def last_failures() -> list[str]:
    return list(getattr(_THREAD, "failures", []))


def _fill_security_groups(backend: Any, configuration: dict[str, Any] | None) -> dict[str, Any] | None:
    """AWS uses the VPC's default security group when an awsvpc configuration names none."""
    if not configuration or "awsvpcConfiguration" not in configuration:
        return configuration
    awsvpc = dict(configuration["awsvpcConfiguration"])
    if awsvpc.get("securityGroups"):
        return configuration
    from moto.ec2.models import ec2_backends

    ec2 = ec2_backends[backend.account_id][backend.region_name]
    subnets = awsvpc.get("subnets") or []
    vpc_id = None
    if subnets:
        try:
            vpc_id = ec2.get_subnet(subnets[0]).vpc_id
        except Exception:  # noqa: BLE001  (moto's own validation names the bad subnet)
            vpc_id = None
    group = ec2.get_default_security_group(vpc_id)
    awsvpc["securityGroups"] = [group.id] if group is not None else []
    return {**configuration, "awsvpcConfiguration": awsvpc}


def _placement_problem(backend: Any, cluster: str, needs: dict[str, Any]) -> tuple[str, str]:
    """Why no active container instance takes a task: (RunTask reason, event detail)."""
    instances = [ci for ci in backend.container_instances.get(cluster, {}).values() if ci.status == "ACTIVE"]
    if not instances:
        return "RESOURCE:CPU", f"Reason: {NO_INSTANCES}"
    closest = instances[0]
    remaining = {r["name"]: r for r in closest.remaining_resources}
    ports = set(remaining.get("PORTS", {}).get("stringSetValue", []))
    short_id = closest.container_instance_arn.rsplit("/", 1)[-1]
    if any(str(port) in ports for port in needs.get("PORTS", [])):
        return "RESOURCE:PORTS", (f"The closest matching (container-instance {short_id}) is already using a port "
                                  "required by your task.")
    if needs.get("MEMORY", 0) > remaining.get("MEMORY", {}).get("integerValue", 0):
        return "RESOURCE:MEMORY", f"The closest matching (container-instance {short_id}) has insufficient memory available."
    return "RESOURCE:CPU", f"The closest matching (container-instance {short_id}) has insufficient CPU units available."


def run_task(original: Any, self: Any, cluster_str: str, task_definition_str: str, count: int, *args: Any,
             **kwargs: Any) -> Any:
    """Default security group, AWS's capacity and compatibility answers, tasks adopted."""
    from moto.ecs.exceptions import InvalidParameterException

    from labkit.services.ecs import tasks

    names = ("overrides", "started_by", "tags", "launch_type", "networking_configuration", "group",
             "platform_version", "capacity_provider_strategy")
    given = dict(zip(names, args, strict=False))
    given.update(kwargs)
    given["networking_configuration"] = _fill_security_groups(self, given.get("networking_configuration"))
    _THREAD.detail = None
    _THREAD.failures = []
    cluster = self._get_cluster(cluster_str)
    definition = self.describe_task_definition(task_definition_str)
    launch_type = given.get("launch_type")
    strategy = given.get("capacity_provider_strategy") or cluster.default_capacity_provider_strategy
    provider = (strategy[0]["capacityProvider"] if strategy and not launch_type else None)
    fargate = launch_type == "FARGATE" or provider in ("FARGATE", "FARGATE_SPOT")
    if fargate and "FARGATE" not in (definition.compatibilities or []):
        raise InvalidParameterException("Task definition does not support launch_type FARGATE.")
    if not fargate and launch_type in (None, "", "EC2") and not provider:
        active = [ci for ci in self.container_instances.get(cluster.name, {}).values() if ci.status == "ACTIVE"]
        if not active:
            raise InvalidParameterException(NO_INSTANCES)
    made = original(self, cluster_str, task_definition_str, count, **given)
    if len(made) < count and not fargate:
        needs = self._calculate_task_resource_requirements(definition)
        reason, detail = _placement_problem(self, cluster.name, needs)
        _THREAD.detail = detail
        _THREAD.failures = [reason] * (count - len(made))
    for task in made:
        tasks.adopt(task, self, given.get("overrides"))
    return made


def create_service(original: Any, self: Any, *args: Any, **kwargs: Any) -> Any:
    """The VPC's default security group when the network configuration names none."""
    if kwargs.get("network_configuration"):
        kwargs["network_configuration"] = _fill_security_groups(self, kwargs["network_configuration"])
    return original(self, *args, **kwargs)


def resource_requirements(original: Any, self: Any, task_definition: Any) -> dict[str, Any]:
    """A task's size from its task-level cpu/memory when given; only fixed host ports reserved."""
    from labkit.services.ecs import tasks

    cpu, memory = tasks.task_size(task_definition)
    ports = []
    if task_definition.network_mode != "awsvpc":
        for spec in task_definition.container_definitions:
            for mapping in spec.get("portMappings") or []:
                host = mapping.get("containerPort") if task_definition.network_mode == "host" else mapping.get("hostPort")
                if host:
                    ports.append(int(host))
    return {"CPU": cpu, "MEMORY": memory, "PORTS": ports, "PORTS_UDP": []}


SEAMS: tuple[Seam, ...] = (
    Seam("moto.ecs.models", "EC2ContainerServiceBackend.run_task",
         ("self", "cluster_str", "task_definition_str", "count", "overrides", "started_by", "tags", "launch_type",
          "networking_configuration", "group", "platform_version", "capacity_provider_strategy"), run_task),
    Seam("moto.ecs.models", "EC2ContainerServiceBackend.create_service",
         ("self", "cluster_str", "service_name", "desired_count", "task_definition_str", "load_balancers",
          "scheduling_strategy", "tags", "deployment_controller", "launch_type", "service_registries",
          "platform_version", "propagate_tags", "network_configuration", "role_arn"), create_service),
    Seam("moto.ecs.models", "EC2ContainerServiceBackend._calculate_task_resource_requirements",
         ("task_definition",), resource_requirements),
    # Task.advance is inherited from moto's ManagedState: each adopted task gets its own no-op (tasks.adopt).
    Seam("moto.ecs.models", "Task.advance", ("self",)),
    # Called.
    Seam("moto.ecs.models", "ecs_backends", None),
    Seam("moto.ecs.models", "Container", ("task_def",)),
    Seam("moto.ecs.models", "EC2ContainerServiceBackend.stop_task", ("self", "cluster_str", "task_str", "reason")),
    Seam("moto.ecs.models", "EC2ContainerServiceBackend.describe_task_definition", ("self", "task_definition_str")),
    Seam("moto.ecs.models", "EC2ContainerServiceBackend.services", None, instance=True),
    Seam("moto.ecs.models", "EC2ContainerServiceBackend.container_instances", None, instance=True),
    Seam("moto.ecs.models", "Task.last_status", None),
    Seam("moto.ecs.exceptions", "InvalidParameterException", ("message",)),
    Seam("moto.ec2.models.security_groups", "SecurityGroupBackend.get_default_security_group", ("self", "vpc_id")),
    Seam("moto.ec2.models.subnets", "SubnetBackend.get_subnet", ("self", "subnet_id")),
    Seam("moto.cloudwatch.models", "CloudWatchBackend.put_metric_data", ("self", "namespace", "metric_data")),
)
