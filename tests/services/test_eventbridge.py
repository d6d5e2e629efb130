"""The EventBridge service: delivery to SQS, Logs, Lambda and SNS targets with their
input settings, only where the target's resource policy lets the rule in (else its
dead-letter queue and the failure metrics); to a state machine through the target's
role (PutTargets wants one; trust, permission and a missing machine go to the DLQ);
disabled and schedule-only rules, AWS service events and schedules, TestEventPattern,
archive and replay, event times on the sandbox clock; its seams on real moto objects;
and its reset.

What the chapter teaches about moto's own matching is in tests/chapters/test_eventbridge.py."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from botocore.exceptions import ClientError

import labkit
from labkit.core import registry, seams
from labkit.core.aws import epoch_of
from labkit.services import eventbridge
from labkit.services.eventbridge import render_template, target_payload
from tests.support.eventbridge import bodies, put, queue, rule_to_queue
from tests.support.policies import allow_function, allow_queue, allow_topic

# ---------------------------------------------------------------- delivery and shape


def test_sqs_target_receives_the_event_in_aws_shape(lab):
    url = rule_to_queue(lab, "orders", {"source": ["shop.orders"]})
    event_id = put(lab, {"total": 12})["Entries"][0]["EventId"]
    [body] = bodies(lab, url)
    event = json.loads(body)
    assert list(event) == ["version", "id", "detail-type", "source", "account", "time", "region", "resources",
                           "detail"]
    assert event["id"] == event_id and event["detail"] == {"total": 12} and event["account"] == lab.account_id
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", event["time"])
    assert ", " not in body and ": " not in body  # minified


def test_disabled_rule_receives_nothing_and_enabled_again_does(lab):
    url = rule_to_queue(lab, "r", {"source": ["shop.orders"]})
    lab.client("events").disable_rule(Name="r")
    put(lab, {"n": 1})
    assert bodies(lab, url) == []
    lab.client("events").enable_rule(Name="r")
    put(lab, {"n": 2})
    assert [json.loads(b)["detail"] for b in bodies(lab, url)] == [{"n": 2}]


# ---------------------------------------------------------------- target input


def test_constant_input_replaces_the_event(lab):
    url = rule_to_queue(lab, "r", {"source": ["shop.orders"]}, Input='{"action": "rebuild-cache"}')
    put(lab, {"n": 1})
    assert bodies(lab, url) == ['{"action": "rebuild-cache"}']


def test_input_path_selects_part_of_the_event(lab):
    url = rule_to_queue(lab, "r", {"source": ["shop.orders"]}, InputPath="$.detail")
    put(lab, {"n": 1, "items": ["a"]})
    assert bodies(lab, url) == ['{"n":1,"items":["a"]}']


def test_input_transformer_json_template_quotes_and_types(lab):
    transformer = {
        "InputPathsMap": {"id": "$.detail.order-id", "total": "$.detail.total", "items": "$.detail.items"},
        "InputTemplate": '{"order": <id>, "total": <total>, "items": <items>, '
                         '"text": "order <id> costs <total>", "rule": <aws.events.rule-name>}',
    }
    url = rule_to_queue(lab, "r", {"source": ["shop.orders"]}, InputTransformer=transformer)
    put(lab, {"order-id": "o-7", "total": 12.5, "items": ["a", "b"]})
    [body] = bodies(lab, url)
    assert json.loads(body) == {"order": "o-7", "total": 12.5, "items": ["a", "b"],
                                "text": "order o-7 costs 12.5", "rule": "r"}


def test_input_transformer_string_template(lab):
    transformer = {"InputPathsMap": {"instance": "$.detail.instance-id", "state": "$.detail.state"},
                   "InputTemplate": '"instance <instance> is in <state>"'}
    url = rule_to_queue(lab, "r", {"source": ["aws.ec2"]}, InputTransformer=transformer)
    lab.eventbridge.emit_aws_event(**lab.eventbridge.ec2_state_change("i-0abc", "terminated"))
    assert bodies(lab, url) == ['"instance i-0abc is in terminated"']


def test_render_template_rules():
    variables = {"s": "RUNNING", "n": 9, "o": {"a": 1}, "gone": eventbridge.MISSING}
    assert render_template('{"a": <s>, "b": "<s>!", "c": <n>, "d": <o>, "e": <gone>, "f": "<gone>"}',
                           variables) == '{"a": "RUNNING", "b": "RUNNING!", "c": 9, "d": {"a":1}, "e": null, "f": ""}'
    assert render_template('"x \\"<s>\\" <unknown>"', variables) == '"x \\"RUNNING\\" <unknown>"'


def test_predefined_variables():
    event = {"version": "0", "id": "e1", "detail-type": "T", "source": "s", "account": "1", "time": 0,
             "region": "us-east-1", "resources": [], "detail": {"k": 1}, "ingestion-time": 60}
    target = {"InputTransformer": {"InputTemplate": '{"arn": <aws.events.rule-arn>, "e": <aws.events.event>, '
                                                    '"full": <aws.events.event.json>, '
                                                    '"at": <aws.events.event.ingestion-time>}'}}
    out = json.loads(target_payload(target, event, "r", "arn:r"))
    assert out["arn"] == "arn:r" and "detail" not in out["e"] and out["full"]["detail"] == {"k": 1}
    assert out["at"] == "1970-01-01T00:01:00Z" and out["full"]["time"] == "1970-01-01T00:00:00Z"


def test_cloudwatch_logs_target_logs_the_event_or_the_templates_message(lab):
    logs, events = lab.client("logs"), lab.client("events")
    logs.create_log_group(logGroupName="/events/orders")
    group_arn = lab.arn("logs", "log-group:/events/orders")
    events.put_rule(Name="r", EventPattern=json.dumps({"source": ["shop.orders"]}))
    events.put_targets(Rule="r", Targets=[
        {"Id": "all", "Arn": group_arn},
        {"Id": "short", "Arn": group_arn, "InputTransformer": {
            "InputPathsMap": {"t": "$.time", "n": "$.detail.n"},
            "InputTemplate": '{"timestamp": <t>, "message": "order <n> placed"}'}}])
    put(lab, {"n": 4})
    messages = sorted(e["message"] for e in logs.filter_log_events(logGroupName="/events/orders")["events"])
    assert messages[0] == "order 4 placed" and json.loads(messages[1])["detail"] == {"n": 4}


def test_lambda_target_gets_the_transformed_input(lab, lambda_role):
    lab.client("sqs").create_queue(QueueName="out")
    code = ("import boto3, json, os\n"
            "def handler(event, context):\n"
            "    boto3.client('sqs').send_message(QueueUrl=os.environ['OUT'], MessageBody=json.dumps(event))\n")
    out_url = lab.client("sqs").get_queue_url(QueueName="out")["QueueUrl"]
    fn = lab.client("lambda").create_function(
        FunctionName="audit", Role=lambda_role, Runtime="python3.12", Handler="app.handler",
        Code={"ZipFile": lab.lambda_.zip_code(code)}, Environment={"Variables": {"OUT": out_url}})["FunctionArn"]
    events = lab.client("events")
    rule = events.put_rule(Name="r", EventPattern=json.dumps({"source": ["shop.orders"]}))["RuleArn"]
    allow_function(lab.client("lambda"), "audit", "events.amazonaws.com", rule)
    events.put_targets(Rule="r", Targets=[{"Id": "fn", "Arn": fn, "InputPath": "$.detail"}])
    put(lab, {"n": 5})
    assert [json.loads(b) for b in labkit_wait(lab, out_url)] == [{"n": 5}]


def test_sns_target_gets_the_payload_and_its_subscribers_get_it(lab):
    sns = lab.client("sns")
    topic = sns.create_topic(Name="alerts")["TopicArn"]
    url, arn = queue(lab, "alerts-inbox")
    allow_queue(lab.client("sqs"), url, "sns.amazonaws.com", topic)
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
    events = lab.client("events")
    rule = events.put_rule(Name="r", EventPattern=json.dumps({"source": ["shop.orders"]}))["RuleArn"]
    allow_topic(sns, topic, "events.amazonaws.com", rule)
    events.put_targets(Rule="r", Targets=[{"Id": "topic", "Arn": topic, "InputTransformer": {
        "InputPathsMap": {"n": "$.detail.n"}, "InputTemplate": '"order <n> needs a look"'}}])
    put(lab, {"n": 8})
    assert bodies(lab, url) == ['"order 8 needs a look"']


def labkit_wait(lab: labkit.Sandbox, url: str) -> list[str]:
    sqs = lab.client("sqs")
    got = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5).get("Messages", [])
    return [m["Body"] for m in got]


# ---------------------------------------------------------------- the target's resource policy decides


def _rule(lab, name, pattern=None):
    return lab.client("events").put_rule(Name=name, EventPattern=json.dumps(pattern or {"source": ["shop.orders"]}))["RuleArn"]


def test_a_queue_without_a_policy_for_the_rule_gets_nothing(lab):
    """On AWS the queue policy must allow events.amazonaws.com to send from this rule."""
    events, sqs = lab.client("events"), lab.client("sqs")
    rule, other_rule = _rule(lab, "orders"), _rule(lab, "elsewhere", {"source": ["nobody"]})
    bare_url, bare_arn = queue(lab, "bare")
    elsewhere_url, elsewhere_arn = queue(lab, "elsewhere")
    allow_queue(sqs, elsewhere_url, "events.amazonaws.com", other_rule)
    sns_only_url, sns_only_arn = queue(lab, "sns-only")
    allow_queue(sqs, sns_only_url, "sns.amazonaws.com", rule)
    allowed_url, allowed_arn = queue(lab, "allowed")
    allow_queue(sqs, allowed_url, "events.amazonaws.com", rule)
    events.put_targets(Rule="orders", Targets=[{"Id": f"t{n}", "Arn": arn} for n, arn in
                                               enumerate((bare_arn, elsewhere_arn, sns_only_arn, allowed_arn))])
    assert put(lab, {"n": 1})["FailedEntryCount"] == 0  # the producer never knows
    assert [len(bodies(lab, url)) for url in (bare_url, elsewhere_url, sns_only_url, allowed_url)] == [0, 0, 0, 1]


def test_a_scheduled_rule_needs_the_queue_policy_too(lab):
    events = lab.client("events")
    rule = events.put_rule(Name="nightly", ScheduleExpression="rate(1 day)")["RuleArn"]
    url, arn = queue(lab, "nightly-jobs")
    events.put_targets(Rule="nightly", Targets=[{"Id": "q", "Arn": arn}])
    lab.eventbridge.fire_schedule("nightly")
    assert bodies(lab, url) == []
    allow_queue(lab.client("sqs"), url, "events.amazonaws.com", rule)
    lab.eventbridge.fire_schedule("nightly")
    assert len(bodies(lab, url)) == 1


def test_a_function_target_runs_only_with_a_permission_for_the_rule(lab, lambda_role):
    sqs = lab.client("sqs")
    out_url = sqs.create_queue(QueueName="ran")["QueueUrl"]
    code = ("import boto3, json, os\n"
            "def handler(event, context):\n"
            "    boto3.client('sqs').send_message(QueueUrl=os.environ['OUT'], MessageBody=json.dumps(event['detail']))\n")
    fn = lab.client("lambda").create_function(
        FunctionName="audit", Role=lambda_role, Runtime="python3.12", Handler="app.handler",
        Code={"ZipFile": lab.lambda_.zip_code(code)}, Environment={"Variables": {"OUT": out_url}})["FunctionArn"]
    rule = _rule(lab, "r")
    lab.client("events").put_targets(Rule="r", Targets=[{"Id": "fn", "Arn": fn}])
    put(lab, {"n": "refused"})
    allow_function(lab.client("lambda"), "audit", "events.amazonaws.com", rule)
    put(lab, {"n": "allowed"})
    assert [json.loads(b) for b in labkit_wait(lab, out_url)] == [{"n": "allowed"}]


def test_a_topic_target_needs_a_topic_policy_for_eventbridge(lab):
    """The default topic policy lets the account's principals publish, not EventBridge."""
    sns, sqs = lab.client("sns"), lab.client("sqs")
    topic = sns.create_topic(Name="alerts")["TopicArn"]
    url, arn = queue(lab, "alerts-inbox")
    allow_queue(sqs, url, "sns.amazonaws.com", topic)
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
    rule = _rule(lab, "r")
    lab.client("events").put_targets(Rule="r", Targets=[{"Id": "topic", "Arn": topic, "InputPath": "$.detail.n"}])
    put(lab, {"n": 1})
    allow_topic(sns, topic, "events.amazonaws.com", rule)
    put(lab, {"n": 2})
    assert bodies(lab, url) == ["2"]


