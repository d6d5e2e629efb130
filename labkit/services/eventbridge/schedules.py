"""Scheduled rules that fire as the sandbox clock passes their times.

**What AWS does.** A rule on the default event bus with a ``ScheduleExpression``
fires on a clock, in UTC, to the minute: ``rate(value unit)`` every ``value``
minutes, hours or days from the moment the rule is created (``rate(1 minute)``,
``rate(5 minutes)``: singular for 1, plural above), and ``cron(fields)`` at the
times its six fields name (minutes, hours, day-of-month, month, day-of-week,
year; one of the two day fields must be ``?``; ``, - * / ? L W #`` wildcards;
nothing more often than once a minute). Each firing sends the scheduled event
(source ``aws.events``, detail-type ``Scheduled Event``) to the rule's targets.
A disabled rule keeps its schedule and delivers nothing.

**What moto does.** It stores the expression and never fires the rule.

**What labkit does.** An ``after`` subscriber of ``PutRule`` puts the rule's next
firing on the sandbox clock (:meth:`labkit.core.clock.Clock.call_at`); when the
clock reaches it (``lab.clock.advance(300)`` passes one firing of
``rate(5 minutes)``), the rule fires through
:func:`labkit.services.eventbridge.fire_scheduled_rule`, and the next firing is
put on the clock. ``DeleteRule`` takes it off. A ``before`` subscriber refuses
an expression AWS would refuse (``ValidationException``).

**Limits.** Firings happen when the sandbox clock is read or advanced past
them (any boto3 call that reads it, or ``lab.clock.advance``); several firings
passed by one ``advance`` are delivered in order, each stamped with the time
the clock had reached, not the scheduled minute. EventBridge Scheduler (the
``scheduler`` API, with ``at(...)`` and time zones) is a different service,
not emulated here.
"""

from __future__ import annotations

import calendar
import re
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from labkit.core import hooks
from labkit.core.aws import ACCOUNT_ID
from labkit.core.clock import clock

_UNITS = {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400, "days": 86400}
_MONTHS = {m: i for i, m in enumerate(["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV",
                                       "DEC"], start=1)}
