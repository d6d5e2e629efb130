"""The Lambda chapter: the cost calculator's arithmetic, and the behaviours the
chapter, its walkthrough and its lab rely on (checked through plain boto3)."""

from __future__ import annotations

import json
import math
import re
import time
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

import labkit
from labkit.notebook import lambda_pricing as pricing
from labkit.services.lambda_ import poll_event_sources, zip_code

# ---------------------------------------------------------------- cost arithmetic


def test_aws_worked_example_512_mb_3_million_one_second():
    # AWS's pricing page, example 1: 1,100,000 billable GB-s -> $18.34; 2M requests -> $0.40; $18.74.
    bill = pricing.lambda_monthly_cost(3_000_000, 1000, 512)
    assert bill["gb_seconds"] == 1_500_000
    assert round(bill["duration_cost"], 2) == 18.34
    assert bill["request_cost"] == pytest.approx(0.40)
    assert round(bill["total"], 2) == 18.74


def test_hand_computed_scenarios():
    # 5M requests x 200 ms x 0.5 GB = 500,000 GB-s; 100,000 billable -> $1.667; 4M requests -> $0.80.
    bill = pricing.lambda_monthly_cost(5_000_000, 200, 512)
    assert bill["gb_seconds"] == pytest.approx(500_000)
    assert bill["duration_cost"] == pytest.approx(1.667)
    assert bill["request_cost"] == pytest.approx(0.80)
    assert bill["total"] == pytest.approx(2.467)
    # Inside the free tier: 100,000 x 0.12 s x 0.125 GB = 1,500 GB-s.
    small = pricing.lambda_monthly_cost(100_000, 120, 128)
    assert small["gb_seconds"] == pytest.approx(1_500)
    assert small["total"] == 0
    # Without the free tier: 1M requests -> $0.20; 1M x 0.1 s x 1 GB = 100,000 GB-s -> $1.667.
    assert pricing.lambda_monthly_cost(1_000_000, 100, 1024, free_tier=False)["total"] == pytest.approx(1.867)


def test_steady_load_and_breakeven():
    assert pricing.requests_per_month(100) == 262_800_000
    result = pricing.compare(262_800_000, 150, 1024, ec2_hourly=0.2, instances=2)
    # 39,420,000 GB-s - 400,000 = 39,020,000 x 0.00001667 = 650.4634; 261.8M requests -> 52.36.
    assert result.lambda_cost == pytest.approx(650.4634 + 52.36)
    assert result.ec2_cost == pytest.approx(0.2 * 2 * 730)
    assert result.breakeven_hourly == pytest.approx((650.4634 + 52.36) / (2 * 730))
    assert result.cheaper == "EC2"
    assert pricing.compare(1000, 10, 128, ec2_hourly=0.01).cheaper == "Lambda"
    assert pricing.compare(1000, 10, 128).cheaper is None


def test_billed_duration_rounds_up_to_the_millisecond():
    assert pricing.billed_ms(0.03) == 1
    assert pricing.billed_ms(200.0) == 200
    assert pricing.billed_ms(200.01) == 201
    assert pricing.gb_seconds(1024, 999.5) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        pricing.billed_ms(-1)
    with pytest.raises(ValueError):
        pricing.ec2_monthly_cost(-0.1)
    with pytest.raises(ValueError):
        pricing.breakeven_hourly_price(10, instances=0)


def test_calculator_widget_uses_the_same_function():
    pytest.importorskip("ipywidgets")
    box = pricing.calculator()
    fields = {child.description: child for child in box.children if getattr(child, "description", "")}
    out = box.children[-2]
    fields["Requests per month"].value = 3_000_000
    fields["Average duration (ms)"].value = 1000
    fields["Memory (MB)"].value = 512
    assert "$18.74" in out.value and "enter the on-demand price" in out.value
    fields["EC2 on-demand $ per hour"].value = 0.01
    assert "$7.30" in out.value and "EC2" in out.value


# ---------------------------------------------------------------- behaviours


@pytest.fixture()
def lam(lab: labkit.Sandbox) -> Any:
    return lab.client("lambda", config=Config(retries={"total_max_attempts": 1}))


def create(lam: Any, role: str, name: str, source: str, **kwargs: Any) -> None:
    lam.create_function(FunctionName=name, Role=role, Runtime="python3.12", Handler="app.handler",
                        Code={"ZipFile": zip_code(source)}, **kwargs)


def report_fields(log_tail: str) -> dict[str, str]:
    line = next(x for x in log_tail.splitlines() if x.startswith("REPORT"))
    return dict(re.findall(r"([A-Za-z ]+): ([\d.]+)", line))


COUNTER = "COUNT = 0\n\ndef handler(event, context):\n    global COUNT\n    COUNT += 1\n    return COUNT\n"


def test_defaults_the_chapter_states(lam, lambda_role):
    create(lam, lambda_role, "defaults", COUNTER)
    config = lam.get_function_configuration(FunctionName="defaults")
    assert config["Timeout"] == 3


