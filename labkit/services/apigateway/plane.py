"""The data plane of REST APIs: one request in, one response out.

:func:`handle` is what ``https://{api-id}.execute-api.{region}.amazonaws.com/{stage}/...``
does, as a function (the HTTPS server in :mod:`.server` is a thin front over
it). In AWS's order:

1. the API (by host name) and the stage (first path segment): an API or a
   stage that does not exist answers 403 ``{"message":"Forbidden"}``;
2. the resource and method of the stage's *deployment* (:mod:`.model`,
   :mod:`.routing`): no match answers 403 ``{"message":"Missing Authentication Token"}``;
3. the stage's method throttle and the account's (429 ``Too Many Requests``);
4. the Lambda authorizer (:mod:`.authorizers`): 401 / 403;
5. the API key (``x-api-key``, or the authorizer's ``usageIdentifierKey``)
   when the method requires one: a missing, unknown or disabled key, or one
   in no usage plan of this stage, answers 403 ``{"message":"Forbidden"}``;
   then the plan's throttle (429 ``Too Many Requests``) and quota
   (429 ``Limit Exceeded``) (:mod:`.throttling`);
6. request validation of required parameters (400);
7. the integration (:mod:`.integrations`).

Every request that reached a stage counts in the ``AWS/ApiGateway`` metrics
(:mod:`.metrics`).
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import time
import uuid
from datetime import datetime, timezone
from typing import Any

from labkit.core.clock import clock
from labkit.core.httpfront import HttpRequest, HttpResponse

from . import authorizers, integrations, metrics, model, routing, throttling
from .integrations import Outcome

#: ``{api-id}.execute-api.{region}.amazonaws.com``
HOST_PATTERN = re.compile(r"^([a-z0-9]+)\.execute-api\.([a-z0-9-]+)\.amazonaws\.com$")

FORBIDDEN = {"message": "Forbidden"}
MISSING_TOKEN = {"message": "Missing Authentication Token"}
TOO_MANY = {"message": "Too Many Requests"}
LIMIT_EXCEEDED = {"message": "Limit Exceeded"}

_ERROR_TYPES = {
    "Forbidden": "ForbiddenException",
    "Missing Authentication Token": "MissingAuthenticationTokenException",
    "Unauthorized": "UnauthorizedException",
    "Too Many Requests": "TooManyRequestsException",
    "Limit Exceeded": "LimitExceededException",
}


def parse_host(host: str) -> tuple[str, str] | None:
    """``(api_id, region)`` of an invoke host name, or None."""
    match = HOST_PATTERN.match((host or "").strip().rstrip(".").lower().split(":")[0])
    return (match.group(1), match.group(2)) if match else None


def invoke_url(api_id: str, stage: str, region: str = "us-east-1") -> str:
    """The invoke URL AWS gives a stage: ``https://{api_id}.execute-api.{region}.amazonaws.com/{stage}``."""
    return f"https://{api_id}.execute-api.{region}.amazonaws.com/{stage}"


def _error(status: int, document: dict[str, Any], request_id: str) -> HttpResponse:
    headers = [("Content-Type", "application/json"), ("x-amzn-RequestId", request_id)]
    message = document.get("message") or document.get("Message")
    if status == 403 and "Message" in document:
        headers.append(("x-amzn-ErrorType", "AccessDeniedException"))
    elif isinstance(message, str) and message in _ERROR_TYPES:
        headers.append(("x-amzn-ErrorType", _ERROR_TYPES[message]))
    return HttpResponse(status, headers, json.dumps(document).encode())


