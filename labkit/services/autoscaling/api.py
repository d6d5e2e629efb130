"""AWS's answers to the Auto Scaling API, where moto's differ.

- A desired capacity outside the minimum and maximum is AWS's
  ``ValidationError`` (moto accepts it and launches past the maximum).
- ``HealthCheckGracePeriod`` left out is 0, as AWS documents for the API and
  SDKs (the console proposes 300; moto uses 300).
- ``DescribeScalingActivities`` answers from the group's activities (moto
  always answers an empty list), newest first, with ``MaxRecords`` and
  ``NextToken``.
- ``DeleteAutoScalingGroup`` of a group that still has instances, without
  ``ForceDelete``, is AWS's ``ResourceInUse``; with it, the instances are
  terminated (moto forgets them running).
- ``PutScalingPolicy`` answers the policy's ARN (moto leaves it out).
- Each change of desired capacity is remembered with its cause, so that the
  activities that follow say why, in AWS's words.
"""

from __future__ import annotations

from typing import Any

from labkit.core import hooks
from labkit.services.autoscaling import groups, policies, state


def _error(message: str, code: str = "ValidationError") -> tuple[int, dict[str, Any]]:
    return hooks.error_answer(code, message)


def _bounds(min_size: int, max_size: int, desired: int | None) -> tuple[int, dict[str, Any]] | None:
    if min_size > max_size:
        return _error(f"Max bound, {max_size}, must be greater than or equal to min bound, {min_size}")
    if desired is not None and not min_size <= desired <= max_size:
        return _error(f"Desired capacity:{desired} must be between the specified min size:{min_size} and max size:{max_size}")
    return None


def before_create(call: hooks.Call) -> tuple[int, dict[str, Any]] | None:
    params = call.params
    desired = params.get("DesiredCapacity")
    return _bounds(int(params["MinSize"]), int(params["MaxSize"]), None if desired is None else int(desired))


def after_create(call: hooks.Call, parsed: dict[str, Any], status: int) -> None:
    if status >= 300:
        return
    grp = state.group(call.params["AutoScalingGroupName"], call.region)
    if grp is None:
        return
    grp.health_check_grace_period = int(call.params.get("HealthCheckGracePeriod", 0))
    groups.note_desired_change(grp, "a user request created an AutoScalingGroup", 0, int(grp.desired_capacity or 0))
    groups.reconcile(grp)
    groups.ensure()


def before_update(call: hooks.Call) -> tuple[int, dict[str, Any]] | None:
    grp = state.group(call.params.get("AutoScalingGroupName", ""), call.region)
    if grp is None:
        return None
    params = call.params
    min_size = int(params.get("MinSize", grp.min_size))
    max_size = int(params.get("MaxSize", grp.max_size))
    desired = params.get("DesiredCapacity")
    call.state["desired"] = int(grp.desired_capacity or 0)
    return _bounds(min_size, max_size, None if desired is None else int(desired))


def after_update(call: hooks.Call, parsed: dict[str, Any], status: int) -> None:
    grp = state.group(call.params.get("AutoScalingGroupName", ""), call.region)
    if status >= 300 or grp is None:
        return
    why = (f"a user request update of AutoScalingGroup constraints to min: {grp.min_size}, max: {grp.max_size}, "
           f"desired: {grp.desired_capacity}")
    groups.note_desired_change(grp, why, call.state.get("desired", 0), int(grp.desired_capacity or 0))
    groups.reconcile(grp)


def before_set_desired(call: hooks.Call) -> tuple[int, dict[str, Any]] | None:
    grp = state.group(call.params["AutoScalingGroupName"], call.region)
    if grp is None:
        return None
    desired = int(call.params["DesiredCapacity"])
    if desired > int(grp.max_size):
        return _error(f"New SetDesiredCapacity value {desired} is above max value {grp.max_size} for the AutoScalingGroup.")
    if desired < int(grp.min_size):
        return _error(f"New SetDesiredCapacity value {desired} is below min value {grp.min_size} for the AutoScalingGroup.")
    call.state["desired"] = int(grp.desired_capacity or 0)
    return None


def after_set_desired(call: hooks.Call, parsed: dict[str, Any], status: int) -> None:
    grp = state.group(call.params["AutoScalingGroupName"], call.region)
    if status >= 300 or grp is None:
        return
    groups.note_desired_change(grp, "a user request explicitly set group desired capacity", call.state.get("desired", 0),
                               int(grp.desired_capacity or 0))
    groups.reconcile(grp)


