"""Resource policies that let one AWS service deliver to a queue, topic or function, as AWS's guides write them.

The tests that wire SNS or EventBridge to a queue, topic or function call these, so that a delivery
succeeds for the same reason it does on AWS: the resource's policy allows the service, from that topic
or rule only (``aws:SourceArn``).
"""

from __future__ import annotations

import json
from typing import Any


def queue_policy(queue_arn: str, service: str, *source_arns: str) -> str:
    """A queue policy allowing ``service`` (``"sns.amazonaws.com"``) to send from ``source_arns``."""
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Sid": f"allow-{service.split('.', 1)[0]}", "Effect": "Allow", "Principal": {"Service": service},
        "Action": "sqs:SendMessage", "Resource": queue_arn,
        "Condition": {"ArnEquals": {"aws:SourceArn": list(source_arns)}}}]})


def allow_queue(sqs: Any, queue_url: str, service: str, *source_arns: str) -> None:
    """Set the queue policy (``sqs`` is an SQS client; replaces any policy the queue has)."""
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": queue_policy(arn, service, *source_arns)})


def allow_topic(sns: Any, topic_arn: str, service: str, *source_arns: str) -> None:
    """Add a statement to the topic's policy allowing ``service`` to publish from ``source_arns``."""
    policy = json.loads(sns.get_topic_attributes(TopicArn=topic_arn)["Attributes"]["Policy"])
    policy["Statement"].append({"Sid": f"allow-{service.split('.', 1)[0]}", "Effect": "Allow",
                                "Principal": {"Service": service}, "Action": "sns:Publish", "Resource": topic_arn,
                                "Condition": {"ArnEquals": {"aws:SourceArn": list(source_arns)}}})
    sns.set_topic_attributes(TopicArn=topic_arn, AttributeName="Policy", AttributeValue=json.dumps(policy))


def allow_function(lam: Any, function: str, service: str, source_arn: str, statement_id: str | None = None) -> None:
    """``add_permission`` for ``service`` invoking ``function`` (a name or ARN) from ``source_arn``."""
    lam.add_permission(FunctionName=function, StatementId=statement_id or f"allow-{service.split('.', 1)[0]}",
                       Action="lambda:InvokeFunction", Principal=service, SourceArn=source_arn)
