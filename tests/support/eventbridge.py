"""EventBridge helpers shared by the EventBridge chapter's tests and the EventBridge service's tests."""

from __future__ import annotations

import json
from typing import Any

import labkit
from tests.support.policies import allow_queue


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
    """A rule (a pattern, or a 5-minute schedule when None) whose one target is a new queue that allows it."""
    events = lab.client("events")
    url, arn = queue(lab, f"q-{name}")
    kwargs: dict[str, Any] = {"Name": name}
    if pattern is not None:
        kwargs["EventPattern"] = json.dumps(pattern)
    else:
        kwargs["ScheduleExpression"] = "rate(5 minutes)"
    rule_arn = events.put_rule(**kwargs)["RuleArn"]
    allow_queue(lab.client("sqs"), url, "events.amazonaws.com", rule_arn)  # the queue policy AWS requires
    events.put_targets(Rule=name, Targets=[{"Id": "q", "Arn": arn, **target}])
    return url


def put(lab: labkit.Sandbox, detail: dict[str, Any], source: str = "shop.orders", detail_type: str = "Order Placed",
        **extra: Any) -> dict[str, Any]:
    return lab.client("events").put_events(Entries=[{"Source": source, "DetailType": detail_type,
                                                     "Detail": json.dumps(detail), **extra}])
