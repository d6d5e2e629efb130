"""Metric storage and queries: what GetMetricStatistics, GetMetricData and
ListMetrics answer, computed from the data points moto stores.

moto keeps every data point in one list (``CloudWatchBackend.metric_data``)
and answers queries from it with a few mistakes that a lesson would notice:
``list_metrics`` returns one entry per data point instead of one per metric,
``get_metric_data`` ignores the namespace when dimensions are given,
``get_metric_statistics`` matches any metric that has *some* of the
dimensions asked for, and percentiles are never computed. Here the same list
is read through an index (one sorted series per metric: namespace, name and
the exact set of dimensions, as CloudWatch identifies a metric), and the
three queries are answered from it.

Time: a data point sent without a ``Timestamp`` is stamped with the sandbox
clock's now (:func:`put_metric_data`), so that ``lab.clock.advance(300)``
moves metrics and alarms together. Periods are aligned on multiples of the
period since the epoch (whole minutes for a 60-second period).
"""

from __future__ import annotations

import bisect
import itertools
import math
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from labkit.core import aws
from labkit.core.clock import clock

STATISTICS = ("SampleCount", "Average", "Sum", "Minimum", "Maximum")

Key = tuple[str, str, frozenset[tuple[str, str]]]


def key_of(namespace: str, name: str, dimensions: Iterable[Any]) -> Key:
    """The identity of a metric: namespace, name and the exact set of dimensions.
    ``dimensions`` holds moto ``Dimension`` objects or ``{"Name", "Value"}`` dicts."""
    pairs = []
    for d in dimensions or ():
        if isinstance(d, dict):
            pairs.append((str(d["Name"]), str(d.get("Value"))))
        else:
            pairs.append((str(d.name), str(d.value)))
    return namespace, name, frozenset(pairs)


def epoch_of(moment: Any) -> float:
    """Seconds since the epoch of a moto timestamp (a naive UTC or aware datetime)."""
    if isinstance(moment, datetime):
        return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp()
    return float(aws.epoch_of(moment) or 0.0)


def utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, timezone.utc)


def naive_utc(epoch: float) -> datetime:
    """What moto stores: a naive UTC datetime."""
    return utc(epoch).replace(tzinfo=None)


# --------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------


def backend(region: str | None = None, account: str = aws.ACCOUNT_ID) -> Any:
    from moto.cloudwatch.models import cloudwatch_backends

    return cloudwatch_backends[account][region or aws.default_region()]


def put_metric_data(original: Any, self: Any, namespace: str, metric_data: list[dict[str, Any]]) -> None:
    """A data point without a Timestamp is stamped with the sandbox clock's now (not moto's real time)."""
    now = None
    stamped = []
    for datum in metric_data:
        if not datum.get("Timestamp"):
            now = now if now is not None else naive_utc(clock.peek())
            datum = {**datum, "Timestamp": now}
        stamped.append(datum)
    original(self, namespace, stamped)


def put(namespace: str, name: str, value: float, dimensions: dict[str, str], *, unit: str = "Count",
        timestamp: float | None = None, region: str | None = None) -> None:
    """Record one data point, as a service would publish it (labkit's own write:
    no boto3 call, so nothing is recorded or throttled as the learner's)."""
    datum: dict[str, Any] = {"MetricName": name, "Value": float(value), "Unit": unit,
                             "Dimensions": [{"Name": k, "Value": str(v)} for k, v in dimensions.items()]}
    if timestamp is not None:
        datum["Timestamp"] = naive_utc(timestamp)
    backend(region).put_metric_data(namespace, [datum])


# --------------------------------------------------------------------------
# The index: one sorted series per metric
# --------------------------------------------------------------------------


@dataclass
class _Index:
    owner: Any = None
    seen: int = 0
    series: dict[Key, list[tuple[float, int, Any]]] = field(default_factory=dict)
    order: itertools.count = field(default_factory=itertools.count)


_INDEXES: dict[int, _Index] = {}
_LOCK = threading.RLock()


