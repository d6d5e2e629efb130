"""The SNS service: FIFO topic deduplication (on the sandbox clock), deliveries to
Lambda subscribers, the endpoint's policy that must let SNS in, and dead-letter
queues for deleted or refusing endpoints, checked through plain boto3; its seams
on real moto objects; and its reset.

What the chapter teaches about moto's own SNS is in tests/chapters/test_sns.py."""

from __future__ import annotations

import hashlib
import json

import pytest
from botocore.exceptions import ClientError

from labkit.core import hooks, registry, seams
from labkit.services import sns
from labkit.services.sns import dedup
from tests.support.policies import allow_function
from tests.support.sns import _bodies, _fifo_topic, _name, _queue, _queue_for

# ------------------------------------------------------------ FIFO deduplication


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


def test_content_based_id_reaches_a_fifo_queue_without_its_own_dedup(lab, aws):
    # Without the SNS service, moto would pass no id and the queue would refuse the delivery.
    topic, (fifo,) = _fifo_topic(aws, raw=False)
    aws["sns"].publish(TopicArn=topic, Message="x", MessageGroupId="g")
    envelope = json.loads(_bodies(aws, fifo)[0])
    assert envelope["Message"] == "x"
    assert lab.sns.remembered_ids(topic) == [hashlib.sha256(b"x").hexdigest()]
    assert lab.sns.content_deduplication_id("x") == hashlib.sha256(b"x").hexdigest()


def test_the_interval_is_five_minutes_of_sandbox_time(lab, aws):
    # Watch a standard queue: a FIFO queue would also drop the id, in real time, for 5 minutes.
    topic, (_, std) = _fifo_topic(aws, standard_queue=True)
    aws["sns"].publish(TopicArn=topic, Message="m", MessageGroupId="g", MessageDeduplicationId="same")
    lab.clock.advance(299.0)
    aws["sns"].publish(TopicArn=topic, Message="m", MessageGroupId="g", MessageDeduplicationId="same")
    assert lab.sns.remembered_ids(topic) == ["same"]
    lab.clock.advance(2.0)  # 301 s after the first
    assert lab.sns.remembered_ids(topic) == []
    aws["sns"].publish(TopicArn=topic, Message="m2", MessageGroupId="g", MessageDeduplicationId="same")
    # Exactly the first "m" and "m2": the copy within the interval was dropped. A standard queue
    # keeps only best-effort order (labkit's SQS shuffles messages sent close together), so not in order.
    assert sorted(_bodies(aws, std)) == ["m", "m2"]


def test_scope_topic_versus_message_group(aws):
    topic, (fifo,) = _fifo_topic(aws, content_based=False)
    aws["sns"].publish(TopicArn=topic, Message="1", MessageGroupId="a", MessageDeduplicationId="d")
    aws["sns"].publish(TopicArn=topic, Message="2", MessageGroupId="b", MessageDeduplicationId="d")
    assert _bodies(aws, fifo) == ["1"]  # default scope: the whole topic

    # moto does not store FifoThroughputScope: the per-group key is checked on its own.
    per_group = dedup.TopicConfig(fifo=True, content_based=False, per_group=True)
    whole_topic = dedup.TopicConfig(fifo=True, content_based=True, per_group=False)
    assert dedup.entry_key(per_group, {"MessageGroupId": "a", "MessageDeduplicationId": "d"}) == ("a", "d")
    assert dedup.entry_key(per_group, {"MessageGroupId": "b", "MessageDeduplicationId": "d"}) == ("b", "d")
    entry = {"MessageGroupId": "b", "Message": "body"}
    assert dedup.entry_key(whole_topic, entry) == (None, hashlib.sha256(b"body").hexdigest())
    assert entry["MessageDeduplicationId"] == hashlib.sha256(b"body").hexdigest()
    assert dedup.entry_key(per_group, {"MessageGroupId": "a", "Message": "no id"}) is None


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


def test_deleting_the_topic_forgets_its_ids(lab, aws):
    topic, _ = _fifo_topic(aws)
    aws["sns"].publish(TopicArn=topic, Message="m", MessageGroupId="g")
    assert lab.sns.remembered_ids(topic)
    aws["sns"].delete_topic(TopicArn=topic)
    assert lab.sns.remembered_ids(topic) == []


def test_standard_topics_are_untouched(lab, aws):
    topic = aws["sns"].create_topic(Name=_name("std"))["TopicArn"]
    url, arn = _queue_for(aws, _name("q"), topic)
    aws["sns"].subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
    first = aws["sns"].publish(TopicArn=topic, Message="same")
    second = aws["sns"].publish(TopicArn=topic, Message="same")
    assert first["MessageId"] != second["MessageId"] and "SequenceNumber" not in second
    assert _bodies(aws, url) == ["same", "same"]
    assert lab.sns.remembered_ids(topic) == []


