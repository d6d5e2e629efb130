"""The SQS service: standard queues deliver in best-effort order, repeatably; FIFO
queues keep their order; the seam sits where it was tested."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from labkit.core import registry, seams
from labkit.services import sqs as sqs_service


def drain(client, url):
    bodies = []
    while True:
        messages = client.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return bodies
        for message in messages:
            bodies.append(message["Body"])
            client.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def send(client, url, count, **extra):
    for n in range(count):
        client.send_message(QueueUrl=url, MessageBody=str(n), **extra)


@pytest.fixture()
def sqs(lab):
    return lab.client("sqs")


def test_a_standard_queue_is_nearly_but_not_always_in_send_order(sqs):
    url = sqs.create_queue(QueueName="orders")["QueueUrl"]
    send(sqs, url, 40)
    received = [int(body) for body in drain(sqs, url)]
    assert sorted(received) == list(range(40))  # nothing lost, nothing twice
    assert received != list(range(40))  # some overtake...
    assert max(abs(position - sent) for position, sent in enumerate(received)) <= 3  # ...only near neighbours


def test_the_order_is_the_same_every_run_and_a_seed_changes_it(lab, sqs):
    def run():
        url = sqs.create_queue(QueueName="orders")["QueueUrl"]
        send(sqs, url, 20)
        order = drain(sqs, url)
        sqs.delete_queue(QueueUrl=url)
        return order

    first = run()
    lab.reset()
    assert run() == first
    lab.sqs.set_seed(7)
    assert run() != first


def test_fifo_queues_keep_their_order(sqs):
    url = sqs.create_queue(QueueName="orders.fifo", Attributes={"FifoQueue": "true",
                                                               "ContentBasedDeduplication": "true"})["QueueUrl"]
    send(sqs, url, 20, MessageGroupId="ana")
    assert drain(sqs, url) == [str(n) for n in range(20)]


def test_a_message_that_comes_back_keeps_its_place(sqs):
    url = sqs.create_queue(QueueName="jobs", Attributes={"VisibilityTimeout": "0"})["QueueUrl"]
    send(sqs, url, 6)
    first = [m["Body"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]]
    again = [m["Body"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]]
    assert first == again and sorted(first) == [str(n) for n in range(6)]


def test_the_seam_matches_moto_and_is_patched(lab, sqs):
    sqs.list_queues()
    assert "sqs" in registry.installed()
    assert seams.check(sqs_service.SEAMS) == []
    assert "moto.sqs.models.Queue.messages" in seams.patched()
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    send(sqs, url, 1)
    from moto.sqs.models import sqs_backends

    queue = sqs_backends[lab.account_id][lab.region].get_queue("q")
    objects = {"Queue": queue, "Message": queue._messages[0]}
    for seam in (s for s in sqs_service.SEAMS if s.instance):
        owner, name = seam.qualname.rsplit(".", 1)
        assert hasattr(objects[owner], name), seam.path


def _dlq_pair(sqs, name, max_receives=1):
    dlq = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    src = sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "0", "RedrivePolicy": json.dumps(
        {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_receives)})})["QueueUrl"]
    return src, dlq, dlq_arn


def _to_dlq(sqs, src, bodies):
    for body in bodies:
        sqs.send_message(QueueUrl=src, MessageBody=body)
    for _ in range(3):  # received without being deleted: the next receive moves them
        sqs.receive_message(QueueUrl=src, MaxNumberOfMessages=10)


def test_a_redrive_moves_the_dead_letters_back_to_their_source_queue(sqs):
    src, dlq, dlq_arn = _dlq_pair(sqs, "orders")
    _to_dlq(sqs, src, ["a", "b", "c"])
    assert sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"])[
        "Attributes"]["ApproximateNumberOfMessages"] == "3"
    handle = sqs.start_message_move_task(SourceArn=dlq_arn)["TaskHandle"]
    (task,) = sqs.list_message_move_tasks(SourceArn=dlq_arn)["Results"]
    assert (task["TaskHandle"], task["Status"], task["ApproximateNumberOfMessagesMoved"]) == (handle, "COMPLETED", 3)
    assert "DestinationArn" not in task
    assert drain(sqs, dlq) == []
    got = sqs.receive_message(QueueUrl=src, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"])["Messages"]
    assert sorted(m["Body"] for m in got) == ["a", "b", "c"]
    assert {m["Attributes"]["ApproximateReceiveCount"] for m in got} == {"1"}  # a fresh start


def test_a_redrive_to_another_queue_and_the_refusals(sqs):
    src, dlq, dlq_arn = _dlq_pair(sqs, "pay")
    other = sqs.create_queue(QueueName="pay-replay")["QueueUrl"]
    other_arn = sqs.get_queue_attributes(QueueUrl=other, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    _to_dlq(sqs, src, ["x"])
    sqs.start_message_move_task(SourceArn=dlq_arn, DestinationArn=other_arn, MaxNumberOfMessagesPerSecond=5)
    assert drain(sqs, other) == ["x"]
    latest = sqs.list_message_move_tasks(SourceArn=dlq_arn, MaxResults=10)["Results"][0]
    assert (latest["DestinationArn"], latest["MaxNumberOfMessagesPerSecond"]) == (other_arn, 5)

    def code(**kwargs):
        with pytest.raises(ClientError) as caught:
            sqs.start_message_move_task(**kwargs)
        return caught.value.response["Error"]["Code"]

    assert code(SourceArn=other_arn) == "InvalidParameterValue"  # not anybody's dead-letter queue
    assert code(SourceArn=other_arn.replace("pay-replay", "nothing")) == "ResourceNotFoundException"
    assert code(SourceArn=dlq_arn, MaxNumberOfMessagesPerSecond=501) == "InvalidParameterValue"
    with pytest.raises(ClientError) as caught:
        sqs.cancel_message_move_task(TaskHandle=latest["TaskHandle"])
    assert caught.value.response["Error"]["Code"] == "UnsupportedOperation"  # it has already completed
    # a second source naming the same DLQ: without a destination, labkit says what it cannot know
    sqs.create_queue(QueueName="pay-2", Attributes={"RedrivePolicy": json.dumps(
        {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "1"})})
    assert code(SourceArn=dlq_arn) == "LabkitNotEmulated"
    sqs.list_queues()  # the service keeps serving
