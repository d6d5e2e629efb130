"""EC2 Auto Scaling: groups that keep their capacity, replace what fails, and scale on alarms.

What AWS does
    An Auto Scaling group launches instances from a launch template and keeps
    ``DesiredCapacity`` of them ``InService``, between ``MinSize`` and
    ``MaxSize``. It replaces an instance that fails its health check (the
    EC2 status, always; the load balancer's, with ``HealthCheckType=ELB``),
    registers its instances with its target groups, and changes its desired
    capacity when a scaling policy runs: target tracking, step or simple,
    driven by CloudWatch alarms. Each launch and termination is a *scaling
    activity* with a cause in words.

What moto does
    Stores groups, launch configurations and policies; launches and
    terminates instances inside the API call that changes the capacity,
    replaces a terminated instance inside ``TerminateInstances``, accepts a
    desired capacity above the maximum, never checks health (every instance
    ``Healthy``), never runs a policy from an alarm, creates no alarm for a
    target tracking policy, fails ``ExecutePolicy`` on a step policy, and
    answers ``DescribeScalingActivities`` with nothing.

What this service adds (``lab.autoscaling``)
    - groups checked on the sandbox clock (:mod:`.groups`): ``Pending`` ->
      ``InService``, EC2 and ELB health checks with the grace period,
      replacement, launches and terminations to the desired capacity,
      registration with target groups, activities in AWS's words;
    - scaling policies (:mod:`.policies`): target tracking with the two
      alarms AWS creates, step and simple scaling, run every minute while
      their alarm is in ``ALARM``; ``ExecutePolicy``;
    - AWS's answers (:mod:`.api`): ``ValidationError`` for a desired capacity
      outside min and max, grace period 0 by default, activities, deletion.

Helpers: :func:`check_now` (run every group's check now), :func:`activities`,
:func:`alarm_action` (execute a policy for an alarm, for a plane that
dispatches alarm actions), :data:`CHECK_SECONDS`.

Limits (each said in the chapter where a reader could notice)
    * One Availability Zone in effect: no AZ rebalancing; instances are
      terminated oldest first, whatever the termination policy says.
    * No lifecycle hooks, warm pools, instance refresh, predictive or
      scheduled scaling, mixed instances policies or Spot interruptions.
    * ``ALBRequestCountPerTarget`` alarms are created, but the load balancer
      plane does not publish ``RequestCountPerTarget``.
"""

from __future__ import annotations

from typing import Any

from labkit.core import hooks
from labkit.core.clock import clock
from labkit.services.autoscaling import api, groups, policies, state
from labkit.services.autoscaling.groups import CHECK_SECONDS
from labkit.services.autoscaling.seams import SEAMS

__all__ = ["CHECK_SECONDS", "SEAMS", "activities", "alarm_action", "check_now", "install", "reset"]


def check_now() -> None:
    """Run every group's check now (lifecycle, health, capacity), as the clock does every ``CHECK_SECONDS``."""
    clock.now()
    groups.reconcile_all()


def activities(group_name: str) -> list[dict[str, Any]]:
    """A group's scaling activities, newest first (what ``describe_scaling_activities`` answers)."""
    with state.LOCK:
        return [dict(a) for a in state.notes(group_name).activities]


def alarm_action(policy_arn: str, alarm: Any) -> bool:
    """Execute a scaling policy for an alarm in ``ALARM`` (a moto alarm object):
    what CloudWatch does with an alarm action that names a policy ARN.
    Returns whether the desired capacity changed."""
    return policies.alarm_action(policy_arn, alarm)


def _catch_up(call: Any) -> None:
    groups.ensure()
    clock.now()


def install() -> None:
    """Subscribe to the Auto Scaling API (the registry calls this once, at first use). Idempotent."""
    hooks.subscribe("before", "autoscaling", "*", _catch_up)
    hooks.subscribe("before", "autoscaling", "CreateAutoScalingGroup", api.before_create)
    hooks.subscribe("after", "autoscaling", "CreateAutoScalingGroup", api.after_create)
    hooks.subscribe("before", "autoscaling", "UpdateAutoScalingGroup", api.before_update)
    hooks.subscribe("after", "autoscaling", "UpdateAutoScalingGroup", api.after_update)
    hooks.subscribe("before", "autoscaling", "SetDesiredCapacity", api.before_set_desired)
    hooks.subscribe("after", "autoscaling", "SetDesiredCapacity", api.after_set_desired)
    hooks.subscribe("after", "autoscaling", "TerminateInstanceInAutoScalingGroup", api.after_terminate_in_group)
    hooks.subscribe("before", "autoscaling", "DeleteAutoScalingGroup", api.before_delete)
    hooks.subscribe("after", "autoscaling", "DeleteAutoScalingGroup", api.after_delete)
    hooks.subscribe("before", "autoscaling", "DescribeScalingActivities", api.describe_scaling_activities)
    hooks.subscribe("after", "autoscaling", "PutScalingPolicy", api.after_put_scaling_policy)
    hooks.subscribe("after", "autoscaling", "DescribePolicies", api.after_describe_policies)
    hooks.subscribe("before", "autoscaling", "DeletePolicy", api.before_delete_policy)
    hooks.subscribe("before", "autoscaling", "ExecutePolicy", policies.before_execute_policy)


def reset() -> None:
    """Forget activities, alarms made for policies and the schedule (``lab.reset()``)."""
    state.reset()
    groups.reset()
    policies.reset()
