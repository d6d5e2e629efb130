"""The boto3 calls the API Gateway service takes part in (through the hook dispatcher).

- ``CreateDeployment``: once moto stored the deployment, take its snapshot
  (:func:`labkit.services.apigateway.model.remember_deployment`);
- ``CreateAuthorizer``: keep the ``identityValidationExpression`` moto drops;
- ``TestInvokeMethod``: answered by :func:`labkit.services.apigateway.plane.test_invoke`;
- ``GetUsage``: answered from the request counts of :mod:`.throttling`.
"""

from __future__ import annotations

from typing import Any

from labkit.core import hooks
from labkit.core.hooks import Call

from . import model, plane, throttling


def _region(call: Call) -> str:
    return call.region


def after_create_deployment(call: Call, parsed: dict[str, Any], status: int) -> None:
    deployment_id = parsed.get("id")
    if status >= 300 or not deployment_id:
        return
    api = model.find_api(str(call.params.get("restApiId", "")), _region(call))
    if api is not None:
        model.remember_deployment(api, str(deployment_id))


def after_create_authorizer(call: Call, parsed: dict[str, Any], status: int) -> None:
    """moto drops ``identityValidationExpression`` at creation (it reads a
    misspelt keyword); keep it on its authorizer, as AWS does."""
    expression = call.params.get("identityValidationExpression")
    if status >= 300 or not expression or not parsed.get("id"):
        return
    api = model.find_api(str(call.params.get("restApiId", "")), _region(call))
    authorizer = api.authorizers.get(parsed["id"]) if api is not None else None
    if authorizer is not None:
        authorizer.identity_validation_expression = expression
        parsed["identityValidationExpression"] = expression


def before_test_invoke_method(call: Call) -> tuple[int, dict[str, Any]] | None:
    params = call.params
    api = model.find_api(str(params.get("restApiId", "")), _region(call))
    if api is None:
        return hooks.error_answer("NotFoundException", "Invalid API identifier specified", 404)
    if str(params.get("resourceId", "")) not in api.resources:
        return hooks.error_answer("NotFoundException", "Invalid Resource identifier specified", 404)
    headers = dict(params.get("headers") or {})
    for key, values in (params.get("multiValueHeaders") or {}).items():
        if values:
            headers[key] = values[-1]
    answer = plane.test_invoke(api, str(params["resourceId"]), str(params.get("httpMethod", "GET")),
                               params.get("pathWithQueryString"), params.get("body"), headers,
                               params.get("stageVariables"))
    if answer["status"] == 404 and "Invalid Method" in answer["body"]:
        return hooks.error_answer("NotFoundException", "Invalid Method identifier specified", 404)
    return 200, {**answer, "ResponseMetadata": {"HTTPStatusCode": 200}}


def before_get_usage(call: Call) -> tuple[int, dict[str, Any]] | None:
    params = call.params
    backend = model.backend(_region(call))
    plan = backend.usage_plans.get(str(params.get("usagePlanId", "")))
    if plan is None:
        return hooks.error_answer("NotFoundException", "Invalid Usage Plan ID specified", 404)
    start, end = str(params.get("startDate", "")), str(params.get("endDate", ""))
    try:
        items = throttling.usage(plan, start, end, params.get("keyId"))
    except ValueError:
        return hooks.error_answer("BadRequestException", "Invalid startDate or endDate (expected YYYY-MM-DD)", 400)
    return 200, {"usagePlanId": plan.id, "startDate": start, "endDate": end, "items": items,
                 "ResponseMetadata": {"HTTPStatusCode": 200}}


def subscribe() -> None:
    hooks.subscribe("after", "apigateway", "CreateDeployment", after_create_deployment)
    hooks.subscribe("after", "apigateway", "CreateAuthorizer", after_create_authorizer)
    hooks.subscribe("before", "apigateway", "TestInvokeMethod", before_test_invoke_method)
    hooks.subscribe("before", "apigateway", "GetUsage", before_get_usage)
