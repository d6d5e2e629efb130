"""labkit.stepfunctions: the drawing of ASL (nodes, edges, clusters, alt text), the execution
helpers, and the Step Functions behaviours the chapter teaches, as moto runs them."""

from __future__ import annotations

import json
import uuid

import pytest

import labkit
from labkit import stepfunctions as sf
from labkit.diagrams import GraphvizMissing
from labkit.lambda_runtime import zip_code

FN = "arn:aws:lambda:us-east-1:123456789012:function:charge"

ORDER = {
    "StartAt": "Check",
    "States": {
        "Check": {"Type": "Choice",
                  "Choices": [{"Variable": "$.total", "NumericGreaterThan": 100, "Next": "Review"},
                              {"And": [{"Variable": "$.country", "StringEquals": "FR"},
                                       {"Variable": "$.express", "BooleanEquals": True}], "Next": "Fulfil"}],
                  "Default": "Fulfil"},
        "Review": {"Type": "Wait", "Seconds": 1, "Next": "Fulfil"},
        "Fulfil": {"Type": "Parallel", "Next": "Lines",
                   "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Failed"}],
                   "Branches": [
                       {"StartAt": "Record", "States": {"Record": {
                           "Type": "Task", "Resource": "arn:aws:states:::dynamodb:putItem", "End": True}}},
                       {"StartAt": "Ship", "States": {
                           "Ship": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage", "Next": "Tell"},
                           "Tell": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish", "End": True}}}]},
        "Lines": {"Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 2, "Next": "Charge",
                  "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "Save",
                                    "States": {"Save": {"Type": "Task", "Resource": FN, "End": True}}}},
        "Charge": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                   "Parameters": {"FunctionName": FN, "Payload.$": "$"},
                   "Retry": [{"ErrorEquals": ["GatewayTimeout"], "IntervalSeconds": 1, "MaxAttempts": 2, "BackoffRate": 2.0}],
                   "Catch": [{"ErrorEquals": ["CardDeclined"], "Next": "Failed"}], "Next": "Done"},
        "Done": {"Type": "Succeed"},
        "Failed": {"Type": "Fail", "Error": "OrderFailed"},
    },
}


# --------------------------------------------------------------------------
# The graph drawn from ASL
# --------------------------------------------------------------------------


def test_choice_rules_become_labelled_edges_and_the_default_says_otherwise():
    graph = sf.state_graph(ORDER)
    assert graph.node_of("Check").kind == "choice"
    choices = {(e.target, e.label) for e in graph.edges_from("Check", "choice")}
    assert choices == {("Review", "$.total > 100"), ("Fulfil", '$.country == "FR" and $.express == true')}
    assert [(e.target, e.label) for e in graph.edges_from("Check", "default")] == [("Fulfil", "otherwise")]


def test_catch_edges_are_dashed_and_name_their_errors():
    graph = sf.state_graph(ORDER)
    assert [(e.target, e.label) for e in graph.edges_from("Charge", "catch")] == [("Failed", "catch CardDeclined")]
    # A Parallel's catcher leaves the whole box, from its join point.
    assert [(e.source, e.target, e.label) for e in graph.edges_from("Fulfil", "catch")] == [
        ("Fulfil/join", "Failed", "catch States.ALL")]
    dot = sf.to_dot(ORDER)
    assert 'label="catch CardDeclined"' in dot and "style=dashed" in dot


def test_retry_is_noted_on_the_state():
    graph = sf.state_graph(ORDER)
    charge = graph.node_of("Charge")
    assert charge.retry == ["retry GatewayTimeout x2 (1 s, backoff x2.0)"]
    assert "retry GatewayTimeout x2" in charge.label and "Lambda Invoke charge" in charge.label


