"""CloudWatch Logs: filter patterns, metric filters and subscription filters.

moto stores metric filters without running them, matches only plain terms
and quoted phrases, and returns every event for any other pattern (a JSON
pattern included). Here one matcher (:func:`compile_pattern`) serves
``filter_log_events``, metric filters and subscription filters, for the
common part of the filter pattern syntax:

- terms: ``ERROR`` (every term must appear; case-sensitive), ``"exact phrase"``,
  ``-term`` (must not appear), ``?ERROR ?WARN`` (any of them);
- JSON: ``{ $.level = "ERROR" }``, ``!=``, numbers with ``< <= > >= = !=``,
  ``*`` wildcards in strings, ``IS TRUE`` / ``IS FALSE`` / ``IS NULL``,
  ``NOT EXISTS``, combined with ``&&``, ``||`` and parentheses;
- regular expressions between ``%`` signs: ``%timeout|refused%``;
- ``""`` or no pattern: every event.

Space-delimited patterns (``[ip, user, ...]``) are not emulated: they match
nothing, and the chapter says so.

A metric filter turns each matching event of its log group into a data point
(``metricValue`` a number or ``$.field`` of a JSON event; ``dimensions`` from
JSON fields; ``defaultValue`` when a batch of events matches nothing). The
data point is stamped at the event's time, moved onto the sandbox clock
(events carry real time, see :mod:`labkit.services.lambda_.logs`).
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from labkit.core.clock import clock

from .metrics import put

Matcher = Callable[[str], bool]


# --------------------------------------------------------------------------
# Filter patterns
# --------------------------------------------------------------------------


def _terms(pattern: str) -> list[str]:
    return re.findall(r'[-?]?"[^"]*"|\S+', pattern)


def _unquote(term: str) -> str:
    return term[1:-1] if len(term) >= 2 and term[0] == term[-1] == '"' else term


def _term_matcher(pattern: str) -> Matcher:
    required, excluded, optional = [], [], []
    for token in _terms(pattern):
        if token.startswith("?"):
            optional.append(_unquote(token[1:]))
        elif token.startswith("-") and len(token) > 1:
            excluded.append(_unquote(token[1:]))
        else:
            required.append(_unquote(token))

    def matches(message: str) -> bool:
        if optional and not any(t in message for t in optional):
            return False
        return all(t in message for t in required) and not any(t in message for t in excluded)

    return matches


_JSON_TOKEN = re.compile(r'\s*(\(|\)|&&|\|\||\$[\w.\[\]]+|IS\s+(?:TRUE|FALSE|NULL)|NOT\s+EXISTS|!=|<=|>=|=|<|>|'
                         r'"(?:[^"\\]|\\.)*"|[^\s()=<>!&|]+)')


def _lookup(document: Any, path: str) -> tuple[bool, Any]:
    current = document
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", path[2:] if path.startswith("$.") else path[1:]):
        if part.startswith("["):
            index = int(part[1:-1])
            if not isinstance(current, list) or index >= len(current):
                return False, None
            current = current[index]
        elif isinstance(current, dict) and part in current:
            current = current[part]
        else:
            return False, None
    return True, current


def _compare(found: Any, op: str, raw: str) -> bool:
    if raw.startswith('"'):
        wanted: Any = json.loads(raw)
        is_number = False
    else:
        try:
            wanted, is_number = float(raw), True
        except ValueError:
            wanted, is_number = raw, False
    if is_number and op in ("<", "<=", ">", ">=", "=", "!="):
        if isinstance(found, bool) or not isinstance(found, (int, float)):
            return op == "!="
        return {"<": found < wanted, "<=": found <= wanted, ">": found > wanted, ">=": found >= wanted,
                "=": found == wanted, "!=": found != wanted}[op]
    if op not in ("=", "!="):
        return False
    text = found if isinstance(found, str) else json.dumps(found)
    same = fnmatch.fnmatchcase(text, wanted) if "*" in str(wanted) else text == wanted
    return same if op == "=" else not same


def _json_matcher(pattern: str) -> Matcher:
    tokens = [t.strip() for t in _JSON_TOKEN.findall(pattern.strip()[1:-1]) if t.strip()]
    position = 0

    def peek() -> str | None:
        return tokens[position] if position < len(tokens) else None

    def take() -> str:
        nonlocal position
        if position >= len(tokens):
            raise ValueError(f"Invalid filter pattern: {pattern}")
        position += 1
        return tokens[position - 1]

    def condition() -> Callable[[Any], bool]:
        token = take()
        if token == "(":
            inner = disjunction()
            if take() != ")":
                raise ValueError(f"Invalid filter pattern: {pattern}")
            return inner
        if not token.startswith("$"):
            raise ValueError(f"Invalid filter pattern: {pattern}")
        path, op = token, take()
        if op.startswith("IS"):
            word = op.split()[-1]
            expected = {"TRUE": True, "FALSE": False, "NULL": None}[word]
            return lambda doc: (lambda hit: hit[0] and hit[1] is expected)(_lookup(doc, path))
        if op.startswith("NOT"):
            return lambda doc: not _lookup(doc, path)[0]
        raw = take()
        return lambda doc: (lambda hit: hit[0] and _compare(hit[1], op, raw))(_lookup(doc, path))

    def conjunction() -> Callable[[Any], bool]:
        parts = [condition()]
        while peek() == "&&":
            take()
            parts.append(condition())
        return lambda doc: all(p(doc) for p in parts)

    def disjunction() -> Callable[[Any], bool]:
        parts = [conjunction()]
        while peek() == "||":
            take()
            parts.append(conjunction())
        return lambda doc: any(p(doc) for p in parts)

    test = disjunction()
    if position != len(tokens):
        raise ValueError(f"Invalid filter pattern: {pattern}")

    def matches(message: str) -> bool:
        try:
            document = json.loads(message)
        except ValueError:
            return False
        return isinstance(document, (dict, list)) and test(document)

    return matches


def compile_pattern(pattern: str | None) -> Matcher:
    """A function ``message -> bool`` for a CloudWatch Logs filter pattern.
    Raises ``ValueError`` for a JSON pattern it cannot parse."""
    text = (pattern or "").strip()
    if text in ("", '""'):
        return lambda message: True
    if text.startswith("{") and text.endswith("}"):
        return _json_matcher(text)
    if text.startswith("%") and text.endswith("%") and len(text) > 1:
        expression = re.compile(text[1:-1])
        return lambda message: expression.search(message) is not None
    if text.startswith("["):
        return lambda message: False
    return _term_matcher(text)


_CACHE: dict[str, Matcher] = {}


def matcher(pattern: str | None) -> Matcher:
    key = pattern or ""
    found = _CACHE.get(key)
    if found is None:
        try:
            found = compile_pattern(key)
        except (ValueError, re.error):
            found = lambda message: False  # noqa: E731  (a pattern AWS would refuse matches nothing)
        if len(_CACHE) > 512:
            _CACHE.clear()
        _CACHE[key] = found
    return found


def event_message_matches(original: Any, self: Any, message: str) -> bool:
    """moto's filter for filter_log_events and live tail, with the whole pattern syntax above."""
    return matcher(getattr(self.filter_type, "term", "")).__call__(message)


