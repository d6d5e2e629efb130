"""The EventBridge chapter: what its pages, walkthrough and lab say about event
patterns and buses, checked through plain boto3 against the sandbox (moto's
matcher, the rules of a custom bus).

The EventBridge service's own behaviour is in tests/services/test_eventbridge.py."""

from __future__ import annotations

import json
from typing import Any

import pytest

import labkit


def queue(lab: labkit.Sandbox, name: str) -> tuple[str, str]:
    url = lab.client("sqs").create_queue(QueueName=name)["QueueUrl"]
    return url, lab.arn("sqs", name)


def bodies(lab: labkit.Sandbox, url: str) -> list[str]:
    sqs = lab.client("sqs")
    got: list[str] = []
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        if not messages:
            return got
        for m in messages:
            got.append(m["Body"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])


def rule_to_queue(lab: labkit.Sandbox, name: str, pattern: dict[str, Any] | None, **target: Any) -> str:
    events = lab.client("events")
    url, arn = queue(lab, f"q-{name}")
    kwargs: dict[str, Any] = {"Name": name}
    if pattern is not None:
        kwargs["EventPattern"] = json.dumps(pattern)
    else:
        kwargs["ScheduleExpression"] = "rate(5 minutes)"
    events.put_rule(**kwargs)
    events.put_targets(Rule=name, Targets=[{"Id": "q", "Arn": arn, **target}])
    return url


def put(lab: labkit.Sandbox, detail: dict[str, Any], source: str = "shop.orders", detail_type: str = "Order Placed",
        **extra: Any) -> dict[str, Any]:
    return lab.client("events").put_events(Entries=[{"Source": source, "DetailType": detail_type,
                                                     "Detail": json.dumps(detail), **extra}])


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
