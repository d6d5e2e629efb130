"""The Lambda service (labkit.services.lambda_), driven through plain boto3.

Each test starts from a clean sandbox, creates functions with boto3 exactly as a
lab would, and checks what AWS would show: payloads, errors, logs, metrics, and
every trigger (SQS, SNS, EventBridge, Step Functions, DynamoDB streams). The
last tests check the service's lifecycle and the moto seams it patches or calls.
"""

from __future__ import annotations

import base64
import copy
import io
import json
import os
import re
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

import labkit
from labkit.core import seams
from labkit.services import lambda_
from labkit.services.lambda_ import zip_code, zip_source
from tests.support.policies import allow_function, allow_queue, allow_topic

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"

COUNTER = """
import os
COUNT = 0

def handler(event, context):
    global COUNT
    COUNT += 1
    return {"count": COUNT, "color": os.environ.get("COLOR"),
            "remaining": context.get_remaining_time_in_millis()}
"""

# Sends what it received to the queue named in OUT_QUEUE: proves the handler ran,
# and that boto3 inside a handler reaches the same emulated account.
FORWARDER = """
import json, os, boto3

def handler(event, context):
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName=os.environ["OUT_QUEUE"])["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(event))
    return {"forwarded": True}
"""


@pytest.fixture()
def lam(lab: labkit.Sandbox) -> Any:
    # No retries: a throttled invoke must fail at once.
    return lab.client("lambda", config=Config(retries={"total_max_attempts": 1}))


def create(lam: Any, role: str, name: str, source: str, **kwargs: Any) -> str:
    kwargs.setdefault("Runtime", "python3.12")
    kwargs.setdefault("Handler", "app.handler")
    return lam.create_function(FunctionName=name, Role=role, Code={"ZipFile": zip_code(source)},
                               **kwargs)["FunctionArn"]


def call(lam: Any, name: str, event: Any = None, **kwargs: Any) -> dict[str, Any]:
    response = lam.invoke(FunctionName=name, Payload=json.dumps(event or {}), **kwargs)
    response["body"] = response["Payload"].read()
    response["json"] = json.loads(response["body"]) if response["body"] else None
    return response


def log_messages(lab: labkit.Sandbox, name: str) -> list[str]:
    logs = lab.client("logs")
    try:
        events = logs.filter_log_events(logGroupName=f"/aws/lambda/{name}")["events"]
    except logs.exceptions.ResourceNotFoundException:  # never invoked: no log group yet
        return []
    return [e["message"] for e in sorted(events, key=lambda e: (e["timestamp"], e["eventId"]))]


def out_queue(lab: labkit.Sandbox, name: str = "out") -> str:
    return lab.client("sqs").create_queue(QueueName=name)["QueueUrl"]


def drain(lab: labkit.Sandbox, url: str) -> list[Any]:
    sqs = lab.client("sqs")
    bodies = []
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return bodies
        for message in messages:
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def metric_sum(lab: labkit.Sandbox, name: str, metric: str) -> float:
    now = datetime.now(timezone.utc)
    stats = lab.client("cloudwatch").get_metric_statistics(
        Namespace="AWS/Lambda", MetricName=metric, Dimensions=[{"Name": "FunctionName", "Value": name}],
        StartTime=now - timedelta(minutes=5), EndTime=now + timedelta(minutes=5), Period=600,
        Statistics=["Sum"])["Datapoints"]
    return sum(point["Sum"] for point in stats)


# ---------------------------------------------------------------- direct invoke


def test_handler_gets_event_and_context(lab, lambda_role, lam):
    source = """
def handler(event, context):
    return {"event": event, "name": context.function_name, "version": context.function_version,
            "memory": context.memory_limit_in_mb, "arn": context.invoked_function_arn,
            "request_id": context.aws_request_id, "group": context.log_group_name,
            "stream": context.log_stream_name, "remaining": context.get_remaining_time_in_millis()}
"""
    arn = create(lam, lambda_role, "ctx", source, MemorySize=256, Timeout=7)
    response = call(lam, "ctx", {"order": 42})
    body = response["json"]
    assert response["StatusCode"] == 200 and "FunctionError" not in response
    assert body["event"] == {"order": 42}
    assert (body["name"], body["version"], body["memory"]) == ("ctx", "$LATEST", "256")
    assert body["arn"] == arn
    assert re.fullmatch(UUID, body["request_id"])
    assert body["group"] == "/aws/lambda/ctx"
    assert re.fullmatch(r"\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}", body["stream"])
    assert 0 < body["remaining"] <= 7000
    assert response["ExecutedVersion"] == "$LATEST"


def test_environment_variables_only_during_the_invocation(lab, lambda_role, lam):
    create(lam, lambda_role, "env", COUNTER, Environment={"Variables": {"COLOR": "teal"}})
    assert call(lam, "env")["json"]["color"] == "teal"
    assert "COLOR" not in os.environ
    assert "AWS_LAMBDA_FUNCTION_NAME" not in os.environ


# Waits, mid-invocation, until the test has looked at os.environ from its own thread.
PAUSING = """
import os, time
SEEN = {}

def handler(event, context):
    os.environ["SET_BY_HANDLER"] = os.environ.get("SET_BY_HANDLER", "") + "x"
    path = os.environ.pop("PATH", None)
    open(event["started"], "w").close()
    deadline = time.monotonic() + 5
    while not os.path.exists(event["release"]) and time.monotonic() < deadline:
        time.sleep(0.01)
    return {"color": os.environ["COLOR"], "mine": os.environ["SET_BY_HANDLER"], "had_path": path is not None,
            "path_now": "PATH" in os.environ, "names": sorted(n for n in os.environ if n.startswith("AWS_LAMBDA_"))}
"""


