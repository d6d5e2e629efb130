"""The SNS chapter: labkit.sns (FIFO topic deduplication) and the behaviours the
chapter, its walkthrough and its lab rely on, checked through plain boto3."""

from __future__ import annotations

import hashlib
import json
import uuid

import boto3
import pytest
from botocore.exceptions import ClientError

import labkit
import labkit.sns as lsns
from labkit.lambda_runtime import zip_code

REGION = "us-east-1"


@pytest.fixture(scope="module")
def aws():
    labkit.start()
    lsns.install()
    return {name: boto3.client(name, region_name=REGION) for name in ("sns", "sqs", "lambda", "iam", "logs")}


@pytest.fixture(autouse=True)
def _real_clock():
    yield
    lsns.clock = __import__("time").monotonic


def _name(prefix: str) -> str:
    return f"t-{prefix}-{uuid.uuid4().hex[:8]}"


def _queue(aws, name, **attributes):
    url = aws["sqs"].create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = aws["sqs"].get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
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
    queues = [_queue(aws, _name("q") + ".fifo", FifoQueue="true")]
    if standard_queue:
        queues.append(_queue(aws, _name("std")))
    for _, arn in queues:
        aws["sns"].subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn,
                             Attributes={"RawMessageDelivery": str(raw).lower()})
    return topic, [url for url, _ in queues]


# ------------------------------------------------------------ labkit.sns: deduplication


