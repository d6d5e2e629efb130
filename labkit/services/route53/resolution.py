"""Where the answers reach the learner's code besides the name server.

- **In-process resolution**: the service claims the names of its hosted zones
  (:func:`labkit.core.names.claim`), so ``requests.get("http://shop.example.com/")``
  connects to the addresses the zone answers, as if the domain were delegated
  to Route 53: CNAME chains are followed, an alias to a load balancer gives
  the load balancer's virtual addresses. A name inside a hosted zone that has
  no address (NXDOMAIN, NODATA) fails to resolve, as it would on AWS.
- **TestDNSAnswer**: moto has no route for it (boto3's call gets a 404); a
  ``before`` hook answers from the same plane, scoped to the given hosted zone,
  with the client location taken from ``EDNS0ClientSubnetIP``.
- **CreateHealthCheck**: an ``after`` hook starts probing at once.
"""

from __future__ import annotations

from typing import Any

from labkit.core import hooks, names
from labkit.services.route53 import answers, geo, healthchecks

#: The name server TestDNSAnswer reports (the first of moto's default delegation set).
TEST_NAMESERVER = "ns-2048.awsdns-64.com"


def resolver(host: str) -> list[str] | None:
    """The claim: IPv4 addresses of a name in a hosted zone of the sandbox, or
    ``None`` when no hosted zone covers ``host``."""
    if not host or host.replace(".", "").isdigit():
        return None
    try:
        result = answers.answer(host, "A")
    except Exception:  # noqa: BLE001  (before labkit.start(), or a zone being changed: not ours)
        return None
    if result.rcode == "REFUSED":
        return None
    # A name in a hosted zone with no address (NXDOMAIN, NODATA) is still the
    # zone's, so that no other resolver answers for it: it does not resolve.
    return answers.addresses_of(result) or names.NO_SUCH_NAME


def test_dns_answer(call: hooks.Call) -> tuple[int, dict[str, Any]]:
    """Answer TestDNSAnswer from the plane (a ``before`` hook)."""
    params = call.params
    zone_id = str(params.get("HostedZoneId", ""))
    record_name = str(params.get("RecordName", ""))
    record_type = str(params.get("RecordType", "A")).upper()
    from labkit.services.route53 import zones

    if zones.zone_by_id(zone_id) is None:
        return hooks.error_answer("NoSuchHostedZone", f"No hosted zone found with ID: {zone_id}", 404)
    subnet_ip = params.get("EDNS0ClientSubnetIP")
    client = None
    if subnet_ip:
        client = geo.locate_address(str(subnet_ip))
    if client is None:
        # No client subnet (or one the sandbox has not placed): a resolver in us-east-1, as AWS documents.
        client = geo.locate("us-east-1")
    result = answers.answer(record_name, record_type, client=client, zone_id=zone_id)
    return 200, {
        "Nameserver": TEST_NAMESERVER,
        "RecordName": record_name,
        "RecordType": record_type,
        "RecordData": result.values,
        "ResponseCode": result.rcode,
        "Protocol": "UDP",
        "ResponseMetadata": {"HTTPStatusCode": 200},
    }


def _health_check_created(call: hooks.Call, parsed: dict[str, Any], status: int) -> None:
    check = (parsed or {}).get("HealthCheck") or {}
    if status < 300 and check.get("Id"):
        healthchecks.watch(check["Id"])


def install() -> None:
    """Claim the hosted zones' names and subscribe the hooks (idempotent)."""
    names.claim("route53", resolver)
    hooks.subscribe("before", "route53", "TestDNSAnswer", test_dns_answer)
    hooks.subscribe("after", "route53", "CreateHealthCheck", _health_check_created)
