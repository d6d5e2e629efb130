"""Groups that keep their desired capacity: launches, health checks, replacement.

moto launches and terminates a group's instances inside the API call that
changes its desired capacity, replaces a terminated instance inside the
``TerminateInstances`` call, never checks health and records no activity.
Here those two moto methods are replaced (:mod:`.seams`): moto keeps the
numbers (desired, min, max, the instance list), and the group's work is done
by :func:`reconcile`, at each change and every :data:`CHECK_SECONDS` of the
sandbox clock, as AWS's service does it in the background:

1. **Lifecycle.** A launched instance is ``Pending`` while its EC2 state is
   ``pending``; when it is ``running`` it is registered with the group's
   target groups (``register_targets``, through labkit's own client, so the
   load balancer starts its health checks) and becomes ``InService``.
2. **Health.** An instance is ``Unhealthy`` when its EC2 state is not
   ``pending``/``running`` (the EC2 health check, always on); when
   ``SetInstanceHealth`` said so; and, only if ``HealthCheckType`` is
   ``ELB``, when a target group reports it ``unhealthy`` once the grace
   period (``HealthCheckGracePeriod``, counted from ``InService``) is over.
   An unhealthy instance is deregistered, terminated and replaced, each step
   an activity with AWS's wording.
3. **Capacity.** Fewer instances than desired: launch the difference (a
   launch template that names an AMI or type that does not exist is a
   ``Failed`` activity, retried a minute later). More: terminate the
   surplus, oldest first, never one protected from scale-in.

The check interval is labkit's (AWS does not document one).
"""

from __future__ import annotations

from typing import Any

from labkit.core import aws
from labkit.core.clock import clock
from labkit.services.autoscaling import state

#: How often (sandbox seconds) every group is checked.
CHECK_SECONDS = 10.0
RETRY_FAILED_LAUNCH = 60.0

_NEXT: dict[str, Any] = {"due": None}


# --------------------------------------------------------------------------
# Talking to EC2 and the load balancers
# --------------------------------------------------------------------------


def _register(grp: Any, instance_id: str, *, register: bool) -> None:
    if not grp.target_group_arns:
        return
    from botocore.exceptions import ClientError

    elbv2 = aws.internal_client("elbv2", grp.region)
    for arn in list(grp.target_group_arns):
        try:
            if register:
                elbv2.register_targets(TargetGroupArn=arn, Targets=[{"Id": instance_id}])
            else:
                elbv2.deregister_targets(TargetGroupArn=arn, Targets=[{"Id": instance_id}])
        except ClientError:
            continue  # a target group deleted before its group: nothing to (de)register


def _elb_unhealthy(grp: Any, instance_ids: list[str]) -> set[str]:
    """Instances that a target group of the group reports ``unhealthy``."""
    if not grp.target_group_arns or not instance_ids:
        return set()
    from botocore.exceptions import ClientError

    elbv2 = aws.internal_client("elbv2", grp.region)
    found: set[str] = set()
    for arn in list(grp.target_group_arns):
        try:
            answer = elbv2.describe_target_health(TargetGroupArn=arn)
        except ClientError:
            continue
        for entry in answer.get("TargetHealthDescriptions", []):
            if entry["Target"]["Id"] in instance_ids and entry["TargetHealth"]["State"] == "unhealthy":
                found.add(entry["Target"]["Id"])
    return found


def _terminate_instance(grp: Any, instance_id: str) -> None:
    instance = grp.ec2_backend.get_instance_by_id(instance_id)
    if instance is not None and instance.state not in ("shutting-down", "terminated"):
        grp.ec2_backend.terminate_instances([instance_id])


# --------------------------------------------------------------------------
# One group
# --------------------------------------------------------------------------


def take_cause(grp: Any) -> str:
    """The reason the desired capacity last changed (said once, before the
    first activity that follows from it)."""
    with state.LOCK:
        notes = state.notes(grp.name)
        cause, notes.cause = notes.cause, ""
    return cause


def note_desired_change(grp: Any, why: str, old: int, new: int) -> None:
    """Remember why the desired capacity changes (``why``: 'a user request
    explicitly set group desired capacity'), for the activities that follow."""
    if old == new:
        return
    with state.LOCK:
        state.notes(grp.name).cause = (f"At {state.stamp()} {why} changing the desired capacity from {old} "
                                       f"to {new}.  ")