def test_a_handlers_variables_are_its_threads_alone_while_it_runs(lab, lambda_role, lam, tmp_path):
    """The notebook's thread neither sees a running handler's variables nor
    loses its own to it: changing os.environ from two threads at once is safe
    (iterating os.environ while an invocation ended used to raise KeyError)."""
    create(lam, lambda_role, "pausing", PAUSING, Environment={"Variables": {"COLOR": "teal"}})
    release, started = tmp_path / "release", tmp_path / "started"
    event = {"release": str(release), "started": str(started)}
    results: list[dict] = []
    worker = threading.Thread(target=lambda: results.append(call(lam, "pausing", event)["json"]))
    worker.start()
    try:
        deadline = time.monotonic() + 5
        while not started.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert started.exists(), "the handler did not start"
        # Mid-invocation, from this thread:
        assert "COLOR" not in os.environ and "AWS_LAMBDA_FUNCTION_NAME" not in os.environ
        assert "SET_BY_HANDLER" not in os.environ and "PATH" in os.environ
        os.environ["SET_BY_NOTEBOOK"] = "1"
    finally:
        release.touch()
        worker.join(10)
    try:
        first = results[0]
        assert first["color"] == "teal" and first["mine"] == "x" and first["had_path"] and not first["path_now"]
        assert "AWS_LAMBDA_FUNCTION_NAME" in first["names"] and "AWS_LAMBDA_INITIALIZATION_TYPE" in first["names"]
        assert os.environ["SET_BY_NOTEBOOK"] == "1" and "PATH" in os.environ and "SET_BY_HANDLER" not in os.environ
        # What the handler set stays in its (warm) environment, as on AWS.
        release.touch()
        assert call(lam, "pausing", event)["json"]["mine"] == "xx"
    finally:
        del os.environ["SET_BY_NOTEBOOK"]


def test_another_threads_stdout_survives_an_invocation(lab, lambda_role, lam, tmp_path):
    """The notebook may replace sys.stdout while a handler runs (redirecting
    output does): the invocation's end leaves it as the notebook set it, and
    the handler's print still went to its log."""
    create(lam, lambda_role, "printing", PAUSING.replace("    open(event", "    print('in the handler')\n    open(event"),
           Environment={"Variables": {"COLOR": "teal"}})
    release, started = tmp_path / "release", tmp_path / "started"
    worker = threading.Thread(target=lambda: call(lam, "printing", {"release": str(release), "started": str(started)}))
    before, mine = sys.stdout, io.StringIO()
    worker.start()
    try:
        deadline = time.monotonic() + 5
        while not started.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        sys.stdout = mine
    finally:
        release.touch()
        worker.join(10)
    try:
        assert sys.stdout is mine
        print("the notebook's own line")
        assert mine.getvalue() == "the notebook's own line\n"
    finally:
        sys.stdout = before
    assert any("in the handler" in message for message in log_messages(lab, "printing"))
    # A copy of the routed stream (logging and pickling make them) does not recurse.
    call(lam, "printing", {"release": str(release), "started": str(started)})
    assert hasattr(copy.copy(sys.stdout), "write") and not hasattr(copy.copy(sys.stdout), "__setstate_x__")


def test_warm_invocations_reuse_module_state_until_code_or_config_changes(lab, lambda_role, lam):
    create(lam, lambda_role, "warm", COUNTER)
    assert [call(lam, "warm")["json"]["count"] for _ in range(3)] == [1, 2, 3]
    lam.update_function_configuration(FunctionName="warm", MemorySize=512)
    assert [call(lam, "warm")["json"]["count"] for _ in range(2)] == [1, 2]
    lam.update_function_code(FunctionName="warm", ZipFile=zip_code(COUNTER + "\n# v2\n"))
    assert call(lam, "warm")["json"]["count"] == 1


def test_configuration_stored_through_boto3_drives_behaviour(lab, lambda_role, lam):
    create(lam, lambda_role, "cfg", COUNTER, Environment={"Variables": {"COLOR": "red"}}, Timeout=3)
    first = call(lam, "cfg")["json"]
    assert first["color"] == "red" and first["remaining"] <= 3000
    lam.update_function_configuration(FunctionName="cfg", Environment={"Variables": {"COLOR": "green"}},
                                      Timeout=30)
    second = call(lam, "cfg")["json"]
    assert second["color"] == "green"
    assert 3000 < second["remaining"] <= 30000


def test_boto3_inside_the_handler_reaches_the_same_account(lab, lambda_role, lam):
    url = out_queue(lab)
    create(lam, lambda_role, "fwd", FORWARDER, Environment={"Variables": {"OUT_QUEUE": "out"}})
    call(lam, "fwd", {"hello": "world"})
    assert drain(lab, url) == [{"hello": "world"}]


def test_a_handler_can_invoke_another_function(lab, lambda_role, lam):
    create(lam, lambda_role, "inner", "def handler(event, context):\n    return event['n'] * 2\n")
    outer = """
import json, boto3

def handler(event, context):
    response = boto3.client("lambda").invoke(FunctionName="inner", Payload=json.dumps(event))
    return {"inner": json.loads(response["Payload"].read())}
"""
    create(lam, lambda_role, "outer", outer)
    assert call(lam, "outer", {"n": 4})["json"] == {"inner": 8}