# ------------------------------------------------------------ deliveries to Lambda and to dead-letter queues


@pytest.fixture()
def function(lab, aws, lambda_role):
    """make(name, source) -> the ARN of a Python function that really runs."""
    def make(name: str, source: str) -> str:
        return aws["lambda"].create_function(FunctionName=name, Runtime="python3.12", Role=lambda_role,
                                             Handler="app.handler",
                                             Code={"ZipFile": lab.lambda_.zip_code(source)})["FunctionArn"]
    return make


def _printed(aws, name, prefix):
    events = aws["logs"].filter_log_events(logGroupName=f"/aws/lambda/{name}")["events"]
    return [e["message"].strip() for e in events if e["message"].startswith(prefix)]


def test_lambda_subscriber_gets_an_sns_event_and_filters_apply(aws, function):
    name = _name("fn")
    arn = function(name, "def handler(event, context):\n"
                               "    s = event['Records'][0]['Sns']\n"
                               "    print('GOT', event['Records'][0]['EventSource'], s['Message'], s['MessageAttributes']['k']['Value'])\n")
    topic = aws["sns"].create_topic(Name=_name("t"))["TopicArn"]
    allow_function(aws["lambda"], name, "sns.amazonaws.com", topic)
    aws["sns"].subscribe(TopicArn=topic, Protocol="lambda", Endpoint=arn,
                         Attributes={"FilterPolicy": json.dumps({"k": ["yes"]})})
    for value in ("yes", "no"):
        aws["sns"].publish(TopicArn=topic, Message=f"m-{value}",
                           MessageAttributes={"k": {"DataType": "String", "StringValue": value}})
    assert _printed(aws, name, "GOT") == ["GOT aws:sns m-yes yes"]


def test_failing_lambda_subscriber_is_retried_by_lambda_then_sent_to_its_destination(aws, function):
    name = _name("bad")
    arn = function(name, "def handler(event, context):\n    print('TRY')\n    raise ValueError('no')\n")
    failures_url, failures_arn = _queue(aws, _name("fail"))
    aws["lambda"].put_function_event_invoke_config(FunctionName=name, DestinationConfig={
        "OnFailure": {"Destination": failures_arn}})
    topic = aws["sns"].create_topic(Name=_name("t"))["TopicArn"]
    dlq_url, dlq_arn = _queue_for(aws, _name("subdlq"), topic)
    allow_function(aws["lambda"], name, "sns.amazonaws.com", topic)
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
    url, arn = _queue_for(aws, _name("gone"), topic)
    dlq_url, dlq_arn = _queue_for(aws, _name("dlq"), topic)
    other_url, other_arn = _queue_for(aws, _name("other"), topic)
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
    url, arn = _queue_for(aws, _name("gone"), topic)
    dlq_url, dlq_arn = _queue_for(aws, _name("dlq"), topic)
    aws["sns"].subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn,
                         Attributes={**_redrive(dlq_arn), "RawMessageDelivery": "true"})
    aws["sqs"].delete_queue(QueueUrl=url)
    aws["sns"].publish(TopicArn=topic, Message="raw",
                       MessageAttributes={"k": {"DataType": "String", "StringValue": "v"}})
    assert _messages(aws, dlq_url) == [("raw", {"k": {"DataType": "String", "StringValue": "v"}})]


def test_a_deleted_lambda_subscriber_sends_the_envelope_to_the_dlq(aws, function):
    name = _name("fn")
    arn = function(name, "def handler(event, context):\n    print('RAN')\n")
    topic = aws["sns"].create_topic(Name=_name("t"))["TopicArn"]
    dlq_url, dlq_arn = _queue_for(aws, _name("dlq"), topic)
    allow_function(aws["lambda"], name, "sns.amazonaws.com", topic)
    aws["sns"].subscribe(TopicArn=topic, Protocol="lambda", Endpoint=arn, Attributes=_redrive(dlq_arn))
    aws["lambda"].delete_function(FunctionName=name)
    sent = aws["sns"].publish(TopicArn=topic, Message="for the function")
    [(body, attributes)] = _messages(aws, dlq_url)
    assert (json.loads(body)["Message"], json.loads(body)["MessageId"]) == ("for the function", sent["MessageId"])
    assert attributes == {}


