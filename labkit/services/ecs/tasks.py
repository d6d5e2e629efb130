"""Tasks that run: the lifecycle on the sandbox clock, containers that serve.

A task made by ``RunTask`` (or by a service) is *adopted* here the moment moto
creates it (a seam on moto's ``run_task``, :mod:`.seams`), so the answer of
``RunTask`` already shows AWS's first state:

``PROVISIONING``  an ``awsvpc`` task gets its network interface (its private IP);
``PENDING``       the images are pulled (a task without ``awsvpc`` starts here);
``RUNNING``       every container started; an app answers on its ports;
``STOPPED``       stopped by ``StopTask``, by its service, or because an
                  essential container exited (``stopCode``
                  ``EssentialContainerExited``, ``stoppedReason`` "Essential
                  container in task exited", the container's ``exitCode``).

Each step is scheduled with :meth:`labkit.core.clock.Clock.call_at`
(:data:`PROVISIONING_SECONDS`, :data:`PULL_SECONDS`: the sandbox's choice,
not AWS's figures). A container's image is looked up in :mod:`.images`;
its app is served by an :class:`~labkit.core.httpfront.HttpFront` on
127.0.0.1, and the task's address on each ``containerPort`` (``awsvpc``: the
network interface's private IP) or ``hostPort`` (``bridge``/``host`` on a
container instance: the instance's private IP) is bound to it with
:func:`labkit.core.names.bind`.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from labkit.core import names
from labkit.core.clock import clock
from labkit.core.httpfront import HttpFront, HttpRequest, HttpResponse
from labkit.services.ecs import images

#: Sandbox seconds from PROVISIONING to PENDING, and from PENDING to RUNNING.
PROVISIONING_SECONDS = 2.0
PULL_SECONDS = 4.0
#: Host ports handed out for dynamic port mapping (hostPort 0 in bridge mode).
DYNAMIC_PORTS = range(32768, 61000)

ESSENTIAL_EXITED = "Essential container in task exited"
OUT_OF_MEMORY = "OutOfMemoryError: Container killed due to memory usage"


@dataclass
class ContainerRun:
    name: str
    image: str
    essential: bool
    ports: list[tuple[int, int]]  # (containerPort, hostPort)
    memory_limit: int | None  # the container's hard limit (MiB), if any
    environment: dict[str, str]
    moto: Any = None  # moto's Container
    app: Any = None
    front: HttpFront | None = None
    placeholder: bool = False
    errors: list[str] = field(default_factory=list)


@dataclass
class TaskRun:
    """What the sandbox knows about one task beyond moto's record."""

    arn: str
    task: Any  # moto's Task
    region: str
    cluster: str
    network_mode: str
    address: str | None
    containers: list[ContainerRun]
    cpu: int  # CPU units (1024 = 1 vCPU)
    memory: int  # MiB
    service: str | None = None  # "cluster/service" for a service's task
    deployment: str | None = None
    entries: list[Any] = field(default_factory=list)
    bound: list[tuple[str, int]] = field(default_factory=list)
    targets: list[tuple[str, str, int]] = field(default_factory=list)  # (group ARN, id, port)
    cpu_seconds: float = 0.0  # CPU time the task's apps used serving requests
    started_at: float | None = None

    @property
    def status(self) -> str:
        return str(self.task.last_status)

    @property
    def stopped(self) -> bool:
        return self.status == "STOPPED" or self.task.desired_status == "STOPPED"


_LOCK = threading.RLock()
_RUNS: dict[str, TaskRun] = {}
_ADDRESSES: set[str] = set()
_NEXT_PORT: dict[str, int] = {}
#: Called with (run, why) after a task stops: the service scheduler listens.
_ON_STOPPED: list[Callable[[TaskRun, str], None]] = []
#: Called with (run) when a task becomes RUNNING.
_ON_RUNNING: list[Callable[[TaskRun], None]] = []


def on_stopped(fn: Callable[[TaskRun, str], None]) -> None:
    if fn not in _ON_STOPPED:
        _ON_STOPPED.append(fn)


def on_running(fn: Callable[[TaskRun], None]) -> None:
    if fn not in _ON_RUNNING:
        _ON_RUNNING.append(fn)


_MOMENT = threading.local()


def moment() -> float:
    """The sandbox time of what is happening now: inside a scheduled action, the
    moment it was due (an ``advance`` of an hour runs each step at its own time)."""
    due = getattr(_MOMENT, "due", None)
    return due if due is not None else clock.peek()


