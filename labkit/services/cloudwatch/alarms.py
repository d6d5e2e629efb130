"""Metric alarms that evaluate, change state and act, on the sandbox clock.

moto stores alarms and never evaluates them. Here every metric alarm is
evaluated once a minute of sandbox time (:func:`evaluate_all`, scheduled by
:mod:`.ticks`), the way "Using Amazon CloudWatch alarms" describes it:

- the alarm reads the statistic (or percentile) of its metric for each
  *complete* period, periods aligned on multiples of the period;
- it retrieves the **evaluation range**: ``EvaluationPeriods`` + 2 periods
  (the documentation's examples retrieve 5 data points for 3 evaluation
  periods; the exact number is not documented, so labkit uses that rule);
- if the range holds at least ``EvaluationPeriods`` real data points, the most
  recent ``EvaluationPeriods`` of them are evaluated and ``TreatMissingData``
  is not used; otherwise the missing ones are filled as the alarm says:
  ``breaching``, ``notBreaching``, ``ignore`` (keep the state when the real
  points do not decide) or ``missing`` (INSUFFICIENT_DATA when they do not
  decide). Alarms on ``AWS/DynamoDB`` metrics always ignore missing data, as
  documented;
- ``DatapointsToAlarm`` (M) of those ``EvaluationPeriods`` (N) breaching
  means ALARM, fewer means OK.

A new alarm starts in INSUFFICIENT_DATA and is evaluated at once; updating
an alarm keeps its state. A state change is recorded in the alarm history
(``describe_alarm_history``) and runs the actions of the new state when
actions are enabled: an SNS topic receives AWS's alarm notification (through
SNS, so its subscribers really get it), a Lambda function is invoked
asynchronously with AWS's alarm event. ``set_alarm_state`` changes the state
(and acts) until the next evaluation, as on AWS.

Not emulated: composite alarms, anomaly-detection thresholds, metric math in
alarms (an alarm on ``Metrics`` uses its one ``ReturnData`` metric query),
Auto Scaling, EC2 and Systems Manager actions (recorded as failed actions).
"""

from __future__ import annotations

import itertools
import json
import math
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from labkit.core import aws, hooks, registry
from labkit.core.clock import clock

from . import metrics

STATES = ("OK", "ALARM", "INSUFFICIENT_DATA")
OPERATORS = {
    "GreaterThanOrEqualToThreshold": (lambda v, t: v >= t, "greater than or equal to"),
    "GreaterThanThreshold": (lambda v, t: v > t, "greater than"),
    "LessThanThreshold": (lambda v, t: v < t, "less than"),
    "LessThanOrEqualToThreshold": (lambda v, t: v <= t, "less than or equal to"),
}
ANOMALY_OPERATORS = ("LessThanLowerOrGreaterThanUpperThreshold", "LessThanLowerThreshold", "GreaterThanUpperThreshold")
TREATMENTS = ("breaching", "notBreaching", "ignore", "missing")
EXTRA_PERIODS = 2  # the evaluation range: EvaluationPeriods + this many periods
REGION_NAMES = {
    "us-east-1": "US East (N. Virginia)", "us-east-2": "US East (Ohio)", "us-west-1": "US West (N. California)",
    "us-west-2": "US West (Oregon)", "eu-west-1": "EU (Ireland)", "eu-central-1": "EU (Frankfurt)",
}

_LOCK = threading.RLock()
#: alarm ARN -> history items (newest last), each a dict in DescribeAlarmHistory's shape.
HISTORY: dict[str, list[dict[str, Any]]] = {}
_ORDER = itertools.count()


# --------------------------------------------------------------------------
# Reading an alarm's configuration
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Watched:
    """What an alarm watches: one metric, one statistic, one period."""

    namespace: str
    name: str
    dimensions: tuple[tuple[str, str], ...]
    stat: str
    period: int
    unit: str | None

    @property
    def key(self) -> metrics.Key:
        return self.namespace, self.name, frozenset(self.dimensions)