def test_print_and_logging_reach_cloudwatch_logs_with_start_end_report(lab, lambda_role, lam):
    source = """
import logging
logger = logging.getLogger()

def handler(event, context):
    print("first line")
    print("two\\nlines")
    logger.info("not shown: the root logger level is WARNING by default")
    logger.warning("careful")
    return "ok"
"""
    create(lam, lambda_role, "logs", source, MemorySize=256)
    first = call(lam, "logs", LogType="Tail")
    second = call(lam, "logs")
    messages = log_messages(lab, "logs")
    request_id = re.match(rf"START RequestId: ({UUID}) Version: \$LATEST\n$", messages[0]).group(1)
    assert messages[1:4] == ["first line\n", "two\n", "lines\n"]
    assert re.fullmatch(rf"\[WARNING\]\t\d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{{3}}Z\t{request_id}\tcareful\n",
                        messages[4])
    assert messages[5] == f"END RequestId: {request_id}\n"
    assert re.fullmatch(rf"REPORT RequestId: {request_id}\tDuration: \d+\.\d\d ms\tBilled Duration: \d+ ms\t"
                        r"Memory Size: 256 MB\tMax Memory Used: \d+ MB\tInit Duration: \d+\.\d\d ms\t\n",
                        messages[6])
    assert not any("not shown" in m for m in messages)
    # The warm invocation has no Init Duration; LogResult is the tail of the log.
    assert "Init Duration" not in messages[-1] and messages[-1].startswith("REPORT RequestId: ")
    tail = base64.b64decode(first["LogResult"]).decode()
    assert tail.startswith(f"START RequestId: {request_id}") and "Init Duration" in tail
    assert "LogResult" not in second
    streams = lab.client("logs").describe_log_streams(logGroupName="/aws/lambda/logs")["logStreams"]
    assert len(streams) == 1  # one execution environment, reused


def test_exception_becomes_unhandled_function_error(lab, lambda_role, lam):
    source = """
def handler(event, context):
    raise ValueError("no such order: " + str(event["id"]))
"""
    create(lam, lambda_role, "boom", source)
    response = call(lam, "boom", {"id": 7})
    error = response["json"]
    assert response["StatusCode"] == 200 and response["FunctionError"] == "Unhandled"
    assert list(error) == ["errorMessage", "errorType", "requestId", "stackTrace"]
    assert error["errorMessage"] == "no such order: 7" and error["errorType"] == "ValueError"
    assert error["stackTrace"][-1].startswith('  File "/var/task/app.py", line 3, in handler\n')
    messages = log_messages(lab, "boom")
    assert re.match(rf"START RequestId: {error['requestId']} ", messages[0])
    assert messages[1].startswith("[ERROR] ValueError: no such order: 7\nTraceback (most recent call last):\n")


def test_init_errors_use_the_runtime_error_types(lab, lambda_role, lam):
    create(lam, lambda_role, "nomod", "x = 1\n", Handler="missing.handler")
    create(lam, lambda_role, "nofn", "x = 1\n", Handler="app.handler")
    missing_module = call(lam, "nomod")["json"]
    missing_function = call(lam, "nofn")["json"]
    assert missing_module["errorType"] == "Runtime.ImportModuleError"
    assert missing_module["errorMessage"].startswith("Unable to import module 'missing': No module named")
    assert missing_function == {"errorMessage": "Handler 'handler' missing on module 'app'",
                                "errorType": "Runtime.HandlerNotFound",
                                "requestId": missing_function["requestId"], "stackTrace": []}


def test_timeout_stops_an_endless_loop(lab, lambda_role, lam):
    source = """
COUNT = 0

def handler(event, context):
    global COUNT
    COUNT += 1
    if event.get("spin"):
        while True:
            pass
    return COUNT
"""
    create(lam, lambda_role, "spin", source, Timeout=1)
    assert call(lam, "spin")["json"] == 1
    response = call(lam, "spin", {"spin": True})
    error = response["json"]
    assert response["FunctionError"] == "Unhandled"
    assert error["errorType"] == "Sandbox.Timedout"
    assert re.fullmatch(rf"RequestId: {UUID} Error: Task timed out after 1\.00 seconds", error["errorMessage"])
    messages = log_messages(lab, "spin")
    assert any(m.endswith(" Task timed out after 1.00 seconds\n") for m in messages)
    assert any(m.startswith("REPORT") and "Status: timeout" in m for m in messages)
    # After a timeout AWS resets the execution environment: the next start is cold.
    assert call(lam, "spin")["json"] == 1


def test_reserved_concurrency_zero_throttles(lab, lambda_role, lam):
    create(lam, lambda_role, "limited", COUNTER)
    lam.put_function_concurrency(FunctionName="limited", ReservedConcurrentExecutions=0)
    with pytest.raises(ClientError) as caught:
        lam.invoke(FunctionName="limited", Payload=b"{}")
    assert caught.value.response["Error"]["Code"] == "TooManyRequestsException"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert caught.value.response.get("Reason") == "ReservedFunctionConcurrentInvocationLimitExceeded"
    assert metric_sum(lab, "limited", "Throttles") == 1
    assert metric_sum(lab, "limited", "Invocations") == 0
    lam.delete_function_concurrency(FunctionName="limited")
    assert call(lam, "limited")["json"]["count"] == 1