def _dlq_messages(lab, url):
    sqs = lab.client("sqs")
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]).get("Messages", [])
    return [(json.loads(m["Body"]), {k: v["StringValue"] for k, v in m.get("MessageAttributes", {}).items()})
            for m in got]


def test_a_refused_or_missing_target_sends_the_event_to_its_dlq_with_the_error(lab):
    """No retry for a permission error or a missing target: the event goes straight to the
    target's dead-letter queue, with RULE_ARN, TARGET_ARN, ERROR_CODE and ERROR_MESSAGE."""
    sqs, events = lab.client("sqs"), lab.client("events")
    rule = _rule(lab, "r")
    dlq_url, dlq_arn = queue(lab, "r-dlq")
    allow_queue(sqs, dlq_url, "events.amazonaws.com", rule)
    refusing_url, refusing_arn = queue(lab, "refusing")
    gone_url, gone_arn = queue(lab, "gone")
    sqs.delete_queue(QueueUrl=gone_url)
    events.put_targets(Rule="r", Targets=[{"Id": "refusing", "Arn": refusing_arn, "DeadLetterConfig": {"Arn": dlq_arn}},
                                          {"Id": "gone", "Arn": gone_arn, "DeadLetterConfig": {"Arn": dlq_arn}}])
    event_id = put(lab, {"n": 3})["Entries"][0]["EventId"]
    got = sorted(_dlq_messages(lab, dlq_url), key=lambda m: m[1]["ERROR_CODE"])
    assert [(body["id"], body["detail"]) for body, _ in got] == [(event_id, {"n": 3})] * 2
    assert [(a["RULE_ARN"], a["TARGET_ARN"], a["ERROR_CODE"]) for _, a in got] == [
        (rule, refusing_arn, "NO_PERMISSIONS"), (rule, gone_arn, "NO_RESOURCE")]
    assert all(a["ERROR_MESSAGE"] for _, a in got)
    assert bodies(lab, refusing_url) == []


