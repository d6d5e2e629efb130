"""Fixtures shared by every test: one sandbox, one Lambda role, clients.

The suite's set-up (offline guard, honeypot credentials, strict lab checks,
how the work is shared between workers) is in :mod:`tests.harness`, which
pytest loads for every run (see ``pyproject.toml``).
"""

from __future__ import annotations

import json

import pytest

collect_ignore_glob = ["fixtures/*"]


# ---------------------------------------------------------------------------
# Shared fixtures: one sandbox, one Lambda role, clients.
# ---------------------------------------------------------------------------

LAMBDA_TRUST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


@pytest.fixture()
def lab():
    """The sandbox, wiped clean for this test (``labkit.start(reset=True)``)."""
    import labkit

    return labkit.start(reset=True)


@pytest.fixture()
def lambda_role(lab) -> str:
    """The ARN of an execution role that Lambda may assume."""
    iam = lab.client("iam")
    return iam.create_role(RoleName="labkit-test-role",
                           AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST_POLICY))["Role"]["Arn"]


@pytest.fixture()
def sfn_role(lab) -> str:
    """The ARN of a role that Step Functions may assume."""
    import json

    from tests.support.stepfunctions import STATES_TRUST_POLICY

    iam = lab.client("iam")
    return iam.create_role(RoleName="test-sfn-role",
                           AssumeRolePolicyDocument=json.dumps(STATES_TRUST_POLICY))["Role"]["Arn"]


@pytest.fixture()
def aws(lab):
    """Clients by service name, made on first use: ``aws["sqs"].create_queue(...)``."""

    class _Clients(dict):
        def __missing__(self, service: str):
            self[service] = lab.client(service)
            return self[service]

    return _Clients()