def watched(alarm: Any) -> Watched | None:
    """The metric an alarm evaluates, or None (a composite or math-only alarm)."""
    if alarm.metric_name:
        dims = tuple((d.name, d.value) for d in alarm.dimensions)
        stat = alarm.extended_statistic or alarm.statistic
        return Watched(alarm.namespace, alarm.metric_name, dims, str(stat), int(alarm.period or 60), alarm.unit)
    for query in alarm.metric_data_queries or ():
        stat = query.metric_stat
        returned = str(query.return_data).lower() not in ("false", "0")
        if stat is not None and returned:
            dims = tuple((d.name, d.value) for d in stat.metric.dimensions)
            return Watched(stat.metric.namespace, stat.metric.metric_name, dims, str(stat.stat),
                           int(stat.period or 60), stat.unit)
    return None


def _number(value: float) -> str:
    return repr(float(value))


def _stamp(epoch: float) -> str:
    """The date in a state reason: ``19/11/26 09:00:00`` (day/month/year, UTC)."""
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%d/%m/%y %H:%M:%S")


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"


# --------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------


@dataclass
class Verdict:
    state: str  # OK, ALARM, INSUFFICIENT_DATA, or "" to keep the current state
    reason: str
    data: dict[str, Any]


def decide(points: list[float | None], breaches: list[bool | None], *, n: int, m: int, treatment: str,
           describe: str, threshold: float, stamps: list[float] | None = None) -> tuple[str, str, list[int]]:
    """The documented decision over an evaluation range (oldest first; ``None`` =
    missing). Returns (state or "" to keep it, reason, indexes evaluated)."""
    real = [i for i, p in enumerate(points) if p is not None]
    if len(real) >= n:
        chosen = real[-n:]
        fills = 0
        fill_breaches = False
    else:
        chosen = real
        fills = n - len(real)
        fill_breaches = treatment == "breaching"
    breaching = sum(1 for i in chosen if breaches[i]) + (fills if fill_breaches else 0)
    not_breaching = sum(1 for i in chosen if not breaches[i]) + (fills if treatment == "notBreaching" else 0)
    shown = ", ".join(f"{_number(points[i])}" + (f" ({_stamp(stamps[i])})" if stamps else "") for i in chosen)
    if not real and treatment in ("missing", "ignore"):
        return ("INSUFFICIENT_DATA" if treatment == "missing" else "",
                f"Insufficient Data: {n} datapoint{'s were' if n != 1 else ' was'} unknown.", [])
    if fills and treatment in ("missing", "ignore"):
        # The missing points count as neither: decide only if the real points do.
        if breaching >= m:
            state = "ALARM"
        elif not_breaching > 0:
            state = "OK"
        else:
            return ("INSUFFICIENT_DATA" if treatment == "missing" else "",
                    f"Insufficient Data: {fills} datapoint{'s were' if fills != 1 else ' was'} unknown.", chosen)
    else:
        state = "ALARM" if breaching >= m else "OK"
    if not real:
        treated = "Breaching" if treatment == "breaching" else "NonBreaching"
        reason = (f"Threshold Crossed: no datapoints were received for {n} period{'s' if n != 1 else ''} and "
                  f"{n} missing datapoint{'s were' if n != 1 else ' was'} treated as [{treated}].")
    elif state == "ALARM":
        reason = (f"Threshold Crossed: {breaching} out of the last {n} datapoints [{shown}] "
                  f"{'was' if breaching == 1 else 'were'} {describe} the threshold ({_number(threshold)}) "
                  f"(minimum {m} datapoint{'s' if m != 1 else ''} for OK -> ALARM transition).")
    else:
        reason = (f"Threshold Crossed: {len(chosen)} datapoint{'s' if len(chosen) != 1 else ''} [{shown}] "
                  f"{'was' if len(chosen) == 1 else 'were'} not {describe} the threshold ({_number(threshold)}).")
    return state, reason, chosen


