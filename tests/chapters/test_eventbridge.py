"""The EventBridge chapter: what its pages, walkthrough and lab say about event
patterns and buses, checked through plain boto3 against the sandbox (moto's
matcher, the rules of a custom bus).

The EventBridge service's own behaviour is in tests/services/test_eventbridge.py."""

from __future__ import annotations

import json

import pytest

from tests.support.eventbridge import bodies, put, queue, rule_to_queue


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
    events.put_rule(Name="r", EventBusName="orders", EventPattern=json.dumps({"source": ["shop.orders"]}))
    events.put_targets(Rule="r", EventBusName="orders", Targets=[{"Id": "q", "Arn": arn}])
    put(lab, {"bus": "default"})
    put(lab, {"bus": "orders"}, EventBusName="orders")
    assert [json.loads(b)["detail"] for b in bodies(lab, url)] == [{"bus": "orders"}]
