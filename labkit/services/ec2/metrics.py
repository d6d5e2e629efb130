"""``AWS/EC2`` metrics from the work the instances' apps really do.

AWS publishes, for each running instance, ``CPUUtilization`` (percent),
``NetworkIn`` and ``NetworkOut`` (bytes) with the dimension ``InstanceId``
(and, for an instance in an Auto Scaling group, the same data under
``AutoScalingGroupName``, which CloudWatch aggregates over the group). With
basic monitoring a data point covers five minutes; with detailed monitoring
(``Monitoring={"Enabled": True}``) one minute. Memory is *not* among them:
the hypervisor cannot see inside the guest, and memory needs the CloudWatch
agent (``CWAgent`` namespace). labkit does not invent it.

The sandbox derives the figures so:

- **CPUUtilization** is measured, then scaled by a stated model. The CPU time
  the app spent answering requests (:func:`.apps.cpu_time` around each one)
  is divided by the period, by the instance type's vCPUs, and by
  :data:`VCPU_SPEED`: *a sandbox vCPU does one hundredth of the work of one
  core of the machine the notebook runs on*. Without that factor a lab would
  need tens of real seconds of computation per minute to show a busy
  instance; with it, a few hundred requests that each take a few
  milliseconds do. The shape (more requests, more CPU; more instances, less
  each) is the lesson, not the absolute figure. Capped at 100.
- **NetworkIn/NetworkOut**: the bytes of the requests and responses (request
  line or status line, headers, body) over the period.

Data points are written at the end of each period of the sandbox clock, just
before CloudWatch's own minute (so alarms evaluate them in the same minute),
for every instance that is ``running``.
"""

from __future__ import annotations

import threading
from datetime import datetime, timezone
from typing import Any

from labkit.core.clock import EveryPeriod
from labkit.services.ec2 import apps

NAMESPACE = "AWS/EC2"
#: The work one sandbox vCPU does, as a share of one core of this machine.
DEFAULT_VCPU_SPEED = 0.01
VCPU_SPEED = DEFAULT_VCPU_SPEED
DETAILED = 60
BASIC = 300
ASG_TAG = "aws:autoscaling:groupName"
_EARLY = 0.5  # seconds before the period ends: ahead of CloudWatch's minute

_LOCK = threading.Lock()
_SEEN: dict[str, tuple[float, int, int]] = {}  # instance id -> (cpu seconds, bytes in, bytes out) published so far


def vcpus(instance_type: str) -> int:
    """The default vCPUs of an instance type (moto's instance type data); 1 if unknown."""
    from moto.ec2.models.instance_types import INSTANCE_TYPES

    info = INSTANCE_TYPES.get(instance_type) or {}
    return int((info.get("VCpuInfo") or {}).get("DefaultVCpus") or 1)


def set_vcpu_speed(share: float) -> None:
    """Change the model: the share of one of this machine's cores a sandbox vCPU is worth."""
    global VCPU_SPEED
    if share <= 0:
        raise ValueError("a vCPU's speed is a positive share of one core (0.01: a hundredth)")
    VCPU_SPEED = float(share)


def _group_of(instance: Any) -> str | None:
    for tag in instance.get_tags() if hasattr(instance, "get_tags") else []:
        if tag.get("key") == ASG_TAG or tag.get("Key") == ASG_TAG:
            return tag.get("value") or tag.get("Value")
    return None


def publish(period_end: float) -> None:
    """Write the data points of every running instance whose period ends at ``period_end``."""
    from moto.cloudwatch.models import cloudwatch_backends

    by_region: dict[str, list[dict[str, Any]]] = {}
    for instance in apps.all_instances():
        if instance.state != "running":
            continue
        period = DETAILED if instance.monitoring_state == "enabled" else BASIC
        if int(round(period_end)) % period:
            continue
        served_app = apps.served(instance.id)
        used = (served_app.cpu_seconds, served_app.bytes_in, served_app.bytes_out) if served_app else (0.0, 0, 0)
        with _LOCK:
            seen = _SEEN.get(instance.id, (0.0, 0, 0))
            _SEEN[instance.id] = used
        cpu = 100.0 * max(used[0] - seen[0], 0.0) / (period * vcpus(instance.instance_type) * VCPU_SPEED)
        values = {"CPUUtilization": (min(cpu, 100.0), "Percent"), "NetworkIn": (max(used[1] - seen[1], 0), "Bytes"),
                  "NetworkOut": (max(used[2] - seen[2], 0), "Bytes")}
        stamp = datetime.fromtimestamp(period_end - period, timezone.utc).replace(tzinfo=None)
        dimension_sets = [[{"Name": "InstanceId", "Value": instance.id}]]
        group = _group_of(instance)
        if group:
            dimension_sets.append([{"Name": "AutoScalingGroupName", "Value": group}])
        entries = by_region.setdefault(instance.region_name, [])
        for name, (value, unit) in values.items():
            for dims in dimension_sets:
                entries.append({"MetricName": name, "Value": round(float(value), 4), "Unit": unit,
                                "Dimensions": dims, "Timestamp": stamp})
    for region, entries in by_region.items():
        backend = cloudwatch_backends[apps._account()][region]
        for start in range(0, len(entries), 500):
            backend.put_metric_data(NAMESPACE, entries[start:start + 500])


#: Every instance's data points, published just before each sandbox minute ends.
_MINUTES = EveryPeriod(lambda end: publish(end), period=DETAILED, early=_EARLY)


def ensure() -> None:
    """Make sure the next minute's data points are scheduled (idempotent)."""
    _MINUTES.ensure()


def reset() -> None:
    global VCPU_SPEED
    VCPU_SPEED = DEFAULT_VCPU_SPEED
    with _LOCK:
        _SEEN.clear()
    _MINUTES.reset()


def calibrate(app: Any, *, requests_per_minute: float, utilization: float, instances: int = 1, vcpus_each: int = 2,
              samples: int = 20) -> float:
    """Set :data:`VCPU_SPEED` so that ``requests_per_minute`` requests to ``app``,
    spread over ``instances`` instances of ``vcpus_each`` vCPUs, make about
    ``utilization`` percent CPU: the same lab then behaves the same on a fast
    laptop and on a slow shared machine. Measures the app's CPU time per
    request (``samples`` calls in this thread). Returns the speed set."""
    import io

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        return lambda data: None

    spent = 0.0
    for _ in range(samples):
        environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/", "QUERY_STRING": "", "SERVER_NAME": "calibration",
                   "SERVER_PORT": "80", "wsgi.input": io.BytesIO(b""), "wsgi.url_scheme": "http"}
        started = apps.cpu_time()
        for _chunk in app(environ, start_response):
            pass
        spent += apps.cpu_time() - started
    per_request = max(spent / samples, 1e-6)
    busy = per_request * requests_per_minute / instances  # CPU seconds per instance per minute
    set_vcpu_speed(100.0 * busy / (utilization * 60.0 * vcpus_each))
    return VCPU_SPEED
