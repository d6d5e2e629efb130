"""Answers from the sandbox's hosted zones: a name server, in-process names, health checks that probe.

What AWS does
    Route 53 is a DNS service: its name servers answer questions (a name and
    a type) for the hosted zones you create, choosing among record sets by
    their routing policy (simple, weighted, failover, latency, geolocation,
    multivalue answer) and by the health checks you attach. Health checkers
    probe your endpoints (HTTP, HTTPS, TCP, string match) every 10 or 30
    seconds. Traffic itself never passes through Route 53: a client asks,
    caches the answer for its TTL, and connects to the address.

What moto does
    The control plane only: zones, record sets and health checks are stored;
    no name server answers, ``get_health_check_status`` always reports
    success, and ``test_dns_answer`` has no route (404).

What this service adds (``lab.route53``)
    - :mod:`.answers`: :func:`query`, one DNS question answered in process as
      Route 53 would (routing policies, health, aliases, CNAME chains, TTLs,
      NXDOMAIN and NODATA with the SOA), from :mod:`.zones` (moto's state)
      and :mod:`.routing` (the policies);
    - :mod:`.server`: a real name server on 127.0.0.1 (UDP and TCP):
      :data:`nameserver` is its ``(host, port)``, :func:`dns_resolver` a
      dnspython resolver pointed at it, as ``dig @host -p port`` would be;
    - :mod:`.resolution`: the names of every hosted zone resolve in process
      (``requests.get("http://shop.example.com/")``), ``test_dns_answer``
      answers from the same plane;
    - :mod:`.healthchecks`: health checks that really probe the configured
      endpoint on the sandbox clock; ``get_health_check_status`` reports
      what they saw; :func:`health` shows the checker's counters;
    - :mod:`.geo`: where a query comes from (:func:`set_client_location`,
      :func:`client_subnet` for an EDNS Client Subnet option);
    - :mod:`.browser`: in the browser edition (no sockets) the name server is
      in-process, and dnspython's queries to it are answered by the same
      function; health checks probe in-process servers.

Time: health-check intervals run on the sandbox clock; ``lab.clock.advance(30)``
makes three 10-second probes due.

Limits (said in the chapter where a learner could notice)
    * One health checker, in the sandbox, instead of many around the world.
    * Latency records choose the Region nearest by distance, not by
      measured latency.
    * No DNSSEC, no delegation to child zones, no traffic policies,
      geoproximity, IP-based (CIDR) routing or query logging; CloudWatch alarm
      health checks are always healthy.
"""

from __future__ import annotations

import threading
from typing import Any

from labkit.core import platform
from labkit.services.route53 import answers as _answers
from labkit.services.route53 import browser as _browser
from labkit.services.route53 import geo as _geo
from labkit.services.route53 import healthchecks as _health
from labkit.services.route53 import resolution as _resolution
from labkit.services.route53 import server as _server
from labkit.services.route53.answers import ALIAS_RESOURCE_TTL, Answer, ResourceRecord
from labkit.services.route53.geo import ClientLocation, LocationError
from labkit.services.route53.routing import MULTIVALUE_MAX
from labkit.services.route53.seams import SEAMS

__all__ = [
    "ALIAS_RESOURCE_TTL",
    "MULTIVALUE_MAX",
    "SEAMS",
    "Answer",
    "ClientLocation",
    "LocationError",
    "ResourceRecord",
    "client_subnet",
    "dns_resolver",
    "health",
    "install",
    "nameserver",
    "query",
    "reset",
    "seed",
    "set_client_location",
    "stop_nameserver",
]

_LOCK = threading.Lock()
_SERVER: _server.NameServer | None = None