def test_content_based_duplicate_is_accepted_but_not_delivered(aws):
    topic, (fifo, std) = _fifo_topic(aws, standard_queue=True)
    first = aws["sns"].publish(TopicArn=topic, Message="price 12", MessageGroupId="lamp")
    again = aws["sns"].publish(TopicArn=topic, Message="price 12", MessageGroupId="lamp")
    assert again["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert again["MessageId"] == first["MessageId"] and again["SequenceNumber"] == first["SequenceNumber"]
    assert _bodies(aws, fifo) == ["price 12"]
    assert _bodies(aws, std) == ["price 12"]  # the standard queue has no dedup of its own: SNS dropped it


def test_explicit_id_wins_over_the_body(aws):
    topic, (fifo,) = _fifo_topic(aws, content_based=False)
    aws["sns"].publish(TopicArn=topic, Message="a", MessageGroupId="g", MessageDeduplicationId="d-1")
    aws["sns"].publish(TopicArn=topic, Message="b", MessageGroupId="g", MessageDeduplicationId="d-1")
    aws["sns"].publish(TopicArn=topic, Message="a", MessageGroupId="g", MessageDeduplicationId="d-2")
    assert _bodies(aws, fifo) == ["a", "a"]


def test_without_id_or_content_based_the_publish_is_refused(aws):
    topic, _ = _fifo_topic(aws, content_based=False)
    with pytest.raises(ClientError) as error:
        aws["sns"].publish(TopicArn=topic, Message="a", MessageGroupId="g")
    assert error.value.response["Error"]["Code"] in ("InvalidParameterValue", "InvalidParameter")


def test_content_based_id_reaches_a_fifo_queue_without_its_own_dedup(aws):
    # Without labkit.sns, moto would pass no id and the queue would refuse the delivery.
    topic, (fifo,) = _fifo_topic(aws, raw=False)
    aws["sns"].publish(TopicArn=topic, Message="x", MessageGroupId="g")
    envelope = json.loads(_bodies(aws, fifo)[0])
    assert envelope["Message"] == "x"
    assert lsns.remembered_ids(topic) == [hashlib.sha256(b"x").hexdigest()]
    assert lsns.content_deduplication_id("x") == hashlib.sha256(b"x").hexdigest()


def test_the_interval_is_five_minutes(aws):
    # Watch a standard queue: a FIFO queue would also drop the id, in real time, for 5 minutes.
    topic, (_, std) = _fifo_topic(aws, standard_queue=True)
    now = [1000.0]
    lsns.clock = lambda: now[0]
    aws["sns"].publish(TopicArn=topic, Message="m", MessageGroupId="g", MessageDeduplicationId="same")
    now[0] += 299.0
    aws["sns"].publish(TopicArn=topic, Message="m", MessageGroupId="g", MessageDeduplicationId="same")
    now[0] += 2.0  # 301 s after the first
    aws["sns"].publish(TopicArn=topic, Message="m2", MessageGroupId="g", MessageDeduplicationId="same")
    assert _bodies(aws, std) == ["m", "m2"]
    assert lsns.DEDUP_INTERVAL_SECONDS == 300


def test_scope_topic_versus_message_group(aws):
    topic, (fifo,) = _fifo_topic(aws, content_based=False)
    aws["sns"].publish(TopicArn=topic, Message="1", MessageGroupId="a", MessageDeduplicationId="d")
    aws["sns"].publish(TopicArn=topic, Message="2", MessageGroupId="b", MessageDeduplicationId="d")
    assert _bodies(aws, fifo) == ["1"]  # default scope: the whole topic

    per_group = lsns._TopicConfig(fifo=True, content_based=False, per_group=True)
    assert lsns._entry_key(per_group, {"MessageGroupId": "a", "MessageDeduplicationId": "d"}) == ("a", "d")
    assert lsns._entry_key(per_group, {"MessageGroupId": "b", "MessageDeduplicationId": "d"}) == ("b", "d")


def test_publish_batch_drops_duplicates_and_reports_them_successful(aws):
    topic, (fifo,) = _fifo_topic(aws)
    aws["sns"].publish(TopicArn=topic, Message="old", MessageGroupId="g")
    result = aws["sns"].publish_batch(TopicArn=topic, PublishBatchRequestEntries=[
        {"Id": "1", "Message": "old", "MessageGroupId": "g"},
        {"Id": "2", "Message": "new", "MessageGroupId": "g"},
        {"Id": "3", "Message": "new", "MessageGroupId": "g"},
    ])
    ok = {e["Id"]: e for e in result["Successful"]}
    assert sorted(ok) == ["1", "2", "3"] and not result["Failed"]
    assert ok["3"]["MessageId"] == ok["2"]["MessageId"]
    assert all("SequenceNumber" in e for e in ok.values())
    assert _bodies(aws, fifo) == ["old", "new"]
    only_duplicates = aws["sns"].publish_batch(TopicArn=topic, PublishBatchRequestEntries=[
        {"Id": "a", "Message": "new", "MessageGroupId": "g"}])
    assert only_duplicates["Successful"][0]["MessageId"] == ok["2"]["MessageId"]
    assert _bodies(aws, fifo) == []


def test_sequence_numbers_increase_per_topic(aws):
    topic, _ = _fifo_topic(aws)
    numbers = [int(aws["sns"].publish(TopicArn=topic, Message=str(n), MessageGroupId="g")["SequenceNumber"])
               for n in range(3)]
    assert numbers == sorted(numbers) and len(set(numbers)) == 3


def test_deleting_the_topic_forgets_its_ids(aws):
    topic, (fifo,) = _fifo_topic(aws)
    aws["sns"].publish(TopicArn=topic, Message="m", MessageGroupId="g")
    assert lsns.remembered_ids(topic)
    aws["sns"].delete_topic(TopicArn=topic)
    assert lsns.remembered_ids(topic) == []


def test_standard_topics_are_untouched(aws):
    topic = aws["sns"].create_topic(Name=_name("std"))["TopicArn"]
    url, arn = _queue(aws, _name("q"))
    aws["sns"].subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
    first = aws["sns"].publish(TopicArn=topic, Message="same")
    second = aws["sns"].publish(TopicArn=topic, Message="same")
    assert first["MessageId"] != second["MessageId"] and "SequenceNumber" not in second
    assert _bodies(aws, url) == ["same", "same"]
    assert lsns.installed()


# ------------------------------------------------------------ behaviours the chapter teaches


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
        url, arn = _queue(aws, _name(key))
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
    (env_url, env_arn), (raw_url, raw_arn) = _queue(aws, _name("env")), _queue(aws, _name("raw"))
    aws["sns"].subscribe(TopicArn=topic, Protocol="sqs", Endpoint=env_arn)
    aws["sns"].subscribe(TopicArn=topic, Protocol="sqs", Endpoint=raw_arn, Attributes={"RawMessageDelivery": "true"})
    mid = aws["sns"].publish(TopicArn=topic, Message="hello", Subject="s")["MessageId"]
    envelope = json.loads(_bodies(aws, env_url)[0])
    assert (envelope["Type"], envelope["Message"], envelope["MessageId"], envelope["Subject"]) == (
        "Notification", "hello", mid, "s")
    assert _bodies(aws, raw_url) == ["hello"]


def _function(aws, name, source):
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                     "Principal": {"Service": "lambda.amazonaws.com"}}]}
    try:
        role = aws["iam"].create_role(RoleName="t-sns-role", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    except ClientError:
        role = aws["iam"].get_role(RoleName="t-sns-role")["Role"]["Arn"]
    return aws["lambda"].create_function(FunctionName=name, Runtime="python3.12", Role=role, Handler="app.handler",
                                         Code={"ZipFile": zip_code(source)})["FunctionArn"]


def _printed(aws, name, prefix):
    events = aws["logs"].filter_log_events(logGroupName=f"/aws/lambda/{name}")["events"]
    return [e["message"].strip() for e in events if e["message"].startswith(prefix)]


def test_lambda_subscriber_gets_an_sns_event_and_filters_apply(aws):
    name = _name("fn")
    arn = _function(aws, name, "def handler(event, context):\n"
                               "    s = event['Records'][0]['Sns']\n"
                               "    print('GOT', event['Records'][0]['EventSource'], s['Message'], s['MessageAttributes']['k']['Value'])\n")
    topic = aws["sns"].create_topic(Name=_name("t"))["TopicArn"]
    aws["sns"].subscribe(TopicArn=topic, Protocol="lambda", Endpoint=arn,
                         Attributes={"FilterPolicy": json.dumps({"k": ["yes"]})})
    for value in ("yes", "no"):
        aws["sns"].publish(TopicArn=topic, Message=f"m-{value}",
                           MessageAttributes={"k": {"DataType": "String", "StringValue": value}})
    assert _printed(aws, name, "GOT") == ["GOT aws:sns m-yes yes"]


def test_failing_lambda_subscriber_is_retried_by_lambda_then_sent_to_its_destination(aws):
    name = _name("bad")
    arn = _function(aws, name, "def handler(event, context):\n    print('TRY')\n    raise ValueError('no')\n")
    failures_url, failures_arn = _queue(aws, _name("fail"))
    dlq_url, dlq_arn = _queue(aws, _name("subdlq"))
    aws["lambda"].put_function_event_invoke_config(FunctionName=name, DestinationConfig={
        "OnFailure": {"Destination": failures_arn}})
    topic = aws["sns"].create_topic(Name=_name("t"))["TopicArn"]
    sub = aws["sns"].subscribe(TopicArn=topic, Protocol="lambda", Endpoint=arn, ReturnSubscriptionArn=True)["SubscriptionArn"]
    aws["sns"].set_subscription_attributes(SubscriptionArn=sub, AttributeName="RedrivePolicy",
                                           AttributeValue=json.dumps({"deadLetterTargetArn": dlq_arn}))
    aws["sns"].publish(TopicArn=topic, Message="x")
    assert len(_printed(aws, name, "TRY")) == 3  # 1 + 2 retries (Lambda's default)
    record = json.loads(_bodies(aws, failures_url)[0])
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert _bodies(aws, dlq_url) == []  # SNS delivered it: its subscription DLQ has nothing to do


def _messages(aws, url):
    """(body, SQS message attributes) of every message on the queue, deleted as read."""
    out = []
    while batch := aws["sqs"].receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                              MessageAttributeNames=["All"]).get("Messages", []):
        for m in batch:
            out.append((m["Body"], m.get("MessageAttributes", {})))
            aws["sqs"].delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return out


