"""SNS and SQS helpers shared by the SNS chapter's tests and the SNS service's tests."""

from __future__ import annotations

import uuid

from tests.support.policies import allow_queue


def _name(prefix: str) -> str:
    return f"t-{prefix}-{uuid.uuid4().hex[:8]}"


def _queue(aws, name, **attributes):
    url = aws["sqs"].create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = aws["sqs"].get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def _queue_for(aws, name, topic, **attributes):
    """A queue whose policy lets ``topic`` deliver to it (as AWS requires of a subscriber or a subscription DLQ)."""
    url, arn = _queue(aws, name, **attributes)
    allow_queue(aws["sqs"], url, "sns.amazonaws.com", topic)
    return url, arn


def _bodies(aws, url):
    out = []
    while batch := aws["sqs"].receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                              MessageAttributeNames=["All"]).get("Messages", []):
        for m in batch:
            out.append(m["Body"])
            aws["sqs"].delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return out


def _fifo_topic(aws, *, content_based=True, scope=None, raw=True, standard_queue=False):
    attributes = {"FifoTopic": "true", "ContentBasedDeduplication": str(content_based).lower()}
    if scope:
        attributes["FifoThroughputScope"] = scope
    topic = aws["sns"].create_topic(Name=_name("topic") + ".fifo", Attributes=attributes)["TopicArn"]
    queues = [_queue_for(aws, _name("q") + ".fifo", topic, FifoQueue="true")]
    if standard_queue:
        queues.append(_queue_for(aws, _name("std"), topic))
    for _, arn in queues:
        aws["sns"].subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn,
                             Attributes={"RawMessageDelivery": str(raw).lower()})
    return topic, [url for url, _ in queues]