def query(name: str, rtype: str = "A", *, client_region: str | None = None, client_country: str | None = None,
          client_continent: str | None = None, client_subdivision: str | None = None,
          client_subnet: str | None = None) -> Answer:
    """Ask the sandbox's Route 53 one DNS question, in process.

    Args:
        name: the record name, e.g. ``"shop.example.com"``.
        rtype: the record type (``"A"``, ``"AAAA"``, ``"CNAME"``, ``"TXT"``, ``"MX"``...).
        client_region: the AWS Region the query comes from (latency and
            geolocation records read it), e.g. ``"eu-west-1"``.
        client_country, client_continent, client_subdivision: a location
            instead (``"DE"``, ``"EU"``, a US state such as ``"WA"``).
        client_subnet: a subnet from :func:`client_subnet`.

    Returns:
        An :class:`Answer`: ``rcode`` (``"NOERROR"``, ``"NXDOMAIN"``,
        ``"REFUSED"`` for a name in no hosted zone), ``records``, ``values``,
        ``addresses``, ``ttl``, the SOA in ``authority`` for negative answers,
        and ``chosen`` (the set identifiers of the record sets used).
    """
    client = _answers.client_location(client_region, country=client_country, continent=client_continent,
                                      subdivision=client_subdivision, subnet=client_subnet)
    return _answers.answer(name, rtype, client=client)


def _nameserver() -> tuple[str, int]:
    global _SERVER
    with _LOCK:
        if _SERVER is None or not _SERVER.running:
            _SERVER = _server.start()
        return _SERVER.address


def __getattr__(name: str) -> Any:
    if name == "nameserver":
        return _nameserver()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


#: ``(host, port)`` of the sandbox's name server (UDP and TCP), started on first use.
nameserver: tuple[str, int]


def dns_resolver() -> Any:
    """A ``dns.resolver.Resolver`` that asks only the sandbox's name server
    (no system configuration, no cache), as ``dig @127.0.0.1 -p <port>`` would."""
    import dns.resolver

    host, port = _nameserver()
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = [host]
    resolver.port = port
    resolver.lifetime = 5.0
    return resolver


def stop_nameserver() -> None:
    """Stop the name server (the next use of :data:`nameserver` starts a new one)."""
    global _SERVER
    with _LOCK:
        if _SERVER is not None:
            _SERVER.stop()
            _SERVER = None


def set_client_location(region: str | None = None, *, country: str | None = None, continent: str | None = None,
                        subdivision: str | None = None) -> ClientLocation:
    """Where queries with no stated location come from (queries to the name
    server without a client subnet, names resolved by ``requests``). With no
    argument, back to the sandbox's Region."""
    location = None
    if region or country or continent or subdivision:
        location = _geo.locate(region, country=country, continent=continent, subdivision=subdivision)
    _geo.set_default(location)
    return location or _answers.client_location()


def client_subnet(region: str | None = None, *, country: str | None = None, continent: str | None = None,
                  subdivision: str | None = None) -> str:
    """A client subnet (``"100.64.N.0/24"``) that the name server places at this
    location when a query carries it in an EDNS Client Subnet option::

        subnet = lab.route53.client_subnet(region="eu-west-1")
        message = dns.message.make_query("api.shop.example.com", "A")
        message.use_edns(0, options=[dns.edns.ECSOption.from_text(subnet)])
    """
    return _geo.place_subnet(_geo.locate(region, country=country, continent=continent, subdivision=subdivision))


def health(health_check_id: str) -> dict[str, Any]:
    """The local checker's view of a health check: ``Healthy``, ``Probes``,
    ``ConsecutiveFailures``, ``ConsecutiveSuccesses``, ``LastReport``."""
    _health.settle()
    return _health.summary(health_check_id)


def seed(value: int | None) -> None:
    """Make the random choices of weighted and multivalue answers repeatable
    (``None``: random again)."""
    _answers.seed(value)


def install() -> None:
    """Claim the hosted zones' names in process and answer TestDNSAnswer (the
    registry calls this once, at first use); in the browser edition, answer
    dnspython's queries in-process (:mod:`.browser`). Idempotent."""
    _resolution.install()
    if platform.in_browser():
        _browser.install()


def reset() -> None:
    """Stop the name server and forget every health check's state and the
    client locations (``lab.reset()``)."""
    stop_nameserver()
    _health.reset()
    _geo.reset()