def test_event_invocation_returns_202_and_runs_dry_run_returns_204_and_does_not(lab, lambda_role, lam):
    url = out_queue(lab)
    create(lam, lambda_role, "async", FORWARDER, Environment={"Variables": {"OUT_QUEUE": "out"}})
    dry = lam.invoke(FunctionName="async", InvocationType="DryRun", Payload=b'{"n": 0}')
    assert dry["StatusCode"] == 204 and drain(lab, url) == []
    event = lam.invoke(FunctionName="async", InvocationType="Event", Payload=b'{"n": 1}')
    assert event["StatusCode"] == 202 and event["Payload"].read() == b""
    assert drain(lab, url) == [{"n": 1}]


def test_async_failures_are_retried_then_sent_to_the_on_failure_destination(lab, lambda_role, lam):
    failures = out_queue(lab, "failures")
    arn = lab.arn("sqs", "failures")
    create(lam, lambda_role, "flaky", "def handler(event, context):\n    raise RuntimeError('down')\n")
    lam.put_function_event_invoke_config(FunctionName="flaky", MaximumRetryAttempts=1,
                                         DestinationConfig={"OnFailure": {"Destination": arn}})
    lam.invoke(FunctionName="flaky", InvocationType="Event", Payload=b'{"n": 1}')
    [record] = drain(lab, failures)
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 2
    assert record["requestPayload"] == {"n": 1}
    assert record["responseContext"]["functionError"] == "Unhandled"
    assert record["responsePayload"]["errorMessage"] == "down"
    assert metric_sum(lab, "flaky", "Errors") == 2


def test_a_second_put_of_the_async_config_replaces_the_first(lab, lambda_role, lam):
    """PutFunctionEventInvokeConfig overwrites (moto kept the first one), and
    UpdateFunctionEventInvokeConfig changes only what it names."""
    failures, arn = out_queue(lab, "failures"), lab.arn("sqs", "failures")
    create(lam, lambda_role, "flaky", "def handler(event, context):\n    raise RuntimeError('down')\n")
    lam.put_function_event_invoke_config(FunctionName="flaky", MaximumRetryAttempts=0)
    lam.put_function_event_invoke_config(FunctionName="flaky", MaximumRetryAttempts=1,
                                         DestinationConfig={"OnFailure": {"Destination": arn}})
    lam.invoke(FunctionName="flaky", InvocationType="Event", Payload=b'{"n": 1}')
    [record] = drain(lab, failures)
    assert record["requestContext"]["approximateInvokeCount"] == 2
    lam.update_function_event_invoke_config(FunctionName="flaky", MaximumRetryAttempts=2)
    lam.invoke(FunctionName="flaky", InvocationType="Event", Payload=b'{"n": 2}')
    [record] = drain(lab, failures)  # the destination stayed
    assert record["requestContext"]["approximateInvokeCount"] == 3
    lam.put_function_event_invoke_config(FunctionName="flaky", MaximumRetryAttempts=0)
    lam.invoke(FunctionName="flaky", InvocationType="Event", Payload=b'{"n": 3}')
    assert drain(lab, failures) == []  # the put left DestinationConfig out: it is gone


def test_versions_and_aliases_run_their_own_code(lab, lambda_role, lam):
    create(lam, lambda_role, "ver", "def handler(event, context):\n    return 'v1'\n")
    version = lam.publish_version(FunctionName="ver")["Version"]
    lam.update_function_code(FunctionName="ver", ZipFile=zip_code("def handler(event, context):\n    return 'v2'\n"))
    lam.create_alias(FunctionName="ver", Name="live", FunctionVersion=version)
    assert call(lam, "ver")["json"] == "v2"
    pinned = call(lam, "ver", Qualifier=version)
    assert pinned["json"] == "v1" and pinned["ExecutedVersion"] == version
    via_alias = call(lam, "ver", Qualifier="live")
    assert via_alias["json"] == "v1" and via_alias["ExecutedVersion"] == version


def test_alias_weights_route_invocations_to_the_additional_version(lab, lambda_role, lam):
    create(lam, lambda_role, "canary", "def handler(event, context):\n    return 'v1'\n")
    lam.publish_version(FunctionName="canary")
    lam.update_function_code(FunctionName="canary", ZipFile=zip_code("def handler(event, context):\n    return 'v2'\n"))
    lam.publish_version(FunctionName="canary")
    lam.create_alias(FunctionName="canary", Name="live", FunctionVersion="1",
                     RoutingConfig={"AdditionalVersionWeights": {"2": 1.0}})
    assert {call(lam, "canary", Qualifier="live")["ExecutedVersion"] for _ in range(3)} == {"2"}
    lam.update_alias(FunctionName="canary", Name="live", RoutingConfig={"AdditionalVersionWeights": {}})
    assert call(lam, "canary", Qualifier="live")["json"] == "v1"


def test_cloudwatch_metrics_are_written(lab, lambda_role, lam):
    create(lam, lambda_role, "metered", "def handler(event, context):\n    if event.get('fail'):\n        raise Exception('x')\n")
    for event in ({}, {}, {"fail": True}):
        call(lam, "metered", event)
    assert metric_sum(lab, "metered", "Invocations") == 3
    assert metric_sum(lab, "metered", "Errors") == 1
    assert metric_sum(lab, "metered", "Duration") > 0
    names = {m["MetricName"] for m in lab.client("cloudwatch").list_metrics(Namespace="AWS/Lambda")["Metrics"]}
    assert {"Invocations", "Errors", "Duration"} <= names