def test_failed_invocations_and_dlq_metrics(lab):
    lab.cloudwatch.sample_now()
    sqs, events = lab.client("sqs"), lab.client("events")
    rule = _rule(lab, "paid")
    ok_url, ok_arn = queue(lab, "ok")
    allow_queue(sqs, ok_url, "events.amazonaws.com", rule)
    dlq_url, dlq_arn = queue(lab, "dlq")
    allow_queue(sqs, dlq_url, "events.amazonaws.com", rule)
    no_policy_dlq_url, no_policy_dlq_arn = queue(lab, "dlq-without-policy")
    _, refusing_arn = queue(lab, "refusing")
    events.put_targets(Rule="paid", Targets=[
        {"Id": "ok", "Arn": ok_arn},
        {"Id": "to-dlq", "Arn": refusing_arn, "DeadLetterConfig": {"Arn": dlq_arn}},
        {"Id": "dlq-refuses", "Arn": refusing_arn, "DeadLetterConfig": {"Arn": no_policy_dlq_arn}}])
    put(lab, {"n": 1})
    cloudwatch, now = lab.client("cloudwatch"), lab.clock.now()

    def total(metric):
        points = cloudwatch.get_metric_statistics(
            Namespace="AWS/Events", MetricName=metric, Dimensions=[{"Name": "RuleName", "Value": "paid"}],
            StartTime=now - 600, EndTime=now + 600, Period=60, Statistics=["Sum"])["Datapoints"]
        return sum(p["Sum"] for p in points)

    assert [total(m) for m in ("Invocations", "FailedInvocations", "InvocationsSentToDlq",
                               "InvocationsFailedToBeSentToDlq")] == [3, 2, 1, 1]
    assert len(bodies(lab, dlq_url)) == 1 and bodies(lab, no_policy_dlq_url) == []


