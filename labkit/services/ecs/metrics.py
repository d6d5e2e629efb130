"""``AWS/ECS`` metrics: CPUUtilization and MemoryUtilization per service.

AWS publishes both with the dimensions ``ClusterName`` and ``ServiceName``:
the CPU and memory the service's tasks use, as a percentage of what their
task definitions reserve. The sandbox derives them so:

- **CPUUtilization** is measured: the CPU time the tasks' apps spent serving
  requests (EC2's ``cpu_time``, the thread's CPU time, around each request), divided by the
  sandbox seconds since the last data point times the tasks' vCPUs
  (``cpu`` / 1024).
- **MemoryUtilization** is modelled: each image says how much memory its
  process uses (``register_image(..., memory_mib=...)``; the stand-ins
  declare a few tens of MiB), divided by the tasks' memory. No process
  memory is measured; the chapter says so.

Data points are written into moto's CloudWatch when CloudWatch is read (a hook
on its read calls) or with :func:`flush`, one point per service per flush.
"""

from __future__ import annotations

import threading
from datetime import datetime, timezone
from typing import Any

from labkit.core.clock import clock
from labkit.services.ecs import images, services, state

NAMESPACE = "AWS/ECS"

_LOCK = threading.Lock()
_LAST: dict[tuple[str, str, str], tuple[float, float]] = {}  # service key -> (sandbox time, cpu seconds seen)


def _memory_in_use(run: Any) -> float:
    used = 0.0
    for container in run.containers:
        image = images.lookup(container.image)
        if image is not None and container.app is not None:
            used += image.memory_mib
    return used


def flush(*_: Any) -> None:
    """One CPUUtilization and MemoryUtilization point per service with running tasks."""
    from moto.cloudwatch.models import cloudwatch_backends

    now = clock.peek()
    stamp = datetime.fromtimestamp(now, timezone.utc).replace(tzinfo=None)
    for svc in services.services():
        running = [t for t in svc.tasks if t.status == "RUNNING"]
        cpu_total = sum(t.cpu_seconds for t in svc.tasks)
        with _LOCK:
            since, seen = _LAST.get(svc.key, (None, 0.0))
            _LAST[svc.key] = (now, cpu_total)
        if not running:
            continue
        vcpus = sum((t.cpu or 1024) / 1024 for t in running)
        elapsed = max(now - since, 1.0) if since is not None else 60.0
        cpu = min(100.0 * (cpu_total - seen) / (elapsed * vcpus), 100.0 * len(running))
        reserved = sum(t.memory for t in running) or 1
        memory = 100.0 * sum(_memory_in_use(t) for t in running) / reserved
        dimensions = [{"Name": "ClusterName", "Value": svc.cluster}, {"Name": "ServiceName", "Value": svc.name}]
        data = [{"MetricName": "CPUUtilization", "Value": round(cpu, 3), "Unit": "Percent", "Dimensions": dimensions,
                 "Timestamp": stamp},
                {"MetricName": "MemoryUtilization", "Value": round(memory, 3), "Unit": "Percent",
                 "Dimensions": dimensions, "Timestamp": stamp}]
        cloudwatch_backends[state.account()][svc.region].put_metric_data(NAMESPACE, data)


def reset() -> None:
    with _LOCK:
        _LAST.clear()