def test_python_entry_point_for_integrations(lab, lambda_role, lam):
    create(lam, lambda_role, "api", "def handler(event, context):\n    return {'statusCode': 200, 'body': event['path']}\n")
    result = lab.lambda_.invoke("api", {"path": "/orders"})
    assert isinstance(result, lambda_.InvocationResult)
    assert result.status_code == 200 and result.function_error is None
    assert result.json() == {"statusCode": 200, "body": "/orders"}
    assert result.cold_start and not lab.lambda_.invoke("api", {"path": "/"}).cold_start
    assert "REPORT RequestId: " + result.request_id in result.logs


def test_invoke_needs_a_running_sandbox(monkeypatch):
    from labkit.core import sandbox

    monkeypatch.setattr(sandbox, "running", lambda: False)
    with pytest.raises(RuntimeError, match="labkit.start"):
        lambda_.invoke("anything", {})


def test_zip_source_packs_several_modules(lab, lambda_role, lam):
    code = zip_source({"app.py": "from lib.util import double\n\ndef handler(e, c):\n    return double(e['n'])\n",
                       "lib/__init__.py": "", "lib/util.py": "def double(n):\n    return 2 * n\n"})
    lam.create_function(FunctionName="pkg", Role=lambda_role, Runtime="python3.12", Handler="app.handler",
                        Code={"ZipFile": code})
    assert call(lam, "pkg", {"n": 21})["json"] == 42


# ---------------------------------------------------------------- triggers

BATCH_LOGGER = """
import json

def handler(event, context):
    bodies = [r["body"] for r in event["Records"]]
    print("batch " + json.dumps(bodies))
    failed = [r["messageId"] for r in event["Records"] if r["body"] == "bad"]
    if failed and not event["Records"][0]["body"].startswith("partial"):
        raise ValueError("bad message in batch")
    return {"batchItemFailures": [{"itemIdentifier": i} for i in failed]}
"""


def batches(lab: labkit.Sandbox, name: str) -> list[list[str]]:
    return [json.loads(m[len("batch "):]) for m in log_messages(lab, name) if m.startswith("batch ")]


def test_sqs_mapping_invokes_once_per_batch_of_batch_size(lab, lambda_role, lam):
    sqs = lab.client("sqs")
    url = sqs.create_queue(QueueName="orders")["QueueUrl"]
    create(lam, lambda_role, "worker", BATCH_LOGGER)
    lam.create_event_source_mapping(EventSourceArn=lab.arn("sqs", "orders"), FunctionName="worker", BatchSize=3)
    sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": f"m{i}"} for i in range(7)])
    assert [len(b) for b in batches(lab, "worker")] == [3, 3, 1]
    assert sorted(body for batch in batches(lab, "worker") for body in batch) == [f"m{i}" for i in range(7)]
    assert "Messages" not in sqs.receive_message(QueueUrl=url)  # processed batches are deleted


def test_sqs_failed_batch_goes_back_to_the_queue_and_reaches_the_dlq(lab, lambda_role, lam):
    sqs = lab.client("sqs")
    dlq = sqs.create_queue(QueueName="orders-dlq")["QueueUrl"]
    url = sqs.create_queue(QueueName="orders", Attributes={
        "VisibilityTimeout": "0",
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": lab.arn("sqs", "orders-dlq"), "maxReceiveCount": "2"}),
    })["QueueUrl"]
    create(lam, lambda_role, "worker", BATCH_LOGGER)
    lam.create_event_source_mapping(EventSourceArn=lab.arn("sqs", "orders"), FunctionName="worker", BatchSize=10)
    sqs.send_message(QueueUrl=url, MessageBody="bad")
    assert batches(lab, "worker") == [["bad"], ["bad"]]  # received maxReceiveCount times, failed each time
    moved = sqs.receive_message(QueueUrl=dlq)["Messages"]
    assert [m["Body"] for m in moved] == ["bad"]
    assert "Messages" not in sqs.receive_message(QueueUrl=url)


def test_sqs_partial_batch_response_retries_only_the_failed_messages(lab, lambda_role, lam):
    sqs = lab.client("sqs")
    dlq = sqs.create_queue(QueueName="dlq")["QueueUrl"]
    url = sqs.create_queue(QueueName="orders", Attributes={
        "VisibilityTimeout": "0",
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": lab.arn("sqs", "dlq"), "maxReceiveCount": "1"}),
    })["QueueUrl"]
    create(lam, lambda_role, "worker", BATCH_LOGGER)
    mapping = lam.create_event_source_mapping(EventSourceArn=lab.arn("sqs", "orders"), FunctionName="worker",
                                              BatchSize=10, Enabled=False,
                                              FunctionResponseTypes=["ReportBatchItemFailures"])
    sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": "1", "MessageBody": "partial-a"},
                                                  {"Id": "2", "MessageBody": "bad"},
                                                  {"Id": "3", "MessageBody": "partial-b"}])
    assert batches(lab, "worker") == []  # the mapping is disabled
    lam.update_event_source_mapping(UUID=mapping["UUID"], Enabled=True)
    assert batches(lab, "worker") == [["partial-a", "bad", "partial-b"]]
    assert [m["Body"] for m in sqs.receive_message(QueueUrl=dlq)["Messages"]] == ["bad"]
    assert "Messages" not in sqs.receive_message(QueueUrl=url)


