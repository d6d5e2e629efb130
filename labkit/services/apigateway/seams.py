"""The moto internals the API Gateway service reads, and the calls it answers.

Nothing in moto's code is patched. labkit reads moto's API Gateway backend
(``apigateway_backends``: APIs, resources, methods, integrations,
authorizers, validators, stages, API keys, usage plans and their keys) and
writes metrics into moto's CloudWatch backend. Three boto3 calls go through
the hook dispatcher (:mod:`labkit.core.hooks`):

- ``CreateDeployment`` (after): the snapshot the new deployment serves;
- ``CreateAuthorizer`` (after): the ``identityValidationExpression`` moto
  drops at creation is set on its ``Authorizer``;
- ``TestInvokeMethod`` (before): answered by the data plane, which moto does
  not have;
- ``GetUsage`` (before): answered from the plane's request counts (moto does
  not implement it).

Every name below is checked when the service is first used and in its tests.
"""

from __future__ import annotations

from labkit.core.seams import Seam

SEAMS: tuple[Seam, ...] = (
    Seam("moto.apigateway.models", "apigateway_backends", None),
    Seam("moto.apigateway.models", "APIGatewayBackend.apis", None, instance=True),
    Seam("moto.apigateway.models", "APIGatewayBackend.keys", None, instance=True),
    Seam("moto.apigateway.models", "APIGatewayBackend.usage_plans", None, instance=True),
    Seam("moto.apigateway.models", "APIGatewayBackend.usage_plan_keys", None, instance=True),
    Seam("moto.apigateway.models", "RestAPI.resources", None, instance=True),
    Seam("moto.apigateway.models", "RestAPI.stages", None, instance=True),
    Seam("moto.apigateway.models", "RestAPI.authorizers", None, instance=True),
    Seam("moto.apigateway.models", "RestAPI.request_validators", None, instance=True),
    Seam("moto.apigateway.models", "Resource.get_path", ("self",)),
    Seam("moto.apigateway.models", "Resource.resource_methods", None, instance=True),
    Seam("moto.apigateway.models", "Method.method_integration", None, instance=True),
    Seam("moto.apigateway.models", "Integration.integration_responses", None, instance=True),
    Seam("moto.apigateway.models", "Authorizer.identity_validation_expression", None, instance=True),
    Seam("moto.apigateway.models", "Stage.method_settings", None, instance=True),
    Seam("moto.apigateway.models", "Stage.deployment_id", None, instance=True),
    Seam("moto.apigateway.models", "UsagePlan.api_stages", None, instance=True),
    Seam("moto.cloudwatch.models", "cloudwatch_backends", None),
    Seam("moto.cloudwatch.models", "CloudWatchBackend.put_metric_data", ("self", "namespace", "metric_data")),
)
