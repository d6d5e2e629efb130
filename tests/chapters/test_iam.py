"""The IAM chapter: the lab's checks tell right from plausibly wrong.

Each test runs the lab's own cells (set-up, steps, the exercise's check cell)
in one namespace, with a wrong answer in place of the solution, and proves
that the check naming the mistake fails while the others may pass. The IAM
service's behaviour is in tests/services/test_iam.py."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from labkit.grading.release import parse_lab

LAB = Path(__file__).resolve().parents[2] / "labs" / "iam.ipynb"


@pytest.fixture()
def run(lab, monkeypatch):
    """Run the lab up to an exercise with a replacement answer; return {check name: passed}."""
    monkeypatch.delenv("LABKIT_STRICT", raising=False)
    nb = nbformat.read(LAB, as_version=4)
    parsed = parse_lab(nb, str(LAB))

    def execute(exercise: str, answer: str) -> dict[str, bool]:
        namespace: dict = {}
        for cell, info in zip(nb.cells, parsed.cells, strict=True):
            if cell.cell_type != "code" or "remove-input" in cell.metadata.get("tags", []):
                continue
            if info.role == "solution":
                exec(answer if info.exercise == exercise else cell.source, namespace)
            elif info.role == "check":
                if info.exercise == exercise and not info.hidden:
                    exec(cell.source, namespace)
                    return {r.name: r.passed for r in namespace["ex"].results}
            else:
                exec(cell.source, namespace)
        raise AssertionError(f"no visible check for {exercise}")

    return execute


def _failed(results: dict[str, bool]) -> set[str]:
    return {name for name, passed in results.items() if not passed}


def _policy_answer(body: str) -> str:
    return f"def read_one_table_policy(table_arn):\n    return {body}\n"


def test_least_privilege_solution_passes_everything(run):
    nb = nbformat.read(LAB, as_version=4)
    solution = next(c.source for c in nb.cells if "ex:least" in c.metadata.get("tags", []) and
                    "solution" in c.metadata.get("tags", []))
    assert _failed(run("least", solution)) == set()


@pytest.mark.parametrize("statement,mistake", [
    ({"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:Query"], "Resource": "*"},
     "the function cannot read another table"),
    ({"Effect": "Allow", "Action": "dynamodb:*", "Resource": "TABLE"}, "the function cannot write to its table"),
    ({"Effect": "Allow", "Action": "dynamodb:*", "Resource": "TABLE"}, "the function cannot delete its table"),
    ({"Effect": "Allow", "Action": "*", "Resource": "*"}, "the function cannot use another service"),
    ({"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": "TABLE"}, "the function queries its table"),
])
def test_least_privilege_wrong_answers_lose_the_check_that_names_them(run, statement, mistake):
    body = json.dumps({"Version": "2012-10-17", "Statement": [statement]}).replace('"TABLE"', "table_arn")
    assert mistake in _failed(run("least", _policy_answer(body)))


def test_a_hard_coded_table_is_caught_by_the_hidden_check(lab, monkeypatch):
    monkeypatch.delenv("LABKIT_STRICT", raising=False)
    nb = nbformat.read(LAB, as_version=4)
    parsed = parse_lab(nb, str(LAB))
    namespace: dict = {}
    hard_coded = _policy_answer(
        '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:Query"], '
        '"Resource": "arn:aws:dynamodb:us-east-1:123456789012:table/ex1-orders"}]}')
    for cell, info in zip(nb.cells, parsed.cells, strict=True):
        if cell.cell_type != "code" or "remove-input" in cell.metadata.get("tags", []):
            continue
        if info.role == "solution" and info.exercise == "least":
            exec(hard_coded, namespace)
        elif info.role == "check" and info.exercise == "least" and not info.hidden:
            exec(cell.source, namespace)  # defines the checks the hidden cell reuses
        elif info.role == "check" and info.exercise == "least" and info.hidden:
            exec(cell.source, namespace)
            assert "the function reads an item of its table" in _failed({r.name: r.passed for r in namespace["ex"].results})
            return
        elif info.role != "check":
            exec(cell.source, namespace)
    raise AssertionError("no hidden check for least")


FIX_HEADER = "def fix_checkout_role(role_name, table_arn):\n"
GOOD_TRUST = ('    iam.update_assume_role_policy(RoleName=role_name, PolicyDocument=json.dumps({"Version": "2012-10-17", '
              '"Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, '
              '"Action": "sts:AssumeRole"}]}))\n')
ACCOUNT_TRUST = ('    iam.update_assume_role_policy(RoleName=role_name, PolicyDocument=json.dumps({"Version": "2012-10-17", '
                 '"Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com", '
                 '"AWS": "arn:aws:iam::123456789012:root"}, "Action": "sts:AssumeRole"}]}))\n')
NO_GUARD = ('    iam.put_role_policy(RoleName=role_name, PolicyName="permissions", PolicyDocument=json.dumps('
            '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"}]}))\n')
GOOD_GUARD = ('    iam.put_role_policy(RoleName=role_name, PolicyName="permissions", PolicyDocument=json.dumps('
              '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "dynamodb:GetItem", '
              '"Resource": table_arn}, {"Effect": "Deny", "Action": "dynamodb:*", '
              '"NotResource": [table_arn, table_arn + "/index/*"]}]}))\n')


@pytest.mark.parametrize("body,mistakes", [
    (GOOD_TRUST, {"the function reads an item of its table"}),  # the trust fixed, the Deny left as it was
    (GOOD_GUARD, {"Lambda may assume the role"}),  # the Deny fixed, the trust left naming EC2
    (GOOD_TRUST + NO_GUARD, {"the function still cannot read another table", "the function still cannot write"}),
    (ACCOUNT_TRUST + GOOD_GUARD, {"no one but Lambda may assume the role"}),
])
def test_fix_wrong_answers_lose_the_check_that_names_them(run, body, mistakes):
    failed = _failed(run("fix", FIX_HEADER + body))
    assert mistakes <= failed


def test_fix_solution_passes_everything(run):
    assert _failed(run("fix", FIX_HEADER + GOOD_TRUST + GOOD_GUARD)) == set()


@pytest.mark.parametrize("letter,mistake", [
    ("A", "deleting a table stays denied even with a broader policy added"),
    ("C", "support reads an order from the office"),
    ("C", "support cannot read orders from elsewhere"),
    ("D", "support cannot read the catalogue"),
])
def test_choose_wrong_policies_fail_by_behaviour(run, letter, mistake):
    assert mistake in _failed(run("choose", f"chosen = {letter!r}\n"))


def test_choose_the_right_policy_passes(run):
    assert _failed(run("choose", 'chosen = "B"\n')) == set()
