"""The moto internals the Route 53 service relies on.

Read (called) seams: the hosted zones and their record sets
(``Route53Backend.zones``, ``FakeZone.rrsets`` and the ``RecordSet``
attributes :mod:`.zones` reads) and the health checks
(``Route53Backend.health_checks`` and the ``HealthCheck`` attributes
:mod:`.health` reads).

Patched seam: ``Route53.get_health_check_status`` (moto's response handler)
always reported "Success: HTTP Status Code: 200"; it now reports what the local
health checker observed (:func:`.healthchecks.observations`).

Every name below is checked when the service is first used
(:func:`labkit.core.seams.install`) and in the service's tests.
"""

from __future__ import annotations

from typing import Any

from labkit.core.seams import Seam


def get_health_check_status(original: Any, self: Any) -> Any:
    """The health check's status as the local checker observed it."""
    from moto.core.responses import ActionResult

    from labkit.services.route53 import healthchecks

    check_id = self._get_param("HealthCheckId")
    self.backend.get_health_check(check_id)  # NoSuchHealthCheck for an unknown id, as before
    healthchecks.settle()
    return ActionResult({"HealthCheckObservations": healthchecks.observations(check_id)})


_RECORD_ATTRIBUTES = ("name", "type", "ttl", "records", "set_identifier", "weight", "region", "health_check_id",
                      "alias_target", "failover", "geo_location", "multi_value_answer")
_CHECK_ATTRIBUTES = ("ip_address", "port", "type_", "resource_path", "fqdn", "search_string", "request_interval",
                     "failure_threshold", "health_threshold", "inverted", "disabled", "enable_sni", "children")

SEAMS: tuple[Seam, ...] = (
    Seam("moto.route53.models", "route53_backends", None),
    Seam("moto.route53.models", "Route53Backend.zones", None, instance=True),
    Seam("moto.route53.models", "Route53Backend.health_checks", None, instance=True),
    Seam("moto.route53.models", "FakeZone.rrsets", None, instance=True),
    Seam("moto.route53.models", "FakeZone.resource_id", None, instance=True),
    Seam("moto.route53.models", "FakeZone.private_zone", None, instance=True),
    *(Seam("moto.route53.models", f"RecordSet.{name}", None, instance=True) for name in _RECORD_ATTRIBUTES),
    *(Seam("moto.route53.models", f"HealthCheck.{name}", None, instance=True) for name in _CHECK_ATTRIBUTES),
    Seam("moto.route53.models", "Route53Backend.get_health_check", ("self", "health_check_id")),
    Seam("moto.core.responses", "ActionResult", None),
    Seam("moto.route53.responses", "Route53.get_health_check_status", ("self",), get_health_check_status),
)
