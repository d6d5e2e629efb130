"""The instance lifecycle, on the sandbox clock, as AWS documents it.

"When you launch or start an instance, it enters the ``pending`` state and
then the ``running`` state. When you stop an instance, it enters the
``stopping`` state and then the ``stopped`` state. When you terminate an
instance, it enters the ``shutting-down`` state and then the ``terminated``
state." (Amazon EC2 User Guide, state change events.) The state codes are
AWS's: 0 pending, 16 running, 32 shutting-down, 48 terminated, 64 stopping,
80 stopped.

moto reports ``pending`` once, in the ``RunInstances`` answer, and keeps
every instance ``running`` from its first describe; a stop or a termination
is instant. Here moto's ``Instance`` methods are wrapped (:data:`SEAMS`) so
that every instance, whoever launches it (a ``run_instances`` call or an Auto
Scaling group), goes through the documented states, each transition scheduled
with :meth:`labkit.core.clock.Clock.call_at`:

============  ==========================================  =====================
launch/start  ``pending`` for :data:`BOOT_SECONDS`          then ``running``: the app starts
stop          ``stopping`` for :data:`STOP_SECONDS`         the app stops at once; then ``stopped``
terminate     ``shutting-down`` for :data:`SHUTDOWN_SECONDS` the app stops at once; then ``terminated``
reboot        stays ``running``                             the app restarts
============  ==========================================  =====================

AWS does not document how long each transitional state lasts (a boot takes
seconds to minutes); the three durations are labkit's.

**Waiters.** boto3's ``instance_running`` waiter polls every 15 real
seconds. A waiter's call (botocore marks it in the User-Agent) that asks
about instances in a transitional state lets the sandbox clock run to the end
of their transitions first, as if the waiter had waited: its first poll
answers, and a lab never sleeps. Any other call sees the state of the moment.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from labkit.core.clock import clock
from labkit.services.ec2 import apps, imds

#: Seconds (sandbox time) an instance stays in each transitional state.
BOOT_SECONDS = 10.0
STOP_SECONDS = 5.0
SHUTDOWN_SECONDS = 5.0

CODES = {"pending": 0, "running": 16, "shutting-down": 32, "terminated": 48, "stopping": 64, "stopped": 80}
TRANSITIONAL = ("pending", "stopping", "shutting-down")


@dataclass
class Transition:
    instance: Any
    target: str
    when: float
    entry: Any = None


_LOCK = threading.RLock()
_DUE: dict[str, Transition] = {}


def set_state(instance: Any, name: str) -> None:
    """Set a moto instance's state name and code."""
    instance._state.name = name
    instance._state.code = CODES[name]


def _schedule(instance: Any, target: str, seconds: float) -> None:
    with _LOCK:
        old = _DUE.pop(instance.id, None)
        if old is not None and old.entry is not None:
            clock.cancel(old.entry)
        transition = Transition(instance, target, clock.peek() + seconds)
        _DUE[instance.id] = transition
    transition.entry = clock.call_at(transition.when, lambda: _arrive(transition))


def _arrive(transition: Transition) -> None:
    with _LOCK:
        if _DUE.get(transition.instance.id) is not transition:
            return
        del _DUE[transition.instance.id]
    set_state(transition.instance, transition.target)
    if transition.target == "running":
        apps.on_running(transition.instance)


def due(instance_id: str) -> tuple[str, float] | None:
    """The state an instance is on its way to and when it gets there, or ``None``."""
    transition = _DUE.get(instance_id)
    return None if transition is None else (transition.target, transition.when)


def launched(instance: Any) -> None:
    """A new instance: ``pending``, then ``running``."""
    set_state(instance, "pending")
    _schedule(instance, "running", BOOT_SECONDS)


# --------------------------------------------------------------------------
# The seams: moto's Instance methods, wrapped
# --------------------------------------------------------------------------