def test_poll_event_sources_delivers_what_no_send_triggered(lab, lambda_role, lam):
    sqs = lab.client("sqs")
    url = sqs.create_queue(QueueName="orders", Attributes={"VisibilityTimeout": "0"})["QueueUrl"]
    create(lam, lambda_role, "worker", BATCH_LOGGER)
    lam.put_function_concurrency(FunctionName="worker", ReservedConcurrentExecutions=0)
    lam.create_event_source_mapping(EventSourceArn=lab.arn("sqs", "orders"), FunctionName="worker")
    sqs.send_message(QueueUrl=url, MessageBody="hello")
    assert batches(lab, "worker") == []  # throttled: the message waits in the queue
    lam.delete_function_concurrency(FunctionName="worker")
    assert lab.lambda_.poll_event_sources() == 1
    assert batches(lab, "worker") == [["hello"]]


def test_sns_subscription_invokes_the_function_with_an_sns_event(lab, lambda_role, lam):
    url = out_queue(lab)
    arn = create(lam, lambda_role, "fwd", FORWARDER, Environment={"Variables": {"OUT_QUEUE": "out"}})
    sns = lab.client("sns")
    topic = sns.create_topic(Name="alerts")["TopicArn"]
    allow_function(lam, "fwd", "sns.amazonaws.com", topic)
    subscription = sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=arn)["SubscriptionArn"]
    message_id = sns.publish(TopicArn=topic, Message="disk full", Subject="ops",
                             MessageAttributes={"severity": {"DataType": "String", "StringValue": "high"}})["MessageId"]
    [event] = drain(lab, url)
    record = event["Records"][0]
    assert record["EventSource"] == "aws:sns" and record["EventSubscriptionArn"] == subscription
    assert record["Sns"]["TopicArn"] == topic and record["Sns"]["MessageId"] == message_id
    assert (record["Sns"]["Message"], record["Sns"]["Subject"]) == ("disk full", "ops")
    assert record["Sns"]["MessageAttributes"] == {"severity": {"Type": "String", "Value": "high"}}


def test_eventbridge_rule_delivers_to_lambda_and_sns_targets(lab, lambda_role, lam):
    url = out_queue(lab)
    arn = create(lam, lambda_role, "fwd", FORWARDER, Environment={"Variables": {"OUT_QUEUE": "out"}})
    sns, sqs, events = lab.client("sns"), lab.client("sqs"), lab.client("events")
    topic = sns.create_topic(Name="orders-topic")["TopicArn"]
    fanout = sqs.create_queue(QueueName="fanout")["QueueUrl"]
    allow_queue(sqs, fanout, "sns.amazonaws.com", topic)
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=lab.arn("sqs", "fanout"),
                  Attributes={"RawMessageDelivery": "true"})
    rule = events.put_rule(Name="orders", EventPattern=json.dumps({"source": ["shop"],
                                                                   "detail-type": ["OrderPlaced"]}))["RuleArn"]
    allow_function(lam, "fwd", "events.amazonaws.com", rule)
    allow_topic(sns, topic, "events.amazonaws.com", rule)
    events.put_targets(Rule="orders", Targets=[{"Id": "fn", "Arn": arn}, {"Id": "topic", "Arn": topic}])
    events.put_events(Entries=[{"Source": "shop", "DetailType": "OrderPlaced", "Detail": json.dumps({"id": 1})},
                               {"Source": "shop", "DetailType": "Ignored", "Detail": "{}"}])
    [event] = drain(lab, url)
    assert event["source"] == "shop" and event["detail-type"] == "OrderPlaced" and event["detail"] == {"id": 1}
    assert event["account"] == lab.account_id and event["region"] == lab.region
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", event["time"])
    [published] = drain(lab, fanout)
    assert published["detail"] == {"id": 1}


def wait_for_execution(sfn: Any, execution_arn: str) -> dict[str, Any]:
    for _ in range(200):
        described = sfn.describe_execution(executionArn=execution_arn)
        if described["status"] != "RUNNING":
            return described  # type: ignore[no-any-return]
        time.sleep(0.02)
    raise AssertionError("the execution did not finish")


def test_step_functions_task_states_invoke_lambda(lab, lambda_role, lam):
    arn = create(lam, lambda_role, "double", "def handler(event, context):\n    return {'n': event['n'] * 2}\n")
    sfn = lab.client("stepfunctions")
    integration = {"StartAt": "Double", "States": {"Double": {
        "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": arn, "Payload.$": "$"}, "OutputPath": "$.Payload", "End": True}}}
    direct = {"StartAt": "Double", "States": {"Double": {"Type": "Task", "Resource": arn, "End": True}}}
    outputs = []
    for name, definition in (("integration", integration), ("direct", direct)):
        machine = sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=lambda_role)
        execution = sfn.start_execution(stateMachineArn=machine["stateMachineArn"], input=json.dumps({"n": 21}))
        described = wait_for_execution(sfn, execution["executionArn"])
        assert described["status"] == "SUCCEEDED", described
        outputs.append(json.loads(described["output"]))
    assert outputs == [{"n": 42}, {"n": 42}]
    assert metric_sum(lab, "double", "Invocations") == 2


def test_step_functions_catches_a_lambda_error_by_its_error_type(lab, lambda_role, lam):
    arn = create(lam, lambda_role, "fails", "def handler(event, context):\n    raise KeyError('sku')\n")
    sfn = lab.client("stepfunctions")
    definition = {"StartAt": "Call", "States": {
        "Call": {"Type": "Task", "Resource": arn, "Next": "Done",
                 "Catch": [{"ErrorEquals": ["KeyError"], "ResultPath": "$.error", "Next": "Handled"}]},
        "Handled": {"Type": "Pass", "Result": {"handled": True}, "End": True},
        "Done": {"Type": "Pass", "End": True}}}
    machine = sfn.create_state_machine(name="catch", definition=json.dumps(definition), roleArn=lambda_role)
    execution = sfn.start_execution(stateMachineArn=machine["stateMachineArn"], input="{}")
    described = wait_for_execution(sfn, execution["executionArn"])
    assert described["status"] == "SUCCEEDED" and json.loads(described["output"]) == {"handled": True}


