"""Where a DNS query comes from: the client's location, as the routing policies read it.

On AWS, Route 53 learns where a query comes from by the address of the
recursive resolver that asks, or, when the resolver sends one, by the client
subnet in its EDNS0 option (EDNS Client Subnet, RFC 7871); it maps that address
to a location and, for latency records, to the AWS Region with the lowest
measured latency. In the sandbox every query comes from 127.0.0.1, so the
learner says where it comes from instead:

- in process, per query: ``lab.route53.query(name, "A", client_region="eu-west-1")``
  or ``client_country="DE"`` (and ``client_continent``, ``client_subdivision``);
- through the DNS server, with an EDNS Client Subnet option whose subnet the
  sandbox has placed: ``subnet = lab.route53.client_subnet(region="eu-west-1")``
  returns a subnet (from 100.64.0.0/10, an address space no one routes on the
  Internet) that the plane maps to that location;
- for everything else (a query with no option, ``requests`` resolving a
  record name in process), the sandbox's default location:
  ``lab.route53.set_client_location(region="ap-southeast-2")``; it starts as the
  sandbox's region.

Latency here is a proxy: the great-circle distance between the client's
location and each Region (AWS measures real network latency).
"""

from __future__ import annotations

import ipaddress
import math
import threading
from dataclasses import dataclass

#: Region -> (continent, country, subdivision, latitude, longitude): where its data centres are, roughly.
REGIONS: dict[str, tuple[str, str, str | None, float, float]] = {
    "us-east-1": ("NA", "US", "VA", 38.9, -77.4),
    "us-east-2": ("NA", "US", "OH", 40.0, -83.0),
    "us-west-1": ("NA", "US", "CA", 37.4, -121.9),
    "us-west-2": ("NA", "US", "OR", 45.8, -119.7),
    "ca-central-1": ("NA", "CA", None, 45.5, -73.6),
    "sa-east-1": ("SA", "BR", None, -23.5, -46.6),
    "eu-west-1": ("EU", "IE", None, 53.3, -6.3),
    "eu-west-2": ("EU", "GB", None, 51.5, -0.1),
    "eu-west-3": ("EU", "FR", None, 48.9, 2.4),
    "eu-central-1": ("EU", "DE", None, 50.1, 8.7),
    "eu-north-1": ("EU", "SE", None, 59.3, 18.1),
    "eu-south-1": ("EU", "IT", None, 45.5, 9.2),
    "me-south-1": ("AS", "BH", None, 26.1, 50.6),
    "af-south-1": ("AF", "ZA", None, -33.9, 18.4),
    "ap-south-1": ("AS", "IN", None, 19.1, 72.9),
    "ap-southeast-1": ("AS", "SG", None, 1.3, 103.8),
    "ap-southeast-2": ("OC", "AU", None, -33.9, 151.2),
    "ap-northeast-1": ("AS", "JP", None, 35.7, 139.7),
    "ap-northeast-2": ("AS", "KR", None, 37.6, 127.0),
    "ap-northeast-3": ("AS", "JP", None, 34.7, 135.5),
    "ap-east-1": ("AS", "HK", None, 22.3, 114.2),
}

#: Country -> continent, for the countries a lab is likely to name (and every Region's country).
COUNTRIES: dict[str, str] = {
    "US": "NA", "CA": "NA", "MX": "NA", "BR": "SA", "AR": "SA", "CL": "SA", "CO": "SA",
    "IE": "EU", "GB": "EU", "FR": "EU", "DE": "EU", "SE": "EU", "IT": "EU", "ES": "EU", "NL": "EU",
    "PL": "EU", "PT": "EU", "CH": "EU", "NO": "EU", "FI": "EU", "DK": "EU", "BE": "EU", "AT": "EU",
    "ZA": "AF", "NG": "AF", "KE": "AF", "EG": "AF", "MA": "AF",
    "IN": "AS", "SG": "AS", "JP": "AS", "KR": "AS", "HK": "AS", "CN": "AS", "BH": "AS", "AE": "AS", "ID": "AS",
    "AU": "OC", "NZ": "OC",
}

CONTINENTS = ("AF", "AN", "AS", "EU", "NA", "OC", "SA")

#: The subnets handed out by :func:`client_subnet` (RFC 6598 shared address space: never on the Internet).
SUBNET_POOL = ipaddress.ip_network("100.64.0.0/10")


class LocationError(ValueError):
    """A client location the plane cannot place (unknown Region, country or continent)."""


