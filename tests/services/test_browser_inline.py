"""The browser edition's inline work, in a local process: Lambda handlers run in
the caller's thread, Step Functions executions end inside StartExecution, and
what cannot work inline (a callback wait) fails with a BrowserGap as its cause.
(tests/lite/test_browser_mode.py runs whole labs where threads really fail.)"""

from __future__ import annotations

import json
import threading

import pytest

from labkit.core import platform
from labkit.services.lambda_ import zip_code
from labkit.services.stepfunctions import browser as sfn_browser

HANDLER = """
import threading, time

def handler(event, context):
    time.sleep(event.get("sleep", 0))
    return {"thread": threading.get_ident(), "inner": event.get("inner")}
"""


@pytest.fixture
def browser(monkeypatch):
    """Browser mode on, and moto's interpreter inline (Step Functions' install() does that in a
    fresh browser process; here the service may have been installed by an earlier test)."""
    monkeypatch.setenv(platform.VARIABLE, "1")
    sfn_browser.run_inline()
    yield
    sfn_browser.restore()


def deploy(aws, role, name="inline", timeout=3):
    aws["lambda"].create_function(FunctionName=name, Role=role, Runtime="python3.12", Handler="app.handler",
                                  Code={"ZipFile": zip_code(HANDLER)}, Timeout=timeout)


def test_a_handler_runs_in_the_callers_thread(aws, lambda_role, browser):
    deploy(aws, lambda_role)
    answer = aws["lambda"].invoke(FunctionName="inline", Payload=b"{}")
    assert json.loads(answer["Payload"].read())["thread"] == threading.get_ident()


def test_locally_a_handler_runs_in_a_thread_of_its_own(aws, lambda_role, monkeypatch):
    monkeypatch.delenv(platform.VARIABLE, raising=False)
    deploy(aws, lambda_role)
    answer = aws["lambda"].invoke(FunctionName="inline", Payload=b"{}")
    assert json.loads(answer["Payload"].read())["thread"] != threading.get_ident()


def test_a_timeout_is_reported_after_the_handler_ran_to_its_end(aws, lambda_role, browser):
    deploy(aws, lambda_role, timeout=1)
    answer = aws["lambda"].invoke(FunctionName="inline", Payload=json.dumps({"sleep": 1.2}).encode(), LogType="Tail")
    error = json.loads(answer["Payload"].read())
    assert answer.get("FunctionError") == "Unhandled" and error["errorType"] == "Sandbox.Timedout"
    log = __import__("base64").b64decode(answer["LogResult"]).decode()
    assert "Task timed out after 1.00 seconds" in log and "Status: timeout" in log


def test_a_nested_invocation_gives_the_outer_handler_its_variables_back(aws, lambda_role, browser):
    outer = """
import os, boto3, json
def handler(event, context):
    before = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
    boto3.client("lambda", region_name="us-east-1").invoke(FunctionName="inline", Payload=b"{}")
    print("still outer")
    return {"before": before, "after": os.environ["AWS_LAMBDA_FUNCTION_NAME"]}
"""
    deploy(aws, lambda_role)
    aws["lambda"].create_function(FunctionName="outer", Role=lambda_role, Runtime="python3.12", Handler="app.handler",
                                  Code={"ZipFile": zip_code(outer)}, Timeout=10)
    answer = aws["lambda"].invoke(FunctionName="outer", Payload=b"{}", LogType="Tail")
    assert json.loads(answer["Payload"].read()) == {"before": "outer", "after": "outer"}
    assert "still outer" in __import__("base64").b64decode(answer["LogResult"]).decode()
    assert platform.in_browser() and "AWS_LAMBDA_FUNCTION_NAME" not in __import__("os").environ


WAIT_THEN_PASS = {"StartAt": "Pause", "States": {"Pause": {"Type": "Wait", "Seconds": 1, "Next": "Done"},
                                                   "Done": {"Type": "Pass", "Result": {"done": True}, "End": True}}}


def test_an_execution_has_ended_when_start_execution_returns(aws, sfn_role, browser):
    sfn = aws["stepfunctions"]
    assert sfn_browser.running_inline()
    arn = sfn.create_state_machine(name="inline", definition=json.dumps(WAIT_THEN_PASS), roleArn=sfn_role)["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    described = sfn.describe_execution(executionArn=execution)
    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"]) == {"done": True}, described


def test_a_callback_wait_fails_the_execution_with_the_gap(aws, sfn_role, browser):
    sfn = aws["stepfunctions"]
    queue = aws["sqs"].create_queue(QueueName="tokens")["QueueUrl"]
    definition = {"StartAt": "Ask", "States": {"Ask": {
        "Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        "Parameters": {"QueueUrl": queue, "MessageBody": {"token.$": "$$.Task.Token"}}, "End": True}}}
    arn = sfn.create_state_machine(name="callback", definition=json.dumps(definition), roleArn=sfn_role)["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    described = sfn.describe_execution(executionArn=execution)
    assert described["status"] == "FAILED"
    assert "waits for a task token" in described.get("cause", "") and "local edition" in described["cause"]


def test_restore_gives_moto_its_threads_back(browser):
    assert sfn_browser.running_inline()
    sfn_browser.restore()
    from moto.stepfunctions.parser.backend import execution_worker

    assert execution_worker.Thread is threading.Thread and not sfn_browser.running_inline()


def test_memory_used_is_zero_where_neither_proc_nor_getrusage_exists(monkeypatch):
    """Pyodide has no /proc and its resource module has no getrusage: the REPORT line's
    "Max Memory Used" falls back instead of failing the invocation."""
    import builtins
    import resource

    from labkit.services.lambda_ import runtime

    real_open = builtins.open

    def no_proc(file, *args, **kwargs):
        if str(file).startswith("/proc/"):
            raise FileNotFoundError(file)
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", no_proc)
    assert runtime._rss_mb() > 0  # getrusage still answers
    monkeypatch.delattr(resource, "getrusage")
    assert runtime._rss_mb() == 0.0
