"""AWS's answers where moto accepts or leaves out too much.

- ``RunInstances`` with an AMI that does not exist: AWS answers
  ``InvalidAMIID.NotFound`` ("The image id '[ami-...]' does not exist");
  moto launches it unless an environment variable asks it to check.
- ``RunInstances`` with an instance type that does not exist: AWS answers
  ``InvalidParameterValue`` ("Invalid value 't9.huge' for InstanceType.");
  moto launches it. The type list is moto's copy of AWS's.
- ``DescribeKeyPairs`` leaves out ``KeyType`` (``rsa`` or ``ed25519``),
  which moto stores: it is filled in.
- ``DeleteLaunchTemplate`` of a name that does not exist:
  ``InvalidLaunchTemplateName.NotFoundException`` (moto: ``MissingParameter``).

A launch template's AMI and type are checked too, and :func:`launch_problem`
answers the same question for a service that launches instances itself (an
Auto Scaling group).
"""

from __future__ import annotations

from typing import Any

from labkit.core import hooks
from labkit.services.ec2 import apps


def _backend(region: str) -> Any:
    from moto.ec2.models import ec2_backends

    return ec2_backends[apps._account()][region]


def template_data(region: str, template: dict[str, Any]) -> dict[str, Any]:
    """A launch template's data (the version asked for, else the default), or ``{}``."""
    try:
        return dict(_backend(region)._get_template_from_args(template).data or {})
    except Exception:  # noqa: BLE001  (a missing template is moto's own error, answered later)
        return {}


def launch_problem(region: str, image_id: str | None, instance_type: str | None) -> tuple[str, str] | None:
    """``(code, message)`` of AWS's refusal to launch this AMI and type, or ``None``."""
    from moto.ec2.models.instance_types import INSTANCE_TYPES

    if image_id:
        try:
            _backend(region).describe_images(ami_ids=[image_id])
        except Exception:  # noqa: BLE001  (moto's InvalidAMIIdError)
            return "InvalidAMIID.NotFound", f"The image id '[{image_id}]' does not exist"
    if instance_type and instance_type not in INSTANCE_TYPES:
        return "InvalidParameterValue", f"Invalid value '{instance_type}' for InstanceType."
    return None


def before_run_instances(call: hooks.Call) -> tuple[int, dict[str, Any]] | None:
    image, kind = call.params.get("ImageId"), call.params.get("InstanceType")
    if call.params.get("LaunchTemplate"):
        data = template_data(call.region, call.params["LaunchTemplate"])
        image, kind = image or data.get("ImageId"), kind or data.get("InstanceType")
    problem = launch_problem(call.region, image, kind)
    return None if problem is None else hooks.error_answer(*problem)


def after_describe_key_pairs(call: hooks.Call, parsed: dict[str, Any], status: int) -> None:
    if status >= 300:
        return
    pairs = {pair.key_name: pair for pair in _backend(call.region).key_pairs.values()}
    for entry in parsed.get("KeyPairs", []):
        found = pairs.get(entry.get("KeyName"))
        if found is not None and "KeyType" not in entry:
            entry["KeyType"] = found.key_type or "rsa"


_CANNOT = {
    "StartInstances": (("stopping", "shutting-down", "terminated"), "The instance '{}' is not in a state from which it can be started."),
    "StopInstances": (("shutting-down", "terminated"), "This instance '{}' is not in a state from which it can be stopped."),
}


def before_state_change(call: hooks.Call) -> tuple[int, dict[str, Any]] | None:
    """Starting an instance that is still stopping (or stopping one that is
    shutting down) is AWS's ``IncorrectInstanceState``."""
    states, message = _CANNOT[call.operation]
    for instance_id in call.params.get("InstanceIds") or []:
        instance = apps.moto_instance(instance_id, call.region)
        if instance is not None and instance.state in states:
            return hooks.error_answer("IncorrectInstanceState", message.format(instance_id))
    return None


def before_delete_launch_template(call: hooks.Call) -> tuple[int, dict[str, Any]] | None:
    """Deleting a launch template that does not exist, by name: AWS's not-found
    error (moto answers ``MissingParameter``)."""
    name = call.params.get("LaunchTemplateName")
    if name and name not in _backend(call.region).launch_template_name_to_ids:
        return hooks.error_answer("InvalidLaunchTemplateName.NotFoundException",
                                  "At least one of the launch templates specified in the request does not exist.")
    return None
