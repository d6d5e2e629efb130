"""Enforcement: every call signed by a user's or a role session's keys is
checked before moto sees it, and refused as the service refuses it.

One ``before`` subscriber per botocore service (labkit's own calls are
skipped). The sandbox's administrator (the default credentials) passes
untouched, except that ``sts:AssumeRole`` honours the role's trust policy
for every caller.

moto has an access control of its own
(``moto.core.set_initial_no_auth_action_count``); it checks actions only,
not resources or conditions, and breaks Lambda, API Gateway and Route 53
under enforcement, so labkit does not turn it on.
"""

from __future__ import annotations

from typing import Any

from labkit.core import hooks
from labkit.core.aws import ACCOUNT_ID

from . import managed, principals
from .context import base_context, set_source_ip, source_ip
from .evaluate import ALLOWED, EXPLICIT_DENY, Decision, Source, evaluate, matching
from .policy import MalformedPolicy, as_text, parse
from .principals import DEFAULT_PRINCIPAL_ARN, Principal, Refused
from .requests import request_of
from .simulate import simulate_call

#: The administrator's policy, as simulation and trust checks see it.
ADMIN_POLICY = Source("identity", "AdministratorAccess",
                      '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}',
                      "aws-managed")

#: (error code, HTTP status) of an access denial, by botocore service.
DENIED = {
    "iam": ("AccessDenied", 403), "sts": ("AccessDenied", 403), "s3": ("AccessDenied", 403),
    "sns": ("AuthorizationError", 403), "ec2": ("UnauthorizedOperation", 403),
    "lambda": ("AccessDeniedException", 403),
    "rds": ("AccessDenied", 403), "elasticache": ("AccessDenied", 403), "elbv2": ("AccessDenied", 403),
    "elb": ("AccessDenied", 403), "cloudwatch": ("AccessDenied", 403), "autoscaling": ("AccessDenied", 403),
    "cloudformation": ("AccessDenied", 403), "route53": ("AccessDenied", 403),
}
_QUERY_STYLE = {"iam", "sts", "rds", "elasticache", "elbv2", "elb", "cloudwatch", "autoscaling",
                "cloudformation", "route53", "sns", "ec2"}


def denial_message(caller_arn: str, decision: Decision) -> str:
    where = "" if decision.resource == "*" else f" on resource: {decision.resource}"
    tail = f" {decision.reason}" if decision.reason else ""
    return f"User: {caller_arn} is not authorized to perform: {decision.action}{where}{tail}"


def denial_answer(service: str, caller_arn: str, decision: Decision) -> tuple[int, dict[str, Any]]:
    code, status = DENIED.get(service, ("AccessDeniedException", 400))
    message = denial_message(caller_arn, decision)
    if service == "ec2":
        message = "You are not authorized to perform this operation. " + message
    return hooks.error_answer(code, message, status)


def refused_answer(service: str, reason: str) -> tuple[int, dict[str, Any]]:
    if reason == "expired":
        if service in _QUERY_STYLE or service == "s3":
            return hooks.error_answer("ExpiredToken", "The security token included in the request is expired", 403)
        status = 403 if service == "lambda" else 400
        return hooks.error_answer("ExpiredTokenException", "The security token included in the request is expired", status)
    if service == "s3":
        return hooks.error_answer("InvalidAccessKeyId",
                                  "The AWS Access Key Id you provided does not exist in our records.", 403)
    if service == "ec2":
        return hooks.error_answer("AuthFailure", "AWS was not able to validate the provided access credentials", 401)
    if service in _QUERY_STYLE:
        return hooks.error_answer("InvalidClientTokenId", "The security token included in the request is invalid.", 403)
    return hooks.error_answer("UnrecognizedClientException", "The security token included in the request is invalid.", 400)


def decide(principal: Principal, action: str, resource: str, context: dict[str, Any]) -> Decision:
    """One action on one resource by ``principal``, with the resource's own policy."""
    from .resources import resource_policy

    return evaluate(action, resource, context, identity=principal.identity, boundary=principal.boundary,
                    session=principal.session, resource_policy=resource_policy(resource),
                    principal=principal.as_resource_principal())