# ---------------------------------------------------------------- a state machine target, through its role

PASS_MACHINE = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}})


def _machine(lab, sfn_role, name="fulfil") -> str:
    return lab.client("stepfunctions").create_state_machine(name=name, definition=PASS_MACHINE,
                                                            roleArn=sfn_role)["stateMachineArn"]


def _events_role(lab, name, machine_arn, *, service="events.amazonaws.com", action="states:StartExecution") -> str:
    """A role that ``service`` may assume, allowed ``action`` on the machine (the role a states target names)."""
    iam = lab.client("iam")
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
    iam.put_role_policy(RoleName=name, PolicyName="start", PolicyDocument=json.dumps({"Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": action, "Resource": machine_arn}]}))
    return arn


def _executions(lab, machine_arn):
    return lab.client("stepfunctions").list_executions(stateMachineArn=machine_arn)["executions"]


def test_a_state_machine_target_starts_an_execution_with_the_transformed_input(lab, sfn_role):
    machine = _machine(lab, sfn_role)
    role = _events_role(lab, "start-fulfil", machine)
    _rule(lab, "paid")
    lab.client("events").put_targets(Rule="paid", Targets=[{"Id": "fulfil", "Arn": machine, "RoleArn": role,
        "InputTransformer": {"InputPathsMap": {"order": "$.detail.order", "id": "$.id"},
                             "InputTemplate": '{"order": <order>, "event": <id>}'}}])
    event_id = put(lab, {"order": "o-7", "total": 12})["Entries"][0]["EventId"]
    [execution] = _executions(lab, machine)
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", execution["name"])
    done = lab.stepfunctions.wait_for_execution(lab.client("stepfunctions"), execution["executionArn"], delay=0.05)
    assert done["status"] == "SUCCEEDED"
    assert json.loads(done["input"]) == json.loads(done["output"]) == {"order": "o-7", "event": event_id}
    put(lab, {"order": "o-8"})
    assert len(_executions(lab, machine)) == 2  # one execution per matched event


def test_cloudtrail_records_the_start_as_the_events_role_session(lab, sfn_role):
    lab.cloudtrail.recorded()  # CloudTrail records from its first use on
    machine = _machine(lab, sfn_role)
    role = _events_role(lab, "start-fulfil", machine)
    _rule(lab, "paid")
    lab.client("events").put_targets(Rule="paid", Targets=[{"Id": "fulfil", "Arn": machine, "RoleArn": role}])
    put(lab, {"order": "o-7"})
    [start] = [r for r in lab.cloudtrail.recorded() if r["eventName"] == "StartExecution"]
    identity = start["userIdentity"]
    assert identity["type"] == "AssumedRole"
    assert identity["arn"].startswith(f"arn:aws:sts::{lab.account_id}:assumed-role/start-fulfil/")
    assert identity["sessionContext"]["sessionIssuer"]["arn"] == role
    assert start["requestParameters"]["stateMachineArn"] == machine


def test_put_targets_refuses_a_state_machine_target_without_a_role(lab, sfn_role):
    machine = _machine(lab, sfn_role)
    _rule(lab, "paid")
    _, queue_arn = queue(lab, "also")
    events = lab.client("events")
    with pytest.raises(ClientError) as refused:
        events.put_targets(Rule="paid", Targets=[{"Id": "q", "Arn": queue_arn}, {"Id": "fulfil", "Arn": machine}])
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert refused.value.response["Error"]["Message"] == f"RoleArn is required for target {machine}."
    assert events.list_targets_by_rule(Rule="paid")["Targets"] == []  # the whole request is refused
    put(lab, {"order": "o-7"})  # and PutEvents still works
    assert _executions(lab, machine) == []


