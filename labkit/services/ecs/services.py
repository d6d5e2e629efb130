"""The service scheduler: desired count, replacement, rolling deployments, load balancers.

moto stores a service and never starts a task for it (``runningCount`` stays
0, so the ``services_stable`` waiter waits its ten minutes). Here each service
is watched by a scheduler that runs on the sandbox clock:

- it keeps ``desiredCount`` tasks: a task that stops (``StopTask``, an app that
  exits) is replaced at the next pass, and the service's ``events`` say so in
  AWS's words ("(service web) has started 1 tasks: (task ...).", "(service
  web) has reached a steady state.");
- a new task definition (or ``forceNewDeployment``) is a **rolling
  deployment**: at most ``maximumPercent`` of the desired count run at once,
  at least ``minimumHealthyPercent`` stay healthy; a deployment that these
  percentages and the cluster's capacity leave no room for stays stuck, and
  the events say why ("... was unable to place a task because no container
  instance met all of its requirements. ...");
- with ``loadBalancers``, each task's address is registered in the target
  group when it runs (``ip`` targets for ``awsvpc`` tasks, ``instance``
  targets on the host port otherwise) through ELBv2's own API, a task
  counts as healthy once the target group says so, a task its target group
  finds unhealthy is replaced, and a task the scheduler stops is deregistered
  and drains for the group's deregistration delay first;
- after a task fails to start, the next attempt waits longer each time
  (the sandbox's back-off, :data:`RETRY_SECONDS`).
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field
from typing import Any

from labkit.core import aws, hooks
from labkit.core.clock import clock
from labkit.services.ecs import state, tasks
from labkit.services.ecs.tasks import at, moment

#: The first wait after a task fails to start (doubles with each failure, at most RETRY_MAX).
RETRY_SECONDS = 30.0
RETRY_MAX = 480.0
#: A task of a service without a load balancer (and without container health checks) counts as
#: healthy this long after it reaches RUNNING (AWS's figure, DeploymentConfiguration).
HEALTHY_AFTER_SECONDS = 40.0
#: How often a service behind a load balancer looks at its targets' health.
HEALTH_WATCH_SECONDS = 15.0

DEFAULT_MAXIMUM_PERCENT = 200
TROUBLESHOOTING = " For more information, see the Troubleshooting section of the Amazon ECS Developer Guide."
DEFAULT_MINIMUM_HEALTHY_PERCENT = 100


@dataclass
class Deployment:
    id: str
    task_definition: str
    created: float
    status: str = "PRIMARY"
    rollout: str = "IN_PROGRESS"
    failed_tasks: int = 0


@dataclass
class ServiceRun:
    region: str
    cluster: str
    name: str
    deployments: list[Deployment] = field(default_factory=list)
    tasks: list[tasks.TaskRun] = field(default_factory=list)
    failures: int = 0  # tasks that failed to start in a row
    retry_at: float = 0.0
    steady: bool = False
    last_message: str = ""
    pass_entry: Any = None
    watch_entry: Any = None
    deleted: bool = False
    later: list[Any] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.region, self.cluster, self.name)

    @property
    def record(self) -> Any:
        return state.service_record(self.region, self.cluster, self.name)


_LOCK = threading.RLock()
_SERVICES: dict[tuple[str, str, str], ServiceRun] = {}


def services() -> list[ServiceRun]:
    with _LOCK:
        return list(_SERVICES.values())


def find(cluster: str, name: str, region: str | None = None) -> ServiceRun | None:
    region = region or aws.default_region()
    with _LOCK:
        return _SERVICES.get((region, cluster.split("/")[-1], name.split("/")[-1]))


# --------------------------------------------------------------------------
# Events, counts, deployments as moto shows them
# --------------------------------------------------------------------------


def event(svc: ServiceRun, message: str, *, repeat: bool = False) -> None:
    """Add an event (newest first, as DescribeServices lists them)."""
    if not repeat and message == svc.last_message:
        return
    record = svc.record
    if record is None:
        return
    import uuid

    record.events.insert(0, {"id": str(uuid.uuid4()), "createdAt": tasks.stamp(), "message": message})
    del record.events[100:]
    svc.last_message = message


def _short(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


def _live(svc: ServiceRun) -> list[tasks.TaskRun]:
    return [t for t in svc.tasks if not t.stopped]


def _publish(svc: ServiceRun) -> None:
    record = svc.record
    if record is None:
        return
    live = _live(svc)
    record.running_count = sum(t.status == "RUNNING" for t in live)
    record.pending_count = sum(t.status in ("PROVISIONING", "PENDING") for t in live)
    shown = []
    for deployment in svc.deployments:
        if deployment.status == "INACTIVE":
            continue
        mine = [t for t in live if t.deployment == deployment.id]
        shown.append({
            "id": deployment.id,
            "status": deployment.status,
            "taskDefinition": deployment.task_definition,
            "desiredCount": record.desired_count if deployment.status == "PRIMARY" else 0,
            "runningCount": sum(t.status == "RUNNING" for t in mine),
            "pendingCount": sum(t.status in ("PROVISIONING", "PENDING") for t in mine),
            "failedTasks": deployment.failed_tasks,
            "launchType": record.launch_type,
            "createdAt": tasks.stamp(deployment.created),
            "updatedAt": tasks.stamp(),
            "rolloutState": deployment.rollout,
            "rolloutStateReason": (f"ECS deployment {deployment.id} completed." if deployment.rollout == "COMPLETED"
                                   else f"ECS deployment {deployment.id} in progress."),
            "networkConfiguration": getattr(record, "network_configuration", None) or None,
        })
    record.deployments = shown


def configuration(record: Any) -> tuple[int, int]:
    """(maximumPercent, minimumHealthyPercent) of a service, AWS's defaults filled in."""
    given = getattr(record, "deployment_configuration", None) or {}
    maximum = given.get("maximumPercent")
    minimum = given.get("minimumHealthyPercent")
    return (DEFAULT_MAXIMUM_PERCENT if maximum is None else int(maximum),
            DEFAULT_MINIMUM_HEALTHY_PERCENT if minimum is None else int(minimum))