def test_s3_notification_invokes_the_function(lab, lambda_role, lam):
    url = out_queue(lab)
    arn = create(lam, lambda_role, "fwd", FORWARDER, Environment={"Variables": {"OUT_QUEUE": "out"}})
    s3 = lab.client("s3")
    s3.create_bucket(Bucket="uploads-bucket")
    s3.put_bucket_notification_configuration(Bucket="uploads-bucket", NotificationConfiguration={
        "LambdaFunctionConfigurations": [{"LambdaFunctionArn": arn, "Events": ["s3:ObjectCreated:*"]}]})
    s3.put_object(Bucket="uploads-bucket", Key="photo.jpg", Body=b"...")
    [event] = drain(lab, url)
    assert event["Records"][0]["s3"]["object"]["key"] == "photo.jpg"


def test_dynamodb_stream_mapping_invokes_with_stream_records(lab, lambda_role, lam):
    url = out_queue(lab)
    create(lam, lambda_role, "fwd", FORWARDER, Environment={"Variables": {"OUT_QUEUE": "out"}})
    ddb = lab.client("dynamodb")
    table = ddb.create_table(TableName="orders", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                             AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                             BillingMode="PAY_PER_REQUEST",
                             StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})
    stream_arn = table["TableDescription"]["LatestStreamArn"]
    lam.create_event_source_mapping(EventSourceArn=stream_arn, FunctionName="fwd", StartingPosition="LATEST")
    ddb.put_item(TableName="orders", Item={"id": {"S": "o-1"}, "total": {"N": "12"}})
    [event] = drain(lab, url)
    [record] = event["Records"]
    assert record["eventName"] == "INSERT" and record["eventSource"] == "aws:dynamodb"
    assert record["eventSourceARN"] == stream_arn
    assert record["dynamodb"]["NewImage"] == {"id": {"S": "o-1"}, "total": {"N": "12"}}


# ---------------------------------------------------------------- lifecycle


def test_service_reset_discards_warm_environments(lab, lambda_role, lam):
    create(lam, lambda_role, "warm", COUNTER)
    assert [call(lam, "warm")["json"]["count"] for _ in range(2)] == [1, 2]
    lab.lambda_.reset()  # the function stays in moto; its warm environment does not
    assert call(lam, "warm")["json"]["count"] == 1
    assert call(lam, "warm")["json"]["count"] == 2


def test_service_reset_clears_in_flight_counts(lab, lambda_role, lam):
    from labkit.services.lambda_ import runtime

    arn = create(lam, lambda_role, "busy", COUNTER)
    lam.put_function_concurrency(FunctionName="busy", ReservedConcurrentExecutions=1)
    assert runtime.IN_FLIGHT.try_enter(arn, None)  # as if an invocation were still running
    with pytest.raises(ClientError) as caught:
        lam.invoke(FunctionName="busy", Payload=b"{}")
    assert caught.value.response["Error"]["Code"] == "TooManyRequestsException"
    lab.lambda_.reset()
    assert call(lam, "busy")["json"]["count"] == 1


def test_lab_reset_leaves_no_warm_environment_and_nothing_in_flight(lab, lambda_role, lam):
    from labkit.services.lambda_ import environments, runtime

    arn = create(lam, lambda_role, "warm", COUNTER)
    call(lam, "warm")
    assert environments.POOLS.warm() == 1
    runtime.IN_FLIGHT.try_enter(arn, None)
    assert runtime.IN_FLIGHT.total() == 1
    lab.reset()
    assert environments.POOLS.warm() == 0
    assert runtime.IN_FLIGHT.total() == 0


def test_other_services_reach_functions_through_the_public_api(lab, lambda_role, lam):
    """What SNS and EventBridge call: resolve_function, then invoke_async or run_function."""
    create(lam, lambda_role, "pub", "def handler(event, context):\n    return event['n'] + 1\n")
    lam.publish_version(FunctionName="pub")
    lam.create_alias(FunctionName="pub", Name="live", FunctionVersion="1")
    fn, invoked, resource = lambda_.resolve_function(lab.arn("lambda", "function:pub:live"))
    assert invoked == lab.arn("lambda", "function:pub:live") and resource == "pub:live"
    assert lambda_.function_spec(fn).version == "1"
    assert lambda_.run_function(fn, '{"n": 1}', invoked_arn=invoked, resource=resource).json() == 2
    fn, invoked, resource = lambda_.resolve_function("pub")
    assert (invoked, resource) == (lab.arn("lambda", "function:pub"), None)
    result = lambda_.invoke_async(fn, '{"n": "x"}', invoked_arn=invoked, resource=resource)
    assert result.status_code == 202 and result.function_error == "Unhandled"  # retried twice, then dropped
    assert metric_sum(lab, "pub", "Errors") == 3


# ---------------------------------------------------------------- moto seams


def original(function: object) -> object:
    return getattr(function, "__labkit_original__", function)


