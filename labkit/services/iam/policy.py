"""Policy documents: statements matched against one request.

A request, as a policy sees it, is an action (``dynamodb:GetItem``), a
resource ARN, a principal (for resource-based policies) and a context of
condition keys (``aws:SourceIp``, ``aws:PrincipalTag/team``...). This module
answers one question for one statement: does it apply to the request? The
evaluation logic that combines statements and policies is in :mod:`.evaluate`.

Matching follows the IAM policy reference: actions are compared without
regard to case, resources with it; ``*`` and ``?`` are wildcards in both;
``NotAction`` and ``NotResource`` apply a statement to everything *except*
what they list; every condition operator in a ``Condition`` block must hold,
every key within an operator must hold, and any one of a key's values is
enough.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from labkit.core import aws


class MalformedPolicy(ValueError):
    """A policy document that is not valid JSON or lacks a required element."""


@dataclass(frozen=True)
class Statement:
    """One statement of a policy, normalised (lists everywhere)."""

    index: int
    sid: str
    effect: str  # "Allow" or "Deny"
    actions: tuple[str, ...] | None
    not_actions: tuple[str, ...] | None
    resources: tuple[str, ...] | None
    not_resources: tuple[str, ...] | None
    principals: dict[str, tuple[str, ...]] | None  # {"AWS": (...), "Service": (...)} or {"*": ("*",)}
    not_principals: dict[str, tuple[str, ...]] | None
    condition: dict[str, dict[str, tuple[Any, ...]]]
    #: Action or NotAction compiled into one case-insensitive pattern (matching is on every call).
    action_pattern: re.Pattern[str] | None = field(default=None, compare=False, repr=False)


def _actions_pattern(patterns: tuple[str, ...] | None) -> re.Pattern[str] | None:
    if patterns is None:
        return None
    body = "|".join("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in str(p)) for p in patterns)
    return re.compile(f"^(?:{body})$", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class Policy:
    """A parsed policy: its statements, and where each one starts and ends in the text."""

    statements: tuple[Statement, ...]
    text: str
    positions: tuple[tuple[tuple[int, int], tuple[int, int]], ...]  # ((line, column) start, end), 1-based


def _tuple(value: Any) -> tuple[Any, ...]:
    if value is None:
        return ()
    if isinstance(value, (list, tuple)):
        return tuple(value)
    return (value,)


def _principal(value: Any) -> dict[str, tuple[str, ...]] | None:
    if value is None:
        return None
    if value == "*":
        return {"*": ("*",)}
    if not isinstance(value, Mapping):
        raise MalformedPolicy("Invalid principal in policy.")
    return {str(kind): tuple(str(v) for v in _tuple(v)) for kind, v in value.items()}


def _statement(index: int, raw: Any) -> Statement:
    if not isinstance(raw, Mapping):
        raise MalformedPolicy("Syntax errors in policy.")
    effect = raw.get("Effect")
    if effect not in ("Allow", "Deny"):
        raise MalformedPolicy("Syntax errors in policy.")
    condition: dict[str, dict[str, tuple[Any, ...]]] = {}
    for operator, keys in (raw.get("Condition") or {}).items():
        if not isinstance(keys, Mapping):
            raise MalformedPolicy("Syntax errors in policy.")
        condition[str(operator)] = {str(k): _tuple(v) for k, v in keys.items()}
    actions = _tuple(raw["Action"]) if "Action" in raw else None
    not_actions = _tuple(raw["NotAction"]) if "NotAction" in raw else None
    return Statement(
        index=index,
        sid=str(raw.get("Sid", "")),
        effect=effect,
        actions=actions,
        not_actions=not_actions,
        resources=_tuple(raw["Resource"]) if "Resource" in raw else None,
        not_resources=_tuple(raw["NotResource"]) if "NotResource" in raw else None,
        principals=_principal(raw.get("Principal")),
        not_principals=_principal(raw.get("NotPrincipal")),
        condition=condition,
        action_pattern=_actions_pattern(actions if actions is not None else not_actions),
    )


def _statement_positions(text: str) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """Where each statement object starts and ends in the text (for simulation's MatchedStatements)."""
    found = re.search(r'"Statement"\s*:\s*', text)
    if not found:
        return []
    i = found.end()
    spans: list[tuple[int, int]] = []
    depth, start, in_string, escaped = 0, -1, False, False
    single = i < len(text) and text[i] == "{"
    for j in range(i, len(text)):
        ch = text[j]
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
            continue
        if ch == '"':
            in_string = True
        elif ch in "{[":
            if ch == "{" and depth == (0 if single else 1):
                start = j
            depth += 1
        elif ch in "}]":
            depth -= 1
            if ch == "}" and depth == (0 if single else 1) and start >= 0:
                spans.append((start, j + 1))
                start = -1
            if depth <= 0:
                break

    def line_col(offset: int) -> tuple[int, int]:
        line = text.count("\n", 0, offset) + 1
        column = offset - (text.rfind("\n", 0, offset) + 1) + 1
        return line, column

    return [(line_col(a), line_col(b)) for a, b in spans]


@functools.lru_cache(maxsize=512)
def parse(text: str) -> Policy:
    """Parse a policy document (cached: the same text is parsed once).

    Raises :class:`MalformedPolicy` for text that is not JSON or a statement
    without a valid ``Effect``."""
    try:
        document = json.loads(text)
    except (TypeError, ValueError) as error:
        raise MalformedPolicy("Syntax errors in policy.") from error
    if not isinstance(document, Mapping) or "Statement" not in document:
        raise MalformedPolicy("Syntax errors in policy.")
    raw_statements = document["Statement"]
    if isinstance(raw_statements, Mapping):
        raw_statements = [raw_statements]
    if not isinstance(raw_statements, list):
        raise MalformedPolicy("Syntax errors in policy.")
    statements = tuple(_statement(i, s) for i, s in enumerate(raw_statements))
    positions = _statement_positions(text)
    if len(positions) != len(statements):
        positions = [((1, 1), (1, 1))] * len(statements)
    return Policy(statements, text, tuple(positions))


def as_text(document: Any) -> str:
    """A policy document as text (moto stores some as dicts, some URL-encoded)."""
    if isinstance(document, bytes):
        document = document.decode()
    if isinstance(document, str):
        if document.startswith("%7B") or document.startswith("%7b"):
            from urllib.parse import unquote

            return unquote(document)
        return document
    return json.dumps(document)


# --------------------------------------------------------------------------
# Wildcards
# --------------------------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def _wildcard(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(f"^{body}$", re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def like(pattern: str, value: str, ignore_case: bool = False) -> bool:
    """``*`` matches any run of characters, ``?`` any one character."""
    if pattern == "*":
        return True
    if "*" not in pattern and "?" not in pattern:
        return pattern.lower() == value.lower() if ignore_case else pattern == value
    return _wildcard(pattern, ignore_case).match(value) is not None


_VARIABLE = re.compile(r"\$\{([^}]+)\}")


def substitute(pattern: str, context: Mapping[str, Any]) -> str:
    """Replace policy variables (``${aws:username}``) with the request's values.

    A variable with no value leaves the pattern unmatchable, as on AWS."""
    if "${" not in pattern:
        return pattern

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in ("*", "?", "$"):
            return name
        found = _lookup(context, name)
        if not found:
            return "\x00no-value\x00"
        return str(found[0])

    return _VARIABLE.sub(value, pattern)


def _lookup(context: Mapping[str, Any], key: str) -> tuple[Any, ...]:
    """A context key's values; keys are compared without regard to case."""
    if key in context:
        return _tuple(context[key])
    lowered = key.lower()
    for name, value in context.items():
        if name.lower() == lowered:
            return _tuple(value)
    return ()


# --------------------------------------------------------------------------
# One statement against one request
# --------------------------------------------------------------------------


def action_matches(statement: Statement, action: str) -> bool:
    if statement.action_pattern is not None:
        found = statement.action_pattern.match(action) is not None
        return found if statement.actions is not None else not found
    if statement.actions is not None:
        return any(like(p, action, ignore_case=True) for p in statement.actions)
    if statement.not_actions is not None:
        return not any(like(p, action, ignore_case=True) for p in statement.not_actions)
    return False


def resource_matches(statement: Statement, resource: str, context: Mapping[str, Any]) -> bool:
    if statement.resources is not None:
        return any(arn_like(substitute(p, context), resource) for p in statement.resources)
    if statement.not_resources is not None:
        return not any(arn_like(substitute(p, context), resource) for p in statement.not_resources)
    return True  # a resource-based policy may omit Resource (the resource is the policy's owner)


def arn_like(pattern: str, value: str) -> bool:
    """ARN matching: each of the six fields matched on its own, wildcards allowed."""
    if pattern == "*" or value == "*":
        return pattern == "*" or pattern == value
    if not pattern.startswith("arn:") or not value.startswith("arn:"):
        return like(pattern, value)
    p_parts, v_parts = pattern.split(":", 5), value.split(":", 5)
    if len(p_parts) != 6 or len(v_parts) != 6:
        return like(pattern, value)
    return all(like(p, v) for p, v in zip(p_parts, v_parts, strict=True))


def principal_matches(principals: Mapping[str, tuple[str, ...]], principal: Mapping[str, Any]) -> bool:
    """Does a ``Principal`` element name the caller?

    ``principal`` describes the caller: ``{"AWS": [arns and account ids that
    identify it], "Service": "lambda.amazonaws.com"}``."""
    if "*" in principals:
        return True
    for kind, names in principals.items():
        mine = _tuple(principal.get(kind))
        for name in names:
            if name == "*" and mine:
                return True
            if name in mine:
                return True
            if kind == "AWS" and name.isdigit() and f"arn:aws:iam::{name}:root" in mine:
                return True
    return False


def conditions_hold(statement: Statement, context: Mapping[str, Any]) -> bool:
    return all(condition_holds(op, keys, context) for op, keys in statement.condition.items())


def applies(statement: Statement, action: str, resource: str, context: Mapping[str, Any],
            principal: Mapping[str, Any] | None = None) -> bool:
    """Does ``statement`` apply to this request (action, resource, principal, conditions)?"""
    if not action_matches(statement, action):
        return False
    if not resource_matches(statement, resource, context):
        return False
    if principal is not None:
        if statement.principals is not None and not principal_matches(statement.principals, principal):
            return False
        if statement.not_principals is not None and principal_matches(statement.not_principals, principal):
            return False
        if statement.principals is None and statement.not_principals is None:
            return False
    return conditions_hold(statement, context)


# --------------------------------------------------------------------------
# Condition operators
# --------------------------------------------------------------------------


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _date(value: Any) -> float | None:
    return aws.epoch_of(value)


def _ip_in(value: Any, network: Any) -> bool:
    try:
        return ipaddress.ip_address(str(value)) in ipaddress.ip_network(str(network), strict=False)
    except ValueError:
        return False


def _bool(value: Any) -> str:
    return str(value).lower()


_COMPARE = {
    "Equals": lambda a, b: a == b,
    "NotEquals": lambda a, b: a != b,
    "LessThan": lambda a, b: a < b,
    "LessThanEquals": lambda a, b: a <= b,
    "GreaterThan": lambda a, b: a > b,
    "GreaterThanEquals": lambda a, b: a >= b,
}


def _one(operator: str, actual: Any, expected: Any) -> bool | None:
    """One context value against one policy value; None for an unknown operator."""
    if operator == "StringEquals":
        return str(actual) == str(expected)
    if operator == "StringEqualsIgnoreCase":
        return str(actual).lower() == str(expected).lower()
    if operator == "StringLike":
        return like(str(expected), str(actual))
    if operator in ("ArnEquals", "ArnLike"):
        return arn_like(str(expected), str(actual))
    if operator == "Bool":
        return _bool(actual) == _bool(expected)
    if operator == "BinaryEquals":
        return str(actual) == str(expected)
    if operator == "IpAddress":
        return _ip_in(actual, expected)
    for family, convert in (("Numeric", _number), ("Date", _date)):
        if operator.startswith(family):
            compare = _COMPARE.get(operator[len(family):])
            if compare is None:
                return None
            a, b = convert(actual), convert(expected)
            return a is not None and b is not None and compare(a, b)
    return None


_NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
    "NotIpAddress": "IpAddress",
}