def run_instances(original: Any, self: Any, image_id: str, count: int, user_data: Any,
                  security_group_names: list[str], **kwargs: Any) -> Any:
    """Every instance starts ``pending``; a launch template's monitoring,
    instance profile and metadata options reach its instances (moto drops them)."""
    reservation = original(self, image_id, count, user_data, security_group_names, **kwargs)
    data: dict[str, Any] = {}
    if kwargs.get("launch_template"):
        try:
            data = self._get_template_from_args(kwargs["launch_template"]).data or {}
        except Exception:  # noqa: BLE001  (moto already accepted the template)
            data = {}
    for instance in reservation.instances:
        apply_template(instance, data)
        launched(instance)
    return reservation


def apply_template(instance: Any, data: dict[str, Any]) -> None:
    """What moto leaves out when an instance comes from a launch template."""
    if not data:
        return
    monitoring = data.get("Monitoring") or {}
    if str(monitoring.get("Enabled", "")).lower() == "true" and instance.monitoring_state == "disabled":
        instance.monitoring_state = "enabled"
    profile = data.get("IamInstanceProfile") or {}
    if profile and not instance.iam_instance_profile:
        from labkit.core import aws

        arn = profile.get("Arn") or aws.make_arn("iam", f"instance-profile/{profile.get('Name')}", region="",
                                                 account=instance.owner_id)
        instance.iam_instance_profile = {"Arn": arn}
    options = data.get("MetadataOptions")
    if options:
        from moto.ec2.models.instances import MetadataOptions

        instance.metadata_options = MetadataOptions(options)


def start(original: Any, self: Any) -> Any:
    """A stopped instance goes ``pending``, then ``running``."""
    previous = original(self)
    if previous.name == "stopped":
        launched(self)
    else:
        set_state(self, previous.name)  # starting a running (or moving) instance changes nothing
    return previous


def stop(original: Any, self: Any) -> Any:
    """A running instance goes ``stopping`` (its app stops), then ``stopped``."""
    previous = original(self)
    if previous.name in ("running", "pending"):
        set_state(self, "stopping")
        apps.on_halt(self.id, forget=False)
        _schedule(self, "stopped", STOP_SECONDS)
    else:
        set_state(self, previous.name)
    return previous


def terminate(original: Any, self: Any) -> Any:
    """An instance goes ``shutting-down`` (its app stops for good), then ``terminated``."""
    previous = original(self)
    if previous.name in ("shutting-down", "terminated"):
        set_state(self, previous.name)
        return previous
    set_state(self, "shutting-down")
    apps.on_halt(self.id, forget=True)
    imds.forget(self.id)
    _schedule(self, "terminated", SHUTDOWN_SECONDS)
    return previous


def reboot(original: Any, self: Any) -> None:
    """A running instance stays ``running``; its app restarts."""
    was = self._state.name
    original(self)
    if was != "running":
        set_state(self, was)
    else:
        apps.on_reboot(self)


# --------------------------------------------------------------------------
# Hooks: every EC2 call sees due transitions; a waiter's call lets time pass
# --------------------------------------------------------------------------


def is_waiter_call(user_agent: str) -> bool:
    """botocore marks a waiter's calls with the feature id ``B`` in ``m/...``."""
    return any(token.startswith("m/") and "B" in token[2:].split(",") for token in (user_agent or "").split())


def before_ec2_call(call: Any) -> None:
    """Run due transitions; for a waiter asking about instances in
    transition, first let the sandbox clock reach the end of them."""
    if call.operation in ("DescribeInstances", "DescribeInstanceStatus") and is_waiter_call(call.user_agent):
        wanted = set(call.params.get("InstanceIds") or [])
        with _LOCK:
            ends = [t.when for iid, t in _DUE.items() if not wanted or iid in wanted]
        if ends:
            gap = max(ends) - clock.peek()
            if gap > 0:
                clock.advance(gap)
    clock.now()


def reset() -> None:
    with _LOCK:
        for transition in _DUE.values():
            if transition.entry is not None:
                clock.cancel(transition.entry)
        _DUE.clear()
