"""Routing policies: which record sets of a name and type make an answer.

Route 53 answers a query for a name and type from the group of record sets
with that name and type. Their settings say how it chooses (Route 53
Developer Guide, "Choosing a routing policy" and "How Amazon Route 53
chooses records when health checking is configured"):

simple       one record set (no set identifier): all its values.
weighted     one record set at random, in proportion to its weight; records of
             weight 0 are answered only when every record of positive weight is
             unhealthy (or when every weight is 0, then with equal chances).
failover     the PRIMARY while it is healthy, else the SECONDARY.
latency      the record set of the Region closest to the client (here: by
             distance, see :mod:`.geo`) that is healthy.
geolocation  the most specific location that matches the client: US state,
             country, continent, then the default (``CountryCode: "*"``); no
             match and no default gives an answer with no records.
multivalue   up to eight healthy record sets, at random.

A record set with no health check is always healthy. When every candidate
is unhealthy, Route 53 answers as if all were healthy (multivalue: up to
eight unhealthy ones). :func:`choose` is that logic as a function: a group of
records, a health test, a client location and a random generator in; the
chosen records out.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

from labkit.services.route53.geo import ClientLocation, region_distance
from labkit.services.route53.zones import Record

#: Route 53 answers a multivalue query with at most this many healthy records.
MULTIVALUE_MAX = 8

Healthy = Callable[[Record], bool]


def policy_of(records: Sequence[Record]) -> str:
    """The routing policy of a group (AWS refuses mixed groups; a simple record wins)."""
    if not records:
        return "simple"
    if any(r.set_identifier is None for r in records):
        return "simple"
    return records[0].policy


def choose(records: Sequence[Record], *, healthy: Healthy, client: ClientLocation,
           rng: random.Random) -> list[Record]:
    """The record sets whose values answer a query, for one name and type."""
    if not records:
        return []
    policy = policy_of(records)
    if policy == "simple":
        return [next(r for r in records if r.set_identifier is None)]
    chooser = _CHOOSERS[policy]
    return chooser(list(records), healthy, client, rng)


def _weighted_pick(records: list[Record], rng: random.Random) -> Record:
    total = sum(max(r.weight or 0, 0) for r in records)
    if total <= 0:
        return records[rng.randrange(len(records))]
    point = rng.uniform(0, total)
    running = 0.0
    for record in records:
        running += max(record.weight or 0, 0)
        if point < running:
            return record
    return records[-1]


def _weighted(records: list[Record], healthy: Healthy, _client: ClientLocation, rng: random.Random) -> list[Record]:
    positive = [r for r in records if (r.weight or 0) > 0]
    zero = [r for r in records if (r.weight or 0) <= 0]
    live_positive = [r for r in positive if healthy(r)]
    if live_positive:
        return [_weighted_pick(live_positive, rng)]
    live_zero = [r for r in zero if healthy(r)]
    if live_zero:
        return [live_zero[rng.randrange(len(live_zero))]]
    # Nothing healthy: Route 53 answers as if every record were healthy.
    return [_weighted_pick(positive or zero, rng)]


def _failover(records: list[Record], healthy: Healthy, _client: ClientLocation, _rng: random.Random) -> list[Record]:
    primary = next((r for r in records if r.failover == "PRIMARY"), None)
    secondary = next((r for r in records if r.failover == "SECONDARY"), None)
    if primary is not None and healthy(primary):
        return [primary]
    if secondary is not None and healthy(secondary):
        return [secondary]
    fallback = primary or secondary
    return [fallback] if fallback is not None else []


def _latency(records: list[Record], healthy: Healthy, client: ClientLocation, _rng: random.Random) -> list[Record]:
    ordered = sorted(records, key=lambda r: (region_distance(client, r.region or ""), r.region or ""))
    for record in ordered:
        if healthy(record):
            return [record]
    return ordered[:1]


def _geo_rank(record: Record, client: ClientLocation) -> int | None:
    """How specifically ``record`` matches the client: 0 state, 1 country,
    2 continent, 3 default; ``None`` when it does not match."""
    geo = record.geo or {}
    country = (geo.get("CountryCode") or "").upper()
    continent = (geo.get("ContinentCode") or "").upper()
    subdivision = (geo.get("SubdivisionCode") or "").upper()
    if country == "*":
        return 3
    if country:
        if country != (client.country or ""):
            return None
        if subdivision:
            return 0 if subdivision == (client.subdivision or "") else None
        return 1
    if continent:
        return 2 if continent == (client.continent or "") else None
    return None


def _geolocation(records: list[Record], healthy: Healthy, client: ClientLocation, _rng: random.Random) -> list[Record]:
    ranked = sorted(((rank, r) for r in records if (rank := _geo_rank(r, client)) is not None),
                    key=lambda pair: pair[0])
    if not ranked:
        return []  # no record for this location and no default: an answer with no records
    for _rank, record in ranked:
        if healthy(record):
            return [record]
    return [ranked[0][1]]


def _multivalue(records: list[Record], healthy: Healthy, _client: ClientLocation, rng: random.Random) -> list[Record]:
    live = [r for r in records if healthy(r)]
    pool = live or list(records)
    if len(pool) > MULTIVALUE_MAX:
        return rng.sample(pool, MULTIVALUE_MAX)
    pool = list(pool)
    rng.shuffle(pool)
    return pool


_CHOOSERS = {
    "weighted": _weighted,
    "failover": _failover,
    "latency": _latency,
    "geolocation": _geolocation,
    "multivalue": _multivalue,
}
