"""The moto internals the EC2 service calls (nothing is patched).

An app follows its instance: :mod:`.apps` reads the instance's state and
addresses from moto's backend, and walks the reservations to know every
instance address (a connection to one never leaves the machine).
"""

from __future__ import annotations

from labkit.core.seams import Seam

SEAMS: tuple[Seam, ...] = (
    Seam("moto.ec2.models", "ec2_backends", None),
    Seam("moto.ec2.models.instances", "InstanceBackend.get_instance_by_id", ("self", "instance_id")),
    Seam("moto.ec2.models.instances", "Instance.state", None),
    Seam("moto.ec2.models.instances", "Instance.private_ip", None),
    Seam("moto.ec2.models.instances", "Instance.public_ip", None),
    Seam("moto.ec2.models", "EC2Backend.reservations", None, instance=True),
    Seam("moto.ec2.models.instances", "Reservation.instances", None, instance=True),
)
