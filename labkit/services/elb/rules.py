"""Listener rules: which rule a request matches, as AWS documents it.

Pure functions over a request and the rules moto stored (the ``Conditions``
and ``Actions`` as boto3 sent them). A listener evaluates its rules from the
lowest priority number to the highest, and the default rule last; the first
rule whose every condition holds wins. Within one condition, any of its
values may match.

How each condition type compares (from the Application Load Balancer guide):

``path-pattern``         the path only (no query string), case-sensitive;
``host-header``          the host name, not case-sensitive;
``http-header``          a named header (name and value not case-sensitive);
``query-string``         ``key=value`` pairs, or values of any key, not case-sensitive;
``http-request-method``  the method, exact and case-sensitive (no wildcards);
``source-ip``            the client's address in one of the CIDR blocks (never X-Forwarded-For).

``*`` matches zero or more characters and ``?`` exactly one, in every type
but the method and the source IP.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Iterable
from typing import Any

from labkit.core.httpfront import HttpRequest


@functools.lru_cache(maxsize=1024)
def _wildcard(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    parts = []
    for char in pattern:
        parts.append(".*" if char == "*" else "." if char == "?" else re.escape(char))
    return re.compile("".join(parts), re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def wildcard_match(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """True when ``value`` matches ``pattern`` whole (``*``: 0 or more characters, ``?``: one)."""
    return _wildcard(pattern, ignore_case).fullmatch(value) is not None


def _values(condition: dict[str, Any], config_key: str) -> list[Any]:
    config = condition.get(config_key) or {}
    values = config.get("Values")
    if values is None:
        values = condition.get("Values") or []
    return list(values)


def condition_matches(condition: dict[str, Any], request: HttpRequest) -> bool:
    """Whether one rule condition holds for ``request``."""
    field = condition.get("Field", "")
    if field == "path-pattern":
        return any(wildcard_match(p, request.path) for p in _values(condition, "PathPatternConfig"))
    if field == "host-header":
        host = request.host
        return any(wildcard_match(p, host, ignore_case=True) for p in _values(condition, "HostHeaderConfig"))
    if field == "http-header":
        config = condition.get("HttpHeaderConfig") or {}
        present = request.header_values(config.get("HttpHeaderName", ""))
        return any(wildcard_match(p, value, ignore_case=True) for p in config.get("Values", []) for value in present)
    if field == "http-request-method":
        return request.method in _values(condition, "HttpRequestMethodConfig")
    if field == "query-string":
        pairs = request.query_params
        for wanted in _values(condition, "QueryStringConfig"):
            key, value = wanted.get("Key"), wanted.get("Value", "")
            for name, given in pairs:
                if (key is None or wildcard_match(key, name, ignore_case=True)) and \
                        wildcard_match(value, given, ignore_case=True):
                    return True
        return False
    if field == "source-ip":
        try:
            client = ipaddress.ip_address(request.client[0])
        except ValueError:
            return False
        for block in _values(condition, "SourceIpConfig"):
            try:
                if client in ipaddress.ip_network(block, strict=False):
                    return True
            except ValueError:
                continue
        return False
    return False  # an unknown field never matches


def rule_matches(conditions: Iterable[dict[str, Any]], request: HttpRequest) -> bool:
    """Every condition holds (a rule with none, the default rule, always matches)."""
    return all(condition_matches(condition, request) for condition in conditions)


def ordered(rules: Iterable[Any]) -> list[Any]:
    """moto's rules of a listener in evaluation order: priorities ascending, the default rule last."""
    rules = list(rules)
    regular = sorted((r for r in rules if not r.is_default), key=lambda r: int(r.priority))
    return regular + [r for r in rules if r.is_default]


def choose_rule(rules: Iterable[Any], request: HttpRequest) -> Any | None:
    """The first rule (in evaluation order) whose conditions all hold."""
    for rule in ordered(rules):
        if rule_matches(rule.conditions or [], request):
            return rule
    return None


def final_action(actions: Iterable[Any]) -> dict[str, Any] | None:
    """The action a rule performs: the one with the highest ``Order`` (the
    authentication actions that may precede it are not emulated)."""
    datas = [a.data if hasattr(a, "data") else a for a in actions]
    if not datas:
        return None
    indexed = list(enumerate(datas))
    indexed.sort(key=lambda pair: (int(pair[1].get("Order", 0) or 0), pair[0]))
    return indexed[-1][1]