def test_parallel_branches_are_clusters_inside_the_parallel_box():
    graph = sf.state_graph(ORDER)
    box = graph.clusters["Fulfil/box"]
    assert box.kind == "parallel" and box.label == "Parallel: Fulfil"
    branches = sorted((c.label, [graph.nodes[n].state for n in c.nodes]) for c in graph.clusters.values()
                      if c.parent == "Fulfil/box")
    assert branches == [("Branch 1", ["Record"]), ("Branch 2", ["Ship", "Tell"])]
    # Each branch starts from the Parallel state and ends in its join point.
    starts = {graph.nodes[e.target].state for e in graph.edges if e.source == "Fulfil" and e.kind == "branch"}
    assert starts == {"Record", "Ship"}
    ends = {graph.nodes[e.source].state for e in graph.edges if e.target == "Fulfil/join"}
    assert ends == {"Record", "Tell"}
    assert [(e.target) for e in graph.edges_from("Fulfil", "next")] == ["Lines"]


def test_map_iterator_is_a_cluster_with_its_items_path():
    graph = sf.state_graph(ORDER)
    box = graph.clusters["Lines/box"]
    assert box.kind == "map" and box.label == "Map: Lines, for each item of $.items, 2 at a time"
    assert [graph.nodes[n].state for n in box.nodes] == ["Lines", "Lines", "Save"]
    assert graph.node_of("Save").label == "Save\nLambda charge"
    assert ("Lines", "Lines/Save", "each item") in {(e.source, e.target, e.label) for e in graph.edges}


def test_start_and_end_frame_the_machine():
    graph = sf.state_graph(ORDER)
    assert [(e.source, e.target) for e in graph.edges if e.source == "Start"] == [("Start", "Check")]
    assert {e.source for e in graph.edges if e.target == "End"} == {"Done", "Failed"}


def test_same_state_name_in_two_branches_gets_two_nodes():
    definition = {"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": True, "Branches": [
        {"StartAt": "Work", "States": {"Work": {"Type": "Pass", "End": True}}},
        {"StartAt": "Work", "States": {"Work": {"Type": "Pass", "End": True}}}]}}}
    graph = sf.state_graph(definition)
    assert sorted(n for n, node in graph.nodes.items() if node.state == "Work") == ["P/1/Work", "P/2/Work"]


@pytest.mark.parametrize("resource, parameters, words", [
    ("arn:aws:states:::dynamodb:putItem", None, "DynamoDB PutItem"),
    ("arn:aws:states:::sqs:sendMessage.waitForTaskToken", None, "SQS SendMessage (waitForTaskToken)"),
    ("arn:aws:states:::aws-sdk:s3:getObject", None, "S3 GetObject"),
    ("arn:aws:states:::lambda:invoke", {"FunctionName": FN}, "Lambda Invoke charge"),
    (FN, None, "Lambda charge"),
    ("arn:aws:states:us-east-1:123456789012:activity:approve", None, "Activity approve"),
])
def test_resources_are_named_by_service_and_action(resource, parameters, words):
    assert sf.describe_resource(resource, parameters) == words


@pytest.mark.parametrize("rule, words", [
    ({"Variable": "$.n", "NumericLessThanEquals": 3}, "$.n <= 3"),
    ({"Variable": "$.n", "NumericGreaterThanPath": "$.max"}, "$.n > $.max"),
    ({"Variable": "$.s", "StringMatches": "a*"}, '$.s matches "a*"'),
    ({"Variable": "$.x", "IsPresent": False}, "$.x is not present"),
    ({"Not": {"Variable": "$.ok", "BooleanEquals": True}}, "not $.ok == true"),
    ({"Or": [{"Variable": "$.a", "StringEquals": "x"}, {"Variable": "$.b", "NumericEquals": 1}]},
     '$.a == "x" or $.b == 1'),
    ({"Condition": "{% $states.input.n > 3 %}"}, "{% $states.input.n > 3 %}"),
])
def test_choice_conditions_in_words(rule, words):
    assert sf.describe_condition(rule) == words