def index(cw: Any) -> dict[Key, list[tuple[float, int, Any]]]:
    """Every stored metric of a moto CloudWatch backend, each a list of
    ``(epoch, order, datum)`` sorted by time. Reads only what was added since
    the last call."""
    with _LOCK:
        idx = _INDEXES.get(id(cw))
        data = cw.metric_data
        if idx is None or idx.owner is not cw or len(data) < idx.seen:
            idx = _INDEXES[id(cw)] = _Index(owner=cw)
        for datum in data[idx.seen:]:
            entry = (epoch_of(datum.timestamp), next(idx.order), datum)
            series = idx.series.setdefault(key_of(datum.namespace, datum.name, datum.dimensions), [])
            if not series or series[-1][0] <= entry[0]:
                series.append(entry)
            else:
                bisect.insort(series, entry)
        idx.seen = len(data)
        return idx.series


def forget() -> None:
    with _LOCK:
        _INDEXES.clear()


def provided(cw: Any, namespace: str | None = None) -> list[Any]:
    """Data points moto computes on demand (its S3 storage metrics)."""
    if namespace not in (None, "AWS/S3"):
        return []
    try:
        return list(cw.aws_metric_data)
    except Exception:  # noqa: BLE001  (a provider's failure must not break a query)
        return []


def points(cw: Any, key: Key, start: float, end: float, unit: str | None = None) -> list[tuple[float, Any]]:
    """The data points of one metric with ``start <= time < end``."""
    series = index(cw).get(key, [])
    lo = bisect.bisect_left(series, (start, -1))
    hi = bisect.bisect_left(series, (end, -1))
    found = [(t, d) for t, _, d in series[lo:hi]]
    if key[0] == "AWS/S3":
        found += [(epoch_of(d.timestamp), d) for d in provided(cw, key[0])
                  if key_of(d.namespace, d.name, d.dimensions) == key and start <= epoch_of(d.timestamp) < end]
    if unit:
        found = [(t, d) for t, d in found if d.unit == unit]
    return found


# --------------------------------------------------------------------------
# Statistics
# --------------------------------------------------------------------------


def is_percentile(stat: str) -> bool:
    if not stat.startswith("p"):
        return False
    try:
        return 0.0 <= float(stat[1:]) <= 100.0
    except ValueError:
        return False


def statistic(data: list[Any], stat: str) -> float | None:
    """One statistic of a period's data points; ``None`` when it cannot be
    computed (no data, or a percentile asked of pre-aggregated StatisticValues)."""
    values = [d.value for d in data if hasattr(d, "value")]
    sets = [d for d in data if not hasattr(d, "value")]
    count = len(values) + sum(s.sample_count for s in sets)
    if not count:
        return None
    if stat == "SampleCount":
        return float(count)
    if stat == "Sum":
        return float(sum(values) + sum(s.sum for s in sets))
    if stat == "Average":
        return float(sum(values) + sum(s.sum for s in sets)) / count
    if stat == "Minimum":
        return float(min(values + [s.min for s in sets]))
    if stat == "Maximum":
        return float(max(values + [s.max for s in sets]))
    if is_percentile(stat):
        if sets or not values:
            return None
        ordered = sorted(values)
        rank = max(1, math.ceil(float(stat[1:]) / 100.0 * len(ordered)))  # nearest rank
        return float(ordered[rank - 1])
    return None


def aligned(moment: float, period: int) -> float:
    return math.floor(moment / period) * period


def series(cw: Any, key: Key, start: float, end: float, period: int, stat: str,
           unit: str | None = None) -> list[tuple[float, float, int]]:
    """``(period start, value, sample count)`` for every period in
    ``[start, end)`` that has data, oldest first; periods are aligned on
    multiples of ``period`` since the epoch."""
    found = points(cw, key, aligned(start, period), end, unit)
    out: list[tuple[float, float, int]] = []
    for bucket, group in itertools.groupby(found, key=lambda p: aligned(p[0], period)):
        data = [d for _, d in group]
        value = statistic(data, stat)
        if value is not None:
            out.append((bucket, value, int(statistic(data, "SampleCount") or 0)))
    return out
