"""The Step Functions chapter: its state machine drawings, and the behaviours the
chapter, its walkthrough and its lab rely on, as moto runs them.

The service's own helpers and seam are tested in tests/services/test_stepfunctions.py."""

from __future__ import annotations

import json
import uuid

import pytest

from labkit.notebook.diagrams import GraphvizMissing
from labkit.notebook.statemachines import draw_state_machine, to_dot
from tests.support.stepfunctions import ORDER

# --------------------------------------------------------------------------
# Drawings (labkit.notebook.statemachines)
# --------------------------------------------------------------------------


def test_draw_returns_a_png_with_generated_or_given_alt_text():
    fig = draw_state_machine(ORDER, "Order")
    assert fig.png is not None and fig.png.startswith(b"\x89PNG")
    assert fig.alt.startswith("A state machine. It starts at Check.")
    assert 'alt="A state machine.' in fig._repr_html_() and "<figcaption>Order</figcaption>" in fig._repr_html_()
    assert draw_state_machine(ORDER, "Order", alt="my words").alt == "my words"


def test_catch_paths_are_dashed_and_labelled_and_choices_carry_their_rule():
    dot = to_dot(ORDER)
    [catch] = [line for line in dot.splitlines() if 'label="catch CardDeclined"' in line]
    assert "style=dashed" in catch
    assert any('label="$.total > 100"' in line and "style=dashed" not in line for line in dot.splitlines())
    assert "cluster_" in dot and 'label="Parallel: Fulfil"' in dot


def test_a_dangling_next_is_drawn_without_its_arrow():
    dangling = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Nowhere"}}}
    assert "Nowhere" not in to_dot(dangling)


