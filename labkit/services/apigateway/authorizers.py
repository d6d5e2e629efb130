"""Lambda authorizers (TOKEN and REQUEST): who may call a method.

Before the integration runs, API Gateway invokes the authorizer's function
with the caller's identity (a ``TOKEN`` authorizer: one header; a ``REQUEST``
authorizer: the headers, query string, path and stage variables the identity
sources name). The function returns a principal, an IAM policy and an
optional ``context`` map. What the caller gets:

- identity source missing (or the token fails the ``identityValidationExpression``):
  401 ``{"message":"Unauthorized"}``, and the function is not invoked;
- the function raises ``Exception("Unauthorized")``: 401;
- the policy explicitly denies ``execute-api:Invoke`` on the method: 403
  ``{"Message":"User is not authorized to access this resource with an explicit deny"}``;
- the policy allows nothing that matches the method: 403 ``{"Message":"User is not authorized to access this resource"}``;
- any other failure or a malformed answer: 500 ``{"message": null}``;
- allowed: the ``context`` (and ``principalId``) reach the integration as
  ``requestContext.authorizer``.

The answer is cached for ``authorizerResultTtlInSeconds`` (300 when unset,
0 turns caching off), keyed by the identity source values, on the sandbox
clock; the cached *policy* is evaluated against each method ARN.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from labkit.core.clock import clock

from .model import AuthorizerSpec

_LOCK = threading.Lock()
_CACHE: dict[tuple[str, str, tuple[str, ...]], tuple[float, dict[str, Any]]] = {}
#: How many times each authorizer's function ran (a cache lesson counts these).
INVOCATIONS: dict[str, int] = {}


@dataclass
class Decision:
    status: int  # 200 when allowed
    body: dict[str, Any] | None = None
    principal_id: str | None = None
    context: dict[str, Any] | None = None
    usage_key: str | None = None
    cached: bool = False


def function_arn(uri: str | None, stage_variables: dict[str, str] | None = None) -> str | None:
    """The Lambda function ARN inside an integration or authorizer URI
    (``arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{arn}/invocations``)."""
    if not uri:
        return None
    match = re.search(r"functions/(.+?)/invocations", uri)
    if not match:
        return None
    arn = match.group(1)
    for name, value in (stage_variables or {}).items():
        arn = arn.replace("${stageVariables." + name + "}", value)
    return arn


def _sources(spec: AuthorizerSpec) -> list[str]:
    default = "method.request.header.Authorization" if spec.type == "TOKEN" else ""
    return [part.strip() for part in (spec.identity_source or default).split(",") if part.strip()]


def identity_values(spec: AuthorizerSpec, request: dict[str, Any]) -> list[str] | None:
    """The values of the authorizer's identity sources in ``request`` (None when one is missing)."""
    values = []
    for source in _sources(spec):
        parts = source.split(".")
        value: Any = None
        if source.startswith("method.request.header."):
            wanted = parts[-1].lower()
            value = next((v for k, v in (request["headers"] or {}).items() if k.lower() == wanted), None)
        elif source.startswith("method.request.querystring."):
            value = (request["queryStringParameters"] or {}).get(parts[-1])
        elif source.startswith("method.request.path."):
            value = (request["pathParameters"] or {}).get(parts[-1])
        elif source.startswith("stageVariables."):
            value = (request["stageVariables"] or {}).get(parts[-1])
        elif source.startswith("context."):
            value = request["requestContext"].get(parts[-1])
        if value in (None, ""):
            return None
        values.append(str(value))
    return values


def _statements(policy: Any) -> list[dict[str, Any]]:
    if not isinstance(policy, dict):
        raise ValueError("policyDocument is not an object")
    statements = policy.get("Statement")
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list):
        raise ValueError("policyDocument has no Statement list")
    return statements


