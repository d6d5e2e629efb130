"""AWS managed policies, loaded when a call first needs them.

moto carries AWS's managed policies (``AWSLambdaBasicExecutionRole``,
``AmazonS3ReadOnlyAccess``... about 1,600) but creates them only if told to
at start, which costs every lab's first cell a fraction of a second. Here one
policy is created the first time a call names it (attach, get, a boundary),
and all of them the first time a call lists them (``ListPolicies`` with the
scope ``All`` or ``AWS``).
"""

from __future__ import annotations

import json
import threading
from typing import Any

from labkit.core.aws import ACCOUNT_ID

AWS_POLICY_PREFIX = "arn:aws:iam::aws:policy/"

_LOCK = threading.Lock()
_DATA: dict[str, Any] | None = None
_FLAG = "_labkit_all_managed_loaded"


def _data() -> dict[str, Any]:
    global _DATA
    if _DATA is None:
        from moto.iam.aws_managed_policies import aws_managed_policies_data

        _DATA = json.loads(aws_managed_policies_data)
    return _DATA


def _backend() -> Any:
    from moto.iam.models import iam_backends

    return iam_backends[ACCOUNT_ID]["aws"]


def _add(backend: Any, name: str) -> bool:
    from moto.iam.models import AWSManagedPolicy

    data = _data().get(name)
    if data is None:
        return False
    policy = AWSManagedPolicy.from_data(name, backend.account_id, backend.region_name, data)
    if policy.arn not in backend.managed_policies:
        backend.managed_policies[policy.arn] = policy
        backend.aws_managed_policies.append(policy)
    return True


def ensure_loaded(arn: str | None = None) -> None:
    """Make the AWS managed policy ``arn`` exist (all of them if ``arn`` is None).
    Customer managed ARNs and unknown names are left alone."""
    if arn is not None and not str(arn).startswith(AWS_POLICY_PREFIX):
        return
    backend = _backend()
    with _LOCK:
        if getattr(backend, _FLAG, False):
            return
        if arn is None:
            for name in _data():
                _add(backend, name)
            setattr(backend, _FLAG, True)
        elif arn not in backend.managed_policies:
            _add(backend, str(arn).rsplit("/", 1)[-1])


def loaded_count() -> int:
    """How many AWS managed policies exist in the account now."""
    return sum(1 for arn in _backend().managed_policies if arn.startswith(AWS_POLICY_PREFIX))


#: IAM operations whose parameters may name an AWS managed policy.
_NAMING = {"AttachRolePolicy", "AttachUserPolicy", "AttachGroupPolicy", "GetPolicy", "GetPolicyVersion",
           "ListPolicyVersions", "ListEntitiesForPolicy", "PutRolePermissionsBoundary", "CreateRole",
           "CreateUser", "PutUserPermissionsBoundary", "DetachRolePolicy", "DetachUserPolicy",
           "DetachGroupPolicy"}


def before_iam_call(operation: str, params: dict[str, Any]) -> None:
    """Load what an IAM call is about to need."""
    if operation == "ListPolicies":
        if params.get("Scope", "All") in ("All", "AWS"):
            ensure_loaded()
    elif operation in _NAMING:
        for key in ("PolicyArn", "PermissionsBoundary"):
            if key in params:
                ensure_loaded(params[key])
