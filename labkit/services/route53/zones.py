"""The sandbox's hosted zones, read from moto's Route 53 backend.

moto stores each hosted zone (``FakeZone``) with its record sets
(``RecordSet``: name, type, TTL, values and the routing settings: set
identifier, weight, Region, failover role, geolocation, multivalue, alias
target, health check id). This module turns them into plain
:class:`Record` values, with names in lower case and ending in a dot (DNS
names are case-insensitive), so that the answering code never touches moto.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from labkit.core import sandbox
from labkit.core.aws import ACCOUNT_ID


def fqdn(name: str) -> str:
    """``Shop.Example.com`` -> ``shop.example.com.``; the root is ``.``."""
    name = name.strip().lower()
    # AWS writes * as \052 in record names it returns; a learner may write either.
    name = name.replace("\\052", "*")
    return name if name.endswith(".") else name + "."


def is_subdomain(name: str, zone: str) -> bool:
    """True when ``name`` is ``zone`` or below it (both as :func:`fqdn`)."""
    return name == zone or name.endswith("." + zone) or zone == "."


@dataclass(frozen=True)
class Record:
    """One record set of a hosted zone (several values, one name and type)."""

    zone_id: str  # "Z0123..." (no /hostedzone/ prefix)
    zone_name: str  # "example.com."
    name: str  # "shop.example.com."
    type: str  # "A"
    ttl: int | None
    values: tuple[str, ...]
    set_identifier: str | None = None
    weight: int | None = None
    region: str | None = None
    failover: str | None = None  # "PRIMARY" or "SECONDARY"
    geo: dict[str, str] | None = field(default=None, hash=False)  # {"CountryCode": "DE"}...
    multivalue: bool = False
    health_check_id: str | None = None
    alias_dns_name: str | None = None
    alias_zone_id: str | None = None
    evaluate_target_health: bool = False

    @property
    def policy(self) -> str:
        """The routing policy the record's settings imply."""
        if self.failover:
            return "failover"
        if self.geo:
            return "geolocation"
        if self.region:
            return "latency"
        if self.multivalue:
            return "multivalue"
        if self.weight is not None:
            return "weighted"
        return "simple"

    @property
    def is_alias(self) -> bool:
        return self.alias_dns_name is not None

    def label(self) -> str:
        """How a learner names this record: its set identifier, else its values."""
        return self.set_identifier or ",".join(self.values) or (self.alias_dns_name or "")


@dataclass(frozen=True)
class Zone:
    id: str
    name: str
    private: bool
    records: tuple[Record, ...]

    @property
    def soa(self) -> Record | None:
        return next((r for r in self.records if r.type == "SOA" and r.name == self.name), None)


def _value_text(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("Value", ""))
    return str(value)


def _int(value: Any) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _record(zone_id: str, zone_name: str, rrset: Any) -> Record:
    alias = rrset.alias_target or None
    return Record(
        zone_id=zone_id,
        zone_name=zone_name,
        name=fqdn(rrset.name or zone_name),
        type=str(rrset.type).upper(),
        ttl=_int(rrset.ttl),
        values=tuple(_value_text(v) for v in (rrset.records or [])),
        set_identifier=rrset.set_identifier,
        weight=_int(rrset.weight),
        region=rrset.region,
        failover=str(rrset.failover).upper() if rrset.failover else None,
        geo=dict(rrset.geo_location) if rrset.geo_location else None,
        multivalue=bool(rrset.multi_value_answer),
        health_check_id=rrset.health_check_id or None,
        alias_dns_name=fqdn(alias["DNSName"]) if alias and alias.get("DNSName") else None,
        alias_zone_id=str(alias.get("HostedZoneId", "")).replace("/hostedzone/", "") if alias else None,
        evaluate_target_health=bool(alias.get("EvaluateTargetHealth")) if alias else False,
    )


def backend(account_id: str | None = None) -> Any:
    """moto's Route 53 backend of the sandbox's account (Route 53 is global: one per partition)."""
    from moto.route53.models import route53_backends

    if account_id is None:
        account_id = sandbox.current().account_id if sandbox.running() else ACCOUNT_ID
    return route53_backends[account_id]["aws"]


def zones(account_id: str | None = None) -> list[Zone]:
    """Every hosted zone of the sandbox, with its records."""
    result = []
    for zone in list(backend(account_id).zones.values()):
        name = fqdn(zone.name)
        result.append(Zone(zone.resource_id, name, bool(zone.private_zone),
                           tuple(_record(zone.resource_id, name, rrset) for rrset in list(zone.rrsets))))
    return result


def zone_by_id(zone_id: str, account_id: str | None = None) -> Zone | None:
    zone_id = zone_id.replace("/hostedzone/", "")
    return next((z for z in zones(account_id) if z.id == zone_id), None)


def zone_for(name: str, candidates: list[Zone]) -> Zone | None:
    """The zone that is authoritative for ``name``: the longest matching zone
    name (a public zone before a private one of the same name)."""
    name = fqdn(name)
    best: Zone | None = None
    for zone in candidates:
        if not is_subdomain(name, zone.name):
            continue
        if best is None or len(zone.name) > len(best.name) or (
                len(zone.name) == len(best.name) and best.private and not zone.private):
            best = zone
    return best
