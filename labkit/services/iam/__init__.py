"""IAM: requests signed by whoever's keys the client uses, and checked.

moto stores users, roles, groups and policies but enforces nothing by
default. This service adds (``lab.iam.<helper>``):

- **Enforcement** (:mod:`.enforce`): a call signed with a user's access keys
  or a role session's temporary credentials is evaluated before moto sees it,
  following AWS's policy evaluation logic (:mod:`.evaluate`, :mod:`.policy`):
  explicit deny, then an allow from an identity-based or a resource-based
  policy (SQS, SNS, Lambda, S3), limited by a permissions boundary and a
  session policy; conditions with the common operators and keys. A refusal
  is the service's own error (``AccessDeniedException``,
  ``AuthorizationError``...) with AWS's message. The sandbox's default
  credentials are the account's administrator and are never checked, so
  every other lab works unchanged.
- **Trust policies**: ``sts:AssumeRole`` succeeds only if the role's trust
  policy allows the caller; :func:`service_credentials` issues a role
  session as a service would (Lambda assuming its execution role), if the
  trust policy allows that service.
- **AWS managed policies** (:mod:`.managed`), created on first use.
- **The policy simulator** (:mod:`.simulate`), and user permissions
  boundaries, which moto does not implement.
- :func:`allows_service`: does a resource's policy let a service principal
  act on it (SNS delivering to a queue, EventBridge to a queue, SNS invoking
  a function)? :func:`trusts` and :func:`role_allows`: may a service assume
  a role, and may that role's session act on a resource (EventBridge starting
  a state machine with a target's role)?

The service is installed at the first IAM or STS call
(:mod:`labkit.core.registry`).
"""

from __future__ import annotations

from typing import Any

from labkit.core import hooks
from labkit.core.aws import ACCOUNT_ID, REGION

from . import enforce, managed, principals
from .context import DEFAULT_SOURCE_IP, set_source_ip, source_ip
from .evaluate import Decision, Source, evaluate
from .principals import DEFAULT_ACCESS_KEY, DEFAULT_PRINCIPAL_ARN
from .seams import SEAMS

__all__ = [
    "DEFAULT_ACCESS_KEY",
    "DEFAULT_PRINCIPAL_ARN",
    "SEAMS",
    "allows_service",
    "caller_arn",
    "install",
    "load_managed_policies",
    "reset",
    "role_allows",
    "service_credentials",
    "set_source_ip",
    "source_ip",
    "trusts",
]


class NotTrusted(PermissionError):
    """A role whose trust policy does not allow the service that would assume it."""


def allows_service(principal_service: str, action: str, resource_arn: str, source_arn: str | None = None) -> bool:
    """Does the resource-based policy of ``resource_arn`` let the service
    principal ``principal_service`` (``"sns.amazonaws.com"``) perform
    ``action`` (``"sqs:SendMessage"``) on it, on behalf of ``source_arn``
    (the topic or rule; it fills ``aws:SourceArn``)? No policy: no."""
    from .resources import resource_policy

    policy = resource_policy(resource_arn)
    if policy is None:
        return False
    context = {**enforce.base_context(REGION), "aws:SourceAccount": ACCOUNT_ID}
    if source_arn:
        context["aws:SourceArn"] = source_arn
    decision = evaluate(action, resource_arn, context, resource_policy=policy,
                        principal={"Service": [principal_service]})
    return decision.allowed


def trusts(role_arn: str, service: str) -> bool:
    """Does the trust policy of ``role_arn`` let the service principal
    ``service`` (``"events.amazonaws.com"``) assume it? No such role: no."""
    return enforce.trust_decision(role_arn, None, enforce.base_context(REGION), service=service).allowed


def role_allows(role_arn: str, action: str, resource_arn: str) -> bool:
    """May a session of ``role_arn`` perform ``action`` (``"states:StartExecution"``)
    on ``resource_arn``? Decided as a call signed by the session would be: the
    role's identity-based policies, its permissions boundary and the resource's
    own policy. No such role: no. (Whether anyone may assume the role is
    :func:`trusts`'s question.)"""
    role = principals.find_role(role_arn)
    if role is None:
        return False
    identity, boundary, tags = principals.role_sources(role)
    session = principals.Principal("assumed-role", f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/{role.name}/check",
                                   role.name, f"{role.id}:check", role_arn=role_arn, session_name="check",
                                   identity=identity, boundary=boundary, tags=tags)
    context = {**enforce.base_context(REGION), **session.context()}
    return enforce.decide(session, action, resource_arn, context).allowed


def service_credentials(role_arn: str, service: str = "lambda.amazonaws.com",
                        session_name: str | None = None, duration_seconds: int = 3600) -> dict[str, Any]:
    """Temporary credentials for ``role_arn``, issued as ``service`` assumes it
    (what Lambda gives a function's code). Raises :class:`NotTrusted` if the
    role's trust policy does not allow ``service``.

    Returns ``{"AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration"}``,
    ready for ``boto3.client(..., aws_access_key_id=...)``."""
    from moto.sts.models import sts_backends

    context = enforce.base_context(REGION)
    decision = enforce.trust_decision(role_arn, None, context, service=service)
    if not decision.allowed:
        raise NotTrusted(f"{service} is not allowed to assume {role_arn}: its trust policy does not name it")
    name = session_name or service.split(".", 1)[0]
    session = sts_backends[ACCOUNT_ID]["aws"].assume_role(
        region_name=REGION, role_session_name=name, role_arn=role_arn, policy=None,
        duration=duration_seconds, external_id=None)
    from datetime import datetime, timezone

    ends = principals.session_issued(session.access_key_id, duration_seconds)
    principals.changed()
    return {"AccessKeyId": session.access_key_id, "SecretAccessKey": session.secret_access_key,
            "SessionToken": session.session_token, "Expiration": datetime.fromtimestamp(ends, timezone.utc)}


def caller_arn(access_key_id: str | None) -> str:
    """The ARN of whoever signs with ``access_key_id`` (the administrator's for
    the sandbox's own key). Raises ``PermissionError`` for a key AWS would refuse."""
    try:
        principal = principals.resolve(access_key_id)
    except principals.Refused as refused:
        raise PermissionError(f"the access key {access_key_id} is {refused.reason}") from None
    return principal.arn if principal else DEFAULT_PRINCIPAL_ARN


def load_managed_policies() -> int:
    """Create every AWS managed policy now (normally done on first need); returns how many exist."""
    managed.ensure_loaded()
    return managed.loaded_count()


def install() -> None:
    """Check every call signed by a user or role session; complete IAM where moto stops. Idempotent."""
    hooks.subscribe("before", "*", "*", enforce.check_call, internal=False)
    hooks.subscribe("before", "sts", "AssumeRole", enforce.check_assume_role, internal=False)
    hooks.subscribe("before", "iam", "*", enforce.iam_call)
    hooks.subscribe("after", "iam", "*", enforce.after_iam_call)
    hooks.subscribe("after", "sts", "AssumeRole", enforce.after_assume_role)


def reset() -> None:
    """Forget issued keys, user boundaries and the source address."""
    principals.forget()
    set_source_ip(DEFAULT_SOURCE_IP)


_ = (Decision, Source)