def at(when: float, action: Callable[[], object]) -> Any:
    """:meth:`Clock.call_at`, with :func:`moment` reading ``when`` while the action runs."""

    def run() -> None:
        previous = getattr(_MOMENT, "due", None)
        _MOMENT.due = when
        try:
            action()
        finally:
            _MOMENT.due = previous

    return clock.call_at(when, run)


def stamp(epoch: float | None = None) -> datetime:
    return datetime.fromtimestamp(moment() if epoch is None else epoch, timezone.utc)


def run_of(arn_or_id: str) -> TaskRun | None:
    with _LOCK:
        found = _RUNS.get(arn_or_id)
        if found is not None:
            return found
        return next((run for arn, run in _RUNS.items() if arn.endswith("/" + arn_or_id)), None)


def runs() -> list[TaskRun]:
    with _LOCK:
        return list(_RUNS.values())


# --------------------------------------------------------------------------
# Reading task definitions
# --------------------------------------------------------------------------


def _int(value: Any) -> int:
    if value is None or value == "":
        return 0
    text = str(value).strip().upper().replace(" ", "")
    if text.endswith("VCPU"):
        return int(float(text[:-4]) * 1024)
    if text.endswith("GB"):
        return int(float(text[:-2]) * 1024)
    return int(float(text))


def task_size(definition: Any) -> tuple[int, int]:
    """(CPU units, MiB) of a task: the task-level values, else the sum of its containers'."""
    cpu = _int(definition.cpu) or sum(_int(c.get("cpu")) for c in definition.container_definitions)
    memory = _int(definition.memory) or sum(_int(c.get("memory") or c.get("memoryReservation"))
                                            for c in definition.container_definitions)
    return cpu, memory


def _containers(definition: Any, overrides: dict[str, Any]) -> list[ContainerRun]:
    by_name = {o.get("name"): o for o in (overrides or {}).get("containerOverrides", [])}
    found = []
    for spec in definition.container_definitions:
        environment = {e["name"]: str(e.get("value", "")) for e in spec.get("environment") or [] if "name" in e}
        override = by_name.get(spec.get("name")) or {}
        environment.update({e["name"]: str(e.get("value", "")) for e in override.get("environment") or []})
        ports = []
        for mapping in spec.get("portMappings") or []:
            container_port = int(mapping.get("containerPort") or 0)
            if not container_port:
                continue
            host_port = mapping.get("hostPort")
            if definition.network_mode in ("awsvpc", "host"):
                host_port = container_port
            ports.append((container_port, int(host_port or 0)))
        limit = spec.get("memory")
        found.append(ContainerRun(spec.get("name", ""), spec.get("image", ""), bool(spec.get("essential", True)),
                                  ports, int(limit) if limit else None, environment))
    return found


def _eni_address(task: Any) -> str | None:
    for attachment in task.attachments:
        for detail in attachment.get("details", []):
            if detail.get("name") == "privateIPv4Address":
                return str(detail["value"])
    return None


def _instance_address(task: Any, backend: Any) -> str | None:
    if not task.container_instance_arn:
        return None
    from moto.ec2.models import ec2_backends

    instance_id = task.container_instance_arn.split("/")[-1]
    container_instance = backend.container_instances.get(task.cluster_name, {}).get(instance_id)
    if container_instance is None:
        return None
    try:
        instance = ec2_backends[backend.account_id][backend.region_name].get_instance_by_id(
            container_instance.ec2_instance_id)
    except Exception:  # noqa: BLE001  (the instance is gone)
        return None
    return getattr(instance, "private_ip", None)


# --------------------------------------------------------------------------
# Adoption and the lifecycle
# --------------------------------------------------------------------------


