"""Throttles, API keys and usage plans, as API Gateway applies them to a REST API.

Every throttle is a token bucket (:class:`labkit.core.ratelimit.TokenBucket`)
on the sandbox clock: ``rateLimit`` tokens a second, at most ``burstLimit``.
A request pays one token to each bucket that applies, or gets
429 ``{"message":"Too Many Requests"}``:

- the account's bucket for the Region (10,000 requests a second, a burst of
  5,000: AWS's default quota);
- the stage's method bucket: one per method of the stage, sized by the stage's
  ``methodSettings`` (``*/*`` or ``~1items~1{id}/GET``), the most specific first;
- the usage plan's bucket for the caller's API key (the plan's ``throttle``,
  or the per-method throttle in its ``apiStages``).

A usage plan's ``quota`` counts requests per key per period (``DAY``,
``WEEK`` from Monday, ``MONTH`` from the 1st, in UTC on the sandbox clock,
``offset`` taken off the first period); past it, 429
``{"message":"Limit Exceeded"}`` until the period turns. The counts per UTC
day answer ``get_usage``, which moto does not implement.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from labkit.core.clock import clock
from labkit.core.ratelimit import TokenBucket

#: AWS's default account-level throttle per Region: rate and burst (most Regions).
ACCOUNT_RATE = 10_000.0
ACCOUNT_BURST = 5_000.0

_LOCK = threading.RLock()
_BUCKETS: dict[tuple[Any, ...], TokenBucket] = {}
_QUOTA_USED: dict[tuple[str, str, float], int] = {}  # (plan, key id, period start) -> requests
_FIRST_PERIOD: dict[tuple[str, str], float] = {}  # (plan, key id) -> start of the first period seen
_DAILY: dict[tuple[str, str, str], int] = {}  # (plan, key id, "YYYY-MM-DD") -> requests


def _take(key: tuple[Any, ...], rate: float, burst: float) -> bool:
    with _LOCK:
        bucket = _BUCKETS.get(key)
        if bucket is None:
            bucket = _BUCKETS[key] = TokenBucket(rate=float(rate), capacity=float(burst))
        else:
            bucket.refill(float(rate), float(burst))
        return bucket.try_take(1)


def _escape(path: str) -> str:
    return path.replace("/", "~1")


def method_limits(method_settings: dict[str, Any], resource_path: str, http_method: str) -> tuple[float, float] | None:
    """The (rate, burst) a stage's ``methodSettings`` give one method, or None."""
    candidates = [f"{_escape(resource_path)}/{http_method}", f"{_escape(resource_path)}/*",
                  f"*/{http_method}", "*/*"]
    for key in candidates:
        setting = method_settings.get(key)
        if setting and "throttlingRateLimit" in setting:
            return float(setting["throttlingRateLimit"]), float(setting.get("throttlingBurstLimit", 0))
    return None


def take_account(region: str, account_id: str) -> bool:
    return _take(("account", account_id, region), ACCOUNT_RATE, ACCOUNT_BURST)


def take_method(api_id: str, stage: str, resource_path: str, http_method: str,
                method_settings: dict[str, Any]) -> bool:
    """One token from the stage's bucket for this method (True when none is configured)."""
    limits = method_limits(method_settings, resource_path, http_method)
    if limits is None:
        return True
    return _take(("method", api_id, stage, resource_path, http_method), *limits)


# --------------------------------------------------------------------------
# API keys and usage plans
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanMatch:
    """The usage plan that covers a key on a stage."""

    plan: Any  # moto's UsagePlan
    key: Any  # moto's ApiKey


def find_key(backend: Any, value: str | None) -> Any | None:
    """moto's ``ApiKey`` with this value, or None."""
    if not value:
        return None
    return next((key for key in list(backend.keys.values()) if key.value == value), None)


def plan_for(backend: Any, key: Any, api_id: str, stage: str) -> Any | None:
    """The usage plan that associates ``key`` with ``api_id``'s ``stage``, or None."""
    for plan_id, keys in list(backend.usage_plan_keys.items()):
        if key.id not in keys:
            continue
        plan = backend.usage_plans.get(plan_id)
        if plan is None:
            continue
        for api_stage in plan.api_stages or []:
            if api_stage.get("apiId") == api_id and api_stage.get("stage") == stage:
                return plan
    return None


def _plan_stage(plan: Any, api_id: str, stage: str) -> dict[str, Any]:
    return next((s for s in plan.api_stages or [] if s.get("apiId") == api_id and s.get("stage") == stage), {})