def evaluate(alarm: Any, now: float, cw: Any) -> Verdict | None:
    """What the alarm's state should be at ``now`` (None: not a metric alarm labkit evaluates)."""
    what = watched(alarm)
    if what is None or alarm.comparison_operator not in OPERATORS:
        return None
    compare, describe = OPERATORS[alarm.comparison_operator]
    n = int(alarm.evaluation_periods or 1)
    m = int(alarm.datapoints_to_alarm or n)
    treatment = alarm.treat_missing_data or "missing"
    if what.namespace == "AWS/DynamoDB":
        treatment = "ignore"  # documented: AWS/DynamoDB alarms always ignore missing data
    threshold = float(alarm.threshold)
    end = metrics.aligned(now, what.period)
    width = n + EXTRA_PERIODS
    start = end - width * what.period
    rows = {r[0]: r for r in metrics.series(cw, what.key, start, end, what.period, what.stat, what.unit)}
    slots = [start + i * what.period for i in range(width)]
    points = [rows[s][1] if s in rows else None for s in slots]
    breaches = [None if p is None else compare(p, threshold) for p in points]
    state, reason, chosen = decide(points, breaches, n=n, m=m, treatment=treatment, describe=describe,
                                   threshold=threshold, stamps=slots)
    data = {
        "version": "1.0",
        "queryDate": _iso(now),
        "startDate": _iso(slots[chosen[0]] if chosen else start),
        "statistic" if not metrics.is_percentile(what.stat) else "extendedStatistic": what.stat,
        "period": what.period,
        "recentDatapoints": [points[i] for i in chosen],
        "threshold": threshold,
        "evaluatedDatapoints": [{"timestamp": _iso(slots[i]), "sampleCount": float(rows[slots[i]][2]),
                                 "value": points[i]} for i in reversed(chosen)],
    }
    return Verdict(state, reason, data)


def evaluate_all(now: float, region: str | None = None) -> int:
    """Evaluate every metric alarm of the region at ``now``; return how many changed state."""
    cw = metrics.backend(region)
    changed = 0
    for alarm in list(cw.alarms.values()):
        verdict = evaluate(alarm, now, cw)
        if verdict is None or not verdict.state or verdict.state == alarm.state_value:
            continue
        transition(alarm, verdict.state, verdict.reason, json.dumps(verdict.data), now)
        changed += 1
    return changed


# --------------------------------------------------------------------------
# State changes, history, actions
# --------------------------------------------------------------------------


def record(alarm: Any, kind: str, summary: str, data: dict[str, Any] | str, when: float) -> None:
    item = {"AlarmName": alarm.name, "AlarmType": "MetricAlarm", "Timestamp": when,
            "HistoryItemType": kind, "HistorySummary": summary,
            "HistoryData": data if isinstance(data, str) else json.dumps(data)}
    with _LOCK:
        item["_order"] = next(_ORDER)
        HISTORY.setdefault(alarm.alarm_arn, []).append(item)


def transition(alarm: Any, new: str, reason: str, reason_data: str, when: float, *, act: bool = True) -> None:
    """Move ``alarm`` to ``new``: state fields, a history item, then the actions."""
    old, old_reason = alarm.state_value, alarm.state_reason
    alarm.state_value, alarm.state_reason, alarm.state_reason_data = new, reason, reason_data
    alarm.state_updated_timestamp = metrics.naive_utc(when)
    record(alarm, "StateUpdate", f"Alarm updated from {old} to {new}", {
        "version": "1.0",
        "oldState": {"stateValue": old, "stateReason": old_reason},
        "newState": {"stateValue": new, "stateReason": reason, "stateReasonData": _loads(reason_data)},
    }, when)
    if act and alarm.actions_enabled not in (False, "false", "False"):
        run_actions(alarm, old, when)


def _loads(text: str | None) -> Any:
    try:
        return json.loads(text) if text else {}
    except ValueError:
        return {}


def actions_for(alarm: Any, state: str) -> list[str]:
    return list({"ALARM": alarm.alarm_actions, "OK": alarm.ok_actions,
                 "INSUFFICIENT_DATA": alarm.insufficient_data_actions}[state] or [])