def _replace_unhealthy(grp: Any) -> None:
    now = clock.peek()
    grace = float(grp.health_check_grace_period or 0)
    elb = "ELB" in str(grp.health_check_type or "EC2").upper().split(",")
    in_service = [s for s in grp.instance_states if s.lifecycle_state == "InService"]
    elb_checked = [s.instance.id for s in in_service if now >= state.IN_SERVICE_AT.get(s.instance.id, now) + grace]
    elb_sick = _elb_unhealthy(grp, elb_checked) if elb else set()
    for instance_state in list(grp.instance_states):
        iid = instance_state.instance.id
        ec2_state = instance_state.instance.state
        if ec2_state not in ("pending", "running"):
            why = "an EC2 health check indicating it has been terminated or stopped"
        elif instance_state.health_status == "Unhealthy":
            why = "a user health-check"
        elif iid in elb_sick:
            why = "an ELB system health check failure"
        else:
            continue
        instance_state.health_status = "Unhealthy"
        state.record(grp, f"Terminating EC2 instance: {iid}",
                     f"At {state.stamp()} an instance was taken out of service in response to {why}.")
        grp.instance_states.remove(instance_state)
        _register(grp, iid, register=False)
        _terminate_instance(grp, iid)
        state.IN_SERVICE_AT.pop(iid, None)


def _bring_into_service(grp: Any) -> None:
    for instance_state in grp.instance_states:
        if instance_state.lifecycle_state == "Pending" and instance_state.instance.state == "running":
            _register(grp, instance_state.instance.id, register=True)
            instance_state.lifecycle_state = "InService"
            state.IN_SERVICE_AT[instance_state.instance.id] = clock.peek()


def _launch(grp: Any, count: int) -> None:
    from labkit.services import ec2

    notes = state.notes(grp.name)
    before = len(grp.instance_states)
    problem = ec2.launch_problem(grp.region, grp.image_id, grp.instance_type)
    if problem is not None:
        if clock.peek() < notes.last_failed_launch + RETRY_FAILED_LAUNCH:
            return
        notes.last_failed_launch = clock.peek()
        state.record(grp, f"Launching a new EC2 instance.  Status Reason: {problem[1]}. Launching EC2 instance failed.",
                     f"{take_cause(grp)}At {state.stamp()} an instance was started in response to a difference "
                     f"between desired and actual capacity, increasing the capacity from {before} to {before + count}.",
                     status="Failed", message=f"{problem[1]}. Launching EC2 instance failed.")
        return
    known = {s.instance.id for s in grp.instance_states}
    grp.replace_autoscaling_group_instances(count, grp.get_propagated_tags())
    cause = take_cause(grp)
    for instance_state in grp.instance_states:
        if instance_state.instance.id in known:
            continue
        instance_state.lifecycle_state = "Pending"
        details = {"Subnet ID": instance_state.instance.subnet_id or "", "Availability Zone": instance_state.availability_zone}
        state.record(grp, f"Launching a new EC2 instance: {instance_state.instance.id}",
                     f"{cause}At {state.stamp()} an instance was started in response to a difference between desired "
                     f"and actual capacity, increasing the capacity from {before} to {before + count}.", details=details)


def _shrink(grp: Any, count: int) -> None:
    before = len(grp.instance_states)
    candidates = [s for s in grp.instance_states if not s.protected_from_scale_in]
    candidates.sort(key=lambda s: s.instance.launch_time)
    cause = take_cause(grp)
    for instance_state in candidates[:count]:
        iid = instance_state.instance.id
        state.record(grp, f"Terminating EC2 instance: {iid}",
                     f"{cause}At {state.stamp()} an instance was taken out of service in response to a difference "
                     f"between desired and actual capacity, shrinking the capacity from {before} to {before - count}.")
        grp.instance_states.remove(instance_state)
        _register(grp, iid, register=False)
        _terminate_instance(grp, iid)
        state.IN_SERVICE_AT.pop(iid, None)


def reconcile(grp: Any) -> None:
    """One check of one group: lifecycle, health, capacity."""
    with state.LOCK:
        _bring_into_service(grp)
        _replace_unhealthy(grp)
        desired = int(grp.desired_capacity or 0)
        active = [s for s in grp.instance_states if s.lifecycle_state in ("Pending", "InService")]
        if len(active) < desired:
            _launch(grp, desired - len(active))
        elif len(active) > desired:
            _shrink(grp, len(active) - desired)


def reconcile_all() -> None:
    for backend in state.backends():
        for grp in list(backend.autoscaling_groups.values()):
            reconcile(grp)


# --------------------------------------------------------------------------
# The clock
# --------------------------------------------------------------------------


def _tick(moment: float) -> None:
    _NEXT["due"] = moment + CHECK_SECONDS
    clock.call_at(moment + CHECK_SECONDS, lambda: _tick(moment + CHECK_SECONDS))
    reconcile_all()


def ensure() -> None:
    """Make sure the next check is scheduled."""
    with state.LOCK:
        due, now = _NEXT["due"], clock.peek()
        if due is not None and due > now:
            return
        first = now + CHECK_SECONDS
        _NEXT["due"] = first
    clock.call_at(first, lambda: _tick(first))


def reset() -> None:
    _NEXT["due"] = None