def _redrive(dlq_arn):
    return {"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn})}


def test_a_deleted_subscriber_queue_sends_the_message_to_the_subscription_dlq(aws):
    """A client-side error (the endpoint is gone): Publish succeeds, SNS does not
    retry, and the message lands in the subscription's DLQ as the subscriber
    would have received it: the JSON envelope, with no attributes of SNS's own."""
    topic = aws["sns"].create_topic(Name=_name("t"))["TopicArn"]
    url, arn = _queue(aws, _name("gone"))
    dlq_url, dlq_arn = _queue(aws, _name("dlq"))
    other_url, other_arn = _queue(aws, _name("other"))
    aws["sns"].subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes=_redrive(dlq_arn))
    aws["sns"].subscribe(TopicArn=topic, Protocol="sqs", Endpoint=other_arn)
    aws["sqs"].delete_queue(QueueUrl=url)
    sent = aws["sns"].publish(TopicArn=topic, Message="lost", Subject="s",
                              MessageAttributes={"k": {"DataType": "Number", "StringValue": "7"}})
    [(body, attributes)] = _messages(aws, dlq_url)
    envelope = json.loads(body)
    assert (envelope["Type"], envelope["MessageId"], envelope["TopicArn"], envelope["Message"],
            envelope["Subject"]) == ("Notification", sent["MessageId"], topic, "lost", "s")
    assert envelope["MessageAttributes"] == {"k": {"Type": "Number", "Value": "7"}}
    assert attributes == {}
    assert [json.loads(b)["Message"] for b in _bodies(aws, other_url)] == ["lost"]  # the others still get it
    assert len(aws["sns"].list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]) == 2  # nothing unsubscribed