def adopt(task: Any, backend: Any, overrides: dict[str, Any] | None = None) -> TaskRun:
    """Take a task moto just made: its containers, its first state, its schedule."""
    from moto.ecs.models import Container

    definition = backend.describe_task_definition(task.task_definition_arn)
    cpu, memory = task_size(definition)
    containers = _containers(definition, overrides or task.overrides)
    moto_containers = []
    for container in containers:
        record = Container(definition)
        record.task_arn = task.task_arn
        record.container_arn = (f"arn:aws:ecs:{backend.region_name}:{backend.account_id}:container/"
                                f"{task.cluster_name}/{task.id}/{record.container_arn.rsplit('/', 1)[-1]}")
        record.name = container.name
        record.image = container.image
        record.exitCode = None
        record.health_status = "UNKNOWN"
        record.cpu = definition.container_definitions[containers.index(container)].get("cpu", 0)
        record.memory = container.memory_limit
        record.network_bindings = []
        record.network_interfaces = []
        container.moto = record
        moto_containers.append(record)
    task.containers = moto_containers
    task.advance = _stay  # moto's DescribeTasks would move the task on at each look
    mode = definition.network_mode or "bridge"
    address = _eni_address(task) if mode == "awsvpc" else _instance_address(task, backend)
    run = TaskRun(task.task_arn, task, backend.region_name, task.cluster_name, mode, address, containers, cpu,
                  memory)
    now = moment()
    task.created_at = stamp(now)
    task.cpu = str(cpu) if cpu else None
    task.memory = str(memory) if memory else None
    task.connectivity = "CONNECTED"
    task.connectivity_at = stamp(now)
    task.health_status = "UNKNOWN"
    if mode == "awsvpc":
        task.last_status = "PROVISIONING"
        run.entries.append(at(now + PROVISIONING_SECONDS, lambda: _pending(run)))
    else:
        _pending(run)
    for container in containers:
        container.moto.last_status = "PENDING"
        if address and mode == "awsvpc":
            container.moto.network_interfaces = [{"attachmentId": task.attachments[0]["id"],
                                                  "privateIpv4Address": address}]
    with _LOCK:
        _RUNS[run.arn] = run
        if address:
            _ADDRESSES.add(address)
    return run


def _stay() -> None:
    """A look at a task does not move it on: the sandbox clock does."""


def _pending(run: TaskRun) -> None:
    if run.stopped:
        return
    now = moment()
    run.task.last_status = "PENDING"
    run.task.pull_started_at = stamp(now)
    run.entries.append(at(now + PULL_SECONDS, lambda: _start(run)))


def _start(run: TaskRun) -> None:
    """Start every container; an essential one that cannot start stops the task."""
    if run.stopped:
        return
    now = moment()
    run.task.pull_stopped_at = stamp(now)
    for container in run.containers:
        image = images.lookup(container.image)
        if image is None:
            container.placeholder = True
            container.moto.last_status = "RUNNING"
            continue
        limit = container.memory_limit or run.memory
        if limit and image.memory_mib > limit:
            container.moto.exitCode = 137
            container.moto.reason = OUT_OF_MEMORY
            container.moto.last_status = "STOPPED"
            if container.essential:
                _exit(run, OUT_OF_MEMORY if run.memory and image.memory_mib > run.memory else ESSENTIAL_EXITED)
                return
            continue
        try:
            app = image.start(dict(container.environment))
        except SystemExit as error:
            code = error.code if isinstance(error.code, int) else 1
            container.errors.append(f"SystemExit({error.code!r})")
            app, exit_code = None, code
        except Exception as error:  # noqa: BLE001  (the container's process crashed: exit code 1)
            container.errors.append("".join(traceback.format_exception(error)))
            app, exit_code = None, 1
        else:
            exit_code = 0
        if app is None:
            container.moto.exitCode = exit_code
            container.moto.last_status = "STOPPED"
            if container.essential:
                _exit(run, ESSENTIAL_EXITED)
                return
            continue
        container.app = app
        container.moto.last_status = "RUNNING"
        _serve(run, container)
    run.task.last_status = "RUNNING"
    run.task.started_at = stamp(now)
    run.started_at = now
    for fn in list(_ON_RUNNING):
        fn(run)


def _exit(run: TaskRun, reason: str) -> None:
    """An essential container exited: the task stops (AWS's stop code and reason)."""
    stop(run, code="EssentialContainerExited", reason=reason, why="exited")


def _host_port(run: TaskRun, host_port: int) -> int:
    if host_port:
        return host_port
    address = run.address or ""
    with _LOCK:
        port = _NEXT_PORT.get(address, DYNAMIC_PORTS.start)
        _NEXT_PORT[address] = port + 1
    return port