# --------------------------------------------------------------------------
# Metric filters
# --------------------------------------------------------------------------


def _metric_value(transformation: dict[str, Any], message: str) -> float | None:
    raw = str(transformation.get("metricValue", "1"))
    if raw.startswith("$"):
        try:
            found, value = _lookup(json.loads(message), raw)
        except ValueError:
            return None
        if not found or isinstance(value, bool):
            return None
        try:
            return float(value)
        except (TypeError, ValueError):
            return None
    try:
        return float(raw)
    except ValueError:
        return None


def _dimensions(transformation: dict[str, Any], message: str) -> dict[str, str] | None:
    wanted = transformation.get("dimensions") or {}
    if not wanted:
        return {}
    try:
        document = json.loads(message)
    except ValueError:
        return None
    dims = {}
    for name, path in wanted.items():
        found, value = _lookup(document, str(path)) if str(path).startswith("$") else (True, path)
        if not found or value is None:
            return None
        dims[name] = value if isinstance(value, str) else json.dumps(value)
    return dims


def apply_metric_filters(logs: Any, log_group_name: str, events: list[dict[str, Any]]) -> int:
    """Turn ``events`` (accepted into ``log_group_name``) into data points; return how many."""
    produced = 0
    for metric_filter in logs.filters.get_matching_filters(log_group_name=log_group_name):
        match = matcher(metric_filter.get("filterPattern"))
        for transformation in metric_filter.get("metricTransformations") or []:
            namespace, name = transformation["metricNamespace"], transformation["metricName"]
            unit = transformation.get("unit") or "None"
            hits = 0
            for event in events:
                if not match(event["message"]):
                    continue
                value = _metric_value(transformation, event["message"])
                dims = _dimensions(transformation, event["message"])
                if value is None or dims is None:
                    continue
                put(namespace, name, value, dims, unit=unit, timestamp=event["timestamp"] / 1000.0 + clock.offset,
                    region=logs.region_name)
                hits += 1
            if not hits and events and transformation.get("defaultValue") is not None \
                    and not transformation.get("dimensions"):
                put(namespace, name, float(transformation["defaultValue"]), {}, unit=unit,
                    timestamp=events[-1]["timestamp"] / 1000.0 + clock.offset, region=logs.region_name)
            produced += hits
    return produced