def test_alt_text_is_written_from_the_asl():
    text = sf.describe_state_machine(json.dumps(ORDER))
    assert text.startswith("It starts at Check.")
    for phrase in ("if $.total > 100 it goes to Review", "otherwise to Fulfil", "Fulfil runs 2 branches at the same time",
                   "Lines runs one iteration for each item of $.items", "it retries GatewayTimeout up to 2 times",
                   "on CardDeclined it goes to Failed", "Failed fails the workflow with OrderFailed", "Review waits 1 s"):
        assert phrase in text, phrase


def test_draw_returns_a_png_with_generated_or_given_alt_text():
    fig = sf.draw_state_machine(ORDER, "Order")
    assert fig.png is not None and fig.png.startswith(b"\x89PNG")
    assert fig.alt.startswith("A state machine. It starts at Check.")
    assert 'alt="A state machine.' in fig._repr_html_() and "<figcaption>Order</figcaption>" in fig._repr_html_()
    assert sf.draw_state_machine(ORDER, "Order", alt="my words").alt == "my words"


def test_invalid_definitions_are_refused_or_drawn_without_the_dangling_arrow():
    with pytest.raises(ValueError, match="StartAt and States"):
        sf.state_graph({"States": {}})
    dangling = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Nowhere"}}}
    assert "Nowhere" not in sf.to_dot(dangling)


def test_without_graphviz_a_placeholder_keeps_the_alt_text(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    fig = sf.draw_state_machine(ORDER, "Order", require_graphviz=False)
    assert fig.png is None and "apt-get install graphviz" in fig._repr_html_() and "It starts at Check" in fig.alt
    with pytest.raises(GraphvizMissing):
        sf.draw_state_machine(ORDER, "Order", require_graphviz=True)


# --------------------------------------------------------------------------
# History helpers on hand-made events
# --------------------------------------------------------------------------


def test_history_helpers_attribute_events_to_states_through_previous_event_ids():
    from datetime import datetime, timedelta, timezone

    t0 = datetime(2026, 11, 1, tzinfo=timezone.utc)

    def ev(i, prev, kind, seconds=0.0, **details):
        return {"id": i, "previousEventId": prev, "type": kind, "timestamp": t0 + timedelta(seconds=seconds), **details}

    events = [
        ev(1, 0, "ExecutionStarted"),
        ev(2, 1, "ParallelStateEntered", stateEnteredEventDetails={"name": "P"}),
        ev(3, 2, "TaskStateEntered", stateEnteredEventDetails={"name": "A"}),
        ev(4, 3, "TaskScheduled", taskScheduledEventDetails={"resourceType": "lambda", "resource": "invoke"}),
        ev(5, 2, "TaskStateEntered", stateEnteredEventDetails={"name": "B"}),
        ev(6, 5, "TaskScheduled", taskScheduledEventDetails={"resourceType": "sqs", "resource": "sendMessage"}),
        ev(7, 4, "TaskFailed", 0.1, taskFailedEventDetails={"error": "Busy"}),
        ev(8, 7, "TaskScheduled", 1.1, taskScheduledEventDetails={"resourceType": "lambda", "resource": "invoke"}),
        ev(9, 8, "TaskSucceeded", 1.2),
        ev(10, 9, "ParallelStateSucceeded", 1.2),
        ev(11, 10, "ExecutionSucceeded", 1.3),
    ]
    assert sf.task_attempts(events) == {"A": 2, "B": 1}
    assert sf.states_entered(events) == ["P", "A", "B"]
    rows = sf.summarise_history(events)
    assert [(r["type"], r["state"], r["detail"]) for r in rows if r["id"] in (7, 8, 10, 11)] == [
        ("TaskFailed", "A", "Busy"), ("TaskScheduled", "A", "lambda:invoke"),
        ("ParallelStateSucceeded", "P", ""), ("ExecutionSucceeded", "", "")]
    assert rows[-1]["seconds"] == 1.3
    assert "TaskFailed" in sf.format_history(events, types=["Task"])
    assert "Execution" not in sf.format_history(events, types=["Task"])


# --------------------------------------------------------------------------
# Behaviour, in the sandbox
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def aws():
    lab = labkit.start()
    return {name: lab.client(name) for name in ("stepfunctions", "lambda", "iam", "dynamodb")}


@pytest.fixture(scope="module")
def roles(aws):
    def role(name, service):
        trust = {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]}
        try:
            return aws["iam"].create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
        except aws["iam"].exceptions.EntityAlreadyExistsException:
            return aws["iam"].get_role(RoleName=name)["Role"]["Arn"]
    return {"sfn": role("test-sfn-role", "states.amazonaws.com"), "lambda": role("test-lambda-role", "lambda.amazonaws.com")}


