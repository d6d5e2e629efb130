"""The SQS service: standard queues deliver in best-effort order, repeatably; FIFO
queues keep their order; the seam sits where it was tested."""

from __future__ import annotations

import pytest

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
    for seam in (s for s in sqs_service.SEAMS if s.instance):
        assert hasattr(queue, seam.qualname.rsplit(".", 1)[1]), seam.path