def check_call(call: hooks.Call) -> tuple[int, dict[str, Any]] | None:
    """The ``before`` subscriber: refuse the call if its signer may not make it."""
    if call.service == "sts" and call.operation in ("GetCallerIdentity", "AssumeRole"):
        return None  # GetCallerIdentity needs no permission; AssumeRole is checked with the trust policy
    try:
        principal = principals.resolve(call.access_key)
    except Refused as refused:
        return refused_answer(call.service, refused.reason)
    if principal is None:
        return None
    request = request_of(call.service, call.operation, call.params, call.region,
                         leading_keys=principal.uses_leading_keys)
    context = {**base_context(call.region), **principal.context(), **request.context}
    for resource in request.resources:
        decision = decide(principal, request.action, resource, context)
        if not decision.allowed:
            return denial_answer(call.service, principal.arn, decision)
    return None


# --------------------------------------------------------------------------
# sts:AssumeRole and the trust policy
# --------------------------------------------------------------------------


def trust_decision(role_arn: str, caller: Principal | None, context: dict[str, Any],
                   service: str | None = None) -> Decision:
    """May ``caller`` (None: the administrator; or a service principal) assume the role?

    The trust policy must allow the caller. When it names the caller's user or
    session ARN, that is enough; when it names the account or the caller's
    role, an identity-based policy must allow ``sts:AssumeRole`` too."""
    action = "sts:AssumeRole"
    role = principals.find_role(role_arn)
    refused = Decision(action, role_arn, "implicitDeny", "")
    if role is None:
        return refused
    try:
        trust = Source("resource", role_arn, as_text(role.assume_role_policy_document),
                       "Resource Policy")
        parse(trust.text)
    except MalformedPolicy:
        return refused
    if service is not None:
        who: dict[str, Any] = {"Service": [service]}
        identity: list[Source] = []
    elif caller is None:
        who = {"AWS": [DEFAULT_PRINCIPAL_ARN, f"arn:aws:iam::{ACCOUNT_ID}:root", ACCOUNT_ID],
               "direct": [DEFAULT_PRINCIPAL_ARN]}
        identity = [ADMIN_POLICY]
    else:
        who, identity = caller.as_resource_principal(), caller.identity
    allows = matching(trust, action, role_arn, context, who, "Allow")
    denies = matching(trust, action, role_arn, context, who, "Deny")
    if denies:
        return Decision(action, role_arn, EXPLICIT_DENY, "with an explicit deny in a resource-based policy", denies)
    if not allows:
        return refused
    named = {n for m in allows for n in (m.statement.principals or {}).get("AWS", ())}
    if m_star(allows) or service is not None or set(who.get("direct", ())) & named:
        return Decision(action, role_arn, ALLOWED, "", allows)
    boundary = caller.boundary if caller else None
    session = caller.session if caller else None
    decision = evaluate(action, role_arn, context, identity=identity, boundary=boundary, session=session)
    if decision.allowed:
        decision.matched = allows + decision.matched
    return decision


def m_star(matches: list[Any]) -> bool:
    """Does an allowing statement name every principal (``"*"``)?"""
    return any("*" in (m.statement.principals or {}) or "*" in (m.statement.principals or {}).get("AWS", ())
               for m in matches)


def check_assume_role(call: hooks.Call) -> tuple[int, dict[str, Any]] | None:
    """``before`` sts:AssumeRole: the trust policy decides, for every caller."""
    try:
        caller = principals.resolve(call.access_key) if not call.internal else None
    except Refused as refused:
        return refused_answer("sts", refused.reason)
    role_arn = str(call.params.get("RoleArn", ""))
    request = request_of("sts", "AssumeRole", call.params, call.region)
    context = {**base_context(call.region), **(caller.context() if caller else {}), **request.context}
    decision = trust_decision(role_arn, caller, context)
    if decision.allowed:
        return None
    arn = caller.arn if caller else DEFAULT_PRINCIPAL_ARN
    return denial_answer("sts", arn, decision)


# --------------------------------------------------------------------------
# IAM calls the sandbox completes: trust policy syntax, user boundaries
# --------------------------------------------------------------------------


def _malformed(message: str) -> tuple[int, dict[str, Any]]:
    return hooks.error_answer("MalformedPolicyDocument", message, 400)