# --------------------------------------------------------------------------
# Following the API (called from the hooks in __init__)
# --------------------------------------------------------------------------


def created(region: str, record: Any, params: dict[str, Any]) -> ServiceRun:
    import random

    svc = ServiceRun(region, record.cluster_name, record.name)
    config = params.get("deploymentConfiguration") or {}
    record.deployment_configuration = {
        "maximumPercent": int(config.get("maximumPercent", DEFAULT_MAXIMUM_PERCENT)),
        "minimumHealthyPercent": int(config.get("minimumHealthyPercent", DEFAULT_MINIMUM_HEALTHY_PERCENT)),
    }
    if "deploymentCircuitBreaker" in config:
        record.deployment_configuration["deploymentCircuitBreaker"] = config["deploymentCircuitBreaker"]
    record.health_check_grace_period_seconds = params.get("healthCheckGracePeriodSeconds")
    record.created_at = tasks.stamp()
    record.events = []
    deployment_id = (record.deployments[0]["id"] if record.deployments
                     else f"ecs-svc/{random.randint(10**18, 10**19 - 1)}")
    svc.deployments.append(Deployment(deployment_id, record.task_definition or "", moment()))
    with _LOCK:
        _SERVICES[svc.key] = svc
    _publish(svc)
    reconcile(svc)
    return svc


def updated(region: str, record: Any, params: dict[str, Any]) -> None:
    import random

    svc = find(record.cluster_name, record.name, region)
    if svc is None:
        return
    backend = state.backend(region)
    if params.get("taskDefinition"):
        record.task_definition = backend.describe_task_definition(params["taskDefinition"]).arn
    if "deploymentConfiguration" in params:
        config = dict(getattr(record, "deployment_configuration", None) or {})
        config.update(params["deploymentConfiguration"])
        record.deployment_configuration = config
    if "healthCheckGracePeriodSeconds" in params:
        record.health_check_grace_period_seconds = params["healthCheckGracePeriodSeconds"]
    primary = svc.deployments[0]
    if record.task_definition != primary.task_definition or params.get("forceNewDeployment"):
        for deployment in svc.deployments:
            if deployment.status == "PRIMARY":
                deployment.status = "ACTIVE"
        svc.deployments.insert(0, Deployment(f"ecs-svc/{random.randint(10**18, 10**19 - 1)}", record.task_definition,
                                             moment()))
        svc.steady = False
    if "desiredCount" in params:
        svc.steady = False
    svc.failures, svc.retry_at = 0, 0.0
    reconcile(svc)