def run_actions(alarm: Any, old_state: str, when: float) -> None:
    for arn in actions_for(alarm, alarm.state_value):
        try:
            service = aws.parse_arn(arn).service
        except ValueError:
            service = ""
        try:
            if service == "sns":
                notify_topic(alarm, arn, old_state, when)
            elif service == "lambda":
                invoke_function(alarm, arn, old_state, when)
            elif service == "autoscaling":
                # A scaling policy: EC2 Auto Scaling's public function runs it (it also
                # polls its alarms every minute, and runs a policy at most once a minute).
                registry.ensure("autoscaling").alarm_action(arn, alarm)
            else:
                raise NotImplementedError(f"labkit does not run {service or 'this kind of'} alarm actions")
        except Exception as error:  # noqa: BLE001  (a failed action is history, not an exception)
            record(alarm, "Action", f"Failed to execute action {arn}", {
                "actionState": "Failed", "notificationResource": arn,
                "error": f"{type(error).__name__}: {error}"}, when)
        else:
            record(alarm, "Action", f"Successfully executed action {arn}", {
                "actionState": "Succeeded", "notificationResource": arn}, when)


def notification(alarm: Any, old_state: str, when: float, region: str, account: str) -> dict[str, Any]:
    """The JSON an SNS action publishes (the ``Message`` of the notification)."""
    what = watched(alarm)
    trigger: dict[str, Any] = {}
    if what is not None:
        percentile = metrics.is_percentile(what.stat)
        trigger = {"MetricName": what.name, "Namespace": what.namespace,
                   "StatisticType": "ExtendedStatistic" if percentile else "Statistic",
                   ("ExtendedStatistic" if percentile else "Statistic"): what.stat if percentile else what.stat.upper(),
                   "Unit": what.unit, "Dimensions": [{"value": v, "name": k} for k, v in what.dimensions],
                   "Period": what.period, "EvaluationPeriods": int(alarm.evaluation_periods),
                   "DatapointsToAlarm": int(alarm.datapoints_to_alarm or alarm.evaluation_periods),
                   "ComparisonOperator": alarm.comparison_operator, "Threshold": float(alarm.threshold),
                   "TreatMissingData": alarm.treat_missing_data or "missing",
                   "EvaluateLowSampleCountPercentile": alarm.evaluate_low_sample_count_percentile or ""}
    return {
        "AlarmName": alarm.name, "AlarmDescription": alarm.description or None, "AWSAccountId": account,
        "AlarmConfigurationUpdatedTimestamp": _iso(metrics.epoch_of(alarm.configuration_updated_timestamp)),
        "NewStateValue": alarm.state_value, "NewStateReason": alarm.state_reason, "StateChangeTime": _iso(when),
        "Region": REGION_NAMES.get(region, region), "AlarmArn": alarm.alarm_arn, "OldStateValue": old_state,
        "OKActions": list(alarm.ok_actions or []), "AlarmActions": list(alarm.alarm_actions or []),
        "InsufficientDataActions": list(alarm.insufficient_data_actions or []), "Trigger": trigger,
    }


def notify_topic(alarm: Any, topic_arn: str, old_state: str, when: float) -> None:
    arn = aws.parse_arn(topic_arn)
    message = notification(alarm, old_state, when, arn.region, arn.account)
    subject = f'{alarm.state_value}: "{alarm.name}" in {REGION_NAMES.get(arn.region, arn.region)}'
    aws.internal_client("sns", arn.region).publish(TopicArn=topic_arn, Subject=subject[:100],
                                                   Message=json.dumps(message))


def lambda_event(alarm: Any, old_state: str, old_reason: str, when: float) -> dict[str, Any]:
    """The event a Lambda action receives."""
    arn = aws.parse_arn(alarm.alarm_arn)
    what = watched(alarm)
    metric_list = []
    if what is not None:
        stat = {"metric": {"namespace": what.namespace, "name": what.name, "dimensions": dict(what.dimensions)},
                "period": what.period, "stat": what.stat}
        if what.unit:
            stat["unit"] = what.unit
        metric_list.append({"id": "m1", "metricStat": stat, "returnData": True})
    return {
        "source": "aws.cloudwatch", "alarmArn": alarm.alarm_arn, "accountId": arn.account,
        "time": _iso(when).replace("+0000", "+0000"), "region": arn.region,
        "alarmData": {
            "alarmName": alarm.name,
            "state": {"value": alarm.state_value, "reason": alarm.state_reason,
                      "reasonData": alarm.state_reason_data, "timestamp": _iso(when)},
            "previousState": {"value": old_state, "reason": old_reason},
            "configuration": {"description": alarm.description or "", "metrics": metric_list},
        },
    }


