"""EC2: instances that boot, serve a web app, answer their metadata, and report their work.

What AWS does
    An EC2 instance is a virtual machine. It goes ``pending`` -> ``running``
    when launched or started, ``stopping`` -> ``stopped`` when stopped,
    ``shutting-down`` -> ``terminated`` when terminated. Its user data runs at
    boot (a web shop's starts a web server), code on it reads the instance
    metadata service at 169.254.169.254 (IMDSv2: a token first), and EC2
    publishes ``AWS/EC2`` metrics (CPU, network; not memory).

What moto does
    Instances, AMIs, launch templates, VPCs, subnets, security groups and key
    pairs are stored and described; an instance is ``running`` from its first
    describe, stop and terminate are instant. Nothing runs: user data is
    stored, never executed, an instance's addresses answer nothing, there is
    no metadata service and no metric. Unknown AMIs and instance types are
    accepted; ``DescribeKeyPairs`` leaves out ``KeyType``; a launch template's
    monitoring and instance profile do not reach its instances.

What this service adds (``lab.ec2``)
    - the lifecycle on the sandbox clock, with AWS's states and codes
      (:mod:`.lifecycle`); a waiter lets sandbox time pass instead of sleeping;
    - apps (:mod:`.apps`): :func:`register_app` plus user data
      ``#!labkit-app <name>`` (every instance a launch template or an Auto
      Scaling group launches serves it), or :func:`serve` for one instance.
      While the instance is ``running`` the app answers on its addresses
      (``requests.get(f"http://{private_ip}/")``); :func:`served`,
      :func:`stop_serving`, :func:`url`, :func:`boot_log`;
    - the instance metadata service, IMDSv2, for the app on each instance
      (:mod:`.imds`): id, AZ, addresses, and the instance profile's role
      credentials; :func:`metadata` answers one request in-process;
    - ``AWS/EC2`` ``CPUUtilization``, ``NetworkIn``, ``NetworkOut`` from the
      apps' real work, per instance and per Auto Scaling group (:mod:`.metrics`);
    - AWS's errors for an unknown AMI or instance type, ``KeyType`` in
      ``DescribeKeyPairs`` (:mod:`.answers`).

Limits (each said in the chapter where a reader could notice)
    * The app runs in the notebook's own Python process: an instance's CPU,
      memory and instance type do not shape its speed; CPUUtilization comes
      from a stated model (:data:`.metrics.VCPU_SPEED`).
    * A stop keeps the app's Python state (on AWS memory is lost at a stop).
    * Security groups are stored, not enforced: every connection comes from
      127.0.0.1 in one process, so the sandbox cannot tell a request from the
      load balancer from one from the internet.
    * EBS volumes are stored only; no Session Manager, no SSH.
"""

from __future__ import annotations

from typing import Any

from labkit.core import hooks, names
from labkit.core.httpfront import HttpRequest, HttpResponse
from labkit.services.ec2 import answers, apps, imds, lifecycle, metrics
from labkit.services.ec2.answers import launch_problem
from labkit.services.ec2.apps import (
    RegisteredApp,
    ServedApp,
    boot_log,
    cpu_time,
    current_instance,
    register_app,
    registered_apps,
    serve,
    served,
    stop_serving,
    url,
    wsgi_environ,
)
from labkit.services.ec2.lifecycle import BOOT_SECONDS, SHUTDOWN_SECONDS, STOP_SECONDS
from labkit.services.ec2.metrics import calibrate, set_vcpu_speed
from labkit.services.ec2.seams import SEAMS

__all__ = [
    "BOOT_SECONDS",
    "SEAMS",
    "SHUTDOWN_SECONDS",
    "STOP_SECONDS",
    "RegisteredApp",
    "ServedApp",
    "boot_log",
    "calibrate",
    "cpu_time",
    "current_instance",
    "flush_metrics",
    "install",
    "launch_problem",
    "metadata",
    "register_app",
    "registered_apps",
    "reset",
    "serve",
    "served",
    "set_vcpu_speed",
    "stop_serving",
    "url",
    "wsgi_environ",
]


def metadata(instance_id: str, path: str, *, method: str = "GET", headers: dict[str, str] | None = None) -> HttpResponse:
    """One instance metadata request for ``instance_id``, answered in-process
    (what the app on that instance gets from http://169.254.169.254)."""
    return imds.handle(instance_id, HttpRequest(method, path, headers=list((headers or {}).items())))


def flush_metrics(period_end: float | None = None) -> None:
    """Write the ``AWS/EC2`` data points of the period that ends at ``period_end``
    (default: the last whole minute) now."""
    from labkit.core.clock import clock

    end = period_end if period_end is not None else (int(clock.peek()) // metrics.DETAILED) * metrics.DETAILED
    metrics.publish(end)


def _on_ec2_call(call: Any) -> None:
    metrics.ensure()
    lifecycle.before_ec2_call(call)


def install() -> None:
    """Follow EC2 calls (lifecycle, AWS's errors, key types), claim instance
    addresses and 169.254.169.254 (the registry calls this once, at first use). Idempotent."""
    hooks.subscribe("before", "ec2", "*", _on_ec2_call)
    hooks.subscribe("before", "ec2", "RunInstances", answers.before_run_instances)
    hooks.subscribe("before", "ec2", "StartInstances", answers.before_state_change)
    hooks.subscribe("before", "ec2", "DeleteLaunchTemplate", answers.before_delete_launch_template)
    hooks.subscribe("before", "ec2", "StopInstances", answers.before_state_change)
    hooks.subscribe("after", "ec2", "DescribeKeyPairs", answers.after_describe_key_pairs)
    names.claim("ec2", apps.resolve_instance_address)
    names.claim("ec2-metadata", _metadata_resolver)
    metrics.ensure()


def _metadata_resolver(host: str) -> list[str] | None:
    return imds.resolve(host)


def reset() -> None:
    """Stop every app's and metadata server, forget apps, transitions and metric counters (``lab.reset()``)."""
    lifecycle.reset()
    imds.reset()
    apps.reset()
    metrics.reset()


_ = (RegisteredApp, ServedApp, boot_log, cpu_time, current_instance, register_app, registered_apps, serve, served,
     stop_serving, url, wsgi_environ, launch_problem, set_vcpu_speed, calibrate, BOOT_SECONDS, STOP_SECONDS,
     SHUTDOWN_SECONDS, HttpResponse)
