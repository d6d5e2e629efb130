"""GetMetricStatistics, GetMetricData and ListMetrics, answered from
:mod:`.metrics` (each replaces the moto response method of the same name).

- ``list_metrics``: one entry per metric (namespace, name, dimensions), not
  one per data point; filters by namespace, name and dimensions (a dimension
  filter without a value matches any value); 500 metrics a page.
- ``get_metric_statistics``: the metric whose dimensions are exactly the ones
  given; ``Statistics`` and ``ExtendedStatistics`` (percentiles ``p0``-``p100``,
  nearest rank); a period must be 1, 5, 10, 20, 30 or a multiple of 60 seconds.
- ``get_metric_data``: ``MetricStat`` queries the same way; expressions go to
  moto's metric math (which supports little); ``ScanBy`` defaults to
  ``TimestampDescending`` as on AWS.
"""

from __future__ import annotations

from typing import Any

from moto.cloudwatch.exceptions import InvalidParameterCombination, InvalidParameterValue
from moto.core.responses import ActionResult

from . import metrics
from .metrics import STATISTICS

PAGE = 500
MAX_DATAPOINTS = 1440  # GetMetricStatistics' limit on datapoints per call


def _backend(handler: Any) -> Any:
    return metrics.backend(handler.region, handler.current_account)


def valid_period(period: int) -> bool:
    return period in (1, 5, 10, 20, 30) or (period > 0 and period % 60 == 0)


def _check_period(period: Any, where: str = "Period") -> int:
    try:
        value = int(period)
    except (TypeError, ValueError):
        raise InvalidParameterValue(f"The parameter {where} is required.") from None
    if not valid_period(value):
        raise InvalidParameterValue(
            f"The parameter {where} must be 1, 5, 10, 20, 30, or a multiple of 60.")
    return value


def list_metrics(original: Any, handler: Any) -> ActionResult:
    """One entry per metric, not per data point."""
    cw = _backend(handler)
    params = handler._get_params()
    namespace, name = params.get("Namespace"), params.get("MetricName")
    wanted = params.get("Dimensions") or []
    keys = set(metrics.index(cw))
    keys |= {metrics.key_of(d.namespace, d.name, d.dimensions) for d in metrics.provided(cw, namespace)}
    found = []
    for ns, metric_name, dims in keys:
        if namespace and ns != namespace or name and metric_name != name:
            continue
        names = dict(dims)
        if any(f["Name"] not in names or (f.get("Value") is not None and names[f["Name"]] != f["Value"])
               for f in wanted):
            continue
        found.append((ns, metric_name, sorted(dims)))
    found.sort()
    start = int(params.get("NextToken") or 0) if str(params.get("NextToken") or "0").isdigit() else -1
    if start < 0 or start > len(found):
        raise InvalidParameterValue("Request parameter NextToken is invalid")
    page = found[start:start + PAGE]
    token = str(start + PAGE) if start + PAGE < len(found) else None
    result = {"Metrics": [{"Namespace": ns, "MetricName": n, "Dimensions": [{"Name": k, "Value": v} for k, v in dims]}
                          for ns, n, dims in page]}
    if token:
        result["NextToken"] = token
    return ActionResult(result)


