"""What a stage serves: a REST API's resources, methods, integrations,
authorizers and validators, copied out of moto into plain data.

On AWS a *deployment* is a snapshot of the API: a stage serves the deployment
it points to, and a change to a method reaches callers only after the next
``create_deployment``. moto keeps only the live configuration (a deployment
is an id and a description), so this module takes the snapshot itself when
``CreateDeployment`` returns (:func:`remember_deployment`, called from a hook)
and a stage serves that copy. A deployment made some other way (moto's
CloudFormation) has no snapshot: its stage serves the live configuration.

``test_invoke_method`` tests the live configuration, as on AWS.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from labkit.core.aws import ACCOUNT_ID

#: AWS's default for ``authorizerResultTtlInSeconds`` when it is not set.
DEFAULT_AUTHORIZER_TTL = 300
#: AWS's default integration timeout (and the ceiling for edge-optimized APIs), in milliseconds.
DEFAULT_TIMEOUT_MS = 29_000


@dataclass(frozen=True)
class IntegrationResponseSpec:
    status_code: str
    selection_pattern: str | None
    templates: dict[str, Any]
    parameters: dict[str, str]


@dataclass(frozen=True)
class IntegrationSpec:
    type: str  # MOCK, HTTP, HTTP_PROXY, AWS, AWS_PROXY
    uri: str | None
    http_method: str | None
    request_templates: dict[str, Any]
    request_parameters: dict[str, str]
    passthrough: str
    timeout_ms: int
    responses: tuple[IntegrationResponseSpec, ...]


@dataclass(frozen=True)
class MethodSpec:
    http_method: str
    authorization_type: str
    authorizer_id: str | None
    api_key_required: bool
    request_parameters: dict[str, bool]
    request_validator_id: str | None
    integration: IntegrationSpec | None


@dataclass(frozen=True)
class ResourceSpec:
    id: str
    path: str  # "/items/{id}"
    methods: dict[str, MethodSpec]


@dataclass(frozen=True)
class AuthorizerSpec:
    id: str
    name: str
    type: str  # TOKEN, REQUEST, COGNITO_USER_POOLS
    uri: str | None
    identity_source: str | None
    validation_expression: str | None
    ttl: int


@dataclass(frozen=True)
class ValidatorSpec:
    id: str
    name: str
    validate_body: bool
    validate_parameters: bool


@dataclass(frozen=True)
class ApiSnapshot:
    """One REST API's configuration at one moment."""

    api_id: str
    name: str
    region: str
    account_id: str
    api_key_source: str  # HEADER or AUTHORIZER
    resources: tuple[ResourceSpec, ...]
    authorizers: dict[str, AuthorizerSpec] = field(default_factory=dict)
    validators: dict[str, ValidatorSpec] = field(default_factory=dict)

    def resource(self, resource_id: str) -> ResourceSpec | None:
        return next((r for r in self.resources if r.id == resource_id), None)


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.lower() == "true"
    return bool(value)


def _integration(integration: Any) -> IntegrationSpec | None:
    if integration is None:
        return None
    responses = tuple(
        IntegrationResponseSpec(str(code), response.selection_pattern or None, dict(response.response_templates or {}),
                                dict(response.response_parameters or {}))
        for code, response in (integration.integration_responses or {}).items())
    try:
        timeout = int(integration.timeout_in_millis) if integration.timeout_in_millis else DEFAULT_TIMEOUT_MS
    except (TypeError, ValueError):
        timeout = DEFAULT_TIMEOUT_MS
    return IntegrationSpec(
        type=str(integration.integration_type).upper(), uri=integration.uri, http_method=integration.http_method,
        request_templates=dict(integration.request_templates or {}),
        request_parameters=dict(integration.request_parameters or {}),
        passthrough=integration.passthrough_behaviour or "WHEN_NO_MATCH", timeout_ms=timeout, responses=responses)


def _method(method: Any) -> MethodSpec:
    return MethodSpec(
        http_method=str(method.http_method).upper(), authorization_type=str(method.authorization_type or "NONE").upper(),
        authorizer_id=method.authorizer_id, api_key_required=_truthy(method.api_key_required),
        request_parameters={str(k): _truthy(v) for k, v in (method.request_parameters or {}).items()},
        request_validator_id=method.request_validator_id, integration=_integration(method.method_integration))


def snapshot(api: Any) -> ApiSnapshot:
    """Copy a moto ``RestAPI`` into an :class:`ApiSnapshot`."""
    resources = tuple(
        ResourceSpec(resource.id, resource.get_path(), {name.upper(): _method(m) for name, m in resource.resource_methods.items()})
        for resource in list(api.resources.values()))
    authorizers = {}
    for authorizer in list(api.authorizers.values()):
        ttl = authorizer.authorizer_result_ttl
        authorizers[authorizer.id] = AuthorizerSpec(
            id=authorizer.id, name=authorizer.name or "", type=str(authorizer.type or "").upper(),
            uri=authorizer.authorizer_uri, identity_source=authorizer.identity_source,
            validation_expression=authorizer.identity_validation_expression,
            ttl=DEFAULT_AUTHORIZER_TTL if ttl is None else int(ttl))
    validators = {
        v.id: ValidatorSpec(v.id, v.name or "", _truthy(v.validate_request_body), _truthy(v.validate_request_parameters))
        for v in list(api.request_validators.values())}
    return ApiSnapshot(api_id=api.id, name=api.name or api.id, region=api.region_name, account_id=api.account_id,
                       api_key_source=str(api.api_key_source or "HEADER").upper(), resources=resources,
                       authorizers=authorizers, validators=validators)


# --------------------------------------------------------------------------
# moto's backend, read
# --------------------------------------------------------------------------


def backend(region: str, account_id: str = ACCOUNT_ID) -> Any:
    from moto.apigateway.models import apigateway_backends

    return apigateway_backends[account_id][region]


def find_api(api_id: str, region: str, account_id: str = ACCOUNT_ID) -> Any | None:
    """moto's ``RestAPI`` (ids are matched case-insensitively, as host names are), or None."""
    apis = backend(region, account_id).apis
    api = apis.get(api_id)
    if api is None:
        api = next((a for key, a in list(apis.items()) if key.lower() == api_id.lower()), None)
    return api


# --------------------------------------------------------------------------
# Deployments: the snapshot each one took
# --------------------------------------------------------------------------

_LOCK = threading.Lock()
_DEPLOYMENTS: dict[tuple[str, str], ApiSnapshot] = {}


def remember_deployment(api: Any, deployment_id: str) -> ApiSnapshot:
    """Take the snapshot a new deployment serves."""
    taken = snapshot(api)
    with _LOCK:
        _DEPLOYMENTS[(api.id, deployment_id)] = taken
    return taken


def deployed(api: Any, deployment_id: str | None) -> tuple[ApiSnapshot, bool]:
    """What a stage pointing at ``deployment_id`` serves, and whether it is a
    snapshot (False: the live configuration, for a deployment labkit did not see)."""
    with _LOCK:
        taken = _DEPLOYMENTS.get((api.id, deployment_id or ""))
    if taken is not None:
        return taken, True
    return snapshot(api), False


def forget() -> None:
    with _LOCK:
        _DEPLOYMENTS.clear()
