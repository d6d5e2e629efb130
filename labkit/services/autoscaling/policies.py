"""Scaling policies, run by CloudWatch alarms on the sandbox clock.

**Who runs a policy.** On AWS an alarm's action that names a scaling policy
ARN executes the policy; "except for Auto Scaling actions, the actions
happen only on state transitions" (CloudWatch, *Alarm actions*): a policy
keeps being executed while its alarm stays in ``ALARM``. Here, once every
sandbox minute, just after CloudWatch has evaluated its alarms
(:mod:`labkit.services.cloudwatch` evaluates them on the minute), every alarm
in ``ALARM`` whose actions name one of the group's policies executes it
(:func:`poll`). :func:`alarm_action` is the same step for one alarm, for a
caller that dispatches alarm actions itself; a policy runs at most once per
alarm per minute either way.

**Target tracking** (``TargetTrackingScaling``). AWS creates and manages two
alarms per policy, which you must not edit: ``TargetTracking-<group>-AlarmHigh-<id>``
(above the target) and, unless scale-in is disabled, ``...-AlarmLow-<id>``
(below it). labkit creates them the same way, on 1-minute periods: the high
alarm after :data:`HIGH_PERIODS` periods above the target, the low one after
:data:`LOW_PERIODS` periods below :data:`LOW_FACTOR` of it (AWS does not
document its exact settings; these make scale-out quick and scale-in slow,
as AWS describes). When the high alarm fires the new capacity is
``ceil(capacity x metric / target)``; the low alarm removes capacity the same
way, at most once per warm-up (the policy's ``EstimatedInstanceWarmup``, the
group's ``DefaultInstanceWarmup``, else 300 s). The metric is the last data
point the alarm evaluated.

**Step scaling** (``StepScaling``): the alarm's last data point minus its
threshold picks the step (``MetricIntervalLowerBound`` inclusive,
``...UpperBound`` exclusive, either open); its ``ScalingAdjustment`` applies
as ``ChangeInCapacity``, ``ExactCapacity`` or ``PercentChangeInCapacity``
(rounded as AWS documents, at least ``MinAdjustmentMagnitude``). Not again
within the warm-up. **Simple scaling**: one adjustment, then the cooldown
(``Cooldown``, else the group's ``DefaultCooldown``, 300 s).

Every result stays within the group's minimum and maximum.
"""

from __future__ import annotations

import json
import math
import uuid
from typing import Any

from labkit.core import aws, hooks
from labkit.core.clock import clock
from labkit.services.autoscaling import groups, state

HIGH_PERIODS = 3
LOW_PERIODS = 15
LOW_FACTOR = 0.9
DEFAULT_WARMUP = 300.0
_EARLY_GAP = 1.0  # seconds after CloudWatch's minute

PREDEFINED = {
    "ASGAverageCPUUtilization": ("AWS/EC2", "CPUUtilization", "Average"),
    "ASGAverageNetworkIn": ("AWS/EC2", "NetworkIn", "Average"),
    "ASGAverageNetworkOut": ("AWS/EC2", "NetworkOut", "Average"),
    "ALBRequestCountPerTarget": ("AWS/ApplicationELB", "RequestCountPerTarget", "Sum"),
}

ALARMS: dict[str, list[str]] = {}  # policy ARN -> the target tracking alarms labkit made for it
_RUNS: dict[tuple[str, str], int] = {}  # (policy ARN, alarm name) -> the minute it last ran
_NEXT: dict[str, Any] = {"due": None}


# --------------------------------------------------------------------------
# Target tracking alarms
# --------------------------------------------------------------------------


def _metric(grp: Any, config: dict[str, Any]) -> tuple[str, str, list[dict[str, str]], str]:
    predefined = config.get("PredefinedMetricSpecification")
    if predefined:
        kind = predefined.get("PredefinedMetricType")
        namespace, name, stat = PREDEFINED[kind]
        if kind == "ALBRequestCountPerTarget":
            label = predefined.get("ResourceLabel", "")
            dims = [{"Name": "TargetGroup", "Value": label.split("/", 3)[-1] if label.count("/") >= 3 else label}]
        else:
            dims = [{"Name": "AutoScalingGroupName", "Value": grp.name}]
        return namespace, name, dims, stat
    custom = config.get("CustomizedMetricSpecification") or {}
    dims = [{"Name": d["Name"], "Value": d["Value"]} for d in custom.get("Dimensions") or []]
    return custom.get("Namespace", ""), custom.get("MetricName", ""), dims, custom.get("Statistic", "Average")