def validate_trust_policy(text: str) -> str | None:
    """Why a role trust policy is malformed, or None. (An empty object is let
    through, as moto lets it through: AWS would refuse it.)"""
    if str(text).strip() == "{}":
        return None
    try:
        parsed = parse(as_text(text))
    except MalformedPolicy as error:
        return str(error)
    import json

    raw = json.loads(as_text(text))["Statement"]
    for statement, original in zip(parsed.statements, raw if isinstance(raw, list) else [raw], strict=True):
        if "Resource" in original or "NotResource" in original:
            return "Has prohibited field Resource."
        if statement.principals is None and statement.not_principals is None:
            return "Missing required field Principal."
    return None


def iam_call(call: hooks.Call) -> tuple[int, dict[str, Any]] | None:
    """``before`` every IAM call: enforcement first (this subscriber runs before
    the wildcard one), then what moto leaves out."""
    if not call.internal:
        denied = check_call(call)
        if denied is not None:
            return denied
    managed.before_iam_call(call.operation, call.params)
    op, params = call.operation, call.params
    if op in ("CreateRole", "UpdateAssumeRolePolicy"):
        key = "AssumeRolePolicyDocument" if op == "CreateRole" else "PolicyDocument"
        problem = validate_trust_policy(params.get(key, ""))
        if problem:
            return _malformed(problem)
    if op == "PutUserPermissionsBoundary":
        return _put_user_boundary(params["UserName"], params["PermissionsBoundary"])
    if op == "DeleteUserPermissionsBoundary":
        if params["UserName"] not in principals._iam().users:
            return _no_user(params["UserName"])
        principals.set_user_boundary(params["UserName"], None)
        return 200, {"ResponseMetadata": {"HTTPStatusCode": 200}}
    if op in ("SimulatePrincipalPolicy", "SimulateCustomPolicy"):
        return simulate_call(call)
    return None


def _no_user(name: str) -> tuple[int, dict[str, Any]]:
    return hooks.error_answer("NoSuchEntity", f"The user with name {name} cannot be found.", 404)


def _put_user_boundary(user: str, arn: str) -> tuple[int, dict[str, Any]]:
    backend = principals._iam()
    if user not in backend.users:
        return _no_user(user)
    managed.ensure_loaded(arn)
    if arn not in backend.managed_policies:
        return hooks.error_answer("NoSuchEntity", f"Policy {arn} does not exist or is not attachable.", 404)
    principals.set_user_boundary(user, arn)
    return 200, {"ResponseMetadata": {"HTTPStatusCode": 200}}


def after_assume_role(call: hooks.Call, parsed: dict[str, Any], status: int) -> None:
    """A session's time runs on the sandbox clock, and its Expiration says so."""
    credentials = parsed.get("Credentials") if status < 300 else None
    if not credentials:
        return
    from datetime import datetime, timezone

    ends = principals.session_issued(credentials["AccessKeyId"], call.params.get("DurationSeconds", 3600))
    principals.changed()
    credentials["Expiration"] = datetime.fromtimestamp(ends, timezone.utc)


def after_iam_call(call: hooks.Call, parsed: dict[str, Any], status: int) -> None:
    """Remember issued keys and user boundaries; show a user's boundary as IAM does."""
    if status >= 300:
        return
    if not call.operation.startswith(("Get", "List", "Simulate", "Generate")):
        principals.changed()
    if call.operation == "CreateAccessKey":
        key = parsed.get("AccessKey", {}).get("AccessKeyId")
        if key:
            principals.remember_issued(key)
    elif call.operation == "CreateUser" and call.params.get("PermissionsBoundary"):
        principals.set_user_boundary(call.params["UserName"], call.params["PermissionsBoundary"])
    elif call.operation == "DeleteUser":
        principals.set_user_boundary(call.params["UserName"], None)
    if call.operation in ("CreateUser", "GetUser") and isinstance(parsed.get("User"), dict):
        arn = principals.user_boundary(parsed["User"].get("UserName", ""))
        if arn:
            parsed["User"]["PermissionsBoundary"] = {"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": arn}


__all__ = ["base_context", "check_call", "set_source_ip", "source_ip"]