_DAYS = {d: i for i, d in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"], start=1)}  # AWS: 1 is Sunday
_LAST_YEAR = 2199


class InvalidSchedule(ValueError):
    """An expression AWS refuses ("Parameter ScheduleExpression is not valid.")."""


# ---------------------------------------------------------------- rate(...)


def rate_seconds(expression: str) -> int:
    """The interval of ``rate(value unit)``, in seconds."""
    match = re.fullmatch(r"rate\(\s*(\d+)\s+([a-z]+)\s*\)", expression.strip())
    if not match:
        raise InvalidSchedule(f"not a rate expression: {expression!r}")
    value, unit = int(match.group(1)), match.group(2)
    if value < 1 or unit not in _UNITS:
        raise InvalidSchedule(f"{expression!r}: the value is a positive number, the unit minute(s), hour(s) or day(s)")
    if (value == 1) != (not unit.endswith("s")):
        raise InvalidSchedule(f"{expression!r}: the unit is singular for 1 and plural above (rate(1 hour), rate(5 hours))")
    return value * _UNITS[unit]


# ---------------------------------------------------------------- cron(...)


@dataclass(frozen=True)
class Cron:
    minutes: frozenset[int]
    hours: frozenset[int]
    years: frozenset[int]
    months: frozenset[int]
    dom: str  # the day-of-month field as written ("?" when day-of-week decides)
    dow: str  # the day-of-week field as written

    def day_matches(self, day: datetime) -> bool:
        if self.dom != "?":
            return _dom_matches(self.dom, day)
        return _dow_matches(self.dow, day)

    def next_after(self, moment: float) -> float | None:
        """The first firing strictly after ``moment`` (epoch seconds), or None (none before 2200)."""
        start = datetime.fromtimestamp((int(moment) // 60 + 1) * 60, tz=timezone.utc)
        day = start.replace(hour=0, minute=0)
        while day.year <= _LAST_YEAR:
            if day.year not in self.years:
                day = datetime(day.year + 1, 1, 1, tzinfo=timezone.utc)
                continue
            if day.month in self.months and self.day_matches(day):
                for hour in sorted(self.hours):
                    for minute in sorted(self.minutes):
                        candidate = day.replace(hour=hour, minute=minute)
                        if candidate >= start:
                            return candidate.timestamp()
            day += timedelta(days=1)
        return None


def _number(token: str, names: dict[str, int]) -> int:
    token = token.upper()
    if token in names:
        return names[token]
    if not token.isdigit():
        raise InvalidSchedule(f"{token!r} is not a value of this field")
    return int(token)


def _values(field: str, low: int, high: int, names: dict[str, int] | None = None) -> frozenset[int]:
    names = names or {}
    out: set[int] = set()
    for part in field.split(","):
        step, stepped = 1, "/" in part
        if stepped:
            part, step_text = part.split("/", 1)
            if not step_text.isdigit() or int(step_text) < 1:
                raise InvalidSchedule(f"{step_text!r} is not an increment")
            step = int(step_text)
        if part == "*":
            first, last = low, high
        elif "-" in part:
            a, b = part.split("-", 1)
            first, last = _number(a, names), _number(b, names)
        else:
            first = _number(part, names)
            last = high if stepped else first
        if not (low <= first <= high and low <= last <= high) or first > last:
            raise InvalidSchedule(f"{part!r} is outside {low}-{high}")
        out.update(range(first, last + 1, step))
    return frozenset(out)


def _dom_matches(field: str, day: datetime) -> bool:
    last = calendar.monthrange(day.year, day.month)[1]
    if field == "L":
        return day.day == last
    if field.endswith("W"):
        wanted = min(_number(field[:-1], {}), last)
        target = day.replace(day=wanted)
        if target.weekday() == 5:  # Saturday: the Friday before, or the Monday after on the 1st
            target = target - timedelta(days=1) if wanted > 1 else target + timedelta(days=2)
        elif target.weekday() == 6:  # Sunday: the Monday after, or the Friday before on the last day
            target = target + timedelta(days=1) if wanted < last else target - timedelta(days=2)
        return day.day == target.day
    return day.day in _values(field, 1, 31)


def _aws_weekday(day: datetime) -> int:
    return (day.weekday() + 1) % 7 + 1  # Monday is 2, Sunday is 1


def _dow_matches(field: str, day: datetime) -> bool:
    weekday = _aws_weekday(day)
    if field == "L":
        return weekday == 7
    if field.endswith("L"):  # "5L": the last Thursday of the month
        last = calendar.monthrange(day.year, day.month)[1]
        return weekday == _number(field[:-1], _DAYS) and day.day + 7 > last
    if "#" in field:  # "3#2": the second Tuesday of the month
        which, nth = field.split("#", 1)
        return weekday == _number(which, _DAYS) and (day.day - 1) // 7 + 1 == int(nth)
    return weekday in _values(field, 1, 7, _DAYS)


def parse_cron(expression: str) -> Cron:
    match = re.fullmatch(r"cron\((.*)\)", expression.strip())
    if not match:
        raise InvalidSchedule(f"not a cron expression: {expression!r}")
    fields = match.group(1).split()
    if len(fields) != 6:
        raise InvalidSchedule(f"{expression!r}: a cron expression has six fields, not {len(fields)}")
    minute, hour, dom, month, dow, year = fields
    if (dom == "?") == (dow == "?"):
        raise InvalidSchedule(f"{expression!r}: one of day-of-month and day-of-week must be '?', not both or neither")
    cron = Cron(_values(minute, 0, 59), _values(hour, 0, 23), _values(year, 1970, _LAST_YEAR),
                _values(month, 1, 12, _MONTHS), dom, dow)
    probe = datetime(2030, 1, 1, tzinfo=timezone.utc)  # the day fields parse (their errors show here)
    cron.day_matches(probe)
    return cron


def next_firing(expression: str, after: float, anchor: float | None = None) -> float | None:
    """When a rule with ``expression`` fires next, strictly after ``after`` (epoch seconds).
    A rate counts from ``anchor`` (the rule's creation)."""
    if expression.strip().startswith("rate("):
        period = rate_seconds(expression)
        start = after if anchor is None else anchor
        steps = max(1, int((after - start) // period) + 1)
        return start + steps * period
    return parse_cron(expression).next_after(after)


def validate(expression: str) -> None:
    """Raise :class:`InvalidSchedule` for an expression AWS refuses."""
    next_firing(expression, 0.0)


# ---------------------------------------------------------------- on the sandbox clock


@dataclass
class _Armed:
    expression: str
    anchor: float
    entry: Any


_LOCK = threading.Lock()
_ARMED: dict[tuple[str, str], _Armed] = {}  # (region, rule name) -> its next firing


def _fire(region: str, name: str, armed: _Armed, due: float) -> None:
    from labkit.services.eventbridge.targets import fire_scheduled_rule

    with _LOCK:
        if _ARMED.get((region, name)) is not armed:
            return  # replaced or deleted since
    try:
        fire_scheduled_rule(ACCOUNT_ID, region, name)
    except ValueError:  # the rule is gone
        with _LOCK:
            _ARMED.pop((region, name), None)
        return
    _arm(region, name, armed, after=due)


def _arm(region: str, name: str, armed: _Armed, after: float) -> None:
    due = next_firing(armed.expression, after, armed.anchor)
    if due is None:
        return
    armed.entry = clock.call_at(due, lambda: _fire(region, name, armed, due))


def _check(call: hooks.Call) -> tuple[int, dict[str, Any]] | None:
    expression = call.params.get("ScheduleExpression")
    if not expression:
        return None
    bus = call.params.get("EventBusName") or "default"
    if bus not in ("default", f"arn:aws:events:{call.region}:{ACCOUNT_ID}:event-bus/default"):
        return hooks.error_answer("ValidationException", "ScheduleExpression is supported only on the default event bus.")
    try:
        validate(expression)
    except InvalidSchedule:
        return hooks.error_answer("ValidationException", "Parameter ScheduleExpression is not valid.")
    return None


def _put_rule(call: hooks.Call, parsed: dict[str, Any], status: int) -> None:
    if status >= 300:
        return
    key = (call.region, call.params.get("Name", ""))
    expression = call.params.get("ScheduleExpression")
    with _LOCK:
        old = _ARMED.pop(key, None)
    if old is not None:
        clock.cancel(old.entry)
    if not expression:
        return
    now = clock.now()
    anchor = old.anchor if old is not None and old.expression == expression else now
    armed = _Armed(expression, anchor, None)
    with _LOCK:
        _ARMED[key] = armed
    _arm(call.region, key[1], armed, after=now)


def _delete_rule(call: hooks.Call, parsed: dict[str, Any], status: int) -> None:
    if status >= 300:
        return
    with _LOCK:
        old = _ARMED.pop((call.region, call.params.get("Name", "")), None)
    if old is not None:
        clock.cancel(old.entry)


def next_fire_time(rule_name: str, region: str | None = None) -> float | None:
    """When the scheduled rule fires next on the sandbox clock (epoch seconds), or None."""
    from labkit.core.aws import default_region

    region = region or default_region()
    with _LOCK:
        armed = _ARMED.get((region, rule_name))
    return None if armed is None or armed.entry is None else float(armed.entry.due)


def subscribe() -> None:
    hooks.subscribe("before", "events", "PutRule", _check, internal=False)
    hooks.subscribe("after", "events", "PutRule", _put_rule)
    hooks.subscribe("after", "events", "DeleteRule", _delete_rule)


def reset() -> None:
    """Forget every armed schedule (the clock's own reset drops the queued firings)."""
    with _LOCK:
        armed = list(_ARMED.values())
        _ARMED.clear()
    for entry in armed:
        if entry.entry is not None:
            clock.cancel(entry.entry)