def test_a_role_events_cannot_assume_or_that_may_not_start_sends_the_event_to_the_dlq(lab, sfn_role):
    lab.cloudwatch.sample_now()
    sqs, events = lab.client("sqs"), lab.client("events")
    machine = _machine(lab, sfn_role)
    untrusted = _events_role(lab, "trusts-lambda", machine, service="lambda.amazonaws.com")
    cannot_start = _events_role(lab, "describes-only", machine, action="states:DescribeStateMachine")
    rule = _rule(lab, "paid")
    dlq_url, dlq_arn = queue(lab, "paid-dlq")
    allow_queue(sqs, dlq_url, "events.amazonaws.com", rule)
    events.put_targets(Rule="paid", Targets=[
        {"Id": "untrusted", "Arn": machine, "RoleArn": untrusted, "DeadLetterConfig": {"Arn": dlq_arn}},
        {"Id": "cannot-start", "Arn": machine, "RoleArn": cannot_start, "DeadLetterConfig": {"Arn": dlq_arn}}])
    event_id = put(lab, {"order": "o-7"})["Entries"][0]["EventId"]
    assert _executions(lab, machine) == []
    got = sorted(_dlq_messages(lab, dlq_url), key=lambda m: m[1]["ERROR_CODE"])
    assert [(body["id"], a["RULE_ARN"], a["TARGET_ARN"], a["ERROR_CODE"]) for body, a in got] == [
        (event_id, rule, machine, "FAILED_TO_ASSUME_ROLE"), (event_id, rule, machine, "NO_PERMISSIONS")]
    assert untrusted in got[0][1]["ERROR_MESSAGE"] and "states:StartExecution" in got[1][1]["ERROR_MESSAGE"]
    cloudwatch, now = lab.client("cloudwatch"), lab.clock.now()
    points = cloudwatch.get_metric_statistics(
        Namespace="AWS/Events", MetricName="FailedInvocations", Dimensions=[{"Name": "RuleName", "Value": "paid"}],
        StartTime=now - 600, EndTime=now + 600, Period=60, Statistics=["Sum"])["Datapoints"]
    assert sum(p["Sum"] for p in points) == 2


def test_a_deleted_state_machine_is_no_resource(lab, sfn_role):
    sqs, events, sfn = lab.client("sqs"), lab.client("events"), lab.client("stepfunctions")
    machine = _machine(lab, sfn_role)
    role = _events_role(lab, "start-fulfil", machine)
    rule = _rule(lab, "paid")
    dlq_url, dlq_arn = queue(lab, "paid-dlq")
    allow_queue(sqs, dlq_url, "events.amazonaws.com", rule)
    events.put_targets(Rule="paid", Targets=[{"Id": "fulfil", "Arn": machine, "RoleArn": role,
                                              "DeadLetterConfig": {"Arn": dlq_arn}}])
    put(lab, {"order": "o-7"})
    assert len(_executions(lab, machine)) == 1 and _dlq_messages(lab, dlq_url) == []
    sfn.delete_state_machine(stateMachineArn=machine)
    put(lab, {"order": "o-8"})
    [(body, attributes)] = _dlq_messages(lab, dlq_url)
    assert body["detail"] == {"order": "o-8"} and attributes["ERROR_CODE"] == "NO_RESOURCE"


# ---------------------------------------------------------------- service events and schedules


def test_put_events_refuses_aws_sources_per_entry(lab):
    url = rule_to_queue(lab, "r", {"source": ["aws.ec2", "shop.orders"]})
    response = lab.client("events").put_events(Entries=[
        {"Source": "aws.ec2", "DetailType": "EC2 Instance State-change Notification", "Detail": "{}"},
        {"Source": "shop.orders", "DetailType": "Order Placed", "Detail": "{}"}])
    assert response["FailedEntryCount"] == 1
    assert response["Entries"][0]["ErrorCode"] == "NotAuthorizedForSourceException"
    assert "EventId" in response["Entries"][1]
    assert [json.loads(b)["source"] for b in bodies(lab, url)] == ["shop.orders"]


def test_emit_aws_event_shapes(lab):
    url = rule_to_queue(lab, "r", {"source": [{"prefix": "aws."}]})
    lab.eventbridge.emit_aws_event(**lab.eventbridge.ec2_state_change("i-0abc", "terminated"))
    lab.eventbridge.emit_aws_event(**lab.eventbridge.cloudtrail_api_call(
        "dynamodb", "UpdateTable", {"tableName": "orders", "billingMode": "PAY_PER_REQUEST"}))
    ec2, ddb = (json.loads(b) for b in bodies(lab, url))
    assert ec2["detail-type"] == "EC2 Instance State-change Notification"
    assert ec2["resources"] == [f"arn:aws:ec2:us-east-1:{lab.account_id}:instance/i-0abc"]
    assert ec2["detail"] == {"instance-id": "i-0abc", "state": "terminated"}
    assert ddb["source"] == "aws.dynamodb" and ddb["detail-type"] == "AWS API Call via CloudTrail"
    assert ddb["detail"]["eventSource"] == "dynamodb.amazonaws.com" and ddb["detail"]["eventName"] == "UpdateTable"
    with pytest.raises(ValueError):
        lab.eventbridge.emit_aws_event("shop.orders", "x", {})