def take_plan(plan: Any, key: Any, api_id: str, stage: str, resource_path: str, http_method: str) -> bool:
    """One token from the plan's bucket for this key (and from its per-method bucket, if any)."""
    per_method = (_plan_stage(plan, api_id, stage).get("throttle") or {})
    method_throttle = per_method.get(f"{resource_path}/{http_method}") or per_method.get(f"{_escape(resource_path)}/{http_method}")
    if method_throttle and "rateLimit" in method_throttle and not _take(
            ("plan-method", plan.id, key.id, resource_path, http_method), float(method_throttle["rateLimit"]),
            float(method_throttle.get("burstLimit", 0))):
        return False
    throttle = plan.throttle or {}
    if "rateLimit" in throttle:
        return _take(("plan", plan.id, key.id), float(throttle["rateLimit"]), float(throttle.get("burstLimit", 0)))
    return True


def _period_start(moment: float, period: str) -> float:
    day = datetime.fromtimestamp(moment, timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "WEEK":
        day -= timedelta(days=day.weekday())
    elif period == "MONTH":
        day = day.replace(day=1)
    return day.timestamp()


def period_end(start: float, period: str) -> float:
    begin = datetime.fromtimestamp(start, timezone.utc)
    if period == "WEEK":
        return (begin + timedelta(days=7)).timestamp()
    if period == "MONTH":
        return (begin.replace(year=begin.year + 1, month=1) if begin.month == 12
                else begin.replace(month=begin.month + 1)).timestamp()
    return (begin + timedelta(days=1)).timestamp()


def count_quota(plan: Any, key: Any) -> bool:
    """Count one request against the plan's quota for this key; False when it
    is spent (the request is refused and not counted)."""
    quota = plan.quota or {}
    now = clock.now()
    with _LOCK:
        if "limit" in quota:
            period = str(quota.get("period") or "DAY").upper()
            start = _period_start(now, period)
            first = _FIRST_PERIOD.setdefault((plan.id, key.id), start)
            limit = int(quota["limit"]) - (int(quota.get("offset") or 0) if start == first else 0)
            used = _QUOTA_USED.get((plan.id, key.id, start), 0)
            if used >= limit:
                return False
            _QUOTA_USED[(plan.id, key.id, start)] = used + 1
        day = datetime.fromtimestamp(now, timezone.utc).strftime("%Y-%m-%d")
        _DAILY[(plan.id, key.id, day)] = _DAILY.get((plan.id, key.id, day), 0) + 1
    return True


def remaining(plan: Any, key: Any, moment: float | None = None) -> int | None:
    """Requests left in the key's current quota period (None: the plan has no quota)."""
    quota = plan.quota or {}
    if "limit" not in quota:
        return None
    period = str(quota.get("period") or "DAY").upper()
    start = _period_start(clock.now() if moment is None else moment, period)
    with _LOCK:
        first = _FIRST_PERIOD.get((plan.id, key.id), start)
        limit = int(quota["limit"]) - (int(quota.get("offset") or 0) if start == first else 0)
        return max(0, limit - _QUOTA_USED.get((plan.id, key.id, start), 0))


def usage(plan: Any, start_date: str, end_date: str, key_id: str | None = None) -> dict[str, list[list[int]]]:
    """``get_usage``'s ``items``: for each key of the plan, one ``[used, remaining]``
    pair per UTC day from ``start_date`` to ``end_date`` (``YYYY-MM-DD``)."""
    first = datetime.strptime(start_date, "%Y-%m-%d").replace(tzinfo=timezone.utc)
    last = datetime.strptime(end_date, "%Y-%m-%d").replace(tzinfo=timezone.utc)
    with _LOCK:
        keys = sorted({k for (p, k, _d) in _DAILY if p == plan.id} | {k for (p, k, _s) in _QUOTA_USED if p == plan.id})
    if key_id:
        keys = [k for k in keys if k == key_id]
    items: dict[str, list[list[int]]] = {}
    for key in keys:
        rows = []
        day = first
        while day <= last:
            used = _DAILY.get((plan.id, key, day.strftime("%Y-%m-%d")), 0)
            left = remaining(plan, type("K", (), {"id": key})(), (day + timedelta(hours=23, minutes=59)).timestamp())
            rows.append([used, -1 if left is None else left])
            day += timedelta(days=1)
        items[key] = rows
    return items


def reset() -> None:
    with _LOCK:
        _BUCKETS.clear()
        _QUOTA_USED.clear()
        _FIRST_PERIOD.clear()
        _DAILY.clear()