def _as_list(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else [str(v) for v in (value or [])]


def evaluate(policy: Any, method_arn: str) -> str:
    """``"Allow"``, ``"Deny"`` (explicit) or ``"None"`` for ``execute-api:Invoke`` on ``method_arn``."""
    allowed = False
    for statement in _statements(policy):
        actions = _as_list(statement.get("Action"))
        if not any(fnmatchcase("execute-api:invoke", a.lower()) or a == "*" for a in actions):
            continue
        if not any(fnmatchcase(method_arn, pattern) for pattern in _as_list(statement.get("Resource"))):
            continue
        effect = str(statement.get("Effect", "")).capitalize()
        if effect == "Deny":
            return "Deny"
        if effect == "Allow":
            allowed = True
    return "Allow" if allowed else "None"


def _event(spec: AuthorizerSpec, method_arn: str, request: dict[str, Any], token: str | None) -> dict[str, Any]:
    if spec.type == "TOKEN":
        return {"type": "TOKEN", "methodArn": method_arn, "authorizationToken": token}
    event = {"type": "REQUEST", "methodArn": method_arn}
    event.update({k: request[k] for k in ("resource", "path", "httpMethod", "headers", "multiValueHeaders",
                                          "queryStringParameters", "multiValueQueryStringParameters",
                                          "pathParameters", "stageVariables", "requestContext")})
    return event


def _invoke(spec: AuthorizerSpec, event: dict[str, Any], stage_variables: dict[str, str]) -> dict[str, Any] | str:
    """The authorizer's answer, or ``"unauthorized"`` / ``"failure"``."""
    from labkit.services import lambda_

    arn = function_arn(spec.uri, stage_variables)
    if arn is None:
        return "failure"
    with _LOCK:
        INVOCATIONS[spec.id] = INVOCATIONS.get(spec.id, 0) + 1
    try:
        result = lambda_.invoke(arn, event)
    except Exception:  # noqa: BLE001  (a missing function is a configuration error: 500)
        return "failure"
    if result.status_code != 200:
        return "failure"
    try:
        answer = result.json()
    except ValueError:
        return "failure"
    if result.function_error:
        message = answer.get("errorMessage") if isinstance(answer, dict) else None
        return "unauthorized" if message == "Unauthorized" else "failure"
    if not isinstance(answer, dict) or "policyDocument" not in answer:
        return "failure"
    return answer


def authorize(spec: AuthorizerSpec, method_arn: str, request: dict[str, Any], api_id: str) -> Decision:
    """Run (or recall) the authorizer for one request."""
    values = identity_values(spec, request)
    if values is None:
        return Decision(401, {"message": "Unauthorized"})
    token = values[0] if spec.type == "TOKEN" else None
    if token is not None and spec.validation_expression:
        try:
            if not re.fullmatch(spec.validation_expression, token):
                return Decision(401, {"message": "Unauthorized"})
        except re.error:
            return Decision(500, {"message": None})
    cache_key = (api_id, spec.id, tuple(values))
    answer: dict[str, Any] | str | None = None
    cached = False
    if spec.ttl > 0:
        with _LOCK:
            entry = _CACHE.get(cache_key)
        if entry is not None and entry[0] > clock.now():
            answer, cached = entry[1], True
    if answer is None:
        answer = _invoke(spec, _event(spec, method_arn, request, token), request["stageVariables"] or {})
        if answer == "unauthorized":
            return Decision(401, {"message": "Unauthorized"})
        if not isinstance(answer, dict):
            return Decision(500, {"message": None})
        if spec.ttl > 0:
            with _LOCK:
                _CACHE[cache_key] = (clock.now() + spec.ttl, answer)
    try:
        effect = evaluate(answer.get("policyDocument"), method_arn)
    except ValueError:
        return Decision(500, {"message": None})
    if effect == "Deny":
        return Decision(403, {"Message": "User is not authorized to access this resource with an explicit deny"},
                        cached=cached)
    if effect != "Allow":
        return Decision(403, {"Message": "User is not authorized to access this resource"}, cached=cached)
    context = answer.get("context") if isinstance(answer.get("context"), dict) else {}
    return Decision(200, principal_id=str(answer.get("principalId", "")), context=dict(context),
                    usage_key=answer.get("usageIdentifierKey"), cached=cached)


def invocations(authorizer_id: str | None = None) -> int:
    """How many times an authorizer's function ran (all authorizers when None)."""
    with _LOCK:
        if authorizer_id is None:
            return sum(INVOCATIONS.values())
        return INVOCATIONS.get(authorizer_id, 0)


def reset() -> None:
    with _LOCK:
        _CACHE.clear()
        INVOCATIONS.clear()