def test_cold_then_warm_and_report_billing(lam, lambda_role):
    import base64

    create(lam, lambda_role, "cw", COUNTER, MemorySize=256)
    first = lam.invoke(FunctionName="cw", LogType="Tail")
    second = lam.invoke(FunctionName="cw", LogType="Tail")
    assert [json.loads(r["Payload"].read()) for r in (first, second)] == [1, 2]
    cold = report_fields(base64.b64decode(first["LogResult"]).decode())
    warm = report_fields(base64.b64decode(second["LogResult"]).decode())
    assert "Init Duration" in cold and "Init Duration" not in warm
    # Billed duration covers the init and the handler, rounded up to the millisecond.
    assert int(cold["Billed Duration"]) == math.ceil(float(cold["Duration"]) + float(cold["Init Duration"]))
    assert int(warm["Billed Duration"]) == math.ceil(float(warm["Duration"]))
    lam.update_function_configuration(FunctionName="cw", Environment={"Variables": {"V": "2"}})
    assert json.loads(lam.invoke(FunctionName="cw")["Payload"].read()) == 1


def test_async_failures_are_tried_three_times_by_default(lab, lam, lambda_role):
    sqs = lab.client("sqs")
    url = sqs.create_queue(QueueName="chapter-failures")["QueueUrl"]
    create(lam, lambda_role, "always-fails", "def handler(event, context):\n    raise RuntimeError('smtp down')\n")
    lam.put_function_event_invoke_config(
        FunctionName="always-fails", DestinationConfig={"OnFailure": {"Destination": lab.arn("sqs", "chapter-failures")}})
    response = lam.invoke(FunctionName="always-fails", InvocationType="Event", Payload=b'{"order": 7}')
    assert response["StatusCode"] == 202
    [message] = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)["Messages"]
    record = json.loads(message["Body"])
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestPayload"] == {"order": 7}


def test_synchronous_errors_are_not_retried(lab, lam, lambda_role):
    create(lam, lambda_role, "sync-fails", "def handler(event, context):\n    raise RuntimeError('no')\n")
    response = lam.invoke(FunctionName="sync-fails", Payload=b"{}")
    assert response["FunctionError"] == "Unhandled"
    logs = lab.client("logs").filter_log_events(logGroupName="/aws/lambda/sync-fails")["events"]
    assert sum(e["message"].startswith("START") for e in logs) == 1


def test_reserved_concurrency_zero_throttles_every_trigger(lab, lam, lambda_role):
    create(lam, lambda_role, "paused", COUNTER)
    lam.put_function_concurrency(FunctionName="paused", ReservedConcurrentExecutions=0)
    with pytest.raises(ClientError) as caught:
        lam.invoke(FunctionName="paused")
    assert caught.value.response["Error"]["Code"] == "TooManyRequestsException"
    sqs = lab.client("sqs")
    url = sqs.create_queue(QueueName="chapter-paused", Attributes={"VisibilityTimeout": "3"})["QueueUrl"]
    lam.create_event_source_mapping(EventSourceArn=lab.arn("sqs", "chapter-paused"), FunctionName="paused")
    sqs.send_message(QueueUrl=url, MessageBody="waits")
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"]) == 1
    lam.delete_function_concurrency(FunctionName="paused")


PARTIAL = """
import json, os, boto3

sqs = boto3.client("sqs")

def handler(event, context):
    out = sqs.get_queue_url(QueueName=os.environ["OUT_QUEUE"])["QueueUrl"]
    failures = []
    for record in event["Records"]:
        order = json.loads(record["body"])
        if not isinstance(order.get("qty"), int) or order["qty"] <= 0:
            failures.append({"itemIdentifier": record["messageId"]})
            continue
        sqs.send_message(QueueUrl=out, MessageBody=order["order_id"])
    return {"batchItemFailures": failures}
"""


def test_partial_batch_response_keeps_good_messages_and_redrives_bad_ones(lab, lam, lambda_role):
    sqs = lab.client("sqs")
    out = sqs.create_queue(QueueName="chapter-out")["QueueUrl"]
    dlq = sqs.create_queue(QueueName="chapter-dlq")["QueueUrl"]
    src = sqs.create_queue(QueueName="chapter-src", Attributes={
        "VisibilityTimeout": "1",
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": lab.arn("sqs", "chapter-dlq"), "maxReceiveCount": "1"}),
    })["QueueUrl"]
    create(lam, lambda_role, "orders", PARTIAL, Timeout=1, Environment={"Variables": {"OUT_QUEUE": "chapter-out"}})
    lam.create_event_source_mapping(EventSourceArn=lab.arn("sqs", "chapter-src"), FunctionName="orders",
                                    BatchSize=10, FunctionResponseTypes=["ReportBatchItemFailures"])
    orders = [{"order_id": "a", "qty": 1}, {"order_id": "b", "qty": 0}, {"order_id": "c", "qty": 2}]
    sqs.send_message_batch(QueueUrl=src, Entries=[{"Id": str(i), "MessageBody": json.dumps(o)}
                                                  for i, o in enumerate(orders)])
    done = [m["Body"] for m in sqs.receive_message(QueueUrl=out, MaxNumberOfMessages=10)["Messages"]]
    assert sorted(done) == ["a", "c"]
    # After the visibility timeout the failed message is received again and redriven.
    deadline = time.monotonic() + 5
    moved: list[str] = []
    while not moved and time.monotonic() < deadline:
        poll_event_sources()
        moved = [json.loads(m["Body"])["order_id"]
                 for m in sqs.receive_message(QueueUrl=dlq, WaitTimeSeconds=0).get("Messages", [])]
        time.sleep(0.1)
    assert moved == ["b"]