@dataclass(frozen=True)
class ClientLocation:
    """Where a query comes from, as the routing policies read it."""

    region: str | None = None  # the AWS Region nearest the client (latency records)
    continent: str | None = None
    country: str | None = None
    subdivision: str | None = None  # a US state, e.g. "WA"
    subnet: str | None = None  # the EDNS client subnet that placed it, if any

    def coordinates(self) -> tuple[float, float] | None:
        region = self.nearest_region_guess()
        if region is None:
            return None
        return REGIONS[region][3], REGIONS[region][4]

    def nearest_region_guess(self) -> str | None:
        """The Region to measure distances from: the client's own, else one in its country or continent."""
        if self.region:
            return self.region
        for key, (_continent, country, _sub, _lat, _lon) in REGIONS.items():
            if self.country and country == self.country:
                return key
        for key, (continent, _country, _sub, _lat, _lon) in REGIONS.items():
            if self.continent and continent == self.continent:
                return key
        return None


def locate(region: str | None = None, *, country: str | None = None, continent: str | None = None,
           subdivision: str | None = None, subnet: str | None = None) -> ClientLocation:
    """A :class:`ClientLocation` from what the learner says; what is left out is
    derived (a Region gives its country and continent, a country its continent).
    Raises :class:`LocationError` for a name the plane does not know."""
    if region is not None and region not in REGIONS:
        raise LocationError(f"unknown AWS Region {region!r}; known: {', '.join(sorted(REGIONS))}")
    if country is not None:
        country = country.upper()
        if country not in COUNTRIES:
            raise LocationError(f"unknown country code {country!r} (ISO 3166 alpha-2, e.g. 'DE'); "
                                f"the sandbox knows: {', '.join(sorted(COUNTRIES))}")
    if continent is not None:
        continent = continent.upper()
        if continent not in CONTINENTS:
            raise LocationError(f"unknown continent code {continent!r}; one of {', '.join(CONTINENTS)}")
    if region is not None:
        r_continent, r_country, r_subdivision, _lat, _lon = REGIONS[region]
        if country is None and continent is None:
            country, subdivision = r_country, subdivision or r_subdivision
        continent = continent or (COUNTRIES.get(country) if country else None) or r_continent
    elif country is not None:
        continent = continent or COUNTRIES[country]
    location = ClientLocation(region, continent, country, subdivision.upper() if subdivision else None, subnet)
    if location.region is None:
        location = ClientLocation(nearest_region(location), location.continent, location.country,
                                  location.subdivision, subnet)
    return location


def nearest_region(location: ClientLocation) -> str | None:
    """The Region whose country (else continent) matches the location's."""
    return location.nearest_region_guess()


def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance (haversine), the local stand-in for network latency."""
    lat1, lon1, lat2, lon2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 6371.0 * 2 * math.asin(math.sqrt(h))


def region_distance(location: ClientLocation, region: str) -> float:
    """How far (km) the client is from ``region`` (infinite for an unknown Region)."""
    here = location.coordinates()
    if region not in REGIONS:
        return math.inf
    if here is None:
        return 0.0 if region == location.region else math.inf
    return distance_km(here, (REGIONS[region][3], REGIONS[region][4]))


# --------------------------------------------------------------------------
# The sandbox's default location and the placed client subnets
# --------------------------------------------------------------------------

_LOCK = threading.Lock()
_DEFAULT: ClientLocation | None = None
_SUBNETS: dict[ipaddress.IPv4Network, ClientLocation] = {}


def default_location(sandbox_region: str) -> ClientLocation:
    """Where queries with no stated location come from (the sandbox's Region until set)."""
    with _LOCK:
        if _DEFAULT is not None:
            return _DEFAULT
    return locate(sandbox_region if sandbox_region in REGIONS else "us-east-1")


def set_default(location: ClientLocation | None) -> None:
    global _DEFAULT
    with _LOCK:
        _DEFAULT = location


def place_subnet(location: ClientLocation) -> str:
    """A /24 from :data:`SUBNET_POOL` that stands for ``location`` in EDNS Client
    Subnet options (the same location gets the same subnet)."""
    with _LOCK:
        for network, placed in _SUBNETS.items():
            if (placed.region, placed.continent, placed.country, placed.subdivision) == (
                    location.region, location.continent, location.country, location.subdivision):
                return str(network)
        if len(_SUBNETS) >= 256:  # pragma: no cover  (256 distinct locations in one sandbox)
            raise LocationError("the sandbox has placed 256 client subnets already")
        network = ipaddress.ip_network(f"{SUBNET_POOL.network_address + 256 * len(_SUBNETS)}/24")
        _SUBNETS[network] = location
        return str(network)


def locate_address(address: str) -> ClientLocation | None:
    """The location of a client address, if it falls in a placed subnet."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    with _LOCK:
        for network, location in _SUBNETS.items():
            if ip in network:
                return ClientLocation(location.region, location.continent, location.country,
                                      location.subdivision, str(network))
    return None


def reset() -> None:
    """Forget the default location and every placed subnet."""
    global _DEFAULT
    with _LOCK:
        _DEFAULT = None
        _SUBNETS.clear()
