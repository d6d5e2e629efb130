"""The CloudWatch chapter: its lab's checks tell the right answers from the
plausible wrong ones. Each test runs the lab with wrong answers in place of the
solutions (one kernel per set) and names the check each mistake must lose.

The CloudWatch service's own behaviour is in tests/services/test_cloudwatch.py."""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from labkit.check import RESULT_MIME
from labkit.grading.release import parse_lab

ROOT = Path(__file__).resolve().parents[2]
LAB = ROOT / "labs" / "cloudwatch.ipynb"

SPREAD = True  # each test on its own worker slot: they run a kernel each

ALARM = '''
    cw.put_metric_alarm(AlarmName=f"{{dlq_name}}-wrong", Namespace="AWS/SQS", MetricName="{metric}",
                        Dimensions=[{{"Name": "QueueName", "Value": dlq_name}}], Statistic="{stat}", Period=60,
                        EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanOrEqualToThreshold",
                        TreatMissingData="notBreaching"{actions})
'''


def dlq_answer(metric="ApproximateNumberOfMessagesVisible", stat="Maximum", actions=True):
    body = ALARM.format(metric=metric, stat=stat, actions=", AlarmActions=[topic_arn]" if actions else "")
    return "def page_on_dead_letters(dlq_name, topic_arn):" + body


def fix_answer(dimension="function_name", stat="Sum", missing="notBreaching"):
    return f'''
def fix_payment_alarm(alarm_name, function_name):
    cw.put_metric_alarm(AlarmName=alarm_name, Namespace="AWS/Lambda", MetricName="Errors",
                        Dimensions=[{{"Name": "FunctionName", "Value": {dimension}}}], Statistic="{stat}",
                        Period=300, EvaluationPeriods=1, Threshold=3,
                        ComparisonOperator="GreaterThanOrEqualToThreshold", TreatMissingData="{missing}")
'''


def latency_answer(stat='"ExtendedStatistic": "p99"', n=5, m=3, missing="notBreaching"):
    return f'''
def latency_alarm_settings():
    return {{{stat}, "Period": 60, "EvaluationPeriods": {n}, "DatapointsToAlarm": {m}, "Threshold": 800,
            "ComparisonOperator": "GreaterThanThreshold", "TreatMissingData": "{missing}"}}
'''


def run_with(answers: dict[str, str], monkeypatch) -> dict[tuple[str, str], bool]:
    """Run the lab with these answer cells (exercise id -> source); return {(exercise, check): passed}."""
    monkeypatch.delenv("LABKIT_STRICT", raising=False)
    nb = nbformat.read(LAB, as_version=4)
    lab = parse_lab(nb, str(LAB))
    wrong = copy.deepcopy(nb)
    for cell, info in zip(wrong.cells, lab.cells, strict=True):
        if info.role == "solution" and info.exercise in answers:
            cell.source = answers[info.exercise]
    NotebookClient(wrong, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(LAB.parent)}}).execute()
    results = {}
    for cell in wrong.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if RESULT_MIME in data:
                for check in data[RESULT_MIME]["checks"]:
                    results[(check["exercise"], check["name"])] = check["passed"]
    return results


def failed(results, exercise, words):
    matching = [passed for (ex, name), passed in results.items() if ex == exercise and words in name]
    assert matching, f"no check of {exercise} mentions {words!r}"
    return not all(matching)


@pytest.mark.notebook
def test_the_right_answers_written_differently_pass(monkeypatch):
    results = run_with({"dlq": dlq_answer(), "fix": fix_answer(), "latency": latency_answer()}, monkeypatch)
    assert all(results.values()), [k for k, v in results.items() if not v]


@pytest.mark.notebook
def test_first_set_of_plausible_wrong_answers(monkeypatch):
    results = run_with({
        # the DLQ's NumberOfMessagesSent: a redriven message is not a send
        "dlq": dlq_answer(metric="NumberOfMessagesSent", stat="Sum"),
        # the dimension fixed, the statistic left at Average: an error rate never reaches 3
        "fix": fix_answer(stat="Average"),
        # the average latency: three slow requests in a hundred barely move it
        "latency": latency_answer(stat='"Statistic": "Average"'),
    }, monkeypatch)
    assert failed(results, "dlq", "the poisoned order pages the topic")
    assert failed(results, "fix", "put the alarm in ALARM")
    assert failed(results, "latency", "a slow tail in 3 of 5 minutes pages")


@pytest.mark.notebook
def test_second_set_of_plausible_wrong_answers(monkeypatch):
    results = run_with({
        # the right metric, no action: the alarm fires and nobody is paged
        "dlq": dlq_answer(actions=False),
        # the typo'd dimension kept: the alarm watches a metric that never reports
        "fix": fix_answer(dimension='function_name.rstrip("s")'),
        # one data point is enough to page: a single slow minute pages
        "latency": latency_answer(n=1, m=1),
    }, monkeypatch)
    assert failed(results, "dlq", "the poisoned order pages the topic")
    assert failed(results, "fix", "put the alarm in ALARM")
    assert failed(results, "latency", "one slow minute among normal ones never pages")


@pytest.mark.notebook
def test_third_set_of_plausible_wrong_answers(monkeypatch):
    results = run_with({
        # the DLQ's in-flight count: a message waiting in the DLQ is visible, not in flight
        "dlq": dlq_answer(metric="ApproximateNumberOfMessagesNotVisible"),
        # statistic and dimension fixed, missing data left as "missing": the night ends INSUFFICIENT_DATA
        "fix": fix_answer(missing="missing"),
        # silence treated as slowness: a quiet night pages
        "latency": latency_answer(missing="breaching"),
    }, monkeypatch)
    assert failed(results, "dlq", "the poisoned order pages the topic")
    assert failed(results, "fix", "after a quiet night the alarm is back to OK")
    assert failed(results, "latency", "a night without traffic never pages")
