"""The SNS chapter: what its pages, walkthrough and lab say about SNS, checked
through plain boto3 against the sandbox (moto's filter policies, envelopes and
raw delivery, FIFO order, email subscriptions, the queue policy a subscriber needs).

The SNS service's own behaviour is in tests/services/test_sns.py."""

from __future__ import annotations

import json

from tests.support.sns import _bodies, _fifo_topic, _name, _queue, _queue_for


def test_filter_policies_exact_prefix_numeric_and_body_scope(aws):
    topic = aws["sns"].create_topic(Name=_name("orders"))["TopicArn"]
    policies = {
        "exact": ({"kind": ["order"]}, None),
        "prefix": ({"region": [{"prefix": "eu-"}]}, None),
        "numeric": ({"total": [{"numeric": [">=", 100]}]}, None),
        "body": ({"customer": {"tier": ["gold"]}}, "MessageBody"),
    }
    urls = {}
    for key, (policy, scope) in policies.items():
        url, arn = _queue_for(aws, _name(key), topic)
        attributes = {"FilterPolicyScope": scope} if scope else {}
        attributes.update({"RawMessageDelivery": "true", "FilterPolicy": json.dumps(policy)})
        aws["sns"].subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes=attributes)
        urls[key] = url

    def publish(n, body, **attrs):
        aws["sns"].publish(TopicArn=topic, Message=json.dumps({"n": n, **body}), MessageAttributes={
            k: {"DataType": "Number" if isinstance(v, (int, float)) else "String", "StringValue": str(v)}
            for k, v in attrs.items()})

    publish(1, {"customer": {"tier": "gold"}}, kind="order", region="eu-west-1", total=150)
    publish(2, {"customer": {"tier": "silver"}}, kind="refund", region="us-east-1", total=20)
    publish(3, {}, kind="order", total="500")  # a String attribute never matches a numeric condition
    got = {k: sorted(json.loads(b)["n"] for b in _bodies(aws, u)) for k, u in urls.items()}
    assert got == {"exact": [1, 3], "prefix": [1], "numeric": [1], "body": [1]}


def test_envelope_versus_raw_delivery(aws):
    topic = aws["sns"].create_topic(Name=_name("env"))["TopicArn"]
    (env_url, env_arn), (raw_url, raw_arn) = _queue_for(aws, _name("env"), topic), _queue_for(aws, _name("raw"), topic)
    aws["sns"].subscribe(TopicArn=topic, Protocol="sqs", Endpoint=env_arn)
    aws["sns"].subscribe(TopicArn=topic, Protocol="sqs", Endpoint=raw_arn, Attributes={"RawMessageDelivery": "true"})
    mid = aws["sns"].publish(TopicArn=topic, Message="hello", Subject="s")["MessageId"]
    envelope = json.loads(_bodies(aws, env_url)[0])
    assert (envelope["Type"], envelope["Message"], envelope["MessageId"], envelope["Subject"]) == (
        "Notification", "hello", mid, "s")
    assert _bodies(aws, raw_url) == ["hello"]




def test_fifo_topic_keeps_order_per_group(aws):
    topic, (fifo,) = _fifo_topic(aws)
    for n, group in enumerate("abaab"):
        aws["sns"].publish(TopicArn=topic, Message=f"{group}{n}", MessageGroupId=group)
    got = _bodies(aws, fifo)
    assert [b for b in got if b[0] == "a"] == ["a0", "a2", "a3"]
    assert [b for b in got if b[0] == "b"] == ["b1", "b4"]


def test_a_subscriber_queue_needs_a_policy_that_lets_the_topic_in(aws):
    """The chapter: the endpoint must let SNS in; Publish succeeds either way."""
    topic = aws["sns"].create_topic(Name=_name("orders"))["TopicArn"]
    bare_url, bare_arn = _queue(aws, _name("bare"))
    allowed_url, allowed_arn = _queue_for(aws, _name("allowed"), topic)
    for arn in (bare_arn, allowed_arn):
        aws["sns"].subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
    assert aws["sns"].publish(TopicArn=topic, Message="order 1")["MessageId"]
    assert (_bodies(aws, bare_url), _bodies(aws, allowed_url)) == ([], ["order 1"])


def test_email_subscription_is_accepted_and_nothing_is_sent(aws):
    topic = aws["sns"].create_topic(Name=_name("t"))["TopicArn"]
    sub = aws["sns"].subscribe(TopicArn=topic, Protocol="email", Endpoint="ops@example.com", ReturnSubscriptionArn=True)
    assert sub["SubscriptionArn"].startswith(topic)
    aws["sns"].publish(TopicArn=topic, Message="hello")  # accepted; the emulation sends no mail