def test_without_graphviz_a_placeholder_keeps_the_alt_text(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    fig = draw_state_machine(ORDER, "Order", require_graphviz=False)
    assert fig.png is None and "apt-get install graphviz" in fig._repr_html_() and "It starts at Check" in fig.alt
    with pytest.raises(GraphvizMissing):
        draw_state_machine(ORDER, "Order", require_graphviz=True)


# --------------------------------------------------------------------------
# What the chapter teaches, as moto runs it
# --------------------------------------------------------------------------

def machine(aws, role, definition):
    name = "test-" + uuid.uuid4().hex[:10]
    return aws["stepfunctions"].create_state_machine(name=name, definition=json.dumps(definition),
                                                     roleArn=role)["stateMachineArn"]


def execute(lab, aws, arn, payload):
    sfn = aws["stepfunctions"]
    run = sfn.start_execution(stateMachineArn=arn, name=uuid.uuid4().hex, input=json.dumps(payload))
    return lab.stepfunctions.wait_for_execution(sfn, run["executionArn"], delay=0.05, max_checks=400)


FLAKY = '''
class Busy(Exception):
    pass

CALLS = {}

def handler(event, context):
    CALLS[event["key"]] = CALLS.get(event["key"], 0) + 1
    if CALLS[event["key"]] <= event.get("fail", 0):
        raise Busy("busy")
    return {"calls": CALLS[event["key"]]}
'''


@pytest.fixture()
def flaky(lab, aws, lambda_role):
    return aws["lambda"].create_function(FunctionName="test-flaky", Runtime="python3.12", Role=lambda_role,
                                         Handler="app.handler",
                                         Code={"ZipFile": lab.lambda_.zip_code(FLAKY)})["FunctionArn"]


def test_botocore_has_no_waiter_for_step_functions(aws):
    assert aws["stepfunctions"].waiter_names == []


def test_retry_matches_the_error_name_and_catch_takes_the_rest(lab, aws, sfn_role, flaky):
    task = {"Type": "Task", "Resource": flaky, "End": True,
            "Retry": [{"ErrorEquals": ["Busy"], "IntervalSeconds": 1, "MaxAttempts": 2, "BackoffRate": 1.0}]}
    retried = machine(aws, sfn_role, {"StartAt": "T", "States": {"T": task}})
    done = execute(lab, aws, retried, {"key": uuid.uuid4().hex, "fail": 2})
    events = lab.stepfunctions.execution_events(aws["stepfunctions"], done["executionArn"])
    assert done["status"] == "SUCCEEDED" and json.loads(done["output"]) == {"calls": 3}
    assert lab.stepfunctions.task_attempts(events) == {"T": 3}

    wrong = dict(task, Retry=[{"ErrorEquals": ["States.Timeout"], "IntervalSeconds": 1, "MaxAttempts": 2}],
                 Catch=[{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Caught"}])
    never = machine(aws, sfn_role, {"StartAt": "T", "States": {"T": wrong, "Caught": {"Type": "Pass", "End": True}}})
    done = execute(lab, aws, never, {"key": uuid.uuid4().hex, "fail": 1})
    events = lab.stepfunctions.execution_events(aws["stepfunctions"], done["executionArn"])
    assert lab.stepfunctions.task_attempts(events) == {"T": 1}, "a retrier on States.Timeout never retries a function's own error"
    assert json.loads(done["output"])["error"]["Error"] == "Busy"


def test_an_uncaught_error_fails_the_execution_with_its_name(lab, aws, sfn_role, flaky):
    arn = machine(aws, sfn_role, {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": flaky, "End": True}}})
    done = execute(lab, aws, arn, {"key": uuid.uuid4().hex, "fail": 1})
    assert (done["status"], done["error"]) == ("FAILED", "Busy")


def test_parallel_and_map_outputs_keep_the_order_of_branches_and_items(lab, aws, sfn_role):
    definition = {"StartAt": "P", "States": {
        "P": {"Type": "Parallel", "Next": "M", "ResultPath": "$.branches", "Branches": [
            {"StartAt": "One", "States": {"One": {"Type": "Pass", "Result": 1, "End": True}}},
            {"StartAt": "Two", "States": {"Two": {"Type": "Pass", "Result": 2, "End": True}}}]},
        "M": {"Type": "Map", "ItemsPath": "$.items", "ResultPath": "$.mapped", "End": True,
              "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "Echo",
                                "States": {"Echo": {"Type": "Pass", "End": True}}}}}}
    done = execute(lab, aws, machine(aws, sfn_role, definition), {"items": ["a", "b", "c"]})
    output = json.loads(done["output"])
    assert output["branches"] == [1, 2] and output["mapped"] == ["a", "b", "c"]


def test_a_dynamodb_task_really_writes_and_a_failed_condition_is_a_catchable_error(lab, aws, sfn_role):
    table = "test-" + uuid.uuid4().hex[:8]
    aws["dynamodb"].create_table(TableName=table, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                                 AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                                 BillingMode="PAY_PER_REQUEST")
    put = {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:putItem", "ResultPath": None,
           "Parameters": {"TableName": table, "Item": {"pk": {"S.$": "$.id"}},
                          "ConditionExpression": "attribute_not_exists(pk)"},
           "Catch": [{"ErrorEquals": ["DynamoDB.ConditionalCheckFailedException"], "Next": "Taken"}], "End": True}
    arn = machine(aws, sfn_role, {"StartAt": "Put", "States": {"Put": put, "Taken": {"Type": "Fail", "Error": "Taken"}}})
    assert execute(lab, aws, arn, {"id": "room-1"})["status"] == "SUCCEEDED"
    assert aws["dynamodb"].get_item(TableName=table, Key={"pk": {"S": "room-1"}}).get("Item")
    second = execute(lab, aws, arn, {"id": "room-1"})
    assert (second["status"], second["error"]) == ("FAILED", "Taken")


def test_a_standard_execution_name_runs_once(lab, aws, sfn_role):
    sfn = aws["stepfunctions"]
    arn = machine(aws, sfn_role, {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}})
    first = sfn.start_execution(stateMachineArn=arn, name="order-1", input="{}")
    lab.stepfunctions.wait_for_execution(sfn, first["executionArn"], delay=0.05)
    with pytest.raises(sfn.exceptions.ExecutionAlreadyExists):
        sfn.start_execution(stateMachineArn=arn, name="order-1", input="{}")


PRINTER = '''
import time

class LabelJammed(Exception):
    pass

def handler(event, context):
    time.sleep(0.2)
    if event.get("jam"):
        raise LabelJammed(event["order"])
    return {"order": event["order"]}
'''


def test_a_map_without_max_concurrency_is_throttled_by_a_function_with_few_heads(lab, aws, sfn_role, lambda_role):
    """The lab's Exercise 1: a function's reserved concurrency refuses the iterations above it."""
    fn = aws["lambda"].create_function(FunctionName="test-printer", Runtime="python3.12", Role=lambda_role,
                                       Handler="app.handler", Code={"ZipFile": lab.lambda_.zip_code(PRINTER)})
    aws["lambda"].put_function_concurrency(FunctionName="test-printer", ReservedConcurrentExecutions=2)

    def batch(**limit):
        task = {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "OutputPath": "$.Payload", "End": True,
                "Parameters": {"FunctionName": fn["FunctionArn"], "Payload.$": "$"},
                "Catch": [{"ErrorEquals": ["LabelJammed"], "ResultPath": None, "Next": "Jammed"}]}
        return {"StartAt": "M", "States": {"M": {
            "Type": "Map", "ItemsPath": "$.orders", "End": True, **limit,
            "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "Print", "States": {
                "Print": task, "Jammed": {"Type": "Pass", "Result": "JAMMED", "End": True}}}}}}

    orders = {"orders": [{"order": str(i), "jam": i == 2} for i in range(5)]}
    limited = execute(lab, aws, machine(aws, sfn_role, batch(MaxConcurrency=2)), orders)
    assert limited["status"] == "SUCCEEDED"
    assert json.loads(limited["output"]) == [{"order": "0"}, {"order": "1"}, "JAMMED", {"order": "3"}, {"order": "4"}]
    unlimited = execute(lab, aws, machine(aws, sfn_role, batch()), orders)
    assert (unlimited["status"], unlimited["error"]) == ("FAILED", "Lambda.TooManyRequestsException")


def test_a_failed_execution_sets_off_an_alarm_on_executions_failed(lab, aws, sfn_role, flaky):
    """The lab's Step 7: AWS/States ExecutionsFailed per state machine, evaluated on the sandbox clock."""
    cw = aws["cloudwatch"]
    lab.cloudwatch.sample_now()
    arn = machine(aws, sfn_role, {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": flaky, "End": True}}})
    cw.put_metric_alarm(AlarmName="test-failed", Namespace="AWS/States", MetricName="ExecutionsFailed",
                        Dimensions=[{"Name": "StateMachineArn", "Value": arn}], Statistic="Sum", Period=60,
                        EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanOrEqualToThreshold",
                        TreatMissingData="notBreaching")
    assert execute(lab, aws, arn, {"key": uuid.uuid4().hex})["status"] == "SUCCEEDED"
    lab.clock.advance(60)
    assert cw.describe_alarms(AlarmNames=["test-failed"])["MetricAlarms"][0]["StateValue"] == "OK"
    assert execute(lab, aws, arn, {"key": uuid.uuid4().hex, "fail": 1})["status"] == "FAILED"
    lab.clock.advance(60)
    assert cw.describe_alarms(AlarmNames=["test-failed"])["MetricAlarms"][0]["StateValue"] == "ALARM"
