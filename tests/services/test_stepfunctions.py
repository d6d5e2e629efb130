"""The Step Functions service: the ASL read as a graph and in words, the execution
and history helpers, its seam (unnamed executions get a UUID), and its reset.

The drawing of that graph is a notebook helper, tested with the chapter
(tests/chapters/test_stepfunctions.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest

from labkit.core import seams
from labkit.services import stepfunctions as sf
from tests.support.stepfunctions import FN, ORDER, STATES_TRUST_POLICY

# --------------------------------------------------------------------------
# The graph drawn from ASL
# --------------------------------------------------------------------------


def test_choice_rules_become_labelled_edges_and_the_default_says_otherwise():
    graph = sf.state_graph(ORDER)
    assert graph.node_of("Check").kind == "choice"
    choices = {(e.target, e.label) for e in graph.edges_from("Check", "choice")}
    assert choices == {("Review", "$.total > 100"), ("Fulfil", '$.country == "FR" and $.express == true')}
    assert [(e.target, e.label) for e in graph.edges_from("Check", "default")] == [("Fulfil", "otherwise")]


def test_catch_edges_name_their_errors():
    graph = sf.state_graph(ORDER)
    assert [(e.target, e.label) for e in graph.edges_from("Charge", "catch")] == [("Failed", "catch CardDeclined")]
    # A Parallel's catcher leaves the whole box, from its join point.
    assert [(e.source, e.target, e.label) for e in graph.edges_from("Fulfil", "catch")] == [
        ("Fulfil/join", "Failed", "catch States.ALL")]


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


# --------------------------------------------------------------------------
# History helpers on hand-made events
# --------------------------------------------------------------------------


def test_history_helpers_attribute_events_to_states_through_previous_event_ids():
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


def test_invalid_definitions_are_refused():
    with pytest.raises(ValueError, match="StartAt and States"):
        sf.state_graph({"States": {}})
    with pytest.raises(ValueError, match="StartAt and States"):
        sf.describe_state_machine('{"StartAt": "A"}')


# --------------------------------------------------------------------------
# In the sandbox
# --------------------------------------------------------------------------

def machine(aws, role: str, definition: dict, name: str = "test-machine") -> str:
    return aws["stepfunctions"].create_state_machine(name=name, definition=json.dumps(definition),
                                                     roleArn=role)["stateMachineArn"]


PASS = {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}


def test_wait_for_execution_gives_up_after_a_bounded_number_of_checks(aws, sfn_role):
    arn = machine(aws, sfn_role, {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3, "End": True}}})
    run = aws["stepfunctions"].start_execution(stateMachineArn=arn, name="slow", input="{}")
    with pytest.raises(TimeoutError, match="still RUNNING after 2 checks"):
        sf.wait_for_execution(aws["stepfunctions"], run["executionArn"], delay=0.01, max_checks=2)
    assert sf.wait_for_execution(aws["stepfunctions"], run["executionArn"], delay=0.2)["status"] == "SUCCEEDED"


def test_execution_events_joins_every_page_of_the_history():
    """GetExecutionHistory pages its answer on AWS (moto sends one page): every page is read, in order."""
    pages = [{"events": [{"id": 1}, {"id": 2}], "nextToken": "t"}, {"events": [{"id": 3}]}]

    class Paginator:
        def paginate(self, **kwargs):
            assert kwargs == {"executionArn": "arn:x"}
            return iter(pages)

    class Client:
        def get_paginator(self, name):
            assert name == "get_execution_history"
            return Paginator()

    assert [e["id"] for e in sf.execution_events(Client(), "arn:x")] == [1, 2, 3]


def test_a_map_execution_s_history_in_order(aws, sfn_role):
    definition = {"StartAt": "M", "States": {"M": {
        "Type": "Map", "ItemsPath": "$.items", "End": True,
        "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "E",
                          "States": {"E": {"Type": "Pass", "End": True}}}}}}
    sfn = aws["stepfunctions"]
    run = sfn.start_execution(stateMachineArn=machine(aws, sfn_role, definition), name="map",
                              input=json.dumps({"items": list(range(30))}))
    assert sf.wait_for_execution(sfn, run["executionArn"], delay=0.05, max_checks=400)["status"] == "SUCCEEDED"
    events = sf.execution_events(sfn, run["executionArn"])
    assert events[0]["type"] == "ExecutionStarted" and events[-1]["type"] == "ExecutionSucceeded"
    assert sum(e["type"] == "MapIterationSucceeded" for e in events) == 30
    assert [e["id"] for e in events] == list(range(1, len(events) + 1))
    assert sf.states_entered(events) == ["M"] + ["E"] * 30


def test_executions_started_without_a_name_get_distinct_generated_names(aws, sfn_role):
    """AWS generates a UUID for an unnamed execution (moto alone would name it None)."""
    sfn = aws["stepfunctions"]
    arn = machine(aws, sfn_role, PASS, name="unnamed-executions")
    first = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    second = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    names = [sfn.describe_execution(executionArn=a)["name"] for a in (first, second)]
    assert first != second and "None" not in names
    assert all(len(n) == 36 and n.count("-") == 4 for n in names)


# --------------------------------------------------------------------------
# Activities, as AWS's activity example runs them: a Task state waits for a worker
# --------------------------------------------------------------------------


def activity_machine(aws, role, activity_arn, **task):
    return machine(aws, role, {"StartAt": "Greet", "States": {
        "Greet": {"Type": "Task", "Resource": activity_arn, "TimeoutSeconds": 300, **task, "End": True}}},
        name=f"act-{len(task)}")


def test_an_activity_task_waits_for_a_worker_that_reports_success(aws, sfn_role):
    sfn = aws["stepfunctions"]
    activity = sfn.create_activity(name="get-greeting")["activityArn"]
    run = sfn.start_execution(stateMachineArn=activity_machine(aws, sfn_role, activity, HeartbeatSeconds=60),
                              input=json.dumps({"name": "ana"}))["executionArn"]
    task = sfn.get_activity_task(activityArn=activity, workerName="worker-1")
    assert json.loads(task["input"]) == {"name": "ana"} and task["taskToken"]
    assert sfn.describe_execution(executionArn=run)["status"] == "RUNNING"  # waiting for the worker's answer
    sfn.send_task_heartbeat(taskToken=task["taskToken"])
    sfn.send_task_success(taskToken=task["taskToken"], output=json.dumps({"greeting": "Hello, ana"}))
    done = sf.wait_for_execution(sfn, run)
    assert done["status"] == "SUCCEEDED" and json.loads(done["output"]) == {"greeting": "Hello, ana"}
    events = sf.execution_events(sfn, run)
    started = [e for e in events if e["type"] == "ActivityStarted"]
    assert [e["activityStartedEventDetails"]["workerName"] for e in started] == ["worker-1"]
    assert {"ActivityScheduled", "ActivitySucceeded"} <= {e["type"] for e in events}


def test_a_worker_failure_reaches_the_state_and_its_catch(aws, sfn_role):
    sfn = aws["stepfunctions"]
    activity = sfn.create_activity(name="charge")["activityArn"]
    arn = activity_machine(aws, sfn_role, activity, Catch=[{"ErrorEquals": ["CardDeclined"], "Next": "Declined"}])
    definition = json.loads(sfn.describe_state_machine(stateMachineArn=arn)["definition"])
    definition["States"]["Greet"].pop("End")
    definition["States"]["Greet"]["Next"] = "Charged"
    definition["States"]["Charged"] = {"Type": "Succeed"}
    definition["States"]["Declined"] = {"Type": "Fail", "Error": "CardDeclined"}
    sfn.update_state_machine(stateMachineArn=arn, definition=json.dumps(definition))
    run = sfn.start_execution(stateMachineArn=arn, input="{}")["executionArn"]
    task = sfn.get_activity_task(activityArn=activity)
    sfn.send_task_failure(taskToken=task["taskToken"], error="CardDeclined", cause="insufficient funds")
    done = sf.wait_for_execution(sfn, run)
    assert done["status"] == "FAILED" and done["error"] == "CardDeclined"


def test_a_poll_with_no_task_answers_without_a_token_and_bad_calls_are_refused(aws):
    from botocore.exceptions import ClientError

    sfn = aws["stepfunctions"]
    activity = sfn.create_activity(name="idle")["activityArn"]
    assert "taskToken" not in sfn.get_activity_task(activityArn=activity)  # no execution: nothing can come
    with pytest.raises(ClientError) as error:
        sfn.get_activity_task(activityArn=activity + "-gone")
    assert error.value.response["Error"]["Code"] == "ActivityDoesNotExist"
    with pytest.raises(ClientError) as error:
        sfn.send_task_success(taskToken="not-a-token", output="{}")
    assert error.value.response["Error"]["Code"] == "InvalidToken"

# --------------------------------------------------------------------------
# The seam, and the lifecycle
# --------------------------------------------------------------------------


def test_the_seam_is_where_the_service_expects_it_and_is_installed_at_first_use(aws):
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend

    aws["stepfunctions"].list_state_machines()
    assert seams.check(sf.SEAMS) == []
    assert [s.path for s in sf.SEAMS if s.patched] == [
        "moto.stepfunctions.parser.models.StepFunctionsParserBackend.start_execution",
        "moto.stepfunctions.parser.backend.execution.Execution.__init__",
        "moto.stepfunctions.parser.asl.eval.callback.callback.CallbackPoolManager.add_activity_task"]
    assert getattr(StepFunctionsParserBackend.start_execution, "__labkit_original__", None) is not None


def test_a_moved_seam_is_named():
    seam = sf.SEAMS[0]
    moved = type(seam)(seam.module, seam.qualname, (*seam.params, "redrive"), seam.replacement)
    gone = type(seam)(seam.module, "StepFunctionsParserBackend.begin_execution", None)
    assert seams.check([moved]) == [
        f"{seam.path} takes {seam.params}, labkit expects {moved.params}"]
    assert "begin_execution is gone" in seams.check([gone])[0]


def test_start_does_not_import_the_asl_interpreter_until_step_functions_is_used():
    """moto's ASL interpreter imports moto.batch and moto.ec2 (about a second):
    only the first Step Functions call pays for it, not labkit.start()."""
    code = (
        "import sys, labkit\n"
        "from labkit.notebook.statemachines import to_dot\n"
        "lab = labkit.start()\n"
        "lab.client('sqs').list_queues()\n"
        "to_dot({'StartAt': 'A', 'States': {'A': {'Type': 'Pass', 'End': True}}})\n"
        "print('before', 'moto.stepfunctions.parser' in sys.modules)\n"
        "lab.client('stepfunctions').list_state_machines()\n"
        "print('after', 'moto.stepfunctions.parser' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["before", "False", "after", "True"]


def test_reset_forgets_machines_and_executions_and_keeps_the_seam(lab, aws, sfn_role):
    sfn = aws["stepfunctions"]
    arn = machine(aws, sfn_role, PASS)
    sfn.start_execution(stateMachineArn=arn, name="before-reset")
    lab.reset()
    assert sfn.list_state_machines()["stateMachines"] == []
    arn = machine(aws, aws["iam"].create_role(RoleName="again", AssumeRolePolicyDocument=json.dumps(
        STATES_TRUST_POLICY))["Role"]["Arn"], PASS)
    assert [e["name"] for e in sfn.list_executions(stateMachineArn=arn)["executions"]] == []
    unnamed = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    assert len(unnamed.rsplit(":", 1)[-1]) == 36
