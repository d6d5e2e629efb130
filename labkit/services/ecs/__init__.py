"""ECS: containers that run, services that keep their count, deployments that roll.

What AWS does
    Amazon ECS runs containers. A *task definition* says which images to run
    and with how much CPU and memory; a *task* is one running copy of it, on
    Fargate (AWS runs the machine) or on EC2 instances registered in the
    cluster. A *service* keeps a desired number of tasks running, replaces
    those that stop, rolls new task definitions out within its deployment
    percentages, and registers its tasks in a load balancer's target group.

What moto does
    Stores clusters, task definitions, tasks and services. Nothing runs: a task
    is ``RUNNING`` at once and moves one state on at each ``DescribeTasks`` (to
    ``STOPPED`` after four looks); a service never starts a task
    (``runningCount`` stays 0, the ``services_stable`` waiter blocks ten
    minutes); ``create_service`` and ``run_task`` without ``securityGroups``
    raise ``KeyError``; a task-level ``cpu``/``memory`` breaks EC2 placement.

What this service adds (``lab.ecs``)
    - images that are Python apps (:mod:`.images`): :func:`register_image`
      for the lab's own, stand-ins for ``nginx`` and ``httpd``, and a
      placeholder (runs, answers no traffic) for any other image;
    - tasks that go ``PROVISIONING`` -> ``PENDING`` -> ``RUNNING`` on the
      sandbox clock and serve on their addresses (:mod:`.tasks`): an
      ``awsvpc`` task's private IP, or the container instance's IP and host
      port; an essential container that exits stops the task with AWS's
      ``stopCode``, ``stoppedReason`` and ``exitCode``;
    - a service scheduler (:mod:`.services`): desired count and replacement,
      rolling deployments within ``minimumHealthyPercent`` and
      ``maximumPercent``, placement on container instances with AWS's event
      when it fails, ``ip``/``instance`` targets registered in a target group
      and drained when stopped, service events in AWS's words;
    - ``AWS/ECS`` ``CPUUtilization`` (measured) and ``MemoryUtilization``
      (modelled from the image) per service (:mod:`.metrics`);
    - AWS's answers to bad task definitions for Fargate (network mode,
      CPU and memory combinations) and to a launch type without capacity.

Limits (each said in the chapter where a reader could notice)
    * Every app runs in the notebook's process: a task's CPU and memory do not
      shape its speed; memory is the image's declared figure.
    * No image is pulled, no command or entry point runs; ``command``,
      ``entryPoint``, health checks in the container definition, volumes,
      secrets and logs configuration are stored, not used.
    * Service discovery (Cloud Map, Service Connect), capacity providers with
      managed scaling, the deployment circuit breaker, blue/green deployments
      and ``execute_command`` are not emulated.
"""

from __future__ import annotations

from typing import Any

from labkit.core import aws, hooks, names
from labkit.core.clock import clock
from labkit.services.ecs import images, metrics, services, tasks
from labkit.services.ecs.images import HTTPD_PAGE, NGINX_PAGE, Image
from labkit.services.ecs.seams import SEAMS

__all__ = [
    "HTTPD_PAGE",
    "NGINX_PAGE",
    "SEAMS",
    "Image",
    "app_errors",
    "flush_metrics",
    "image_for",
    "install",
    "register_image",
    "registered_images",
    "reset",
    "run_scheduler",
    "task_address",
]

#: Fargate's task CPU values (units) and the memory (MiB) each allows.
FARGATE_SIZES: dict[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4096 + 1, 1024)),
    1024: tuple(range(2048, 8192 + 1, 1024)),
    2048: tuple(range(4096, 16384 + 1, 1024)),
    4096: tuple(range(8192, 30720 + 1, 1024)),
    8192: tuple(range(16384, 61440 + 1, 4096)),
    16384: tuple(range(32768, 122880 + 1, 8192)),
}

_CLOUDWATCH_READS = ("GetMetricStatistics", "GetMetricData", "ListMetrics")


def register_image(name: str, app: Any = None, *, start: Any = None, memory_mib: int = 64) -> Image:
    """Make ``name`` (``"shop/web:1"``, or ``"shop/web"`` for every tag) an image
    the sandbox runs: ``app`` is a WSGI callable served while the container
    runs; or ``start(environment) -> app | None`` is called when the container
    starts (``None``: its job is done, exit code 0; an exception: exit code 1;
    ``SystemExit(n)``: exit code ``n``). ``memory_mib`` is the memory its
    process uses (MemoryUtilization; more than the container's memory and the
    container is killed, as on AWS). Registering again replaces the image."""
    return images.register(name, app, start=start, memory_mib=memory_mib)


def registered_images() -> dict[str, Image]:
    """The lab's own images, by name."""
    return images.registered()


def image_for(image: str) -> Image | None:
    """The image a reference runs (a registered app or a stand-in), or ``None``: a placeholder."""
    return images.lookup(image)


def task_address(task_arn: str) -> str | None:
    """The address a task answers on: its network interface's private IP
    (``awsvpc``) or its container instance's private IP."""
    run = tasks.run_of(task_arn)
    return run.address if run is not None else None


def app_errors(task_arn: str) -> dict[str, list[str]]:
    """What went wrong inside a task's containers, by container name: the
    traceback of a start that raised, of each request that raised."""
    run = tasks.run_of(task_arn)
    return {} if run is None else {c.name: list(c.errors) for c in run.containers}


def run_scheduler() -> None:
    """Let every service's scheduler look now (reading the clock does this too)."""
    clock.now()
    for svc in services.services():
        services.reconcile(svc)