def invoke_function(alarm: Any, function_arn: str, old_state: str, when: float) -> None:
    from labkit.services import lambda_

    previous = [h for h in HISTORY.get(alarm.alarm_arn, []) if h["HistoryItemType"] == "StateUpdate"]
    old_reason = _loads(previous[-1]["HistoryData"])["oldState"]["stateReason"] if previous else ""
    result = lambda_.invoke(function_arn, lambda_event(alarm, old_state, old_reason, when), invocation_type="Event")
    if result.status_code >= 300:
        raise RuntimeError(f"Lambda answered {result.status_code}")


# --------------------------------------------------------------------------
# The API around it (hooks)
# --------------------------------------------------------------------------


def _enum_error(value: Any, field: str, allowed: tuple[str, ...]) -> tuple[int, dict[str, Any]]:
    return hooks.error_answer("ValidationError", (
        f"1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: "
        f"Member must satisfy enum value set: [{', '.join(allowed)}]"))


def before_put_metric_alarm(call: hooks.Call) -> tuple[int, dict[str, Any]] | None:
    """Refuse what AWS refuses; remember the state of an alarm being updated."""
    p = call.params
    operator = p.get("ComparisonOperator")
    if operator is not None and operator not in (*OPERATORS, *ANOMALY_OPERATORS):
        return _enum_error(operator, "comparisonOperator", (*OPERATORS, *ANOMALY_OPERATORS))
    if p.get("Statistic") is not None and p["Statistic"] not in metrics.STATISTICS:
        return _enum_error(p["Statistic"], "statistic", metrics.STATISTICS)
    if p.get("TreatMissingData") is not None and p["TreatMissingData"] not in TREATMENTS:
        return hooks.error_answer("ValidationError", (
            f"Option {p['TreatMissingData']} is not supported. Supported options for parameter "
            f"TreatMissingData are breaching, notBreaching, ignore and missing."))
    if p.get("Statistic") and p.get("ExtendedStatistic"):
        return hooks.error_answer("InvalidParameterCombination",
                                  "Exactly one of Statistic or ExtendedStatistic must be specified.")
    if p.get("MetricName") and not p.get("Statistic") and not p.get("ExtendedStatistic"):
        return hooks.error_answer("InvalidParameterCombination",
                                  "Exactly one of Statistic or ExtendedStatistic must be specified.")
    if p.get("ExtendedStatistic") and not metrics.is_percentile(p["ExtendedStatistic"]):
        return hooks.error_answer("InvalidParameterValue",
                                  f"The value {p['ExtendedStatistic']} for parameter ExtendedStatistic is not supported.")
    period = p.get("Period")
    if p.get("MetricName") and period is None:
        return hooks.error_answer("ValidationError", "Period must not be null")
    if period is not None and not (period in (10, 20, 30) or (period > 0 and period % 60 == 0)):
        return hooks.error_answer("ValidationError", "Period must be 10, 20, 30 or a multiple of 60")
    n = p.get("EvaluationPeriods")
    if n is not None and n < 1:
        return hooks.error_answer("ValidationError", "EvaluationPeriods must be at least 1")
    m = p.get("DatapointsToAlarm")
    if m is not None and n is not None and not 1 <= m <= n:
        return hooks.error_answer("ValidationError",
                                  "DatapointsToAlarm must be greater than 0 and less than or equal to EvaluationPeriods")
    existing = metrics.backend(call.region).alarms.get(p.get("AlarmName"))
    if existing is not None:
        call.state["cloudwatch_previous"] = (existing.state_value, existing.state_reason,
                                             existing.state_reason_data, existing.state_updated_timestamp)
    return None