def test_schedule_only_rule_ignores_events_and_fires_on_demand(lab):
    url = rule_to_queue(lab, "nightly", None)
    put(lab, {"n": 1})
    assert bodies(lab, url) == []
    fired = lab.eventbridge.fire_schedule("nightly")
    [body] = bodies(lab, url)
    event = json.loads(body)
    assert event == fired
    assert (event["source"], event["detail-type"], event["detail"]) == ("aws.events", "Scheduled Event", {})
    assert event["resources"] == [lab.client("events").describe_rule(Name="nightly")["Arn"]]
    lab.client("events").disable_rule(Name="nightly")
    assert lab.eventbridge.fire_schedule("nightly") is None and bodies(lab, url) == []
    rule_to_queue(lab, "patterned", {"source": ["x"]})
    with pytest.raises(ValueError, match="no ScheduleExpression"):
        lab.eventbridge.fire_schedule("patterned")


# ---------------------------------------------------------------- schedules on the sandbox clock


def test_a_rate_rule_fires_once_per_period_as_the_clock_advances(lab):
    with lab.clock.frozen():
        url = rule_to_queue(lab, "every5", None)  # rate(5 minutes)
        created = lab.clock.now()
        lab.clock.advance(299)
        assert bodies(lab, url) == []  # not yet: a rate counts from the rule's creation
        lab.clock.advance(1)
        [tick] = [json.loads(b) for b in bodies(lab, url)]
        assert (tick["source"], tick["detail-type"]) == ("aws.events", "Scheduled Event")
        assert tick["resources"] == [lab.client("events").describe_rule(Name="every5")["Arn"]]
        lab.clock.advance(900)
        assert len(bodies(lab, url)) == 3  # three more periods, three more events
        assert lab.eventbridge.next_fire_time("every5") == created + 1500


def test_a_cron_rule_fires_at_its_utc_minutes(lab):
    events = lab.client("events")
    with lab.clock.frozen():
        now = lab.clock.now()
        midnight = (int(now) // 86400 + 1) * 86400  # the next 00:00 UTC
        lab.clock.advance(midnight - now)
        url = rule_to_queue(lab, "late", {"source": ["none"]})
        events.put_rule(Name="late", ScheduleExpression="cron(30 2 * * ? *)")  # 02:30 UTC every day
        lab.clock.advance(2 * 3600 + 29 * 60)
        assert bodies(lab, url) == []
        lab.clock.advance(60)
        [tick] = bodies(lab, url)
        assert epoch_of(json.loads(tick)["time"]) == midnight + 2.5 * 3600
        assert lab.eventbridge.next_fire_time("late") == midnight + 86400 + 2.5 * 3600
        events.disable_rule(Name="late")
        lab.clock.advance(86400)
        assert bodies(lab, url) == []  # a disabled rule keeps its schedule and delivers nothing
        events.remove_targets(Rule="late", Ids=["q"])
        events.delete_rule(Name="late")
        assert lab.eventbridge.next_fire_time("late") is None


@pytest.mark.parametrize("expression, after, expected", [
    ("cron(0 10 * * ? *)", "2026-03-01T09:59:00", "2026-03-01T10:00:00"),
    ("cron(15 12 * * ? *)", "2026-03-01T12:15:00", "2026-03-02T12:15:00"),  # strictly after
    ("cron(0/15 * * * ? *)", "2026-03-01T10:01:00", "2026-03-01T10:15:00"),
    ("cron(0 18 ? * MON-FRI *)", "2026-03-06T18:00:00", "2026-03-09T18:00:00"),  # Friday to Monday
    ("cron(0 8 1 * ? *)", "2026-03-01T08:00:00", "2026-04-01T08:00:00"),
    ("cron(0 12 L * ? *)", "2026-02-01T00:00:00", "2026-02-28T12:00:00"),
    ("cron(0 9 ? * 2#1 *)", "2026-03-01T00:00:00", "2026-03-02T09:00:00"),  # the first Monday
    ("cron(0 9 ? * 6L *)", "2026-03-01T00:00:00", "2026-03-27T09:00:00"),  # the last Friday
    ("cron(0 9 15W * ? *)", "2026-03-01T00:00:00", "2026-03-16T09:00:00"),  # the 15th is a Sunday
    ("cron(0 0 1 JAN ? 2027)", "2026-03-01T00:00:00", "2027-01-01T00:00:00"),
    ("rate(1 hour)", "2026-03-01T00:00:00", "2026-03-01T01:00:00"),
])
def test_schedule_expressions_next_firing(expression, after, expected):
    from labkit.services.eventbridge import schedules

    def at(text):
        return datetime.fromisoformat(text).replace(tzinfo=timezone.utc).timestamp()

    assert schedules.next_firing(expression, at(after), anchor=at(after)) == at(expected)


@pytest.mark.parametrize("expression", ["rate(5 minute)", "rate(1 minutes)", "rate(0 minutes)", "rate(2 weeks)",
                                        "cron(0 10 * * *)", "cron(0 10 * * * *)", "cron(0 10 ? * ? *)",
                                        "cron(61 10 * * ? *)", "cron(0 10 * FOO ? *)", "every 5 minutes"])
def test_invalid_schedule_expressions_are_refused_as_on_aws(lab, expression):
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError) as error:
        lab.client("events").put_rule(Name="bad", ScheduleExpression=expression)
    assert error.value.response["Error"]["Code"] == "ValidationException"
    assert error.value.response["Error"]["Message"] == "Parameter ScheduleExpression is not valid."