def test_without_a_dlq_an_undeliverable_message_is_dropped_and_publish_succeeds(aws, function):
    topic = aws["sns"].create_topic(Name=_name("t"))["TopicArn"]
    url, arn = _queue_for(aws, _name("gone"), topic)
    other_url, other_arn = _queue_for(aws, _name("other"), topic)
    name = _name("fn")
    fn = function(name, "def handler(event, context):\n    pass\n")
    allow_function(aws["lambda"], name, "sns.amazonaws.com", topic)
    aws["sns"].subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    aws["sns"].subscribe(TopicArn=topic, Protocol="lambda", Endpoint=fn)
    aws["sns"].subscribe(TopicArn=topic, Protocol="sqs", Endpoint=other_arn)
    aws["sqs"].delete_queue(QueueUrl=url)
    aws["lambda"].delete_function(FunctionName=name)
    assert aws["sns"].publish(TopicArn=topic, Message="m")["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert [json.loads(b)["Message"] for b in _bodies(aws, other_url)] == ["m"]


def test_a_filtered_out_message_never_reaches_the_dlq(aws):
    topic = aws["sns"].create_topic(Name=_name("t"))["TopicArn"]
    url, arn = _queue_for(aws, _name("gone"), topic)
    dlq_url, dlq_arn = _queue_for(aws, _name("dlq"), topic)
    aws["sns"].subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn,
                         Attributes={**_redrive(dlq_arn), "FilterPolicy": json.dumps({"k": ["yes"]})})
    aws["sqs"].delete_queue(QueueUrl=url)
    for value in ("no", "yes"):
        aws["sns"].publish(TopicArn=topic, Message=value,
                           MessageAttributes={"k": {"DataType": "String", "StringValue": value}})
    assert [json.loads(b)["Message"] for b in _bodies(aws, dlq_url)] == ["yes"]


def test_the_dlq_gets_the_protocol_s_part_of_a_json_message_structure(aws):
    topic = aws["sns"].create_topic(Name=_name("t"))["TopicArn"]
    url, arn = _queue_for(aws, _name("gone"), topic)
    dlq_url, dlq_arn = _queue_for(aws, _name("dlq"), topic)
    aws["sns"].subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes=_redrive(dlq_arn))
    aws["sqs"].delete_queue(QueueUrl=url)
    aws["sns"].publish(TopicArn=topic, MessageStructure="json",
                       Message=json.dumps({"default": "for everyone", "sqs": "for queues"}))
    assert [json.loads(b)["Message"] for b in _bodies(aws, dlq_url)] == ["for queues"]
    with pytest.raises(ClientError):  # SNS's own validation still fails the publish
        aws["sns"].publish(TopicArn=topic, MessageStructure="json", Message="not JSON")


def test_a_fifo_subscription_dead_letters_to_its_fifo_dlq_with_the_group(aws):
    topic, (fifo,) = _fifo_topic(aws)
    dlq_url, dlq_arn = _queue_for(aws, _name("dlq") + ".fifo", topic, FifoQueue="true")
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
    url, arn = _queue_for(aws, _name("gone"), topic)
    dlq_url, dlq_arn = _queue_for(aws, _name("dlq"), topic)
    aws["sns"].subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes=_redrive(dlq_arn))
    aws["sqs"].delete_queue(QueueUrl=url)
    aws["sqs"].delete_queue(QueueUrl=dlq_url)
    assert aws["sns"].publish(TopicArn=topic, Message="m")["ResponseMetadata"]["HTTPStatusCode"] == 200


# ------------------------------------------------------------ the endpoint's policy decides


def test_a_queue_without_a_policy_for_the_topic_gets_nothing(aws):
    """On AWS a queue policy must allow sns.amazonaws.com to send from this topic:
    without one, or with one for another topic, the delivery fails and Publish
    still succeeds; the queue that allows it gets the message."""
    topic = aws["sns"].create_topic(Name=_name("t"))["TopicArn"]
    other_topic = aws["sns"].create_topic(Name=_name("other"))["TopicArn"]
    bare_url, bare_arn = _queue(aws, _name("bare"))
    elsewhere_url, elsewhere_arn = _queue_for(aws, _name("elsewhere"), other_topic)
    allowed_url, allowed_arn = _queue_for(aws, _name("allowed"), topic)
    for arn in (bare_arn, elsewhere_arn, allowed_arn):
        aws["sns"].subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
    assert aws["sns"].publish(TopicArn=topic, Message="m")["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert (_bodies(aws, bare_url), _bodies(aws, elsewhere_url), _bodies(aws, allowed_url)) == ([], [], ["m"])


def test_a_policy_added_later_lets_the_next_publish_through(aws):
    topic = aws["sns"].create_topic(Name=_name("t"))["TopicArn"]
    url, arn = _queue(aws, _name("late"))
    aws["sns"].subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
    aws["sns"].publish(TopicArn=topic, Message="before")
    from tests.support.policies import allow_queue

    allow_queue(aws["sqs"], url, "sns.amazonaws.com", topic)
    aws["sns"].publish(TopicArn=topic, Message="after")
    assert _bodies(aws, url) == ["after"]


def test_an_explicit_deny_in_the_queue_policy_wins(aws):
    topic = aws["sns"].create_topic(Name=_name("t"))["TopicArn"]
    url, arn = _queue(aws, _name("deny"))
    allow = {"Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"}, "Action": "sqs:SendMessage",
             "Resource": arn}
    deny = {**allow, "Effect": "Deny", "Condition": {"ArnEquals": {"aws:SourceArn": topic}}}
    aws["sqs"].set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(
        {"Version": "2012-10-17", "Statement": [allow, deny]})})
    aws["sns"].subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    aws["sns"].publish(TopicArn=topic, Message="m")
    assert _bodies(aws, url) == []


