"""The answer to a DNS question, from the sandbox's hosted zones.

:func:`answer` is what Route 53's name servers do for one question (a name,
a type, and where the query comes from), as a function:

1. find the hosted zone that is authoritative for the name (the longest zone
   name that ends the question name); none: ``REFUSED``, as a name server
   answers for a domain it does not serve;
2. find the record sets with that name (or a wildcard ``*.`` record that covers
   it); none: ``NXDOMAIN`` (the name does not exist), with the zone's SOA in the
   authority section so that resolvers cache the negative answer;
3. a ``CNAME`` at the name answers any type: the chain is followed through the
   sandbox's zones;
4. record sets of the asked type: the routing policy chooses among them
   (:mod:`.routing`), with health from :mod:`.healthchecks`; no record of that type
   (or no geolocation match): ``NOERROR`` with no answer (``NODATA``), and the SOA;
5. an alias record answers with its target's values under the alias's own
   name: another record in the sandbox (with that record's TTL), or an AWS
   resource whose name the sandbox claims (a load balancer, an API), resolved
   with :func:`labkit.core.names.resolve`, with a TTL of 60 seconds.

Negative answers carry the SOA with the TTL of the lesser of the SOA record's
TTL and its minimum field (RFC 2308), as resolvers cache them that long.
"""

from __future__ import annotations

import ipaddress
import random
import threading
from dataclasses import dataclass, field

from labkit.core import names, sandbox
from labkit.services.route53 import geo, healthchecks, routing
from labkit.services.route53.zones import Record, Zone, fqdn, is_subdomain, zone_for, zones

#: The TTL of an alias answer for an AWS resource (a load balancer's DNS name has a 60-second TTL).
ALIAS_RESOURCE_TTL = 60
#: How many CNAME or alias steps an answer follows before giving up (SERVFAIL).
MAX_CHAIN = 8

_RNG = random.Random()
_RNG_LOCK = threading.Lock()


def seed(value: int | None) -> None:
    """Make the plane's random choices (weighted, multivalue, value order) repeatable."""
    with _RNG_LOCK:
        _RNG.seed(value)


@dataclass(frozen=True)
class ResourceRecord:
    """One record in an answer: owner name, type, TTL, value (text form)."""

    name: str
    type: str
    ttl: int
    value: str


@dataclass
class Answer:
    """What the name server answers to one question."""

    name: str
    type: str
    rcode: str  # "NOERROR", "NXDOMAIN", "REFUSED", "SERVFAIL"
    records: list[ResourceRecord] = field(default_factory=list)  # the answer section
    authority: list[ResourceRecord] = field(default_factory=list)  # SOA for negative answers
    zone: str | None = None  # the zone that answered
    chosen: list[str] = field(default_factory=list)  # the record sets used (set identifiers, else values)
    client: geo.ClientLocation | None = None

    @property
    def values(self) -> list[str]:
        """The values of the asked type (after any CNAME chain)."""
        return [r.value for r in self.records if r.type == self.type or self.type == "ANY"]

    @property
    def addresses(self) -> list[str]:
        """The IPv4 and IPv6 addresses in the answer."""
        return [r.value for r in self.records if r.type in ("A", "AAAA")]

    @property
    def ttl(self) -> int | None:
        """The TTL a resolver would cache the answer for (the smallest in it)."""
        section = self.records or self.authority
        return min((r.ttl for r in section), default=None)

    @property
    def nodata(self) -> bool:
        """True for NOERROR with no record of the asked type (the name exists)."""
        return self.rcode == "NOERROR" and not self.values

    def __repr__(self) -> str:
        shown = ", ".join(f"{r.type} {r.value}" for r in self.records) or "no records"
        return f"<Answer {self.name} {self.type} {self.rcode}: {shown} (ttl {self.ttl})>"


class _Context:
    """One question's working state: the zones, the client, the health cache."""

    def __init__(self, client: geo.ClientLocation, all_zones: list[Zone]) -> None:
        self.client = client
        self.zones = all_zones
        self.health: dict[Record, bool] = {}
        self.chosen: list[str] = []