def test_reset_forgets_armed_schedules(lab):
    rule_to_queue(lab, "every5", None)
    assert lab.eventbridge.next_fire_time("every5") is not None
    lab.reset()
    assert lab.eventbridge.next_fire_time("every5") is None


# ---------------------------------------------------------------- TestEventPattern


def sample_event(**detail: Any) -> str:
    return json.dumps({"id": "1", "account": "123456789012", "source": "aws.ec2", "time": "2026-11-02T10:00:00Z",
                       "region": "us-east-1", "resources": [], "detail-type": "EC2 Instance State-change Notification",
                       "detail": detail})


def test_test_event_pattern_answers(lab):
    events = lab.client("events")
    pattern = json.dumps({"source": ["aws.ec2"], "detail": {"state": ["terminated"]}})
    assert events.test_event_pattern(EventPattern=pattern, Event=sample_event(state="terminated"))["Result"] is True
    assert events.test_event_pattern(EventPattern=pattern, Event=sample_event(state="stopped"))["Result"] is False
    nested_wrong = json.dumps({"source": ["aws.ec2"], "state": ["terminated"]})
    assert events.test_event_pattern(EventPattern=nested_wrong, Event=sample_event(state="terminated"))["Result"] is False
    with pytest.raises(ClientError) as bad_pattern:
        events.test_event_pattern(EventPattern='{"source": "aws.ec2"}', Event=sample_event())
    assert bad_pattern.value.response["Error"]["Code"] == "InvalidEventPatternException"
    with pytest.raises(ClientError) as bad_event:
        events.test_event_pattern(EventPattern=pattern, Event=json.dumps({"source": "aws.ec2"}))
    assert "missing" in bad_event.value.response["Error"]["Message"]


# ---------------------------------------------------------------- archive and replay


def test_replay_redelivers_only_the_window_to_the_named_rules(lab):
    events = lab.client("events")
    bus_arn = events.describe_event_bus(Name="default")["Arn"]
    archive_arn = events.create_archive(ArchiveName="orders", EventSourceArn=bus_arn,
                                        EventPattern=json.dumps({"source": ["shop.orders"]}))["ArchiveArn"]
    now = datetime.now(timezone.utc)
    put(lab, {"n": "old"}, Time=now - timedelta(hours=2))
    put(lab, {"n": "recent"}, Time=now - timedelta(minutes=5))
    assert events.describe_archive(ArchiveName="orders")["EventCount"] == 2

    url = rule_to_queue(lab, "late-consumer", {"source": ["shop.orders"]},
                        InputTransformer={"InputPathsMap": {"n": "$.detail.n", "r": "$.replay-name"},
                                          "InputTemplate": '{"n": <n>, "replay": <r>}'})
    other = rule_to_queue(lab, "other", {"source": ["shop.orders"]})
    events.start_replay(ReplayName="catch-up", EventSourceArn=archive_arn,
                        EventStartTime=now - timedelta(hours=1), EventEndTime=now,
                        Destination={"Arn": bus_arn,
                                     "FilterArns": [events.describe_rule(Name="late-consumer")["Arn"]]})
    assert events.describe_replay(ReplayName="catch-up")["State"] == "COMPLETED"
    assert [json.loads(b) for b in bodies(lab, url)] == [{"n": "recent", "replay": "catch-up"}]
    assert bodies(lab, other) == []
    assert events.describe_archive(ArchiveName="orders")["EventCount"] == 2  # replays are not archived again


# ---------------------------------------------------------------- the sandbox clock