def test_a_refused_delivery_goes_to_the_subscription_dlq_without_retries(aws):
    """A policy that refuses SNS is a client-side error: no retry, straight to the
    subscription's DLQ, in the form the subscriber would have received it."""
    topic = aws["sns"].create_topic(Name=_name("t"))["TopicArn"]
    url, arn = _queue(aws, _name("refuses"))
    dlq_url, dlq_arn = _queue_for(aws, _name("dlq"), topic)
    aws["sns"].subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes=_redrive(dlq_arn))
    sent = aws["sns"].publish(TopicArn=topic, Message="refused")
    [(body, attributes)] = _messages(aws, dlq_url)
    assert (json.loads(body)["Message"], json.loads(body)["MessageId"], attributes) == ("refused", sent["MessageId"], {})
    assert _bodies(aws, url) == []


def test_a_dlq_that_does_not_allow_sns_loses_the_message(aws):
    topic = aws["sns"].create_topic(Name=_name("t"))["TopicArn"]
    url, arn = _queue(aws, _name("refuses"))
    dlq_url, dlq_arn = _queue(aws, _name("dlq-no-policy"))
    aws["sns"].subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes=_redrive(dlq_arn))
    assert aws["sns"].publish(TopicArn=topic, Message="m")["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert _bodies(aws, dlq_url) == [] and _bodies(aws, url) == []


def test_a_filtered_out_message_is_not_a_refused_delivery(aws):
    topic = aws["sns"].create_topic(Name=_name("t"))["TopicArn"]
    url, arn = _queue(aws, _name("refuses"))
    dlq_url, dlq_arn = _queue_for(aws, _name("dlq"), topic)
    aws["sns"].subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn,
                         Attributes={**_redrive(dlq_arn), "FilterPolicy": json.dumps({"k": ["yes"]})})
    for value in ("no", "yes"):
        aws["sns"].publish(TopicArn=topic, Message=value,
                           MessageAttributes={"k": {"DataType": "String", "StringValue": value}})
    assert [json.loads(b)["Message"] for b in _bodies(aws, dlq_url)] == ["yes"]


def test_a_function_runs_only_with_a_permission_for_this_topic(aws, function):
    name = _name("fn")
    arn = function(name, "def handler(event, context):\n    print('RAN', event['Records'][0]['Sns']['Message'])\n")
    topic = aws["sns"].create_topic(Name=_name("t"))["TopicArn"]
    other = aws["sns"].create_topic(Name=_name("other"))["TopicArn"]
    dlq_url, dlq_arn = _queue_for(aws, _name("dlq"), topic)
    aws["sns"].subscribe(TopicArn=topic, Protocol="lambda", Endpoint=arn, Attributes=_redrive(dlq_arn))
    aws["sns"].publish(TopicArn=topic, Message="no permission")
    allow_function(aws["lambda"], name, "sns.amazonaws.com", other, "other-topic")
    aws["sns"].publish(TopicArn=topic, Message="another topic's permission")
    allow_function(aws["lambda"], name, "sns.amazonaws.com", topic, "this-topic")
    aws["sns"].publish(TopicArn=topic, Message="this topic's permission")
    assert _printed(aws, name, "RAN") == ["RAN this topic's permission"]
    assert sorted(json.loads(b)["Message"] for b in _bodies(aws, dlq_url)) == ["another topic's permission",
                                                                                "no permission"]


