"""The EventBridge chapter: what its pages, walkthrough and lab say about event
patterns and buses, checked through plain boto3 against the sandbox (moto's
matcher, the rules of a custom bus, the queue policy a queue target needs).

The EventBridge service's own behaviour is in tests/services/test_eventbridge.py."""

from __future__ import annotations

import json

import pytest

from tests.support.eventbridge import bodies, put, queue, rule_to_queue
from tests.support.policies import allow_queue


@pytest.mark.parametrize(("pattern", "matching", "other"), [
    ({"detail": {"sku": [{"prefix": "BK-"}]}}, {"sku": "BK-17"}, {"sku": "TOY-1"}),
    ({"detail": {"total": [{"numeric": [">=", 100, "<", 500]}]}}, {"total": 100}, {"total": 500}),
    ({"detail": {"country": [{"anything-but": ["FR", "DE"]}]}}, {"country": "IT"}, {"country": "FR"}),
    ({"detail": {"coupon": [{"exists": True}]}}, {"coupon": "X"}, {"other": 1}),
    ({"detail": {"coupon": [{"exists": False}]}}, {"other": 1}, {"coupon": "X"}),
    ({"detail": {"total": [{"numeric": [">", 10]}]}}, {"total": 11}, {"total": "11"}),  # a string is not a number
    ({"detail": {"qty": [3]}}, {"qty": 3}, {"qty": "3"}),  # exact match keeps the JSON type
])
def test_pattern_operators(lab, pattern, matching, other):
    url = rule_to_queue(lab, "r", pattern)
    put(lab, matching)
    put(lab, other)
    assert [json.loads(b)["detail"] for b in bodies(lab, url)] == [matching]


def test_custom_bus_rules_see_only_their_bus(lab):
    events = lab.client("events")
    events.create_event_bus(Name="orders")
    url, arn = queue(lab, "custom")
    rule = events.put_rule(Name="r", EventBusName="orders", EventPattern=json.dumps({"source": ["shop.orders"]}))["RuleArn"]
    allow_queue(lab.client("sqs"), url, "events.amazonaws.com", rule)
    events.put_targets(Rule="r", EventBusName="orders", Targets=[{"Id": "q", "Arn": arn}])
    put(lab, {"bus": "default"})
    put(lab, {"bus": "orders"}, EventBusName="orders")
    assert [json.loads(b)["detail"] for b in bodies(lab, url)] == [{"bus": "orders"}]


def test_a_queue_target_needs_a_policy_for_the_rule(lab):
    """The chapter: EventBridge delivers to a queue only if its policy lets the rule in; PutEvents succeeds either way."""
    events = lab.client("events")
    url, arn = queue(lab, "no-policy")
    events.put_rule(Name="r", EventPattern=json.dumps({"source": ["shop.orders"]}))
    events.put_targets(Rule="r", Targets=[{"Id": "q", "Arn": arn}])
    assert put(lab, {"n": 1})["FailedEntryCount"] == 0
    assert bodies(lab, url) == []
    other = rule_to_queue(lab, "allowed", {"source": ["shop.orders"]})  # the same event, a queue with the policy
    put(lab, {"n": 2})
    assert [json.loads(b)["detail"] for b in bodies(lab, other)] == [{"n": 2}]


def test_a_policy_for_one_rule_keeps_other_rules_out_and_an_alarm_sees_the_refusal(lab):
    """The lab's Exercise 2 and Step 7: aws:SourceArn lets one rule in, another rule's delivery is refused,
    and an alarm on the refused rule's FailedInvocations fires on the sandbox clock."""
    lab.cloudwatch.sample_now()
    events, cw = lab.client("events"), lab.client("cloudwatch")
    url = rule_to_queue(lab, "mine", {"source": ["shop.orders"]})
    arn = lab.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="other", EventPattern=json.dumps({"source": ["shop.orders"]}))
    events.put_targets(Rule="other", Targets=[{"Id": "q", "Arn": arn}])
    cw.put_metric_alarm(AlarmName="other-failed", Namespace="AWS/Events", MetricName="FailedInvocations",
                        Dimensions=[{"Name": "RuleName", "Value": "other"}], Statistic="Sum", Period=60,
                        EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanOrEqualToThreshold",
                        TreatMissingData="notBreaching")
    lab.clock.advance(60)
    assert cw.describe_alarms(AlarmNames=["other-failed"])["MetricAlarms"][0]["StateValue"] == "OK"
    put(lab, {"n": 1})
    assert [json.loads(b)["detail"] for b in bodies(lab, url)] == [{"n": 1}]  # once: from "mine" only
    lab.clock.advance(60)
    assert cw.describe_alarms(AlarmNames=["other-failed"])["MetricAlarms"][0]["StateValue"] == "ALARM"