def deleted(region: str, record: Any) -> None:
    svc = find(record.cluster_name, record.name, region)
    if svc is None:
        return
    svc.deleted = True
    for run in _live(svc):
        _scheduler_stop(svc, run, drain=False)
    record.desired_count = 0
    _publish(svc)
    with _LOCK:
        _SERVICES.pop(svc.key, None)


def task_stopped(run: tasks.TaskRun, why: str) -> None:
    """A task stopped: its targets go, its service looks again."""
    _deregister(run)
    svc = _service_of(run)
    if svc is None or svc.deleted:
        return
    if why == "exited":
        started_for = (run.started_at is None) or (moment() - run.started_at < HEALTH_WATCH_SECONDS)
        if started_for:
            svc.failures += 1
            wait = min(RETRY_SECONDS * 2 ** (svc.failures - 1), RETRY_MAX)
            svc.retry_at = moment() + wait
            for deployment in svc.deployments:
                if deployment.id == run.deployment:
                    deployment.failed_tasks += 1
            if svc.failures >= 3:
                event(svc, f"(service {svc.name}) is unable to consistently start tasks successfully.")
    if why in ("exited", "user", "unhealthy"):
        event(svc, f"(service {svc.name}) has stopped 1 running tasks: (task {_short(run.arn)}).", repeat=True)
    svc.steady = False
    _soon(svc, when=max(moment(), svc.retry_at))


def task_running(run: tasks.TaskRun) -> None:
    svc = _service_of(run)
    if svc is None:
        return
    _register(svc, run)
    if svc.failures and run.started_at is not None:
        svc.failures = 0
    _soon(svc)
    if not svc.record.load_balancers and run.started_at is not None:
        _soon_too(svc, run.started_at + HEALTHY_AFTER_SECONDS)


def _service_of(run: tasks.TaskRun) -> ServiceRun | None:
    if run.service is None:
        return None
    cluster, _, name = run.service.partition("/")
    return find(cluster, name, run.region)


# --------------------------------------------------------------------------
# The pass
# --------------------------------------------------------------------------


def _soon(svc: ServiceRun, when: float | None = None) -> None:
    when = moment() if when is None else when
    if svc.pass_entry is not None and not svc.pass_entry.cancelled and svc.pass_entry.due <= when:
        return
    if svc.pass_entry is not None:
        clock.cancel(svc.pass_entry)
    svc.pass_entry = at(when, lambda: reconcile(svc))


def _soon_too(svc: ServiceRun, when: float) -> None:
    """Another pass at ``when``, besides any pass already due."""
    svc.later.append(at(when, lambda: reconcile(svc)))
    svc.later[:] = [entry for entry in svc.later if not entry.cancelled and entry.due >= moment()]


def _healthy(svc: ServiceRun, run: tasks.TaskRun, health: dict[tuple[str, str, int], str]) -> bool:
    if run.status != "RUNNING":
        return False
    record = svc.record
    if not record.load_balancers:
        return run.started_at is not None and moment() - run.started_at >= HEALTHY_AFTER_SECONDS
    if not run.targets:
        return False
    return all(health.get(target) == "healthy" for target in run.targets)


def _target_health(svc: ServiceRun) -> dict[tuple[str, str, int], str]:
    found: dict[tuple[str, str, int], str] = {}
    record = svc.record
    if not record.load_balancers:
        return found
    elbv2 = aws.internal_client("elbv2", svc.region)
    for group in {lb.get("targetGroupArn") for lb in record.load_balancers if lb.get("targetGroupArn")}:
        try:
            answer = elbv2.describe_target_health(TargetGroupArn=group)
        except Exception:  # noqa: BLE001  (a deleted group: no target is healthy)
            continue
        for description in answer["TargetHealthDescriptions"]:
            target = description["Target"]
            found[(group, target["Id"], int(target.get("Port", 0)))] = description["TargetHealth"]["State"]
    return found


