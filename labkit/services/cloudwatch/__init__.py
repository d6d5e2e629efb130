"""CloudWatch: metrics the services publish, alarms that fire, logs that count.

moto stores metrics, alarms and log filters; this service makes them behave
(``lab.cloudwatch.<helper>``):

- **Metrics the services publish** (:mod:`.publishers`): ``AWS/SQS``,
  ``AWS/SNS``, ``AWS/DynamoDB``, ``AWS/Events`` and ``AWS/States`` data
  points from what really happened (``AWS/Lambda`` comes from the Lambda
  service). Queue depths are sampled once a sandbox minute.
- **Queries** (:mod:`.queries`, :mod:`.metrics`): ``list_metrics`` lists each
  metric once; ``get_metric_statistics`` and ``get_metric_data`` answer per
  metric (exact dimensions), with percentiles.
- **Alarms** (:mod:`.alarms`): evaluated every sandbox minute, with M of N
  and ``TreatMissingData``; state changes recorded (``describe_alarm_history``)
  and acted on: SNS topics and Lambda functions.
- **Logs** (:mod:`.logs`): filter patterns (terms, phrases, exclusions, JSON,
  regular expressions) for ``filter_log_events``, metric filters that turn log
  lines into metrics, subscription filters that deliver only what matches.
- :func:`chart` draws a ``get_metric_data`` answer as the console does.

Time follows the sandbox clock: ``lab.clock.advance(300)`` is five minutes of
metrics and alarm evaluations at once (:mod:`.ticks`).

Other services may publish their metrics through :func:`put_service_metric`.
"""

from __future__ import annotations

from typing import Any

from labkit.core import hooks

from . import alarms, logs, metrics, publishers, ticks
from .charts import Chart, chart
from .seams import SEAMS

__all__ = [
    "SEAMS",
    "Chart",
    "chart",
    "evaluate_alarms",
    "filter_pattern_matches",
    "install",
    "put_service_metric",
    "reset",
    "sample_now",
]


def evaluate_alarms() -> int:
    """Catch up on every sandbox minute that has passed (gauges sampled, alarms
    evaluated), as a CloudWatch call would. Returns how many scheduled
    minutes remain pending (always 1: the next)."""
    ticks.ensure()
    return 1


def sample_now() -> None:
    """Make sure CloudWatch is counting: from this call on, the services'
    calls publish their metrics and the minute's work is scheduled. Notebooks
    call it once, before the traffic they want to observe."""
    ticks.ensure()


def filter_pattern_matches(pattern: str, message: str) -> bool:
    """Whether a CloudWatch Logs filter pattern matches one log message
    (the matcher behind ``filter_log_events`` and metric filters)."""
    return logs.compile_pattern(pattern)(message)


def put_service_metric(namespace: str, name: str, value: float, dimensions: dict[str, str], *,
                       unit: str = "Count", timestamp: float | None = None, region: str | None = None) -> None:
    """Publish one data point as an AWS service would (for other labkit
    services: an EventBridge delivery that failed, a load balancer's request
    count). ``timestamp`` is sandbox epoch seconds (default: now)."""
    metrics.put(namespace, name, value, dimensions, unit=unit, timestamp=timestamp, region=region)


# --------------------------------------------------------------------------
# Lifecycle (called by labkit.core.registry)
# --------------------------------------------------------------------------


def _catch_up(call: hooks.Call) -> None:
    ticks.ensure()


def install() -> None:
    """Subscribe to the calls that publish metrics and to the alarm API; start the minute."""
    publishers.subscribe()
    hooks.subscribe("before", "cloudwatch", "*", _catch_up)
    hooks.subscribe("before", "logs", "*", _catch_up)
    hooks.subscribe("before", "cloudwatch", "PutMetricAlarm", alarms.before_put_metric_alarm)
    hooks.subscribe("after", "cloudwatch", "PutMetricAlarm", alarms.after_put_metric_alarm)
    hooks.subscribe("before", "cloudwatch", "SetAlarmState", alarms.before_set_alarm_state)
    hooks.subscribe("after", "cloudwatch", "SetAlarmState", alarms.after_set_alarm_state)
    hooks.subscribe("after", "cloudwatch", "DeleteAlarms", alarms.after_delete_alarms)
    hooks.subscribe("before", "cloudwatch", "DescribeAlarmHistory", alarms.describe_alarm_history)
    hooks.subscribe("before", "logs", "PutMetricFilter", logs.before_put_metric_filter)
    hooks.subscribe("after", "logs", "DeleteLogGroup", logs.after_delete_log_group)
    ticks.ensure()


def reset() -> None:
    """Forget alarm history, sent times, the metric index and the schedule."""
    alarms.reset()
    publishers.reset()
    metrics.forget()
    ticks.reset()


def _describe(_: Any = None) -> str:  # pragma: no cover - for a curious reader
    return __doc__ or ""