def client_location(region: str | None = None, *, country: str | None = None, continent: str | None = None,
                    subdivision: str | None = None, subnet: str | None = None) -> geo.ClientLocation:
    """The location a query comes from: what is given, else the placed subnet, else the default."""
    if region or country or continent or subdivision:
        return geo.locate(region, country=country, continent=continent, subdivision=subdivision, subnet=subnet)
    if subnet:
        placed = geo.locate_address(subnet.split("/")[0])
        if placed is not None:
            return placed
    return geo.default_location(sandbox.current_region())


def answer(name: str, rtype: str = "A", *, client: geo.ClientLocation | None = None,
           zone_id: str | None = None) -> Answer:
    """Answer one DNS question from the sandbox's hosted zones (see the module text).

    ``zone_id`` limits the answer to one hosted zone (``test_dns_answer``)."""
    qname, qtype = fqdn(name), rtype.upper()
    client = client or client_location()
    healthchecks.settle()
    all_zones = zones()
    scope = [z for z in all_zones if z.id == zone_id.replace("/hostedzone/", "")] if zone_id else all_zones
    context = _Context(client, all_zones)
    zone = zone_for(qname, scope)
    if zone is None:
        return Answer(qname, qtype, "REFUSED", client=client)
    result = Answer(qname, qtype, "NOERROR", zone=zone.name, client=client)
    current = qname
    for _step in range(MAX_CHAIN):
        kind, found = _lookup(zone, current, qtype, context, depth=0)
        result.records.extend(found)
        if kind == "cname":
            current = fqdn(found[-1].value)
            next_zone = zone_for(current, scope)
            if next_zone is None:
                break  # the chain leaves the sandbox's zones: a resolver carries on from here
            zone = next_zone
            continue
        if kind in ("nxdomain", "nodata"):
            result.rcode = "NXDOMAIN" if kind == "nxdomain" else "NOERROR"
            result.authority = _negative_soa(zone)
        break
    else:
        result.rcode = "SERVFAIL"  # a CNAME loop
    result.chosen = context.chosen
    return result


def _negative_soa(zone: Zone) -> list[ResourceRecord]:
    soa = zone.soa
    if soa is None or not soa.values:
        return []
    fields = soa.values[0].split()
    try:
        minimum = int(fields[-1])
    except (ValueError, IndexError):
        minimum = soa.ttl or 900
    return [ResourceRecord(zone.name, "SOA", min(soa.ttl or minimum, minimum), soa.values[0])]


def _records_at(zone: Zone, name: str) -> list[Record]:
    found = [r for r in zone.records if r.name == name]
    if found:
        return found
    if any(r.name.endswith("." + name) for r in zone.records):
        return []  # an empty non-terminal: the name exists, with no records
    # A wildcard at the closest existing ancestor covers the name.
    labels = name.split(".")
    for i in range(1, len(labels)):
        ancestor = ".".join(labels[i:]) or "."
        if not is_subdomain(ancestor, zone.name):
            break
        wildcard = [r for r in zone.records if r.name == "*." + ancestor]
        if wildcard:
            return wildcard
        if any(r.name == ancestor or r.name.endswith("." + ancestor) for r in zone.records if r.name != name):
            break
    return []


def _exists(zone: Zone, name: str) -> bool:
    return any(r.name == name or r.name.endswith("." + name) for r in zone.records)


def _lookup(zone: Zone, name: str, qtype: str, context: _Context, depth: int) -> tuple[str, list[ResourceRecord]]:
    """One step: ``("answer" | "cname" | "nodata" | "nxdomain", records)``."""
    at_name = _records_at(zone, name)
    if not at_name:
        return ("nodata" if _exists(zone, name) else "nxdomain"), []
    cnames = [r for r in at_name if r.type == "CNAME"]
    if cnames and qtype not in ("CNAME", "ANY"):
        found = _materialize(cnames, name, "CNAME", context, depth)
        return ("cname", found[:1]) if found else ("nodata", [])
    types = sorted({r.type for r in at_name}) if qtype == "ANY" else [qtype]
    found: list[ResourceRecord] = []
    for rtype in types:
        found.extend(_materialize([r for r in at_name if r.type == rtype], name, rtype, context, depth))
    return ("answer", found) if found else ("nodata", [])