def flush_metrics() -> None:
    """Write ``AWS/ECS`` data points now (reading CloudWatch does this too)."""
    metrics.flush()


# --------------------------------------------------------------------------
# Hooks
# --------------------------------------------------------------------------


def _tick(call: Any) -> None:
    clock.now()  # what fell due on the sandbox clock happens before ECS answers


def _register_task_definition(call: Any) -> tuple[int, dict[str, Any]] | None:
    params = call.params
    if "FARGATE" not in (params.get("requiresCompatibilities") or []):
        return None
    if params.get("networkMode") not in (None, "awsvpc"):
        return hooks.error_answer("ClientException", "Fargate only supports network mode 'awsvpc'.")
    if not params.get("cpu"):
        return hooks.error_answer("ClientException", "Fargate requires that 'cpu' be defined at the task level.")
    try:
        cpu = tasks._int(params["cpu"])
        memory = tasks._int(params.get("memory"))
    except ValueError:
        return hooks.error_answer("ClientException", "Invalid 'cpu' setting for task.")
    if cpu not in FARGATE_SIZES:
        return hooks.error_answer("ClientException", "Invalid 'cpu' setting for task.")
    if memory not in FARGATE_SIZES[cpu]:
        return hooks.error_answer("ClientException", "No Fargate configuration exists for given values.")
    return None


def _launch_compatible(call: Any) -> tuple[int, dict[str, Any]] | None:
    if call.params.get("launchType") != "FARGATE" or not call.params.get("taskDefinition"):
        return None
    from labkit.services.ecs import state

    try:
        definition = state.backend(call.region).describe_task_definition(call.params["taskDefinition"])
    except Exception:  # noqa: BLE001  (moto answers the missing task definition itself)
        return None
    if "FARGATE" not in (definition.compatibilities or []):
        return hooks.error_answer("InvalidParameterException", "Task definition does not support launch_type FARGATE.")
    return None


def _after_run_task(call: Any, parsed: dict[str, Any], status: int) -> None:
    from labkit.services.ecs import seams

    if status >= 300:
        return
    failures = seams.last_failures()
    if failures:
        cluster = call.params.get("cluster", "default")
        parsed["failures"] = [{"arn": aws.make_arn("ecs", f"container-instance/{cluster}", call.region),
                               "reason": reason} for reason in failures]


def _after_create_service(call: Any, parsed: dict[str, Any], status: int) -> None:
    from labkit.services.ecs import state

    if status >= 300:
        return
    answer = parsed.get("service", {})
    record = state.service_record(call.region, answer.get("clusterArn", "default"), answer.get("serviceName", ""))
    if record is not None:
        services.created(call.region, record, call.params)
        parsed["service"]["deploymentConfiguration"] = record.deployment_configuration


def _after_update_service(call: Any, parsed: dict[str, Any], status: int) -> None:
    from labkit.services.ecs import state

    if status >= 300:
        return
    answer = parsed.get("service", {})
    record = state.service_record(call.region, answer.get("clusterArn", "default"), answer.get("serviceName", ""))
    if record is not None:
        services.updated(call.region, record, call.params)


def _after_delete_service(call: Any, parsed: dict[str, Any], status: int) -> None:
    from labkit.services.ecs import state

    if status >= 300:
        return
    answer = parsed.get("service", {})
    record = state.service_record(call.region, answer.get("clusterArn", "default"), answer.get("serviceName", ""))
    if record is not None:
        services.deleted(call.region, record)


def _after_stop_task(call: Any, parsed: dict[str, Any], status: int) -> None:
    if status >= 300:
        return
    tasks.after_user_stop(parsed.get("task", {}).get("taskArn", call.params.get("task", "")), call.params.get("reason"))


def _after_list_tasks(call: Any, parsed: dict[str, Any], status: int) -> None:
    """moto ignores ``serviceName``: keep the service's own tasks only."""
    name = call.params.get("serviceName")
    if status >= 300 or not name:
        return
    cluster = str(call.params.get("cluster", "default")).split("/")[-1]
    svc = services.find(cluster, name, call.region)
    mine = {run.arn for run in svc.tasks} if svc is not None else set()
    parsed["taskArns"] = [arn for arn in parsed.get("taskArns", []) if arn in mine]


def _flush_before(call: Any) -> None:
    metrics.flush()


def install() -> None:
    """Subscribe to ECS and CloudWatch calls, follow tasks, claim task addresses
    (the registry calls this once, at first use). Idempotent."""
    hooks.subscribe("before", "ecs", "*", _tick)
    hooks.subscribe("before", "ecs", "RegisterTaskDefinition", _register_task_definition)
    for operation in ("RunTask", "CreateService", "UpdateService"):
        hooks.subscribe("before", "ecs", operation, _launch_compatible)
    hooks.subscribe("after", "ecs", "RunTask", _after_run_task)
    hooks.subscribe("after", "ecs", "CreateService", _after_create_service)
    hooks.subscribe("after", "ecs", "UpdateService", _after_update_service)
    hooks.subscribe("after", "ecs", "DeleteService", _after_delete_service)
    hooks.subscribe("after", "ecs", "StopTask", _after_stop_task)
    hooks.subscribe("after", "ecs", "ListTasks", _after_list_tasks)
    for operation in _CLOUDWATCH_READS:
        hooks.subscribe("before", "cloudwatch", operation, _flush_before)
    tasks.on_stopped(services.task_stopped)
    tasks.on_running(services.task_running)
    names.claim("ecs", tasks.resolve)


def reset() -> None:
    """Stop every task's servers, forget tasks, services, images and metrics (``lab.reset()``)."""
    services.reset()
    tasks.reset()
    images.reset()
    metrics.reset()