def _multi(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key, value in pairs:
        out.setdefault(key, []).append(value)
    return out


def build_event(request: HttpRequest, snapshot: model.ApiSnapshot, stage: str, stage_variables: dict[str, str],
                matched: routing.Route, sub_path: str, request_id: str, host: str,
                identity: dict[str, Any] | None = None) -> dict[str, Any]:
    """The Lambda proxy integration's event (format 1.0) for one request."""
    headers_multi = _multi([(k, v) for k, v in request.headers])
    query_multi = _multi(request.query_params)
    now = clock.now()
    body: str | None = None
    encoded = False
    if request.body:
        try:
            body = request.body.decode("utf-8")
        except UnicodeDecodeError:
            body, encoded = base64.b64encode(request.body).decode("ascii"), True
    domain = host or f"{snapshot.api_id}.execute-api.{snapshot.region}.amazonaws.com"
    return {
        "resource": matched.resource.path,
        "path": sub_path,
        "httpMethod": request.method.upper(),
        "headers": {k: v[-1] for k, v in headers_multi.items()} or None,
        "multiValueHeaders": headers_multi or None,
        "queryStringParameters": {k: v[-1] for k, v in query_multi.items()} or None,
        "multiValueQueryStringParameters": query_multi or None,
        "pathParameters": dict(matched.path_parameters) or None,
        "stageVariables": dict(stage_variables) or None,
        "requestContext": {
            "accountId": snapshot.account_id,
            "apiId": snapshot.api_id,
            "domainName": domain,
            "domainPrefix": domain.split(".")[0],
            "extendedRequestId": secrets.token_urlsafe(12)[:16],
            "httpMethod": request.method.upper(),
            "identity": {"sourceIp": request.client[0], "userAgent": request.header("user-agent"),
                         "apiKey": None, "apiKeyId": None, "accessKey": None, "accountId": None, "caller": None,
                         "cognitoAuthenticationProvider": None, "cognitoAuthenticationType": None,
                         "cognitoIdentityId": None, "cognitoIdentityPoolId": None, "principalOrgId": None,
                         "user": None, "userArn": None, **(identity or {})},
            "path": f"/{stage}{sub_path}",
            "protocol": "HTTP/1.1",
            "requestId": request_id,
            "requestTime": datetime.fromtimestamp(now, timezone.utc).strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "requestTimeEpoch": int(now * 1000),
            "resourceId": matched.resource.id,
            "resourcePath": matched.resource.path,
            "stage": stage,
        },
        "body": body,
        "isBase64Encoded": encoded,
    }


def method_arn(snapshot: model.ApiSnapshot, stage: str, http_method: str, sub_path: str) -> str:
    """``arn:aws:execute-api:{region}:{account}:{api}/{stage}/{METHOD}/{path}`` (what authorizer policies name)."""
    return (f"arn:aws:execute-api:{snapshot.region}:{snapshot.account_id}:{snapshot.api_id}/{stage}/"
            f"{http_method.upper()}/{sub_path.lstrip('/')}")


def _missing_parameters(method: model.MethodSpec, validators: dict[str, model.ValidatorSpec],
                        event: dict[str, Any]) -> list[str]:
    validator = validators.get(method.request_validator_id or "")
    if validator is None or not validator.validate_parameters:
        return []
    missing = []
    headers = {k.lower(): v for k, v in (event["headers"] or {}).items()}
    for name, required in method.request_parameters.items():
        if not required:
            continue
        parts = name.split(".")
        if len(parts) < 4:
            continue
        where, param = parts[2], ".".join(parts[3:])
        if where == "querystring":
            present = param in (event["queryStringParameters"] or {})
        elif where == "header":
            present = param.lower() in headers
        elif where == "path":
            present = bool((event["pathParameters"] or {}).get(param))
        else:
            present = True
        if not present:
            missing.append(param)
    return missing


def _template_params(event: dict[str, Any]) -> dict[str, dict[str, str]]:
    return {"path": dict(event["pathParameters"] or {}), "querystring": dict(event["queryStringParameters"] or {}),
            "header": dict(event["headers"] or {})}


def _template_context(event: dict[str, Any]) -> dict[str, Any]:
    ctx = event["requestContext"]
    return {**{k: v for k, v in ctx.items() if k != "identity"}, "identity": dict(ctx["identity"]),
            "authorizer": dict(ctx.get("authorizer") or {})}


def run_method(snapshot: model.ApiSnapshot, matched: routing.Route, event: dict[str, Any], body: bytes,
               content_type: str, stage_variables: dict[str, str]) -> Outcome:
    """The integration of one matched method (no throttling, keys or authorizers:
    what ``test_invoke_method`` runs too)."""
    integration = matched.method.integration
    if integration is None:
        return Outcome.error(500, integrations.INTERNAL_ERROR, "Execution failed due to configuration error: "
                             "No integration defined for method")
    call = integrations.Call(event=event, body=body, content_type=content_type, stage_variables=stage_variables,
                             context=_template_context(event), params=_template_params(event))
    return integrations.run(integration, call)


def handle(request: HttpRequest) -> HttpResponse:
    """Answer one request to an invoke URL, as API Gateway would."""
    started = time.perf_counter()
    request_id = str(uuid.uuid4())
    parsed = parse_host(request.host)
    if parsed is None:
        return _error(403, FORBIDDEN, request_id)
    api_id, region = parsed
    api = model.find_api(api_id, region)
    if api is None:
        return _error(403, FORBIDDEN, request_id)
    segments = request.path.split("/", 2)
    stage_name = segments[1] if len(segments) > 1 else ""
    stage = api.stages.get(stage_name) if stage_name else None
    if stage is None:
        return _error(403, FORBIDDEN, request_id)
    snapshot, _ = model.deployed(api, stage.deployment_id)
    sub_path = "/" + (segments[2] if len(segments) > 2 else "")
    response, integration_ms = _serve(request, snapshot, api, stage, sub_path, request_id)
    metrics.record(snapshot.name, stage_name, response.status, (time.perf_counter() - started) * 1000, integration_ms,
                   snapshot.region, snapshot.account_id)
    return response


def _serve(request: HttpRequest, snapshot: model.ApiSnapshot, api: Any, stage: Any, sub_path: str,
           request_id: str) -> tuple[HttpResponse, float | None]:
    stage_name = str(stage.name)
    stage_variables = {str(k): str(v) for k, v in (stage.variables or {}).items()}
    matched = routing.route(snapshot, request.method, sub_path)
    if matched is None:
        return _error(403, MISSING_TOKEN, request_id), None
    if not throttling.take_method(snapshot.api_id, stage_name, matched.resource.path, matched.method.http_method,
                                  dict(stage.method_settings or {})):
        return _error(429, TOO_MANY, request_id), None
    if not throttling.take_account(snapshot.region, snapshot.account_id):
        return _error(429, TOO_MANY, request_id), None
    host = request.host
    event = build_event(request, snapshot, stage_name, stage_variables, matched, sub_path, request_id, host)
    arn = method_arn(snapshot, stage_name, request.method, sub_path)
    usage_key: str | None = None
    if matched.method.authorization_type == "CUSTOM":
        spec = snapshot.authorizers.get(matched.method.authorizer_id or "")
        if spec is None:
            return _error(500, {"message": None}, request_id), None
        decision = authorizers.authorize(spec, arn, event, snapshot.api_id)
        if decision.status != 200:
            return _error(decision.status, decision.body or {"message": None}, request_id), None
        event["requestContext"]["authorizer"] = {"principalId": decision.principal_id, **(decision.context or {})}
        usage_key = decision.usage_key
    if matched.method.api_key_required:
        backend = model.backend(snapshot.region, snapshot.account_id)
        value = usage_key if snapshot.api_key_source == "AUTHORIZER" else request.header("x-api-key")
        key = throttling.find_key(backend, value)
        plan = throttling.plan_for(backend, key, snapshot.api_id, stage_name) if key is not None and key.enabled else None
        if plan is None:
            return _error(403, FORBIDDEN, request_id), None
        if not throttling.take_plan(plan, key, snapshot.api_id, stage_name, matched.resource.path,
                                    matched.method.http_method):
            return _error(429, TOO_MANY, request_id), None
        if not throttling.count_quota(plan, key):
            return _error(429, LIMIT_EXCEEDED, request_id), None
        event["requestContext"]["identity"].update({"apiKey": key.value, "apiKeyId": key.id})
    missing = _missing_parameters(matched.method, snapshot.validators, event)
    if missing:
        return _error(400, {"message": f"Missing required request parameters: [{', '.join(missing)}]"}, request_id), None
    outcome = run_method(snapshot, matched, event, request.body, request.header("content-type") or "application/json",
                         stage_variables)
    headers = [(k, v) for k, v in outcome.headers if k.lower() not in ("x-amzn-requestid",)]
    headers.append(("x-amzn-RequestId", request_id))
    headers.append(("x-amz-apigw-id", event["requestContext"]["extendedRequestId"]))
    return HttpResponse(outcome.status, headers, outcome.body), outcome.integration_ms


def test_invoke(api: Any, resource_id: str, http_method: str, path_with_query: str | None, body: str | None,
                headers: dict[str, str] | None, stage_variables: dict[str, str] | None) -> dict[str, Any]:
    """``TestInvokeMethod``: run a method's integration as currently configured
    (not deployed), without authorizers, API keys or throttles, as AWS does."""
    started = time.perf_counter()
    snapshot = model.snapshot(api)
    resource = snapshot.resource(resource_id)
    request_id = str(uuid.uuid4())
    if resource is None or (http_method.upper() not in resource.methods and "ANY" not in resource.methods):
        return {"status": 404, "body": json.dumps({"message": "Invalid Method identifier specified"}),
                "headers": {}, "multiValueHeaders": {}, "log": "", "latency": 0}
    method = resource.methods.get(http_method.upper()) or resource.methods["ANY"]
    path, _, query = (path_with_query or resource.path).partition("?")
    found = routing.find_resource(model.ApiSnapshot(snapshot.api_id, snapshot.name, snapshot.region,
                                                    snapshot.account_id, snapshot.api_key_source, (resource,)), path)
    params = found[1] if found else {}
    matched = routing.Route(resource, method, params)
    request = HttpRequest(method=http_method.upper(), path=path, query=query,
                          headers=list((headers or {}).items()), body=(body or "").encode())
    event = build_event(request, snapshot, "test-invoke-stage", dict(stage_variables or {}), matched, path,
                        request_id, "")
    outcome = run_method(snapshot, matched, event, request.body, request.header("content-type") or "application/json",
                         dict(stage_variables or {}))
    latency = int((time.perf_counter() - started) * 1000)
    multi = _multi(outcome.headers)
    log = "\n".join([f"Execution log for request {request_id}",
                     f"Method request path: {json.dumps(params)}",
                     f"Method request query string: {json.dumps(dict(request.query_params))}",
                     *outcome.log,
                     f"Method completed with status: {outcome.status}"])
    return {"status": outcome.status, "body": outcome.body.decode("utf-8", "replace"),
            "headers": {k: v[-1] for k, v in multi.items()}, "multiValueHeaders": multi, "log": log,
            "latency": latency}