def after_put_metric_alarm(call: hooks.Call, parsed: dict[str, Any], status: int) -> None:
    if status >= 300 or "Error" in parsed:
        return
    cw = metrics.backend(call.region)
    alarm = cw.alarms.get(call.params.get("AlarmName"))
    if alarm is None:
        return
    now = clock.now()
    alarm.configuration_updated_timestamp = metrics.naive_utc(now)
    previous = call.state.get("cloudwatch_previous")
    if previous:
        alarm.state_value, alarm.state_reason, alarm.state_reason_data, alarm.state_updated_timestamp = previous
        record(alarm, "ConfigurationUpdate", f'Alarm "{alarm.name}" updated', {"type": "Update"}, now)
    else:
        alarm.state_value, alarm.state_reason = "INSUFFICIENT_DATA", "Unchecked: Initial alarm creation"
        alarm.state_reason_data, alarm.state_updated_timestamp = None, metrics.naive_utc(now)
        record(alarm, "ConfigurationUpdate", f'Alarm "{alarm.name}" created', {"type": "Create"}, now)
    verdict = evaluate(alarm, now, cw)
    if verdict is not None and verdict.state and verdict.state != alarm.state_value:
        transition(alarm, verdict.state, verdict.reason, json.dumps(verdict.data), now)


def before_set_alarm_state(call: hooks.Call) -> tuple[int, dict[str, Any]] | None:
    alarm = metrics.backend(call.region).alarms.get(call.params.get("AlarmName"))
    if alarm is not None:
        call.state["cloudwatch_previous"] = alarm.state_value
    return None


def after_set_alarm_state(call: hooks.Call, parsed: dict[str, Any], status: int) -> None:
    """SetAlarmState on AWS records the change and runs the new state's actions."""
    old = call.state.get("cloudwatch_previous")
    if status >= 300 or "Error" in parsed or old is None:
        return
    alarm = metrics.backend(call.region).alarms.get(call.params["AlarmName"])
    if alarm is None:
        return
    new = alarm.state_value
    alarm.state_value = old  # transition() reads the old state from the alarm
    transition(alarm, new, alarm.state_reason, alarm.state_reason_data or "{}", clock.now(), act=new != old)


def after_delete_alarms(call: hooks.Call, parsed: dict[str, Any], status: int) -> None:
    if status < 300:
        with _LOCK:
            for name in call.params.get("AlarmNames", []):
                arn = f"arn:aws:cloudwatch:{call.region}:{aws.ACCOUNT_ID}:alarm:{name}"
                HISTORY.pop(arn, None)


def describe_alarm_history(call: hooks.Call) -> tuple[int, dict[str, Any]]:
    """DescribeAlarmHistory (moto has none), from the history recorded here."""
    p = call.params
    with _LOCK:
        items = [i for arn, items in HISTORY.items() if f":{call.region}:" in arn for i in items]
    name, kind = p.get("AlarmName"), p.get("HistoryItemType")
    if kind is not None and kind not in ("ConfigurationUpdate", "StateUpdate", "Action"):
        return _enum_error(kind, "historyItemType", ("ConfigurationUpdate", "StateUpdate", "Action"))
    start, end = aws.epoch_of(p.get("StartDate")), aws.epoch_of(p.get("EndDate"))
    items = [i for i in items if (name is None or i["AlarmName"] == name) and (kind is None or i["HistoryItemType"] == kind)
             and (start is None or i["Timestamp"] >= start) and (end is None or i["Timestamp"] <= end)]
    items.sort(key=lambda i: (i["Timestamp"], i["_order"]), reverse=(p.get("ScanBy") or "TimestampDescending") == "TimestampDescending")
    offset = int(p.get("NextToken") or 0)
    size = int(p.get("MaxRecords") or 100)
    page = items[offset:offset + size]
    answer: dict[str, Any] = {
        "AlarmHistoryItems": [{**{k: v for k, v in i.items() if k != "_order"}, "Timestamp": metrics.utc(i["Timestamp"])}
                              for i in page],
        "ResponseMetadata": {"HTTPStatusCode": 200},
    }
    if offset + size < len(items):
        answer["NextToken"] = str(offset + size)
    return 200, answer


def reset() -> None:
    with _LOCK:
        HISTORY.clear()


def ceil_minute(moment: float) -> float:
    return math.ceil(moment / 60.0) * 60.0