def _serve(run: TaskRun, container: ContainerRun) -> None:
    if not container.ports:
        return
    container.front = HttpFront(wsgi_handler(run, container), name=f"ecs-{run.arn.rsplit('/', 1)[-1][:8]}-"
                                f"{container.name}")
    bindings = []
    for container_port, host_port in container.ports:
        port = container_port if run.network_mode == "awsvpc" else _host_port(run, host_port)
        if run.address:
            names.bind(run.address, port, container.front.port)
            run.bound.append((run.address, port))
        bindings.append({"bindIP": "0.0.0.0", "containerPort": container_port, "hostPort": port, "protocol": "tcp"})
    if run.network_mode != "awsvpc":
        container.moto.network_bindings = bindings


def wsgi_handler(run: TaskRun, container: ContainerRun) -> Callable[[HttpRequest], HttpResponse]:
    """Serve one request with the container's app, counting the CPU time it takes."""
    from labkit.services.ec2 import cpu_time, wsgi_environ

    def handle(request: HttpRequest) -> HttpResponse:
        started: list[Any] = []
        chunks: list[bytes] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[..., Any]:
            if exc_info and started:
                raise exc_info[1].with_traceback(exc_info[2])
            started[:] = [status, headers]
            return chunks.append

        port = container.ports[0][0] if container.ports else 80
        environ = wsgi_environ(request, run.address or "localhost", port)
        cpu_before = cpu_time()
        try:
            result = container.app(environ, start_response)
            try:
                chunks.extend(result)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
        except Exception as error:  # noqa: BLE001  (the app's bug is a 500, as a real server answers)
            container.errors.append("".join(traceback.format_exception(error)))
            return HttpResponse.text(500, "500 Internal Server Error\n")
        finally:
            run.cpu_seconds += cpu_time() - cpu_before
        if not started:
            container.errors.append("the app returned without calling start_response")
            return HttpResponse.text(500, "500 Internal Server Error\n")
        status, headers = started
        return HttpResponse(int(str(status).split()[0]), list(headers), b"".join(chunks))

    return handle


def stop(run: TaskRun, *, code: str, reason: str, why: str, moto_stop: bool = True) -> None:
    """Stop a task now: servers stopped, addresses unbound, moto's record says why."""
    for entry in run.entries:
        clock.cancel(entry)
    run.entries.clear()
    _release(run)
    task = run.task
    if moto_stop and task.last_status != "STOPPED":
        from moto.ecs.models import ecs_backends

        from labkit.services.ecs import state

        backend = ecs_backends[state.account()][run.region]
        try:
            backend.stop_task(run.cluster, run.arn, reason)
        except Exception:  # noqa: BLE001  (the cluster is gone: the record is all that is left)
            pass
    now = moment()
    task.last_status = "STOPPED"
    task.desired_status = "STOPPED"
    task.stop_code = code
    task.stopped_reason = reason
    task.stopping_at = stamp(now)
    task.execution_stopped_at = stamp(now)
    task.stopped_at = stamp(now)
    for container in run.containers:
        if container.moto.last_status != "STOPPED":
            container.moto.last_status = "STOPPED"
            if container.moto.exitCode is None:
                container.moto.exitCode = 0 if code != "EssentialContainerExited" else 137
    for fn in list(_ON_STOPPED):
        fn(run, why)


def _release(run: TaskRun) -> None:
    for address, port in run.bound:
        names.unbind(address, port)
    run.bound.clear()
    for container in run.containers:
        if container.front is not None:
            container.front.stop()
            container.front = None


def after_user_stop(arn: str, reason: str | None) -> None:
    """After ``StopTask``: moto marked the record STOPPED; stop what runs."""
    run = run_of(arn)
    if run is None or getattr(run.task, "stop_code", None):
        return
    stop(run, code="UserInitiated", reason=reason or "", why="user", moto_stop=False)


def resolve(host: str) -> list[str] | None:
    """The name claim: a task's address is the sandbox's (reached or refused), never the network's."""
    if not host or not host[0].isdigit():
        return None
    with _LOCK:
        return [host] if host in _ADDRESSES else None


def reset() -> None:
    with _LOCK:
        for run in _RUNS.values():
            _release(run)
        _RUNS.clear()
        _ADDRESSES.clear()
        _NEXT_PORT.clear()


def _instance_id(run: TaskRun) -> str | None:
    """The EC2 instance a task runs on (EC2 launch type), or ``None``."""
    arn = getattr(run.task, "container_instance_arn", None)
    if not arn:
        return None
    from labkit.services.ecs import state

    container_instance = state.backend(run.region).container_instances.get(run.cluster, {}).get(arn.split("/")[-1])
    return getattr(container_instance, "ec2_instance_id", None)