def machine(aws, roles, definition):
    name = "test-" + uuid.uuid4().hex[:10]
    return aws["stepfunctions"].create_state_machine(name=name, definition=json.dumps(definition),
                                                     roleArn=roles["sfn"])["stateMachineArn"]


def execute(aws, arn, payload):
    sfn = aws["stepfunctions"]
    run = sfn.start_execution(stateMachineArn=arn, name=uuid.uuid4().hex, input=json.dumps(payload))
    return sf.wait_for_execution(sfn, run["executionArn"], delay=0.05, max_checks=400)


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


@pytest.fixture(scope="module")
def flaky(aws, roles):
    name = "test-flaky-" + uuid.uuid4().hex[:6]
    return aws["lambda"].create_function(FunctionName=name, Runtime="python3.12", Role=roles["lambda"],
                                         Handler="app.handler", Code={"ZipFile": zip_code(FLAKY)})["FunctionArn"]


def test_botocore_has_no_waiter_for_step_functions(aws):
    assert aws["stepfunctions"].waiter_names == []


def test_wait_for_execution_gives_up_after_a_bounded_number_of_checks(aws, roles):
    arn = machine(aws, roles, {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3, "End": True}}})
    run = aws["stepfunctions"].start_execution(stateMachineArn=arn, name="slow", input="{}")
    with pytest.raises(TimeoutError, match="still RUNNING after 2 checks"):
        sf.wait_for_execution(aws["stepfunctions"], run["executionArn"], delay=0.01, max_checks=2)
    assert sf.wait_for_execution(aws["stepfunctions"], run["executionArn"], delay=0.2)["status"] == "SUCCEEDED"