def test_raw_delivery_puts_the_bare_message_and_its_attributes_in_the_dlq(aws):
    topic = aws["sns"].create_topic(Name=_name("t"))["TopicArn"]
    url, arn = _queue(aws, _name("gone"))
    dlq_url, dlq_arn = _queue(aws, _name("dlq"))
    aws["sns"].subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn,
                         Attributes={**_redrive(dlq_arn), "RawMessageDelivery": "true"})
    aws["sqs"].delete_queue(QueueUrl=url)
    aws["sns"].publish(TopicArn=topic, Message="raw",
                       MessageAttributes={"k": {"DataType": "String", "StringValue": "v"}})
    assert _messages(aws, dlq_url) == [("raw", {"k": {"DataType": "String", "StringValue": "v"}})]


def test_a_deleted_lambda_subscriber_sends_the_envelope_to_the_dlq(aws):
    name = _name("fn")
    arn = _function(aws, name, "def handler(event, context):\n    print('RAN')\n")
    topic = aws["sns"].create_topic(Name=_name("t"))["TopicArn"]
    dlq_url, dlq_arn = _queue(aws, _name("dlq"))
    aws["sns"].subscribe(TopicArn=topic, Protocol="lambda", Endpoint=arn, Attributes=_redrive(dlq_arn))
    aws["lambda"].delete_function(FunctionName=name)
    sent = aws["sns"].publish(TopicArn=topic, Message="for the function")
    [(body, attributes)] = _messages(aws, dlq_url)
    assert (json.loads(body)["Message"], json.loads(body)["MessageId"]) == ("for the function", sent["MessageId"])
    assert attributes == {}


def test_without_a_dlq_an_undeliverable_message_is_dropped_and_publish_succeeds(aws):
    topic = aws["sns"].create_topic(Name=_name("t"))["TopicArn"]
    url, arn = _queue(aws, _name("gone"))
    other_url, other_arn = _queue(aws, _name("other"))
    name = _name("fn")
    fn = _function(aws, name, "def handler(event, context):\n    pass\n")
    aws["sns"].subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    aws["sns"].subscribe(TopicArn=topic, Protocol="lambda", Endpoint=fn)
    aws["sns"].subscribe(TopicArn=topic, Protocol="sqs", Endpoint=other_arn)
    aws["sqs"].delete_queue(QueueUrl=url)
    aws["lambda"].delete_function(FunctionName=name)
    assert aws["sns"].publish(TopicArn=topic, Message="m")["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert [json.loads(b)["Message"] for b in _bodies(aws, other_url)] == ["m"]


def test_a_filtered_out_message_never_reaches_the_dlq(aws):
    topic = aws["sns"].create_topic(Name=_name("t"))["TopicArn"]
    url, arn = _queue(aws, _name("gone"))
    dlq_url, dlq_arn = _queue(aws, _name("dlq"))
    aws["sns"].subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn,
                         Attributes={**_redrive(dlq_arn), "FilterPolicy": json.dumps({"k": ["yes"]})})
    aws["sqs"].delete_queue(QueueUrl=url)
    for value in ("no", "yes"):
        aws["sns"].publish(TopicArn=topic, Message=value,
                           MessageAttributes={"k": {"DataType": "String", "StringValue": value}})
    assert [json.loads(b)["Message"] for b in _bodies(aws, dlq_url)] == ["yes"]


