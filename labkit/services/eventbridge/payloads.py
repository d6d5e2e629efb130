"""What an EventBridge target receives: the pure part of EventBridge, no moto and no I/O.

What AWS does
    An event bus matches every event against the event pattern of each enabled
    rule and delivers it to the rule's targets (up to five). What a target
    receives is decided by the target's configuration: the whole event by
    default, a constant ``Input``, the part of the event an ``InputPath``
    selects, or the text an ``InputTransformer`` builds from a template.

What moto 5.2 does
    It ignores a constant ``Input`` and fills an ``InputTransformer`` only with
    quoted placeholders.

What this module gives
    :func:`target_payload` builds the payload as AWS does, from
    :func:`aws_event` (the event as AWS delivers it), :func:`json_path` and
    :func:`render_template`; :func:`pattern_matches` asks moto's matcher (the
    one rules use) whether a pattern matches an event. :mod:`.targets` sends
    the payload.

Limits
    A placeholder whose JSON path is missing from the event becomes ``null``
    outside quotes and an empty string inside quotes (AWS documents only that
    such a variable "isn't created").
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from labkit.core.aws import epoch_of, iso_timestamp

__all__ = ["MISSING", "PREDEFINED", "TEST_EVENT_FIELDS", "aws_event", "iso_time", "json_path",
           "pattern_matches", "render_template", "target_payload"]

#: Variables every input template may use without defining them.
PREDEFINED = ("aws.events.rule-arn", "aws.events.rule-name", "aws.events.event.ingestion-time",
              "aws.events.event", "aws.events.event.json")

#: The fields TestEventPattern requires in the event (API reference).
TEST_EVENT_FIELDS = ("id", "account", "source", "time", "region", "resources", "detail-type")

_PLACEHOLDER = re.compile(r"<([A-Za-z0-9_.\-]+)>")


class _Missing:
    """What a JSON path that matches nothing selects (``null`` or ``""`` in a template)."""

    def __repr__(self) -> str:
        return "MISSING"


#: What :func:`json_path` returns when the path matches nothing.
MISSING: Any = _Missing()


def iso_time(value: Any) -> Any:
    """An event time as AWS writes it (``2026-11-02T10:00:00Z``); moto keeps epoch seconds.
    Anything that is not a time is returned as it is."""
    if isinstance(value, (datetime, int, float)) or (
            isinstance(value, str) and value.replace(".", "", 1).isdigit()):
        epoch = epoch_of(value)
        if epoch is not None:
            return iso_timestamp(epoch, millis=False)
    return value


def aws_event(event: dict[str, Any]) -> dict[str, Any]:
    """The event as EventBridge delivers it, without moto's internal fields."""
    shaped: dict[str, Any] = {
        "version": str(event.get("version", "0")), "id": event.get("id"),
        "detail-type": event.get("detail-type"), "source": event.get("source"),
        "account": event.get("account"), "time": iso_time(event.get("time")),
        "region": event.get("region"), "resources": list(event.get("resources") or []),
        "detail": event.get("detail", {}),
    }
    if event.get("replay-name"):
        shaped["replay-name"] = event["replay-name"]
    return shaped


def _minified(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def json_path(path: str, document: Any) -> Any:
    """The value a JSON path (``$.detail.state``) selects; a list when a wildcard
    selects several; ``MISSING`` when nothing matches."""
    from jsonpath_ng.ext import parse

    matches = parse(path).find(document)
    if not matches:
        return MISSING
    return matches[0].value if len(matches) == 1 else [m.value for m in matches]


def render_template(template: str, variables: dict[str, Any]) -> str:
    """Fill ``<name>`` placeholders as EventBridge does.

    Outside a JSON string a placeholder becomes the value's JSON (a string gets
    quotes, a number stays a number, an object stays an object). Inside a
    string (the template author wrote the quotes) it becomes the raw text,
    not escaped. Names that are not variables are left alone.
    """
    out: list[str] = []
    in_string = False
    i = 0
    while i < len(template):
        char = template[i]
        if char == "\\" and in_string:
            out.append(template[i:i + 2])
            i += 2
            continue
        if char == '"':
            in_string = not in_string
            out.append(char)
            i += 1
            continue
        match = _PLACEHOLDER.match(template, i) if char == "<" else None
        if match and match.group(1) in variables:
            value = variables[match.group(1)]
            if in_string:
                out.append("" if value is MISSING else value if isinstance(value, str) else _minified(value))
            else:
                out.append("null" if value is MISSING else _minified(value))
            i = match.end()
            continue
        out.append(char)
        i += 1
    return "".join(out)


def target_payload(target: dict[str, Any], event: dict[str, Any], rule_name: str = "",
                   rule_arn: str = "") -> str:
    """The text EventBridge sends to ``target`` for ``event`` (moto's or AWS's shape).

    ``Input`` (constant JSON), ``InputPath`` (part of the event), or
    ``InputTransformer`` (a template); without any of them, the whole event.
    JSON results are minified.
    """
    shaped = aws_event(event)
    if target.get("Input") is not None:
        return str(target["Input"])
    if target.get("InputPath"):
        value = json_path(target["InputPath"], shaped)
        return "null" if value is MISSING else _minified(value)
    transformer = target.get("InputTransformer")
    if not transformer:
        return _minified(shaped)
    without_detail = {k: v for k, v in shaped.items() if k != "detail"}
    variables: dict[str, Any] = {
        "aws.events.rule-arn": rule_arn,
        "aws.events.rule-name": rule_name,
        "aws.events.event.ingestion-time": iso_time(event.get("ingestion-time", event.get("time"))),
        "aws.events.event": without_detail,
        "aws.events.event.json": shaped,
    }
    for name, path in (transformer.get("InputPathsMap") or {}).items():
        variables[name] = json_path(path, shaped)
    text = render_template(transformer.get("InputTemplate", ""), variables)
    try:
        return _minified(json.loads(text))
    except ValueError:
        return text


def pattern_matches(pattern: str | dict[str, Any], event: dict[str, Any]) -> bool:
    """Whether an event pattern matches an event, with moto's matcher (the one rules use)."""
    from moto.events.models import EventPattern

    raw = pattern if isinstance(pattern, str) else json.dumps(pattern)
    return bool(EventPattern.load(raw).matches_event(event))