def create_tracking_alarms(grp: Any, policy_arn: str, config: dict[str, Any]) -> list[dict[str, str]]:
    """The alarms AWS makes for a target tracking policy (replacing earlier ones)."""
    delete_alarms(policy_arn)
    namespace, name, dims, stat = _metric(grp, config)
    target = float(config["TargetValue"])
    cw = aws.internal_client("cloudwatch", grp.region)
    suffix = str(uuid.uuid4())
    description = f"DO NOT EDIT OR DELETE. For TargetTrackingScaling policy {policy_arn}."
    plans = [("AlarmHigh", target, "GreaterThanThreshold", HIGH_PERIODS)]
    if not config.get("DisableScaleIn"):
        plans.append(("AlarmLow", round(target * LOW_FACTOR, 6), "LessThanThreshold", LOW_PERIODS))
    made = []
    for label, threshold, operator, periods in plans:
        alarm = f"TargetTracking-{grp.name}-{label}-{suffix}"
        cw.put_metric_alarm(AlarmName=alarm, AlarmDescription=description, Namespace=namespace, MetricName=name,
                            Dimensions=dims, Statistic=stat, Period=60, EvaluationPeriods=periods,
                            DatapointsToAlarm=periods, Threshold=threshold, ComparisonOperator=operator,
                            AlarmActions=[policy_arn])
        made.append(alarm)
    ALARMS[policy_arn] = made
    return [{"AlarmName": alarm, "AlarmARN": aws.make_arn("cloudwatch", f"alarm:{alarm}", grp.region, grp.account_id)}
            for alarm in made]


def delete_alarms(policy_arn: str) -> None:
    made = ALARMS.pop(policy_arn, [])
    if made:
        region = aws.parse_arn(policy_arn).region
        aws.internal_client("cloudwatch", region).delete_alarms(AlarmNames=made)


# --------------------------------------------------------------------------
# Running a policy
# --------------------------------------------------------------------------


def _float(value: Any, default: float) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def adjust(current: int, adjustment_type: str | None, adjustment: float, min_magnitude: Any = None) -> int:
    """A new capacity from an adjustment, rounded as AWS documents for percentages."""
    kind = adjustment_type or "ChangeInCapacity"
    if kind == "ExactCapacity":
        return int(adjustment)
    if kind == "PercentChangeInCapacity":
        change = current * adjustment / 100.0
        if 0 < change < 1:
            change = 1
        elif -1 < change < 0:
            change = -1
        else:
            change = math.floor(change) if change > 0 else math.ceil(change)
        magnitude = int(_float(min_magnitude, 0))
        if magnitude and abs(change) < magnitude:
            change = magnitude if change > 0 else -magnitude
        return current + int(change)
    return current + int(adjustment)


def step_for(steps: list[dict[str, Any]], difference: float) -> float | None:
    """The ``ScalingAdjustment`` of the step whose interval holds ``difference`` (metric minus threshold)."""
    for step in steps or []:
        lower = _float(step.get("MetricIntervalLowerBound"), -math.inf)
        upper = _float(step.get("MetricIntervalUpperBound"), math.inf)
        if lower <= difference < upper or (difference < 0 and lower < difference <= upper):
            return _float(step.get("ScalingAdjustment"), 0)
    return None


def _warmup(grp: Any, policy: Any) -> float:
    for value in (policy.estimated_instance_warmup, getattr(grp, "default_instance_warmup", None)):
        if value not in (None, ""):
            return _float(value, DEFAULT_WARMUP)
    return DEFAULT_WARMUP


def _last_value(alarm: Any) -> float | None:
    try:
        data = json.loads(alarm.state_reason_data or "{}")
    except ValueError:
        return None
    points = data.get("recentDatapoints") or []
    return float(points[-1]) if points else None


def new_capacity(grp: Any, policy: Any, value: float | None, threshold: float, *, low: bool = False) -> int | None:
    """The capacity a policy asks for given the alarm's metric value (``None``: no change)."""
    current = int(grp.desired_capacity or 0)
    now = clock.peek()
    last = state.notes(grp.name).last_scaling
    if policy.policy_type == "TargetTrackingScaling":
        target = _float(getattr(policy.target_tracking_configuration, "TargetValue", None), 0)
        if value is None or target <= 0:
            return None
        wanted = math.ceil(max(current, 1) * value / target)
        if low:
            if now < last + _warmup(grp, policy) or wanted >= current:
                return None
            return wanted
        return wanted if wanted > current else None
    if policy.policy_type == "StepScaling":
        if value is None or now < last + _warmup(grp, policy):
            return None
        step = step_for(policy.step_adjustments, value - threshold)
        return None if step is None else adjust(current, policy.adjustment_type, step, policy.min_adjustment_magnitude)
    cooldown = _float(policy.cooldown, _float(grp.default_cooldown, 300))
    if now < last + cooldown:
        return None
    return adjust(current, policy.adjustment_type, _float(policy.scaling_adjustment, 0), policy.min_adjustment_magnitude)