def get_metric_statistics(original: Any, handler: Any) -> ActionResult:
    """Datapoints of the metric with exactly these dimensions, with percentiles."""
    cw = _backend(handler)
    params = handler._get_params()
    stats = params.get("Statistics") or []
    extended = params.get("ExtendedStatistics") or []
    if not stats and not extended:
        raise InvalidParameterCombination("Must specify either Statistics or ExtendedStatistics")
    for stat in stats:
        if stat not in STATISTICS:
            raise InvalidParameterValue(f"The parameter Statistics has an invalid value {stat}.")
    for stat in extended:
        if not metrics.is_percentile(stat):
            raise InvalidParameterValue(f"The value {stat} for parameter ExtendedStatistics is not supported.")
    period = _check_period(params.get("Period"))
    start, end = metrics.epoch_of(params["StartTime"]), metrics.epoch_of(params["EndTime"])
    if start >= end:
        raise InvalidParameterValue("The parameter StartTime must be less than the parameter EndTime.")
    requested = int((end - metrics.aligned(start, period)) // period) + 1
    if requested > MAX_DATAPOINTS:
        raise InvalidParameterCombination(
            f"You have requested up to {requested:,} datapoints, which exceeds the limit of {MAX_DATAPOINTS:,}. "
            "You may reduce the datapoints requested by increasing Period, or decreasing the time range.")
    key = metrics.key_of(params["Namespace"], params["MetricName"], params.get("Dimensions") or [])
    unit = params.get("Unit")
    found = metrics.points(cw, key, metrics.aligned(start, period), end, unit)
    buckets: dict[float, list[Any]] = {}
    for moment, datum in found:
        buckets.setdefault(metrics.aligned(moment, period), []).append(datum)
    datapoints = []
    for bucket in sorted(buckets):
        data = buckets[bucket]
        point: dict[str, Any] = {"Timestamp": metrics.utc(bucket), "Unit": unit or data[-1].unit or "None"}
        for stat in stats:
            point[stat] = metrics.statistic(data, stat)
        if extended:
            point["ExtendedStatistics"] = {
                s: v for s in extended if (v := metrics.statistic(data, s)) is not None}
        datapoints.append(point)
    return ActionResult({"Label": params["MetricName"], "Datapoints": datapoints})


def get_metric_data(original: Any, handler: Any) -> ActionResult:
    """MetricStat queries answered per metric, with percentiles; expressions by moto's metric math."""
    from moto.cloudwatch.metric_data_expression_parser import parse_expression

    cw = _backend(handler)
    params = handler._get_params()
    start, end = metrics.epoch_of(params["StartTime"]), metrics.epoch_of(params["EndTime"])
    if start >= end:
        raise InvalidParameterValue("The parameter StartTime must be less than the parameter EndTime.")
    descending = (params.get("ScanBy") or "TimestampDescending") == "TimestampDescending"
    queries = params.get("MetricDataQueries") or []
    computed: list[dict[str, Any]] = []
    answers: list[dict[str, Any]] = []
    for n, query in enumerate(queries, start=1):
        if "MetricStat" not in query and "Expression" not in query:
            raise InvalidParameterValue(f"The parameter MetricDataQueries.member.{n}.MetricStat is required.")
        if "MetricStat" in query:
            stat = query["MetricStat"]
            metric = stat["Metric"]
            period = _check_period(stat.get("Period"), f"MetricDataQueries.member.{n}.MetricStat.Period")
            key = metrics.key_of(metric["Namespace"], metric["MetricName"], metric.get("Dimensions") or [])
            rows = metrics.series(cw, key, start, end, period, stat["Stat"], stat.get("Unit"))
            rows = [r for r in rows if r[0] >= metrics.aligned(start, period)]
            label = query.get("Label") or metric["MetricName"]
            result = {"id": query["Id"], "label": label, "values": [r[1] for r in rows],
                      "timestamps": [metrics.utc(r[0]) for r in rows], "status_code": "Complete"}
        else:
            values, stamps = parse_expression(query["Expression"], computed)
            result = {"id": query["Id"], "label": query.get("Label") or query["Id"], "values": list(values),
                      "timestamps": list(stamps), "status_code": "Complete"}
        computed.append(result)
        if query.get("ReturnData", True):
            answers.append(result)
    out = []
    for result in answers:
        pairs = list(zip(result["timestamps"], result["values"], strict=True))
        if descending:
            pairs.reverse()
        out.append({"Id": result["id"], "Label": result["label"], "Timestamps": [p[0] for p in pairs],
                    "Values": [p[1] for p in pairs], "StatusCode": "Complete"})
    return ActionResult({"MetricDataResults": out, "Messages": []})
