"""EC2: instances that serve a web app.

What AWS does
    An EC2 instance is a virtual machine; a web shop's instance runs a web
    server that answers on its private IP address (and on its public one, if
    it has one), and a load balancer sends it traffic as an ``instance`` target.

What moto does
    Instances, AMIs, VPCs, subnets and security groups are stored and
    described; an instance goes ``pending`` then ``running`` at the first
    describe; stop, start and terminate are instant. Nothing runs: user data is
    stored, never executed, and an instance's addresses answer nothing.

What this service adds (``lab.ec2``)
    - :func:`serve`: give an instance a WSGI app (a callable from the
      notebook, or a Flask/Django app). While the instance is ``running`` the
      app answers on its addresses (``requests.get(f"http://{private_ip}/")``);
      stopping or terminating the instance stops it, starting or rebooting it
      starts it again;
    - :func:`served`, :func:`stop_serving`, :func:`url`.

This is the first piece of the compute plane, kept small on purpose:
instance lifecycle on the sandbox clock, the instance metadata service and
Auto Scaling groups build on :class:`ServedApp` and the hooks in
:mod:`.apps` later. Every instance address belongs to the sandbox: a
connection to one whose app is not running is refused, never sent out.

Limits
    * The app runs in the notebook's own Python process, so an instance's CPU,
      memory and instance type do not shape its speed.
    * A stop keeps the app's Python state (on AWS memory is lost at a stop).
"""

from __future__ import annotations

from labkit.core import hooks, names
from labkit.services.ec2 import apps
from labkit.services.ec2.apps import ServedApp, serve, served, stop_serving, url, wsgi_environ
from labkit.services.ec2.seams import SEAMS

__all__ = [
    "SEAMS",
    "ServedApp",
    "install",
    "reset",
    "serve",
    "served",
    "stop_serving",
    "url",
    "wsgi_environ",
]

_OPERATIONS = ("StopInstances", "TerminateInstances", "StartInstances", "RebootInstances")


def install() -> None:
    """Follow instance state changes, and claim instance addresses (the
    registry calls this once, at first use). Idempotent."""
    for operation in _OPERATIONS:
        hooks.subscribe("after", "ec2", operation, apps.after_state_change)
    names.claim("ec2", apps.resolve_instance_address)


def reset() -> None:
    """Stop every app's server and forget every app (``lab.reset()``)."""
    apps.reset()
