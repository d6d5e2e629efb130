"""The moto internals the Auto Scaling service patches or calls.

Patched: a group's ``set_desired_capacity`` only records the number (moto
launches and terminates inside the API call), ``notify_terminate_instances``
does nothing (moto replaces a terminated instance inside ``TerminateInstances``),
``update_attached_target_groups`` does nothing (moto registers instances
before they run, bypassing the load balancer's plane). :mod:`.groups` does
that work on the sandbox clock instead.

Called: the backends, groups, instance states and policies it reads, moto's
launch of a group's instances, and CloudWatch's alarms (:mod:`.policies`).
"""

from __future__ import annotations

from typing import Any

from labkit.core.seams import Seam


def set_desired_capacity(original: Any, self: Any, new_capacity: int | None) -> None:
    """Record the desired capacity; the group's check launches or terminates (labkit)."""
    self.desired_capacity = self.min_size if new_capacity is None else new_capacity


def notify_terminate_instances(original: Any, self: Any, instance_ids: list[str]) -> None:
    """A terminated instance is found by the group's next EC2 health check (labkit), not replaced at once."""


def update_attached_target_groups(original: Any, self: Any, group_name: str) -> None:
    """Instances are registered when they run (labkit), through the load balancer's API."""


MODELS = "moto.autoscaling.models"

SEAMS: tuple[Seam, ...] = (
    Seam(MODELS, "FakeAutoScalingGroup.set_desired_capacity", ("self", "new_capacity"), set_desired_capacity),
    Seam(MODELS, "AutoScalingBackend.notify_terminate_instances", ("self", "instance_ids"), notify_terminate_instances),
    Seam(MODELS, "AutoScalingBackend.update_attached_target_groups", ("self", "group_name"), update_attached_target_groups),
    Seam(MODELS, "autoscaling_backends", None),
    Seam(MODELS, "FakeAutoScalingGroup.replace_autoscaling_group_instances", ("self", "count_needed", "propagated_tags")),
    Seam(MODELS, "FakeAutoScalingGroup.get_propagated_tags", ("self",)),
    Seam(MODELS, "FakeAutoScalingGroup.image_id", None),
    Seam(MODELS, "FakeAutoScalingGroup.instance_type", None),
    Seam(MODELS, "FakeAutoScalingGroup.instance_states", None, instance=True),
    Seam(MODELS, "FakeAutoScalingGroup.health_check_grace_period", None, instance=True),
    Seam(MODELS, "FakeAutoScalingGroup.health_check_type", None, instance=True),
    Seam(MODELS, "FakeAutoScalingGroup.target_group_arns", None, instance=True),
    Seam(MODELS, "InstanceState.lifecycle_state", None, instance=True),
    Seam(MODELS, "InstanceState.health_status", None, instance=True),
    Seam(MODELS, "AutoScalingBackend.policies", None, instance=True),
    Seam(MODELS, "FakeScalingPolicy.arn", None),
    Seam(MODELS, "FakeScalingPolicy.step_adjustments", None, instance=True),
    Seam("moto.cloudwatch.models", "cloudwatch_backends", None),
    Seam("moto.cloudwatch.models", "CloudWatchBackend.alarms", None, instance=True),
)