def test_the_dlq_gets_the_protocol_s_part_of_a_json_message_structure(aws):
    topic = aws["sns"].create_topic(Name=_name("t"))["TopicArn"]
    url, arn = _queue(aws, _name("gone"))
    dlq_url, dlq_arn = _queue(aws, _name("dlq"))
    aws["sns"].subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes=_redrive(dlq_arn))
    aws["sqs"].delete_queue(QueueUrl=url)
    aws["sns"].publish(TopicArn=topic, MessageStructure="json",
                       Message=json.dumps({"default": "for everyone", "sqs": "for queues"}))
    assert [json.loads(b)["Message"] for b in _bodies(aws, dlq_url)] == ["for queues"]
    with pytest.raises(ClientError):  # SNS's own validation still fails the publish
        aws["sns"].publish(TopicArn=topic, MessageStructure="json", Message="not JSON")


def test_a_fifo_subscription_dead_letters_to_its_fifo_dlq_with_the_group(aws):
    topic, (fifo,) = _fifo_topic(aws)
    dlq_url, dlq_arn = _queue(aws, _name("dlq") + ".fifo", FifoQueue="true")
    [sub] = aws["sns"].list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    aws["sns"].set_subscription_attributes(SubscriptionArn=sub["SubscriptionArn"], AttributeName="RedrivePolicy",
                                           AttributeValue=json.dumps({"deadLetterTargetArn": dlq_arn}))
    aws["sqs"].delete_queue(QueueUrl=fifo)
    for n in range(2):
        aws["sns"].publish(TopicArn=topic, Message=f"m{n}", MessageGroupId="g")
    got = aws["sqs"].receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10,
                                     AttributeNames=["MessageGroupId"])["Messages"]
    assert [(m["Body"], m["Attributes"]["MessageGroupId"]) for m in got] == [("m0", "g"), ("m1", "g")]


def test_a_missing_dlq_loses_the_message_and_publish_still_succeeds(aws):
    topic = aws["sns"].create_topic(Name=_name("t"))["TopicArn"]
    url, arn = _queue(aws, _name("gone"))
    dlq_url, dlq_arn = _queue(aws, _name("dlq"))
    aws["sns"].subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes=_redrive(dlq_arn))
    aws["sqs"].delete_queue(QueueUrl=url)
    aws["sqs"].delete_queue(QueueUrl=dlq_url)
    assert aws["sns"].publish(TopicArn=topic, Message="m")["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_fifo_topic_keeps_order_per_group(aws):
    topic, (fifo,) = _fifo_topic(aws)
    for n, group in enumerate("abaab"):
        aws["sns"].publish(TopicArn=topic, Message=f"{group}{n}", MessageGroupId=group)
    got = _bodies(aws, fifo)
    assert [b for b in got if b[0] == "a"] == ["a0", "a2", "a3"]
    assert [b for b in got if b[0] == "b"] == ["b1", "b4"]


def test_email_subscription_is_accepted_and_nothing_is_sent(aws):
    topic = aws["sns"].create_topic(Name=_name("t"))["TopicArn"]
    sub = aws["sns"].subscribe(TopicArn=topic, Protocol="email", Endpoint="ops@example.com", ReturnSubscriptionArn=True)
    assert sub["SubscriptionArn"].startswith(topic)
    aws["sns"].publish(TopicArn=topic, Message="hello")  # accepted; the emulation sends no mail