def after_terminate_in_group(call: hooks.Call, parsed: dict[str, Any], status: int) -> None:
    """TerminateInstanceInAutoScalingGroup: AWS's activity; a replacement unless the capacity shrinks."""
    if status >= 300:
        return
    activity = parsed.get("Activity") or {}
    name = activity.get("AutoScalingGroupName")
    grp = state.group(name, call.region) if name else None
    if grp is None:
        return
    instance_id = call.params["InstanceId"]
    shrink = call.params.get("ShouldDecrementDesiredCapacity")
    after = int(grp.desired_capacity or 0)
    cause = f"At {state.stamp()} instance {instance_id} was taken out of service in response to a user request"
    cause += f", shrinking the capacity from {after + 1} to {after}." if shrink else "."
    recorded = state.record(grp, f"Terminating EC2 instance: {instance_id}", cause)
    parsed["Activity"] = {**recorded, "Progress": 0, "StatusCode": "InProgress"}
    groups._register(grp, instance_id, register=False)
    groups.reconcile(grp)


def before_delete(call: hooks.Call) -> tuple[int, dict[str, Any]] | None:
    grp = state.group(call.params["AutoScalingGroupName"], call.region)
    if grp is None:
        return None
    if grp.instance_states and not call.params.get("ForceDelete"):
        return _error("You cannot delete an AutoScalingGroup while there are instances or pending Spot instance "
                      "request(s) still in the group.", "ResourceInUse")
    call.state["group"] = grp
    return None


def after_delete(call: hooks.Call, parsed: dict[str, Any], status: int) -> None:
    grp = call.state.get("group")
    if status >= 300 or grp is None:
        return
    for instance_state in list(grp.instance_states):
        groups._register(grp, instance_state.instance.id, register=False)
        groups._terminate_instance(grp, instance_state.instance.id)
    grp.instance_states = []
    backend = state.backend(call.region)
    for policy in [p for p in backend.policies.values() if p.auto_scaling_group_name == grp.name]:
        policies.delete_alarms(policy.arn)
        backend.policies.pop(policy.name, None)
    with state.LOCK:
        state.NOTES.pop(grp.name, None)


def describe_scaling_activities(call: hooks.Call) -> tuple[int, dict[str, Any]]:
    name = call.params.get("AutoScalingGroupName")
    wanted = set(call.params.get("ActivityIds") or [])
    with state.LOCK:
        found = [a for group_name, notes in state.NOTES.items() if name in (None, group_name) for a in notes.activities]
    found.sort(key=lambda a: a["StartTime"], reverse=True)
    if wanted:
        found = [a for a in found if a["ActivityId"] in wanted]
    start = int(call.params.get("NextToken") or 0)
    size = int(call.params.get("MaxRecords") or 100)
    page = found[start:start + size]
    answer: dict[str, Any] = {"Activities": [dict(a) for a in page], "ResponseMetadata": {"HTTPStatusCode": 200}}
    if start + size < len(found):
        answer["NextToken"] = str(start + size)
    return 200, answer


def after_put_scaling_policy(call: hooks.Call, parsed: dict[str, Any], status: int) -> None:
    """The policy's ARN in the answer (moto leaves it out); a target tracking policy's alarms."""
    if status >= 300:
        return
    policies.ensure()
    found = policies.find_policy(call.params["PolicyName"], call.params["AutoScalingGroupName"])
    if found is None:
        return
    grp, policy = found
    parsed["PolicyARN"] = policy.arn
    if call.params.get("PolicyType") != "TargetTrackingScaling":
        return
    parsed["Alarms"] = policies.create_tracking_alarms(grp, policy.arn, call.params["TargetTrackingConfiguration"])
    policies.ensure()


def after_describe_policies(call: hooks.Call, parsed: dict[str, Any], status: int) -> None:
    from labkit.core import aws

    if status >= 300:
        return
    for entry in parsed.get("ScalingPolicies", []):
        made = policies.ALARMS.get(entry.get("PolicyARN", ""))
        if made:
            region = aws.parse_arn(entry["PolicyARN"]).region
            entry["Alarms"] = [{"AlarmName": a, "AlarmARN": aws.make_arn("cloudwatch", f"alarm:{a}", region)} for a in made]


def before_delete_policy(call: hooks.Call) -> None:
    found = policies.find_policy(call.params["PolicyName"], call.params.get("AutoScalingGroupName"))
    if found is not None:
        policies.delete_alarms(found[1].arn)