def test_notifications_refused_by_the_endpoint_count_as_failed(lab, aws):
    """AWS/SNS NumberOfNotificationsFailed counts the refused delivery; the allowed one is delivered."""
    lab.cloudwatch.sample_now()
    topic = aws["sns"].create_topic(Name=_name("t"))["TopicArn"]
    _, refusing = _queue(aws, _name("refuses"))
    _, allowing = _queue_for(aws, _name("allows"), topic)
    for arn in (refusing, allowing):
        aws["sns"].subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    aws["sns"].publish(TopicArn=topic, Message="m")
    cloudwatch = lab.client("cloudwatch")
    now = lab.clock.now()

    def total(metric):
        points = cloudwatch.get_metric_statistics(
            Namespace="AWS/SNS", MetricName=metric, Dimensions=[{"Name": "TopicName", "Value": topic.rsplit(":", 1)[-1]}],
            StartTime=now - 600, EndTime=now + 600, Period=60, Statistics=["Sum"])["Datapoints"]
        return sum(p["Sum"] for p in points)

    assert (total("NumberOfNotificationsDelivered"), total("NumberOfNotificationsFailed")) == (1, 1)


# ------------------------------------------------------------ labkit's own calls, seams, lifecycle


def test_the_topic_attributes_are_read_by_an_internal_call(aws):
    """Deduplication reads the topic's settings with labkit's own client: a
    subscriber that skips internal calls (a recorder, an enforcer) never sees it."""
    seen: list[str] = []

    def record(call, parsed, status):
        seen.append(call.params["TopicArn"])

    hooks.subscribe("after", "sns", "GetTopicAttributes", record, internal=False)
    try:
        topic, _ = _fifo_topic(aws)
        aws["sns"].publish(TopicArn=topic, Message="m", MessageGroupId="g")
        assert seen == []
        aws["sns"].get_topic_attributes(TopicArn=topic)
        assert seen == [topic]
    finally:
        hooks.unsubscribe(record)


def test_every_seam_is_where_the_service_expects_it(aws):
    aws["sns"].list_topics()  # the first SNS call installs the service
    assert "sns" in registry.installed()
    assert seams.check(sns.SEAMS) == []
    for seam in sns.SEAMS:
        if seam.patched:
            assert seam.path in seams.patched(), seam.path


def test_instance_attributes_named_in_seams_exist_on_real_objects(lab, aws):
    """Seams with ``instance=True`` are attributes of moto's objects: check each on a real one."""
    from moto.awslambda.utils import get_backend
    from moto.sns.models import sns_backends
    from moto.sqs.models import sqs_backends

    _, queue_arn = _queue(aws, "q")
    topic = aws["sns"].create_topic(Name="t")["TopicArn"]
    sub = aws["sns"].subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn,
                               ReturnSubscriptionArn=True)["SubscriptionArn"]
    objects = {
        ("moto.sns.models", "Subscription"): sns_backends[lab.account_id][lab.region].subscriptions[sub],
        ("moto.sqs.models", "SQSBackend"): sqs_backends[lab.account_id][lab.region],
        ("moto.sqs.models", "Queue"): sqs_backends[lab.account_id][lab.region].queues["q"],
        ("moto.awslambda.models", "LambdaBackend"): get_backend(lab.account_id, lab.region),
    }
    instance_seams = [seam for seam in sns.SEAMS if seam.instance]
    assert instance_seams
    for seam in instance_seams:
        owner, attribute = seam.qualname.rsplit(".", 1)
        assert (seam.module, owner) in objects, f"add a real {owner} to this test for {seam.path}"
        assert hasattr(objects[(seam.module, owner)], attribute), seam.path


def test_reset_forgets_every_deduplication_id(lab, aws):
    def publish_once():
        topic, (fifo,) = _fifo_topic(aws, content_based=False)
        aws["sns"].publish(TopicArn=topic, Message="m", MessageGroupId="g", MessageDeduplicationId="order-1")
        return topic, fifo

    topic, _ = publish_once()
    assert lab.sns.remembered_ids(topic) == ["order-1"]
    lab.reset()
    assert lab.sns.remembered_ids(topic) == []
    # The same topic ARN again: the id published before the reset no longer drops anything.
    again = aws["sns"].create_topic(Name=topic.rsplit(":", 1)[-1],
                                    Attributes={"FifoTopic": "true", "ContentBasedDeduplication": "false"})
    url, arn = _queue_for(aws, _name("q") + ".fifo", topic, FifoQueue="true", ContentBasedDeduplication="true")
    aws["sns"].subscribe(TopicArn=again["TopicArn"], Protocol="sqs", Endpoint=arn,
                         Attributes={"RawMessageDelivery": "true"})
    aws["sns"].publish(TopicArn=topic, Message="after", MessageGroupId="g", MessageDeduplicationId="order-1")
    assert again["TopicArn"] == topic and _bodies(aws, url) == ["after"]