#: Every operator the evaluator knows (before ``IfExists`` and set prefixes).
OPERATORS = frozenset(
    {"StringEquals", "StringEqualsIgnoreCase", "StringLike", "ArnEquals", "ArnLike", "Bool", "BinaryEquals",
     "IpAddress", "Null"} | set(_NEGATED)
    | {f"{family}{compare}" for family in ("Numeric", "Date") for compare in _COMPARE}
)


def _matches_any(operator: str, value: Any, expected: tuple[Any, ...]) -> bool:
    results = [_one(operator, value, e) for e in expected]
    return not any(r is None for r in results) and any(results)


def condition_holds(operator: str, keys: Mapping[str, Iterable[Any]], context: Mapping[str, Any]) -> bool:
    """One operator of a ``Condition`` block: every key must hold."""
    set_mode = ""
    if operator.startswith("ForAnyValue:"):
        set_mode, operator = "any", operator.split(":", 1)[1]
    elif operator.startswith("ForAllValues:"):
        set_mode, operator = "all", operator.split(":", 1)[1]
    if_exists = operator.endswith("IfExists")
    if if_exists:
        operator = operator[: -len("IfExists")]
    for key, expected_values in keys.items():
        actual = _lookup(context, key)
        expected = tuple(expected_values)
        if operator == "Null":
            wants_absent = any(_bool(v) == "true" for v in expected)
            if wants_absent != (not actual):
                return False
            continue
        if not actual:
            if if_exists or set_mode == "all":
                continue  # ...IfExists: a missing key passes; ForAllValues over nothing is true
            if operator in _NEGATED and not set_mode:
                continue  # a negated operator holds when the key is absent
            return False
        negated = operator in _NEGATED
        base = _NEGATED.get(operator, operator)
        expected = tuple(substitute(v, context) if isinstance(v, str) else v for v in expected)

        if set_mode == "all":
            ok = all(_matches_any(base, v, expected) != negated for v in actual)
        elif negated:
            ok = not any(_matches_any(base, v, expected) for v in actual)
        else:
            ok = any(_matches_any(base, v, expected) for v in actual)
        if not ok:
            return False
    return True