def test_event_times_schedules_and_replays_follow_the_sandbox_clock(lab):
    url = rule_to_queue(lab, "r", {"source": ["shop.orders", "aws.ec2"]})
    ahead = 10 * 24 * 3600.0
    lab.clock.advance(ahead)
    rule_to_queue(lab, "nightly", None)  # created after the jump: its schedule has not fired yet
    put(lab, {"n": 1})
    lab.eventbridge.emit_aws_event(**lab.eventbridge.ec2_state_change("i-1", "running"))
    fired = lab.eventbridge.fire_schedule("nightly")
    times = [epoch_of(json.loads(b)["time"]) for b in bodies(lab, url)] + [epoch_of(fired["time"])]
    now = lab.clock.now()
    assert len(times) == 3 and all(now - 5 <= t <= now + 1 for t in times), (times, now)
    assert all(t > datetime.now(timezone.utc).timestamp() + ahead - 5 for t in times)


def test_a_replay_window_in_sandbox_time(lab):
    events = lab.client("events")
    bus_arn = events.describe_event_bus(Name="default")["Arn"]
    archive_arn = events.create_archive(ArchiveName="a", EventSourceArn=bus_arn)["ArchiveArn"]
    put(lab, {"n": "before"})
    lab.clock.advance(7200)
    start = datetime.fromtimestamp(lab.clock.now() - 60, timezone.utc)
    put(lab, {"n": "after"})
    url = rule_to_queue(lab, "late", {"source": ["shop.orders"]}, InputPath="$.detail.n")
    events.start_replay(ReplayName="last-minute", EventSourceArn=archive_arn, EventStartTime=start,
                        EventEndTime=datetime.fromtimestamp(lab.clock.now() + 1, timezone.utc),
                        Destination={"Arn": bus_arn})
    assert bodies(lab, url) == ['"after"']
    replay = events.describe_replay(ReplayName="last-minute")
    assert replay["ReplayEndTime"].timestamp() >= lab.clock.now() - 5


# ---------------------------------------------------------------- seams and lifecycle


def test_every_seam_is_where_the_service_expects_it(lab):
    lab.client("events").list_rules()  # the first EventBridge call installs the service
    assert "eventbridge" in registry.installed()
    assert seams.check(eventbridge.SEAMS) == []
    patched = [seam.path for seam in eventbridge.SEAMS if seam.patched]
    assert len(patched) == 5 and set(patched) <= set(seams.patched())


def test_instance_attributes_named_in_seams_exist_on_real_objects(lab):
    from moto.events.models import events_backends

    events = lab.client("events")
    events.put_rule(Name="nightly", ScheduleExpression="rate(1 day)")
    events.put_rule(Name="patterned", EventPattern=json.dumps({"source": ["x"]}))
    bus_arn = events.describe_event_bus(Name="default")["Arn"]
    archive_arn = events.create_archive(ArchiveName="a", EventSourceArn=bus_arn)["ArchiveArn"]
    events.start_replay(ReplayName="r", EventSourceArn=archive_arn, EventStartTime=0, EventEndTime=1,
                        Destination={"Arn": bus_arn})
    backend = events_backends[lab.account_id][lab.region]
    bus = backend.describe_event_bus("default")
    objects = {"EventBus": bus, "Rule": bus.rules["nightly"], "Replay": backend.replays["r"],
               "Archive": backend.archives["a"]}
    instance_seams = [seam for seam in eventbridge.SEAMS if seam.instance]
    assert instance_seams
    for seam in instance_seams:
        owner, attribute = seam.qualname.rsplit(".", 1)
        assert seam.module == "moto.events.models" and owner in objects, f"add a real {owner} for {seam.path}"
        assert hasattr(objects[owner], attribute), seam.path
    assert isinstance(bus.rules["nightly"].targets, list) and isinstance(backend.archives["a"].events, list)
    assert bus.rules["patterned"].event_pattern.get_pattern() == {"source": ["x"]}
    assert events.describe_replay(ReplayName="r")["State"] == "COMPLETED"


def test_a_moved_seam_is_named_and_nothing_is_patched(monkeypatch):
    from moto.events.models import Rule

    def send_to_targets(self, event):  # a moto release that changed the signature
        raise AssertionError("never called")

    monkeypatch.setattr(Rule, "send_to_targets", send_to_targets)
    problems = seams.check(eventbridge.SEAMS)
    assert problems == [("moto.events.models.Rule.send_to_targets takes ('self', 'event'), "
                        "labkit expects ('self', 'original_event', 'transform_input')")]
    with pytest.raises(seams.SeamMoved, match="Rule.send_to_targets"):
        seams.install(eventbridge.SEAMS, owner="labkit.services.eventbridge")


def test_reset_forgets_rules_and_keeps_the_behaviour(lab):
    url = rule_to_queue(lab, "nightly", None)
    lab.eventbridge.fire_schedule("nightly")
    assert len(bodies(lab, url)) == 1
    lab.reset()
    with pytest.raises(ValueError, match="no rule 'nightly'"):
        lab.eventbridge.fire_schedule("nightly")
    url = rule_to_queue(lab, "again", {"source": [{"prefix": ""}]}, Input='"constant"')
    response = put(lab, {}, source="aws.ec2")
    assert response["Entries"][0]["ErrorCode"] == "NotAuthorizedForSourceException"
    put(lab, {"n": 1})
    assert bodies(lab, url) == ['"constant"']