def test_retry_matches_the_error_name_and_catch_takes_the_rest(aws, roles, flaky):
    task = {"Type": "Task", "Resource": flaky, "End": True,
            "Retry": [{"ErrorEquals": ["Busy"], "IntervalSeconds": 1, "MaxAttempts": 2, "BackoffRate": 1.0}]}
    retried = machine(aws, roles, {"StartAt": "T", "States": {"T": task}})
    done = execute(aws, retried, {"key": uuid.uuid4().hex, "fail": 2})
    events = sf.execution_events(aws["stepfunctions"], done["executionArn"])
    assert done["status"] == "SUCCEEDED" and json.loads(done["output"]) == {"calls": 3}
    assert sf.task_attempts(events) == {"T": 3}

    wrong = dict(task, Retry=[{"ErrorEquals": ["States.Timeout"], "IntervalSeconds": 1, "MaxAttempts": 2}],
                 Catch=[{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Caught"}])
    never = machine(aws, roles, {"StartAt": "T", "States": {"T": wrong, "Caught": {"Type": "Pass", "End": True}}})
    done = execute(aws, never, {"key": uuid.uuid4().hex, "fail": 1})
    events = sf.execution_events(aws["stepfunctions"], done["executionArn"])
    assert sf.task_attempts(events) == {"T": 1}, "a retrier on States.Timeout never retries a function's own error"
    assert json.loads(done["output"])["error"]["Error"] == "Busy"


def test_an_uncaught_error_fails_the_execution_with_its_name(aws, roles, flaky):
    arn = machine(aws, roles, {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": flaky, "End": True}}})
    done = execute(aws, arn, {"key": uuid.uuid4().hex, "fail": 1})
    assert (done["status"], done["error"]) == ("FAILED", "Busy")


def test_parallel_and_map_outputs_keep_the_order_of_branches_and_items(aws, roles):
    definition = {"StartAt": "P", "States": {
        "P": {"Type": "Parallel", "Next": "M", "ResultPath": "$.branches", "Branches": [
            {"StartAt": "One", "States": {"One": {"Type": "Pass", "Result": 1, "End": True}}},
            {"StartAt": "Two", "States": {"Two": {"Type": "Pass", "Result": 2, "End": True}}}]},
        "M": {"Type": "Map", "ItemsPath": "$.items", "ResultPath": "$.mapped", "End": True,
              "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "Echo",
                                "States": {"Echo": {"Type": "Pass", "End": True}}}}}}
    done = execute(aws, machine(aws, roles, definition), {"items": ["a", "b", "c"]})
    output = json.loads(done["output"])
    assert output["branches"] == [1, 2] and output["mapped"] == ["a", "b", "c"]


def test_a_dynamodb_task_really_writes_and_a_failed_condition_is_a_catchable_error(aws, roles):
    table = "test-" + uuid.uuid4().hex[:8]
    aws["dynamodb"].create_table(TableName=table, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                                 AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                                 BillingMode="PAY_PER_REQUEST")
    put = {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:putItem", "ResultPath": None,
           "Parameters": {"TableName": table, "Item": {"pk": {"S.$": "$.id"}},
                          "ConditionExpression": "attribute_not_exists(pk)"},
           "Catch": [{"ErrorEquals": ["DynamoDB.ConditionalCheckFailedException"], "Next": "Taken"}], "End": True}
    arn = machine(aws, roles, {"StartAt": "Put", "States": {"Put": put, "Taken": {"Type": "Fail", "Error": "Taken"}}})
    assert execute(aws, arn, {"id": "room-1"})["status"] == "SUCCEEDED"
    assert aws["dynamodb"].get_item(TableName=table, Key={"pk": {"S": "room-1"}}).get("Item")
    second = execute(aws, arn, {"id": "room-1"})
    assert (second["status"], second["error"]) == ("FAILED", "Taken")


def test_a_standard_execution_name_runs_once(aws, roles):
    sfn = aws["stepfunctions"]
    arn = machine(aws, roles, {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}})
    first = sfn.start_execution(stateMachineArn=arn, name="order-1", input="{}")
    sf.wait_for_execution(sfn, first["executionArn"], delay=0.05)
    with pytest.raises(sfn.exceptions.ExecutionAlreadyExists):
        sfn.start_execution(stateMachineArn=arn, name="order-1", input="{}")


def test_the_history_is_read_through_the_paginator(aws, roles):
    definition = {"StartAt": "M", "States": {"M": {
        "Type": "Map", "ItemsPath": "$.items", "End": True,
        "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "E", "States": {"E": {"Type": "Pass", "End": True}}}}}}
    done = execute(aws, machine(aws, roles, definition), {"items": list(range(30))})
    events = sf.execution_events(aws["stepfunctions"], done["executionArn"])
    assert events[0]["type"] == "ExecutionStarted" and events[-1]["type"] == "ExecutionSucceeded"
    assert sum(e["type"] == "MapIterationSucceeded" for e in events) == 30
    assert [e["id"] for e in events] == sorted(e["id"] for e in events)


def test_executions_started_without_a_name_get_distinct_generated_names():
    """AWS generates a UUID for an unnamed execution (moto alone would name it None)."""
    import json as _json

    import labkit

    lab = labkit.start()
    sfn = lab.client("stepfunctions")
    iam = lab.client("iam")
    role = iam.create_role(
        RoleName="unnamed-executions-role",
        AssumeRolePolicyDocument=_json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"}, "Action": "sts:AssumeRole"}]}),
    )["Role"]["Arn"]
    arn = sfn.create_state_machine(
        name="unnamed-executions",
        definition=_json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}),
        roleArn=role,
    )["stateMachineArn"]
    first = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    second = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    names = [sfn.describe_execution(executionArn=a)["name"] for a in (first, second)]
    assert first != second and "None" not in names
    assert all(len(n) == 36 and n.count("-") == 4 for n in names)