def test_every_seam_is_where_the_service_expects_it_and_patched(lab):
    lab.lambda_  # noqa: B018  (first use installs the service)
    assert seams.check(lambda_.SEAMS) == []
    from moto.awslambda.models import LambdaFunction
    from moto.awslambda_simple.models import LambdaSimpleBackend
    from moto.sqs.models import Queue

    for method in (LambdaFunction._invoke_lambda, LambdaSimpleBackend.invoke, Queue.add_message):
        assert original(method) is not method, method
    patched = set(seams.patched())
    assert {seam.path for seam in lambda_.SEAMS if seam.patched} <= patched


def test_a_moved_seam_is_reported_and_install_refuses(monkeypatch, lab):
    from moto.sqs.models import Queue

    lab.lambda_  # noqa: B018
    seams.uninstall(lambda_.SEAMS)
    try:
        def add_message(self, message, delay):  # a moto release that changed the signature
            raise AssertionError("never called")

        monkeypatch.setattr(Queue, "add_message", add_message)
        assert any("Queue.add_message" in p for p in seams.check(lambda_.SEAMS))
        with pytest.raises(seams.SeamMoved, match="Queue.add_message"):
            seams.install(lambda_.SEAMS, owner="labkit.services.lambda_")
        assert not any(s.path in seams.patched() for s in lambda_.SEAMS)  # refused: nothing patched
        monkeypatch.delattr(Queue, "add_message")
        assert any("Queue.add_message is gone" in p for p in seams.check(lambda_.SEAMS))
    finally:
        monkeypatch.undo()
        seams.install(lambda_.SEAMS, owner="labkit.services.lambda_")
    assert seams.check(lambda_.SEAMS) == []
    assert original(Queue.add_message) is not Queue.add_message


def test_attributes_the_runtime_reads_exist_on_real_moto_objects(lab, lambda_role, lam, aws):
    """Instance attributes cannot be checked on classes: check them on real objects."""
    from moto.awslambda.utils import get_backend
    from moto.sqs.models import sqs_backends

    from labkit.services.lambda_.functions import FUNCTION_ATTRIBUTES

    create(lam, lambda_role, "f", "x = 1\n")
    lam.put_function_event_invoke_config(FunctionName="f", MaximumRetryAttempts=1)
    aws["sqs"].create_queue(QueueName="q")
    mapping = lam.create_event_source_mapping(EventSourceArn=lab.arn("sqs", "q"), FunctionName="f")
    backend = get_backend(lab.account_id, lab.region)
    function = backend.get_function("f")
    assert [name for name in FUNCTION_ATTRIBUTES if not hasattr(function, name)] == []
    assert isinstance(function.code_bytes, bytes) and function.code_bytes.startswith(b"PK")
    sqs = sqs_backends[lab.account_id][lab.region]
    objects = {("moto.awslambda.models", "EventInvokeConfig"): function.event_invoke_config[0],
               ("moto.sqs.models", "SQSBackend"): sqs}
    instance_seams = [seam for seam in lambda_.SEAMS if seam.instance]
    assert instance_seams
    for seam in instance_seams:
        owner, attribute = seam.qualname.rsplit(".", 1)
        assert (seam.module, owner) in objects, f"add a real {owner} to this test for {seam.path}"
        assert hasattr(objects[(seam.module, owner)], attribute), seam.path
    queue = sqs.queues["q"]
    for name in ("queue_arn", "visibility_timeout", "fifo_queue", "lambda_event_source_mappings",
                 "account_id", "region", "name"):
        assert hasattr(queue, name), name
    [esm] = backend.list_event_source_mappings(lab.arn("sqs", "q"), None)
    assert esm.uuid == mapping["UUID"]
    for name in ("enabled", "batch_size", "function_arn", "event_source_arn", "function_response_types"):
        assert hasattr(esm, name), name


def test_event_invoke_config_put_overwrites_and_update_merges(lab, lambda_role, lam):
    from moto.awslambda.utils import get_backend

    from labkit.services.lambda_.functions import event_invoke_config

    create(lam, lambda_role, "f", "x = 1\n")
    failures = lab.arn("sqs", "failures")

    def current():
        got = lam.get_function_event_invoke_config(FunctionName="f")
        listed = lam.list_function_event_invoke_configs(FunctionName="f")["FunctionEventInvokeConfigs"]
        keys = ("MaximumRetryAttempts", "MaximumEventAgeInSeconds", "DestinationConfig")
        assert [{k: c[k] for k in keys if k in c} for c in listed] == [{k: got[k] for k in keys if k in got}]
        runtime = event_invoke_config(get_backend(lab.account_id, lab.region).get_function("f"))
        assert runtime == {k: got[k] for k in keys if k in got}
        return runtime

    lam.put_function_event_invoke_config(FunctionName="f", MaximumRetryAttempts=0,
                                         DestinationConfig={"OnFailure": {"Destination": failures}})
    lam.put_function_event_invoke_config(FunctionName="f", MaximumEventAgeInSeconds=120)
    assert current() == {"MaximumEventAgeInSeconds": 120}  # the settings left out are removed
    lam.update_function_event_invoke_config(FunctionName="f", MaximumRetryAttempts=1)
    assert current() == {"MaximumEventAgeInSeconds": 120, "MaximumRetryAttempts": 1}
    with pytest.raises(ClientError):
        lam.put_function_event_invoke_config(FunctionName="f", MaximumEventAgeInSeconds=99999)
    assert current() == {"MaximumEventAgeInSeconds": 120, "MaximumRetryAttempts": 1}  # a refused put changes nothing
    lam.delete_function_event_invoke_config(FunctionName="f")
    assert lam.list_function_event_invoke_configs(FunctionName="f")["FunctionEventInvokeConfigs"] == []