def apply(grp: Any, wanted: int | None, why: str) -> bool:
    """Set the desired capacity (clamped to min and max) and act on it now."""
    if wanted is None:
        return False
    current = int(grp.desired_capacity or 0)
    wanted = max(int(grp.min_size or 0), min(int(grp.max_size or 0), int(wanted)))
    if wanted == current:
        return False
    groups.note_desired_change(grp, why, current, wanted)
    grp.desired_capacity = wanted
    state.notes(grp.name).last_scaling = clock.peek()
    groups.reconcile(grp)
    return True


def alarm_action(policy_arn: str, alarm: Any) -> bool:
    """Execute the policy ``policy_arn`` for ``alarm`` (a moto alarm in ``ALARM``).
    Returns whether the desired capacity changed. At most once per alarm per minute."""
    minute = int(clock.peek() // 60)
    key = (policy_arn, alarm.name)
    if _RUNS.get(key) == minute:
        return False
    _RUNS[key] = minute
    found = find_policy(policy_arn)
    if found is None:
        return False
    grp, policy = found
    low = alarm.comparison_operator in ("LessThanThreshold", "LessThanOrEqualToThreshold") \
        and policy.policy_type == "TargetTrackingScaling"
    wanted = new_capacity(grp, policy, _last_value(alarm), float(alarm.threshold), low=low)
    return apply(grp, wanted, f"a monitor alarm {alarm.name} in state ALARM triggered policy {policy.name}")


def find_policy(name_or_arn: str, group_name: str | None = None) -> tuple[Any, Any] | None:
    """(group, policy) for a policy ARN or (group, name), or ``None``."""
    for backend in state.backends():
        for policy in list(backend.policies.values()):
            if policy.arn == name_or_arn or (policy.name == name_or_arn and group_name in (None, policy.auto_scaling_group_name)):
                grp = backend.autoscaling_groups.get(policy.auto_scaling_group_name)
                if grp is not None:
                    return grp, policy
    return None


def poll() -> None:
    """Every alarm in ALARM whose actions name a policy executes it."""
    from moto.cloudwatch.models import cloudwatch_backends

    arns = {policy.arn for backend in state.backends() for policy in backend.policies.values()}
    if not arns:
        return
    regions = cloudwatch_backends.get(state.account(), {})
    for region in list(regions.keys()):
        for alarm in list(regions[region].alarms.values()):
            if alarm.state_value != "ALARM" or alarm.actions_enabled in (False, "false", "False"):
                continue
            for arn in alarm.alarm_actions or []:
                if arn in arns:
                    alarm_action(arn, alarm)


# --------------------------------------------------------------------------
# ExecutePolicy, and the minute
# --------------------------------------------------------------------------


def before_execute_policy(call: hooks.Call) -> tuple[int, dict[str, Any]]:
    """ExecutePolicy as AWS runs it (moto fails on step policies)."""
    found = find_policy(call.params["PolicyName"], call.params.get("AutoScalingGroupName"))
    if found is None:
        return hooks.error_answer("ValidationError", f"Policy {call.params['PolicyName']} not found.")
    grp, policy = found
    current = int(grp.desired_capacity or 0)
    if policy.policy_type == "TargetTrackingScaling":
        return hooks.error_answer("ValidationError", "ExecutePolicy is not supported for a target tracking scaling policy.")
    if policy.policy_type == "StepScaling":
        if "MetricValue" not in call.params or "BreachThreshold" not in call.params:
            return hooks.error_answer("ValidationError", "MetricValue and BreachThreshold are required for a step scaling policy.")
        step = step_for(policy.step_adjustments, float(call.params["MetricValue"]) - float(call.params["BreachThreshold"]))
        wanted = None if step is None else adjust(current, policy.adjustment_type, step, policy.min_adjustment_magnitude)
    else:
        if call.params.get("HonorCooldown") and clock.peek() < state.notes(grp.name).last_scaling + _float(
                policy.cooldown, _float(grp.default_cooldown, 300)):
            return hooks.error_answer("ScalingActivityInProgress", "Scaling activity is in progress and blocks this action.")
        wanted = adjust(current, policy.adjustment_type, _float(policy.scaling_adjustment, 0), policy.min_adjustment_magnitude)
    apply(grp, wanted, f"a user request executed policy {policy.name}")
    return 200, {"ResponseMetadata": {"HTTPStatusCode": 200}}


def _tick(moment: float) -> None:
    _NEXT["due"] = moment + 60
    clock.call_at(moment + 60, lambda: _tick(moment + 60))
    poll()


def ensure() -> None:
    """Make sure the next minute's poll is scheduled (just after CloudWatch's minute)."""
    with state.LOCK:
        due, now = _NEXT["due"], clock.peek()
        if due is not None and due > now:
            return
        first = (int(now) // 60 + 1) * 60 + _EARLY_GAP
        _NEXT["due"] = first
    clock.call_at(first, lambda: _tick(first))


def reset() -> None:
    ALARMS.clear()
    _RUNS.clear()
    _NEXT["due"] = None