def put_log_events(original: Any, self: Any, log_group_name: str, log_stream_name: str,
                   log_events: list[dict[str, Any]]) -> Any:
    """moto's PutLogEvents, then the group's metric filters on the events it accepted."""
    from moto.core.utils import unix_time_millis, utcnow

    answer = original(self, log_group_name, log_stream_name, log_events)
    if self.filters.metric_filters:
        oldest = int(unix_time_millis(utcnow() - timedelta(days=14)))
        newest = int(unix_time_millis(utcnow() + timedelta(hours=2)))
        accepted = [e for e in log_events if oldest <= e["timestamp"] <= newest]
        if accepted:
            apply_metric_filters(self, log_group_name, accepted)
    return answer


# --------------------------------------------------------------------------
# Subscription filters
# --------------------------------------------------------------------------


def send_log_events(original: Any, self: Any, service: str, destination_arn: str, filter_name: str,
                    log_events: list[dict[str, Any]]) -> None:
    """Deliver to a subscription only the events its filter pattern matches (moto sends them all)."""
    subscription = self.log_group.subscription_filters.get(filter_name)
    pattern = subscription.filter_pattern if subscription is not None else ""
    match = matcher(pattern)
    chosen = [e for e in log_events if match(e["message"])]
    if chosen:
        original(self, service, destination_arn, filter_name, chosen)


# --------------------------------------------------------------------------
# Metric filters' lifecycle (moto appends a filter of the same name again, and
# keeps a deleted log group's filters)
# --------------------------------------------------------------------------


def _logs_backend(region: str) -> Any:
    from moto.logs.models import logs_backends

    from labkit.core import aws

    return logs_backends[aws.ACCOUNT_ID][region]


def before_put_metric_filter(call: Any) -> None:
    """PutMetricFilter with an existing name replaces that filter, as on AWS."""
    backend = _logs_backend(call.region)
    if call.params.get("logGroupName") in backend.groups:
        backend.filters.delete_filter(call.params.get("filterName"), call.params.get("logGroupName"))


def after_delete_log_group(call: Any, parsed: dict[str, Any], status: int) -> None:
    """Deleting a log group deletes its metric filters."""
    if status >= 300 or "Error" in parsed:
        return
    filters = _logs_backend(call.region).filters
    group = call.params.get("logGroupName")
    filters.metric_filters[:] = [f for f in filters.metric_filters if f["logGroupName"] != group]