def _materialize(group: list[Record], owner: str, rtype: str, context: _Context, depth: int) -> list[ResourceRecord]:
    """The records a group of record sets answers with, for ``owner``."""
    if not group:
        return []
    with _RNG_LOCK:
        chosen = routing.choose(group, healthy=lambda r: _healthy(r, context, depth), client=context.client, rng=_RNG)
    out: list[ResourceRecord] = []
    for record in chosen:
        if depth == 0:
            context.chosen.append(record.label())
        if record.is_alias:
            out.extend(_alias_records(record, owner, rtype, context, depth))
        else:
            values = list(record.values)
            if len(values) > 1 and record.set_identifier is None:
                with _RNG_LOCK:
                    _RNG.shuffle(values)
            ttl = record.ttl if record.ttl is not None else 300
            out.extend(ResourceRecord(owner, record.type, ttl, value) for value in values)
    return out


def _internal_target(record: Record, context: _Context) -> Zone | None:
    """The sandbox zone an alias points into, when it is an alias to another record."""
    assert record.alias_dns_name is not None
    zone = zone_for(record.alias_dns_name, context.zones)
    if zone is None:
        return None
    if record.alias_zone_id and record.alias_zone_id != zone.id:
        return None  # a name in one of our zones, given with another zone id: an AWS resource's zone
    return zone


def _alias_records(record: Record, owner: str, rtype: str, context: _Context, depth: int) -> list[ResourceRecord]:
    assert record.alias_dns_name is not None
    if depth >= MAX_CHAIN:
        return []
    zone = _internal_target(record, context)
    if zone is not None:
        kind, found = _lookup(zone, record.alias_dns_name, rtype, context, depth + 1)
        if kind != "answer":
            return []
        return [ResourceRecord(owner, r.type, r.ttl, r.value) for r in found if r.type == rtype]
    addresses = _resource_addresses(record.alias_dns_name)
    wanted = 4 if rtype == "A" else 6 if rtype == "AAAA" else None
    if wanted is None:
        return []
    return [ResourceRecord(owner, rtype, ALIAS_RESOURCE_TTL, a) for a in addresses
            if ipaddress.ip_address(a).version == wanted]


def _resource_addresses(dns_name: str) -> list[str]:
    """The addresses of an AWS resource's DNS name, as the sandbox knows them."""
    try:
        found = names.resolve(dns_name.rstrip("."))
    except OSError:
        return []
    return [a for a in (found or []) if _is_ip(a)]


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _healthy(record: Record, context: _Context, depth: int) -> bool:
    """A record's health: its health check (if any) and, for an alias that
    evaluates target health, its target's."""
    cached = context.health.get(record)
    if cached is not None:
        return cached
    context.health[record] = True  # a loop through aliases counts as healthy
    ok = healthchecks.is_healthy(record.health_check_id) if record.health_check_id else True
    if ok and record.is_alias and record.evaluate_target_health:
        ok = _target_healthy(record, context, depth)
    context.health[record] = ok
    return ok


def _target_healthy(record: Record, context: _Context, depth: int) -> bool:
    assert record.alias_dns_name is not None
    if depth >= MAX_CHAIN:
        return False
    zone = _internal_target(record, context)
    if zone is None:
        return bool(_resource_addresses(record.alias_dns_name))
    targets = [r for r in _records_at(zone, record.alias_dns_name) if r.type == record.type]
    return any(_healthy(target, context, depth + 1) for target in targets)


def addresses_of(result: Answer) -> list[str]:
    """The IPv4 addresses an answer leads to: its A records, or, when its CNAME
    chain leaves the hosted zones, the addresses the sandbox knows for the
    last name (a load balancer's DNS name)."""
    addresses = [r.value for r in result.records if r.type == "A"]
    if not addresses and result.records and result.records[-1].type == "CNAME":
        external = _resource_addresses(result.records[-1].value)
        addresses = [a for a in external if ipaddress.ip_address(a).version == 4]
    return addresses
