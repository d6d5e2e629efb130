"""The moto internals the EC2 service patches or calls.

Patched (:mod:`.lifecycle`): the instance methods that change state, so that
every instance goes through AWS's transitional states on the sandbox clock,
and ``run_instances``, so that every new instance starts ``pending`` and gets
what its launch template says about monitoring, its instance profile and its
metadata options.

Called: the backends, to read instances, AMIs, key pairs and launch
templates (:mod:`.apps`, :mod:`.answers`, :mod:`.imds`).
"""

from __future__ import annotations

from labkit.core.seams import Seam
from labkit.services.ec2 import lifecycle

SEAMS: tuple[Seam, ...] = (
    Seam("moto.ec2.models.instances", "InstanceBackend.run_instances",
         ("self", "image_id", "count", "user_data", "security_group_names", "kwargs"), lifecycle.run_instances),
    Seam("moto.ec2.models.instances", "Instance.start", ("self",), lifecycle.start),
    Seam("moto.ec2.models.instances", "Instance.stop", ("self",), lifecycle.stop),
    Seam("moto.ec2.models.instances", "Instance.terminate", ("self",), lifecycle.terminate),
    Seam("moto.ec2.models.instances", "Instance.reboot", ("self",), lifecycle.reboot),
    Seam("moto.ec2.models", "ec2_backends", None),
    Seam("moto.ec2.models.instances", "InstanceBackend.get_instance_by_id", ("self", "instance_id")),
    Seam("moto.ec2.models.instances", "InstanceBackend._get_template_from_args", ("self", "launch_template_arg")),
    Seam("moto.ec2.models.amis", "AmiBackend.describe_images", ("self", "ami_ids", "filters", "exec_users", "owners")),
    Seam("moto.ec2.models.instance_types", "INSTANCE_TYPES", None),
    Seam("moto.ec2.models.instances", "Instance.state", None),
    Seam("moto.ec2.models.instances", "Instance._state", None, instance=True),
    Seam("moto.ec2.models.instances", "Instance.private_ip", None),
    Seam("moto.ec2.models.instances", "Instance.public_ip", None),
    Seam("moto.ec2.models.instances", "Instance.monitoring_state", None, instance=True),
    Seam("moto.ec2.models.instances", "Instance.iam_instance_profile", None, instance=True),
    Seam("moto.ec2.models.instances", "Instance.metadata_options", None, instance=True),
    Seam("moto.ec2.models.instances", "MetadataOptions", None),
    Seam("moto.ec2.models.key_pairs", "KeyPair.key_type", None, instance=True),
    Seam("moto.ec2.models", "EC2Backend.reservations", None, instance=True),
    Seam("moto.ec2.models", "EC2Backend.key_pairs", None, instance=True),
    Seam("moto.ec2.models", "EC2Backend.launch_template_name_to_ids", None, instance=True),
    Seam("moto.ec2.models.instances", "Reservation.instances", None, instance=True),
    Seam("moto.cloudwatch.models", "CloudWatchBackend.put_metric_data", ("self", "namespace", "metric_data")),
)
