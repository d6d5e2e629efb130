"""labkit.core.hooks: one dispatcher; subscribers by service and operation; params,
before (may answer instead of moto) and after; labkit's own calls marked."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from labkit.core import aws as labaws
from labkit.core import hooks


@pytest.fixture()
def subscribe():
    """``hooks.subscribe`` that undoes itself after the test."""
    added = []

    def _subscribe(stage, service, operation, fn, **kwargs):
        hooks.subscribe(stage, service, operation, fn, **kwargs)
        added.append(fn)

    yield _subscribe
    for fn in added:
        hooks.unsubscribe(fn)


def test_params_subscribers_see_the_call_and_may_change_the_request(lab, aws, subscribe):
    seen = []

    def add_a_delay(call, params):
        seen.append((call.service, call.operation, call.region, dict(call.params), call.internal))
        params.setdefault("Attributes", {})["DelaySeconds"] = "7"

    subscribe("params", "sqs", "CreateQueue", add_a_delay)
    url = aws["sqs"].create_queue(QueueName="orders")["QueueUrl"]
    assert seen == [("sqs", "CreateQueue", "us-east-1", {"QueueName": "orders"}, False)]
    attributes = aws["sqs"].get_queue_attributes(QueueUrl=url, AttributeNames=["DelaySeconds"])["Attributes"]
    assert attributes["DelaySeconds"] == "7"


def test_subscribers_are_chosen_by_service_and_operation(lab, aws, subscribe):
    calls = {"create": [], "any": [], "other service": []}
    subscribe("after", "sqs", "CreateQueue", lambda call, parsed, status: calls["create"].append(call.operation))
    subscribe("after", "sqs", "*", lambda call, parsed, status: calls["any"].append(call.operation))
    subscribe("after", "sns", "*", lambda call, parsed, status: calls["other service"].append(call.operation))
    aws["sqs"].create_queue(QueueName="orders")
    aws["sqs"].list_queues()
    assert calls == {"create": ["CreateQueue"], "any": ["CreateQueue", "ListQueues"], "other service": []}


def test_a_before_answer_takes_the_place_of_motos(lab, aws, subscribe):
    subscribe("before", "sqs", "CreateQueue",
              lambda call: hooks.error_answer("QueueDeletedRecently", "wait 60 seconds", 400))
    with pytest.raises(ClientError) as error:
        aws["sqs"].create_queue(QueueName="orders")
    assert error.value.response["Error"] == {"Code": "QueueDeletedRecently", "Message": "wait 60 seconds"}
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert not aws["sqs"].list_queues().get("QueueUrls"), "moto was not asked"


def test_before_returning_none_lets_moto_answer_and_state_reaches_after(lab, aws, subscribe):
    seen = []

    def before(call):
        call.state["asked"] = call.params["QueueName"]

    subscribe("before", "sqs", "CreateQueue", before)
    subscribe("after", "sqs", "CreateQueue", lambda call, parsed, status: seen.append((call.state, status)))
    assert aws["sqs"].create_queue(QueueName="orders")["QueueUrl"].endswith("/orders")
    assert seen == [({"asked": "orders"}, 200)]


def test_after_subscribers_may_amend_the_answer(lab, aws, subscribe):
    def amend(call, parsed, status):
        parsed["LabkitNote"] = "amended"

    subscribe("after", "sqs", "ListQueues", amend)
    assert aws["sqs"].list_queues()["LabkitNote"] == "amended"


def test_internal_calls_are_flagged_and_skipped_by_internal_false_subscribers(lab, aws, subscribe):
    everyone, learners_only = [], []
    subscribe("after", "sqs", "ListQueues", lambda call, parsed, status: everyone.append(call.internal))
    subscribe("after", "sqs", "ListQueues", lambda call, parsed, status: learners_only.append(call.internal),
              internal=False)
    aws["sqs"].list_queues()  # the learner's
    labaws.internal_client("sqs").list_queues()  # labkit's own client
    with hooks.internal():
        aws["sqs"].list_queues()  # any client, inside hooks.internal()
    assert everyone == [False, True, True]
    assert learners_only == [False]
    assert not hooks.is_internal()


def test_subscribe_is_idempotent_and_unsubscribe_removes(lab, aws, subscribe):
    seen = []

    def record(call, parsed, status):
        seen.append(call.operation)

    subscribe("after", "sqs", "ListQueues", record)
    subscribe("after", "sqs", "ListQueues", record)
    aws["sqs"].list_queues()
    assert seen == ["ListQueues"]
    hooks.unsubscribe(record)
    aws["sqs"].list_queues()
    assert seen == ["ListQueues"]


def test_an_unknown_stage_is_refused():
    with pytest.raises(ValueError, match="stage must be"):
        hooks.subscribe("during", "sqs", "*", lambda call: None)


def test_a_call_knows_who_signs_it_and_its_user_agent(lab):
    import boto3

    from labkit.core import hooks

    seen = []

    def remember(call):
        seen.append((call.access_key, call.user_agent))

    hooks.subscribe("before", "sqs", "ListQueues", remember)
    try:
        lab.client("sqs").list_queues()
        boto3.client("sqs", region_name="us-east-1", aws_access_key_id="FAKEKEYFORTESTS00001",
                     aws_secret_access_key="secret").list_queues()
    finally:
        hooks.unsubscribe(remember)
    (default_key, agent), (other_key, _) = seen
    assert default_key and default_key != "FAKEKEYFORTESTS00001" and other_key == "FAKEKEYFORTESTS00001"
    assert agent.startswith("Boto3/")


def test_subscribers_see_typed_parameters_even_from_a_boto3_resource(lab):
    import copy

    import boto3

    from labkit.core import hooks

    seen = []

    def remember(call, params):
        seen.append(call.params.get("Item"))

    def answer(call, parsed, status):
        seen.append(copy.deepcopy(parsed.get("Item")))  # the resource converts this very dict afterwards

    resource = boto3.resource("dynamodb", region_name="us-east-1")
    table = resource.create_table(TableName="typed", BillingMode="PAY_PER_REQUEST",
                                  KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                                  AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "N"}])
    hooks.subscribe("params", "dynamodb", "PutItem", remember)
    hooks.subscribe("after", "dynamodb", "GetItem", answer)
    try:
        table.put_item(Item={"id": 1, "name": "lamp"})
        assert table.get_item(Key={"id": 1})["Item"] == {"id": 1, "name": "lamp"}  # the resource still converts
    finally:
        hooks.unsubscribe(remember)
        hooks.unsubscribe(answer)
    assert seen == [{"id": {"N": "1"}, "name": {"S": "lamp"}}] * 2