def reconcile(svc: ServiceRun) -> None:
    """One pass of the scheduler over one service."""
    with _LOCK:
        if svc.deleted or svc.record is None or svc.record.status != "ACTIVE":
            return
        record = svc.record
        if svc.pass_entry is not None:
            clock.cancel(svc.pass_entry)
            svc.pass_entry = None
        health = _target_health(svc)
        _replace_unhealthy(svc, health)
        desired = int(record.desired_count or 0)
        maximum, minimum = configuration(record)
        max_total = math.floor(desired * maximum / 100)
        min_healthy = math.ceil(desired * minimum / 100)
        primary = svc.deployments[0]
        live = _live(svc)
        new = [t for t in live if t.deployment == primary.id]
        old = [t for t in live if t.deployment != primary.id]

        # Too many tasks of the current deployment (the desired count went down).
        extra = len(new) - desired
        for run in sorted(new, key=lambda t: t.status == "RUNNING")[:max(extra, 0)]:
            _scheduler_stop(svc, run)
        new = [t for t in new if not t.stopped]

        # Stop old tasks: those not running yet first, healthy ones while minimumHealthyPercent allows
        # (a running task not yet counted as healthy is kept; one its target group finds unhealthy went above).
        healthy_count = sum(_healthy(svc, t, health) for t in _live(svc))
        for run in sorted(old, key=lambda t: t.status == "RUNNING"):
            if run.stopped:
                continue
            if run.status != "RUNNING":
                _scheduler_stop(svc, run)
            elif _healthy(svc, run, health) and healthy_count - 1 >= min_healthy:
                _scheduler_stop(svc, run)
                healthy_count -= 1

        # Start what the desired count misses, within maximumPercent.
        new = [t for t in _live(svc) if t.deployment == primary.id]
        room = max_total - len(_live(svc))
        wanted = min(desired - len(new), room)
        if wanted > 0 and moment() >= svc.retry_at:
            started = []
            for _ in range(wanted):
                run = _launch(svc, primary)
                if run is None:
                    break
                started.append(run)
            if started:
                event(svc, f"(service {svc.name}) has started {len(started)} tasks: "
                      + " ".join(f"(task {_short(t.arn)})" for t in started) + ".", repeat=True)
                svc.steady = False
        elif wanted > 0:
            _soon(svc, when=svc.retry_at)

        # Steady state.
        live = _live(svc)
        new = [t for t in live if t.deployment == primary.id]
        settled = (not [t for t in live if t.deployment != primary.id] and len(new) == desired
                   and all(_healthy(svc, t, health) for t in new))
        if settled:
            primary.rollout = "COMPLETED"
            for deployment in svc.deployments[1:]:
                deployment.status = "INACTIVE"
            svc.deployments = [primary]
            if not svc.steady:
                event(svc, f"(service {svc.name}) has reached a steady state.", repeat=True)
                svc.steady = True
        _publish(svc)
        if record.load_balancers and svc.watch_entry is None:
            svc.watch_entry = at(moment() + HEALTH_WATCH_SECONDS, lambda: _watch(svc))
        if not settled and any(t.status != "RUNNING" for t in live):
            pass  # the tasks' own state changes bring the next pass


def _watch(svc: ServiceRun) -> None:
    svc.watch_entry = None
    if svc.deleted:
        return
    reconcile(svc)


def _replace_unhealthy(svc: ServiceRun, health: dict[tuple[str, str, int], str]) -> None:
    record = svc.record
    grace = float(getattr(record, "health_check_grace_period_seconds", None) or 0)
    for run in _live(svc):
        if run.status != "RUNNING" or not run.targets:
            continue
        if run.started_at is not None and moment() - run.started_at < grace:
            continue
        bad = [target for target in run.targets if health.get(target) == "unhealthy"]
        if bad:
            group = bad[0][0]
            tasks.stop(run, code="ServiceSchedulerInitiated",
                       reason=f"Task failed ELB health checks in (target-group {group})", why="unhealthy")


def _launch(svc: ServiceRun, deployment: Deployment) -> tasks.TaskRun | None:
    """Start one task of a deployment; ``None`` (and an event) when it cannot be placed."""
    from labkit.services.ecs import seams

    record = svc.record
    backend = state.backend(svc.region)
    try:
        made = backend.run_task(svc.cluster, deployment.task_definition, 1, None, deployment.id, None,
                                record.launch_type, getattr(record, "network_configuration", None) or None,
                                f"service:{svc.name}", None, None)
    except Exception as error:  # noqa: BLE001  (moto refused: say it in the events, keep the service)
        message = str(getattr(error, "message", "") or error)
        if message == seams.NO_INSTANCES:
            event(svc, f"(service {svc.name}) was unable to place a task because no container instance met all of "
                       f"its requirements. Reason: {message}{TROUBLESHOOTING}")
        else:
            event(svc, f"(service {svc.name}) failed to launch a task with (error {message}).")
        svc.retry_at = moment() + RETRY_SECONDS
        _soon(svc, when=svc.retry_at)
        return None
    if not made:
        detail = seams.last_placement_detail() or "Reason: No Container Instances were found in your cluster."
        event(svc, f"(service {svc.name}) was unable to place a task because no container instance met all of "
                   f"its requirements. {detail}{TROUBLESHOOTING}")
        svc.retry_at = moment() + RETRY_SECONDS
        _soon(svc, when=svc.retry_at)
        return None
    run = tasks.run_of(made[0].task_arn)
    if run is None:
        return None
    run.service = f"{svc.cluster}/{svc.name}"
    run.deployment = deployment.id
    svc.tasks.append(run)
    del svc.tasks[:-200]
    return run


