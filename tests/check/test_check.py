"""labkit.check: points, feedback, hidden checks, errors, time limits, strict mode."""

from __future__ import annotations

import json
import time

import pytest

import labkit
from labkit import check


@pytest.fixture(autouse=True)
def not_strict(monkeypatch):
    """The suite runs in strict mode (see tests/harness.py); these tests look at the report instead."""
    monkeypatch.delenv("LABKIT_STRICT", raising=False)


def run(block, *, hidden=False, timeout=check.DEFAULT_TIMEOUT):
    """Run an exercise block and return the Exercise."""
    holder = {}
    with check.exercise("ex", "Title", hidden=hidden, timeout=timeout) as ex:
        holder["ex"] = ex
        block(ex)
    return holder["ex"]


def test_passing_and_failing_checks_carry_points_and_feedback(capsys):
    ex = run(lambda ex: (ex.check("two", lambda: 1 + 1, expected=2, points=2),
                         ex.check("three", lambda: 2, expected=3, hint="add one")))
    assert [r.passed for r in ex.results] == [True, False]
    assert (ex.earned, ex.possible) == (2, 3)
    out = capsys.readouterr().out
    assert "Title: 2/3 points" in out
    assert "expected 3; found 2. Hint: add one" in out


def test_result_json_is_printed_for_the_grader(capsys):
    run(lambda ex: ex.check("ok", lambda: True))
    line = next(out for out in capsys.readouterr().out.splitlines() if check.RESULT_MIME in out)
    data = json.loads(line)[check.RESULT_MIME]
    assert data["exercise"] == "ex" and data["earned"] == 1 and data["checks"][0]["name"] == "ok"


def test_hidden_checks_show_the_requirement_but_not_the_values(capsys):
    ex = run(lambda ex: ex.check("works for other inputs", lambda: "secret-found", expected="secret-answer"),
             hidden=True)
    out = capsys.readouterr().out
    assert "works for other inputs" in out and "not met" in out
    assert "secret-answer" not in out and "secret-found" not in out
    assert ex.report().to_json()["checks"][0]["expected"] == ""


def test_expectations_between_one_of_contains_satisfies():
    ex = run(lambda ex: [
        ex.check("a", lambda: 5, expected=labkit.between(3, 20)),
        ex.check("b", lambda: 25, expected=labkit.between(3, 20)),
        ex.check("c", lambda: True, expected=labkit.between(0, 5)),  # a bool is not a number here
        ex.check("d", lambda: "x", expected=labkit.one_of("x", "y")),
        ex.check("e", lambda: [1, 2], expected=labkit.contains(3)),
        ex.check("f", lambda: 4, expected=labkit.satisfies("an even number", lambda v: v % 2 == 0)),
    ])
    assert [r.passed for r in ex.results] == [True, False, False, True, False, True]
    assert ex.results[1].expected == "a number from 3 to 20"


def test_an_error_in_a_check_is_feedback_not_a_crash():

    def boom():
        raise KeyError("RedrivePolicy")

    ex = run(lambda ex: ex.check("policy", boom))
    assert not ex.results[0].passed
    assert "KeyError" in ex.results[0].found and "RedrivePolicy" in ex.results[0].found


def test_an_error_elsewhere_in_the_block_ends_it_and_is_reported(capsys):

    def block(ex):
        ex.check("first", lambda: 1, expected=1)
        raise ValueError("learner code failed")

    ex = run(block)
    assert [r.passed for r in ex.results] == [True, False]
    assert ex.results[1].points == 0 and "learner code failed" in ex.results[1].found


def test_a_check_that_never_returns_is_stopped():

    def forever():
        while True:
            time.sleep(0.01)

    ex = run(lambda ex: ex.check("returns", forever), timeout=0.3)
    assert not ex.results[0].passed and "no answer within 0.3 s" in ex.results[0].found


def test_strict_mode_raises_on_failure(monkeypatch):
    monkeypatch.setenv("LABKIT_STRICT", "1")
    with pytest.raises(check.CheckFailed, match="expected 3, found 2"):
        run(lambda ex: ex.check("three", lambda: 2, expected=3))
    run(lambda ex: ex.check("fine", lambda: 3, expected=3))  # passing checks do not raise


def test_long_values_are_shortened():
    ex = run(lambda ex: ex.check("long", lambda: "x" * 1000, expected="y"))
    assert len(ex.results[0].found) <= 200 and ex.results[0].found.endswith("...")


def test_an_answer_of_none_says_that_nothing_was_returned_even_in_a_hidden_check():
    def stub():  # a learner's function that forgot its return
        _ = 41 + 1

    for hidden in (False, True):
        ex = run(lambda ex: ex.check("the answer", stub, expected=42), hidden=hidden)
        (result,) = ex.results
        assert not result.passed and result.found.startswith("None: nothing was returned")
        assert "`return ...`" in str(ex.report())
    ex = run(lambda ex: ex.check("none is right here", lambda: None, expected=None))
    assert ex.results[0].passed


def test_an_error_about_none_points_at_a_missing_return():
    def stub():
        return None

    ex = run(lambda ex: ex.check("the first item", lambda: stub()["Items"][0], expected=1))
    assert "NoneType" in ex.results[0].found and "`return ...`" in ex.results[0].found
    ex = run(lambda ex: ex.check("a different error", lambda: {}["Items"], expected=1))
    assert "`return ...`" not in ex.results[0].found


def test_a_boto3_parameter_of_none_is_explained_on_one_line_without_botocore_internals(lab):
    def queue_url_of_stub():
        return None

    ex = run(lambda ex: ex.check("the queue has messages",
                                 lambda: lab.client("sqs").get_queue_attributes(QueueUrl=queue_url_of_stub()), expected={}))
    found = ex.results[0].found
    assert found.startswith("an error: ParamValidationError") and "\n" not in found and "serialize_to_request" not in found
    assert "`return ...`" in found