def _scheduler_stop(svc: ServiceRun, run: tasks.TaskRun, *, drain: bool = True) -> None:
    """Stop a task for its service: deregister it, let it drain, then stop it."""
    reason = f"Scaling activity initiated by (deployment {run.deployment})"
    delay = _deregister(run) if drain else 0.0
    if delay > 0 and run.status == "RUNNING":
        event(svc, f"(service {svc.name}) has begun draining connections on 1 tasks.", repeat=True)
        run.task.desired_status = "STOPPED"
        run.task.last_status = "DEACTIVATING"
        run.task.stopping_at = tasks.stamp()
        run.entries.append(at(moment() + delay, lambda: _finish_drain(svc, run, reason)))
        return
    tasks.stop(run, code="ServiceSchedulerInitiated", reason=reason, why="scheduler")
    event(svc, f"(service {svc.name}) has stopped 1 running tasks: (task {_short(run.arn)}).", repeat=True)


def _finish_drain(svc: ServiceRun, run: tasks.TaskRun, reason: str) -> None:
    run.task.last_status = "STOPPING"
    tasks.stop(run, code="ServiceSchedulerInitiated", reason=reason, why="scheduler")
    event(svc, f"(service {svc.name}) has stopped 1 running tasks: (task {_short(run.arn)}).", repeat=True)


# --------------------------------------------------------------------------
# Load balancer targets, through ELBv2's own API
# --------------------------------------------------------------------------


def _target_of(run: tasks.TaskRun, container_name: str, container_port: int) -> tuple[str, int] | None:
    container = next((c for c in run.containers if c.name == container_name), None)
    if container is None or run.address is None:
        return None
    if run.network_mode == "awsvpc":
        return run.address, int(container_port)
    bindings = getattr(container.moto, "network_bindings", []) or []
    port = next((b["hostPort"] for b in bindings if b["containerPort"] == int(container_port)), None)
    if port is None:
        return None
    instance_id = tasks._instance_id(run)
    return (instance_id, int(port)) if instance_id else None


def _register(svc: ServiceRun, run: tasks.TaskRun) -> None:
    record = svc.record
    if not record.load_balancers or run.targets:
        return
    elbv2 = aws.internal_client("elbv2", svc.region)
    for lb in record.load_balancers:
        group = lb.get("targetGroupArn")
        target = _target_of(run, lb.get("containerName", ""), lb.get("containerPort", 0))
        if not group or target is None:
            continue
        with hooks.internal():
            elbv2.register_targets(TargetGroupArn=group, Targets=[{"Id": target[0], "Port": target[1]}])
        run.targets.append((group, target[0], target[1]))
        event(svc, f"(service {svc.name}) registered 1 targets in (target-group {group})", repeat=True)


def _deregister(run: tasks.TaskRun) -> float:
    """Deregister a task's targets; the longest deregistration delay of their groups (seconds)."""
    if not run.targets:
        return 0.0
    elbv2 = aws.internal_client("elbv2", run.region)
    delay = 0.0
    for group, target_id, port in run.targets:
        try:
            elbv2.deregister_targets(TargetGroupArn=group, Targets=[{"Id": target_id, "Port": port}])
            attributes = elbv2.describe_target_group_attributes(TargetGroupArn=group)["Attributes"]
        except Exception:  # noqa: BLE001  (the group is gone)
            continue
        for attribute in attributes:
            if attribute["Key"] == "deregistration_delay.timeout_seconds":
                delay = max(delay, float(attribute["Value"]))
    svc = _service_of(run)
    if svc is not None:
        groups = sorted({group for group, _, _ in run.targets})
        for group in groups:
            event(svc, f"(service {svc.name}) deregistered 1 targets in (target-group {group})", repeat=True)
    run.targets.clear()
    return delay


def reset() -> None:
    with _LOCK:
        _SERVICES.clear()
