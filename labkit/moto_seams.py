"""Where labkit reaches into moto's internals: every patch, in one module.

moto emulates AWS's control planes well, but without Docker it never runs a
Lambda function, and several services hand events to Lambda in ways that
cannot work here. :func:`install` (called once by ``labkit.start()``) replaces
a few moto methods so that every trigger reaches :mod:`labkit.lambda_runtime`:

============================  ===============================================
moto method                   what labkit does instead
============================  ===============================================
``LambdaResponse.invoke``,    boto3 ``invoke`` (and Step Functions Lambda
``LambdaBackend.invoke``,     tasks, which call it through boto3) runs the
``LambdaSimpleBackend``       function: throttling, 202/204, headers, and the
``.invoke``                   ``Qualifier`` that moto's handler drops
``LambdaFunction.invoke``,    the calls other moto services make (S3
``._invoke_lambda``           notifications, Kinesis, Logs subscriptions,
                              InvokeAsync) run the function
``Queue.add_message``,        SQS event source mappings: batches of up to
``send_message_batch``,       BatchSize, one invocation per batch, partial
``create_/update_event_``     batch responses; failed messages stay in flight
``source_mapping``            until the visibility timeout (then DLQ redrive)
``Subscription.publish``,     SNS to Lambda: an AWS-shaped SNS event, invoked
``send_sns_message``          asynchronously (moto would try Docker). A
                              delivery to a deleted queue or function goes to
                              the subscription's dead-letter queue (or is
                              dropped) and Publish succeeds (moto raised)
``put_/update_function_``     PutFunctionEventInvokeConfig replaces the
``event_invoke_config``       configuration, Update changes only what it names
                              (moto appended, and kept reading the first)
``Rule.send_to_targets``      EventBridge: disabled and schedule-only rules
                              receive no events; SQS, CloudWatch Logs, Lambda
                              and SNS targets get the payload their Input,
                              InputPath or InputTransformer builds, as on AWS
                              (moto ignores Input and raises for Lambda and
                              SNS); archives and buses stay moto's
``EventsHandler.put_events``  ``aws.*`` sources are refused per entry
``EventsHandler.test_event_`` TestEventPattern answers with moto's matcher
``pattern``                   (moto returns ``{}``)
``Replay.replay_events``      a replay sends only the events in its time
                              window, to the rules in FilterArns
``send_dynamodb_items``       DynamoDB stream mappings, in batches of BatchSize
``StepFunctionsParser``       an execution started without a name gets a
``Backend.start_execution``    UUID, as on AWS (moto names it ``None``)
============================  ===============================================

:func:`forget_elasticache_resource` (no patch: called by
:mod:`labkit.elasticache` after a delete) removes a deleted cache cluster or
replication group from moto, which otherwise keeps it ``deleting`` forever.

moto's internals change between releases. :data:`SEAMS` lists every method
(and instance attribute) this module replaces or uses, with the parameter
names it was written against; :func:`install` checks them all first and
refuses, naming what moved, if any differs. ``tests/test_moto_seams.py``
checks the same list, so an upgrade of moto that moves a seam fails loudly
instead of quietly running nothing.
"""

from __future__ import annotations

import importlib
import inspect
import json
import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from labkit import lambda_runtime
from labkit.lambda_runtime import FunctionSpec

#: The moto releases these seams were tested with (pyproject.toml pins the same).
TESTED_MOTO = (">=5.2.5", "<5.3")


class SeamMoved(RuntimeError):
    """A moto internal that labkit patches or calls is gone or has changed."""


@dataclass(frozen=True)
class Seam:
    """One moto attribute labkit depends on."""

    module: str
    qualname: str
    params: tuple[str, ...] | None  # expected parameter names; None: only existence
    patched: bool  # True: labkit replaces it; False: labkit calls it
    instance: bool = False  # an instance attribute: only its class is checked here, the tests check real objects

    @property
    def path(self) -> str:
        return f"{self.module}.{self.qualname}"


SEAMS: tuple[Seam, ...] = (
    # Replaced.
    Seam("moto.awslambda.responses", "LambdaResponse.invoke", ("self",), True),
    Seam("moto.awslambda.models", "LambdaBackend.invoke",
         ("self", "function_name", "qualifier", "body", "headers", "response_headers"), True),
    Seam("moto.awslambda_simple.models", "LambdaSimpleBackend.invoke",
         ("self", "function_name", "qualifier", "body", "headers", "response_headers"), True),
    Seam("moto.awslambda.models", "LambdaFunction.invoke",
         ("self", "body", "request_headers", "response_headers"), True),
    Seam("moto.awslambda.models", "LambdaFunction._invoke_lambda", ("self", "event"), True),
    Seam("moto.awslambda.models", "LambdaBackend.send_sns_message",
         ("self", "function_name", "message", "subject", "qualifier"), True),
    Seam("moto.awslambda.models", "LambdaBackend.send_dynamodb_items",
         ("self", "function_arn", "items", "source"), True),
    Seam("moto.awslambda.models", "LambdaBackend.create_event_source_mapping", ("self", "spec"), True),
    Seam("moto.awslambda.models", "LambdaBackend.update_event_source_mapping", ("self", "uuid", "spec"), True),
    Seam("moto.awslambda.models", "LambdaBackend.put_function_event_invoke_config",
         ("self", "function_name", "config"), True),
    Seam("moto.awslambda.models", "LambdaBackend.update_function_event_invoke_config",
         ("self", "function_name", "config"), True),
    Seam("moto.sqs.models", "Queue.add_message", ("self", "message"), True),
    Seam("moto.sqs.models", "SQSBackend.send_message_batch", ("self", "queue_name", "entries"), True),
    Seam("moto.sns.models", "Subscription.publish",
         ("self", "message", "message_id", "subject", "message_attributes", "group_id",
          "deduplication_id", "message_structure"), True),
    Seam("moto.events.models", "Rule.send_to_targets", ("self", "original_event", "transform_input"), True),
    Seam("moto.events.responses", "EventsHandler.put_events", ("self",), True),
    Seam("moto.events.responses", "EventsHandler.test_event_pattern", ("self",), True),
    Seam("moto.events.models", "Replay.replay_events", ("self", "archive"), True),
    Seam("moto.stepfunctions.parser.models", "StepFunctionsParserBackend.start_execution",
         ("self", "state_machine_arn", "name", "execution_input", "trace_header"), True),
    # Called.
    Seam("moto.awslambda.utils", "get_backend", ("account_id", "region"), False),
    Seam("moto.awslambda.models", "LambdaBackend.get_function", ("self", "function_name_or_arn", "qualifier"), False),
    Seam("moto.awslambda.models", "LambdaBackend.get_alias", ("self", "name", "function_name"), False),
    Seam("moto.awslambda.models", "LambdaBackend.list_event_source_mappings",
         ("self", "event_source_arn", "function_name"), False),
    Seam("moto.logs.models", "LogsBackend.ensure_log_group", ("self", "log_group_name"), False),
    Seam("moto.logs.models", "LogsBackend.ensure_log_stream", ("self", "log_group_name", "log_stream_name"), False),
    Seam("moto.logs.models", "LogsBackend.put_log_events",
         ("self", "log_group_name", "log_stream_name", "log_events"), False),
    Seam("moto.cloudwatch.models", "CloudWatchBackend.put_metric_data", ("self", "namespace", "metric_data"), False),
    Seam("moto.sqs.models", "SQSBackend.receive_message",
         ("self", "queue_name", "count", "wait_seconds_timeout", "visibility_timeout", "message_attribute_names"),
         False),
    Seam("moto.sqs.models", "SQSBackend.delete_message", ("self", "queue_name", "receipt_handle"), False),
    Seam("moto.sqs.models", "SQSBackend.send_message",
         ("self", "queue_name", "message_body", "message_attributes", "delay_seconds", "deduplication_id",
          "group_id", "system_attributes", "validate_group_id"), False),
    Seam("moto.sqs.models", "SQSBackend.queues", None, False, instance=True),
    Seam("moto.sqs.exceptions", "SQSException", None, False),
    Seam("moto.awslambda.exceptions", "LambdaClientError", None, False),
    Seam("moto.awslambda.models", "EventInvokeConfig.config", None, False, instance=True),
    Seam("moto.sns.models", "SNSBackend.publish", None, False),
    Seam("moto.sns.models", "Subscription.get_post_data",
         ("self", "message", "message_id", "subject", "message_attributes"), False),
    Seam("moto.sns.models", "Subscription._parse_message_structure", ("self", "message", "protocol"), False),
    Seam("moto.sns.models", "Subscription.attributes", None, False, instance=True),
    Seam("moto.sns.models", "Subscription.protocol", None, False, instance=True),
    Seam("moto.elasticache.models", "elasticache_backends", None, False),
    Seam("moto.elasticache.models", "ElastiCacheBackend.cache_clusters", None, False, instance=True),
    Seam("moto.elasticache.models", "ElastiCacheBackend.replication_groups", None, False, instance=True),
    Seam("moto.elasticache.models", "ElastiCacheBackend.tagging_service", None, False, instance=True),
    Seam("moto.elasticache.models", "CacheCluster.arn", None, False, instance=True),
    Seam("moto.elasticache.models", "ReplicationGroup.arn", None, False, instance=True),
    Seam("moto.utilities.tagging_service", "TaggingService.delete_all_tags_for_resource", ("self", "arn"), False),
    Seam("moto.events.models", "EventsBackend.put_events", ("self", "events"), False),
    Seam("moto.events.models", "Rule.targets", None, False, instance=True),
    Seam("moto.events.models", "EventsBackend.describe_event_bus", ("self", "name"), False),
    Seam("moto.events.models", "EventPattern.load", ("raw_pattern",), False),
    Seam("moto.events.models", "EventPattern.matches_event", ("self", "event"), False),
    Seam("moto.events.models", "EventPattern.get_pattern", ("self",), False),
    Seam("moto.events.models", "EventPatternParser.parse", ("self",), False),
    Seam("moto.events.models", "ReplayState.COMPLETED", None, False),
    Seam("moto.events.responses", "EventsHandler._get_param", None, False),
    Seam("moto.events.responses", "EventsHandler.events_backend", None, False),
    Seam("moto.logs.exceptions", "ResourceNotFoundException", None, False),
)

#: Attributes of moto's ``LambdaFunction`` objects that :func:`function_spec`
#: reads (instance attributes: the tests check them on a real function).
FUNCTION_ATTRIBUTES = (
    "function_name", "function_arn", "version", "region", "account_id", "handler", "run_time",
    "code_bytes", "code_sha_256", "timeout", "memory_size", "environment_vars", "role",
    "description", "layers", "ephemeral_storage", "reserved_concurrency", "event_invoke_config",
)


def _resolve(seam: Seam) -> Any:
    target: Any = importlib.import_module(seam.module)
    parts = seam.qualname.split(".")
    for part in parts[:-1] if seam.instance else parts:
        target = getattr(target, part)
    return target  # for an instance attribute, its class (the tests check the attribute on real objects)


def check_seams() -> list[str]:
    """Every way the installed moto differs from :data:`SEAMS` (empty: none)."""
    problems = []
    for seam in SEAMS:
        try:
            target = _resolve(seam)
        except (ImportError, AttributeError) as error:
            problems.append(f"{seam.path} is gone ({error})")
            continue
        if seam.params is not None:
            original = getattr(target, "__labkit_original__", target)
            found = tuple(inspect.signature(original).parameters)
            if found != seam.params:
                problems.append(f"{seam.path} takes {found}, labkit expects {seam.params}")
    return problems


def moto_version() -> str:
    from importlib.metadata import version

    return version("moto")


# --------------------------------------------------------------------------
# Installing the patches
# --------------------------------------------------------------------------

_ORIGINALS: dict[str, Callable[..., Any]] = {}
_INSTALL_LOCK = threading.Lock()


def install() -> None:
    """Check every seam, then patch moto. Idempotent; raises :class:`SeamMoved`."""
    with _INSTALL_LOCK:
        if _ORIGINALS:
            return
        problems = check_seams()
        if problems:
            raise SeamMoved(
                f"labkit's Lambda runtime was tested with moto {TESTED_MOTO[0]},{TESTED_MOTO[1]}; "
                f"moto {moto_version()} is installed and differs: " + "; ".join(problems)
                + ". Install a tested moto (pip install 'moto" + ",".join(TESTED_MOTO) + "') "
                "or update labkit/moto_seams.py."
            )
        replacements = {
            "moto.awslambda.responses.LambdaResponse.invoke": _response_invoke,
            "moto.awslambda.models.LambdaBackend.invoke": _backend_invoke,
            "moto.awslambda_simple.models.LambdaSimpleBackend.invoke": _backend_invoke,
            "moto.awslambda.models.LambdaFunction.invoke": _function_invoke,
            "moto.awslambda.models.LambdaFunction._invoke_lambda": _function_invoke_lambda,
            "moto.awslambda.models.LambdaBackend.send_sns_message": _send_sns_message,
            "moto.awslambda.models.LambdaBackend.send_dynamodb_items": _send_dynamodb_items,
            "moto.awslambda.models.LambdaBackend.create_event_source_mapping": _create_event_source_mapping,
            "moto.awslambda.models.LambdaBackend.update_event_source_mapping": _update_event_source_mapping,
            "moto.awslambda.models.LambdaBackend.put_function_event_invoke_config": _put_event_invoke_config,
            "moto.awslambda.models.LambdaBackend.update_function_event_invoke_config": _update_event_invoke_config,
            "moto.sqs.models.Queue.add_message": _queue_add_message,
            "moto.sqs.models.SQSBackend.send_message_batch": _send_message_batch,
            "moto.sns.models.Subscription.publish": _subscription_publish,
            "moto.events.models.Rule.send_to_targets": _rule_send_to_targets,
            "moto.events.responses.EventsHandler.put_events": _events_put_events,
            "moto.events.responses.EventsHandler.test_event_pattern": _events_test_event_pattern,
            "moto.events.models.Replay.replay_events": _replay_events,
            "moto.stepfunctions.parser.models.StepFunctionsParserBackend.start_execution": _sfn_start_execution,
        }
        for path, replacement in replacements.items():
            module_name, class_name, attribute = path.rsplit(".", 2)
            owner = getattr(importlib.import_module(module_name), class_name)
            original = owner.__dict__[attribute]
            _ORIGINALS[path] = original
            patched = _wrap(replacement, original)
            setattr(owner, attribute, patched)


def _wrap(replacement: Callable[..., Any], original: Callable[..., Any]) -> Callable[..., Any]:
    def patched(self: Any, *args: Any, **kwargs: Any) -> Any:
        return replacement(original, self, *args, **kwargs)

    patched.__name__ = getattr(original, "__name__", "patched")
    patched.__doc__ = f"Patched by labkit.moto_seams: {replacement.__doc__}"
    patched.__labkit_original__ = original  # type: ignore[attr-defined]
    patched.__wrapped__ = original  # type: ignore[attr-defined]
    return patched


def uninstall() -> None:
    """Put moto's own methods back (for tests of the seams themselves)."""
    with _INSTALL_LOCK:
        for path, original in _ORIGINALS.items():
            module_name, class_name, attribute = path.rsplit(".", 2)
            setattr(getattr(importlib.import_module(module_name), class_name), attribute, original)
        _ORIGINALS.clear()


def installed() -> bool:
    return bool(_ORIGINALS)


# --------------------------------------------------------------------------
# Reading moto's objects
# --------------------------------------------------------------------------


def _lambda_backend(account_id: str, region: str) -> Any:
    from moto.awslambda.utils import get_backend

    return get_backend(account_id, region)


def function_spec(fn: Any) -> FunctionSpec:
    """What the runtime needs to know about a moto ``LambdaFunction``."""
    try:
        other = json.dumps([fn.role, fn.description, fn.layers, fn.ephemeral_storage,
                            getattr(fn, "_vpc_config", None)], sort_keys=True, default=str)
        name = fn.function_name
        return FunctionSpec(
            name=name,
            arn=fn.function_arn.split(":function:")[0] + ":function:" + name,
            version=str(fn.version),
            region=fn.region,
            account_id=fn.account_id,
            handler=fn.handler or "",
            runtime=fn.run_time or "",
            code_sha256=fn.code_sha_256,
            timeout=float(fn.timeout),
            memory_mb=int(fn.memory_size),
            environment=tuple(sorted((str(k), str(v)) for k, v in (fn.environment_vars or {}).items())),
            other_config=other,
        )
    except AttributeError as error:
        raise SeamMoved(f"moto's LambdaFunction has changed: {error}") from error


def function_code(fn: Any) -> bytes:
    return fn.code_bytes  # type: ignore[no-any-return]


def _latest(fn: Any) -> Any:
    if str(fn.version) == "$LATEST":
        return fn
    return _lambda_backend(fn.account_id, fn.region).get_function(fn.function_name)


def reserved_concurrency(fn: Any) -> int | None:
    """Reserved concurrency is set on the function, not on a version."""
    value = _latest(fn).reserved_concurrency
    return None if value is None or value == "" else int(value)


def event_invoke_config(fn: Any) -> dict[str, Any]:
    """The function's asynchronous invocation settings (``{}`` when none are set)."""
    configs = _latest(fn).event_invoke_config
    return dict(configs[-1].config) if configs else {}


def _put_event_invoke_config(original: Any, backend: Any, function_name: str,
                             config: dict[str, Any]) -> dict[str, Any]:
    """PutFunctionEventInvokeConfig overwrites the function's configuration, and
    the settings it leaves out are removed (moto appends a second configuration
    and keeps reading the first)."""
    response = original(backend, function_name, config)  # validates and appends
    del backend.get_function(function_name).event_invoke_config[:-1]
    return response  # type: ignore[no-any-return]


def _update_event_invoke_config(original: Any, backend: Any, function_name: str,
                                config: dict[str, Any]) -> dict[str, Any]:
    """UpdateFunctionEventInvokeConfig changes only the settings it names (moto
    treats it as a put, which drops the others)."""
    configs = backend.get_function(function_name).event_invoke_config
    current = dict(configs[-1].config) if configs else {}
    return original(backend, function_name, {**current, **config})  # type: ignore[no-any-return]


def resolve_function(name_or_arn: str, qualifier: str | None, region: str | None) -> tuple[Any, str, str | None]:
    """The moto function an invoke targets, the ARN it was invoked by, and the
    ``name:qualifier`` resource (None when unqualified). Alias weights apply."""
    from labkit import sandbox

    account_id = sandbox.ACCOUNT_ID
    if name_or_arn.startswith("arn:"):
        parts = name_or_arn.split(":")
        region, account_id = parts[3], parts[4]
    region = region or (sandbox._SANDBOX.region if sandbox._SANDBOX else sandbox.REGION)
    return _resolve_in(_lambda_backend(account_id, region), name_or_arn, qualifier)


def _resolve_in(backend: Any, name_or_arn: str, qualifier: str | None) -> tuple[Any, str, str | None]:
    name = name_or_arn.split(":function:")[-1] if name_or_arn.startswith("arn:") else name_or_arn
    if ":" in name:
        name, qualifier = name.split(":", 1)
    fn = backend.get_function(name, qualifier)
    if qualifier and qualifier != "$LATEST" and not qualifier.isdigit():
        fn = _route_alias(backend, name, qualifier, fn)
    base = fn.function_arn.split(":function:")[0] + ":function:" + fn.function_name
    invoked = f"{base}:{qualifier}" if qualifier else base
    return fn, invoked, (f"{fn.function_name}:{qualifier}" if qualifier else None)


def _route_alias(backend: Any, name: str, alias_name: str, fn: Any) -> Any:
    """An alias with ``AdditionalVersionWeights`` sends that share of
    invocations to the other version (weighted routing, as for canaries)."""
    alias = backend.get_alias(alias_name, name)
    weights = ((alias.routing_config or {}).get("AdditionalVersionWeights") or {}) if alias else {}
    draw = random.random()
    for version, weight in weights.items():
        draw -= float(weight)
        if draw < 0:
            return backend.get_function(name, str(version))
    return fn


def write_log_events(spec: FunctionSpec, stream: str, events: list[tuple[int, str]]) -> None:
    from moto.logs.models import logs_backends

    logs = logs_backends[spec.account_id][spec.region]
    logs.ensure_log_group(spec.log_group)
    logs.ensure_log_stream(spec.log_group, stream)
    logs.put_log_events(spec.log_group, stream, [{"timestamp": t, "message": m} for t, m in events])


def put_metric_data(region: str, account_id: str, namespace: str, data: list[dict[str, Any]]) -> None:
    from moto.cloudwatch.models import cloudwatch_backends

    cloudwatch_backends[account_id][region].put_metric_data(namespace, data)


def send_to_destination(arn: str, record: dict[str, Any], fn: Any) -> None:
    """Deliver an async invocation record to an SQS, SNS, Lambda or EventBridge destination."""
    service, region, account_id, resource = _arn_parts(arn)
    body = json.dumps(record)
    if service == "sqs":
        from moto.sqs.models import sqs_backends

        sqs_backends[account_id][region].send_message(resource, body)
    elif service == "sns":
        from moto.sns.models import sns_backends

        sns_backends[account_id][region].publish(body, arn=arn)
    elif service == "lambda":
        target, invoked, res = _resolve_in(_lambda_backend(account_id, region), arn, None)
        lambda_runtime.invoke_async(target, body, invoked_arn=invoked, resource=res)
    elif service == "events":
        from moto.events.models import events_backends

        success = record["requestContext"]["condition"] == "Success"
        events_backends[account_id][region].put_events([{
            "Source": "lambda",
            "DetailType": f"Lambda Function Invocation Result - {'Success' if success else 'Failure'}",
            "Detail": body, "Resources": [record["requestContext"]["functionArn"]],
            "EventBusName": resource.split("/")[-1],
        }])


def _arn_parts(arn: str) -> tuple[str, str, str, str]:
    parts = arn.split(":", 5)
    return parts[2], parts[3], parts[4], parts[5]


def _now_iso(millis: bool = True) -> str:
    now = datetime.now(timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z" if millis else now.strftime("%Y-%m-%dT%H:%M:%SZ")


# --------------------------------------------------------------------------
# Lambda: invoke through boto3, and moto's own callers
# --------------------------------------------------------------------------


_REQUEST = threading.local()


def _response_invoke(original: Any, response: Any) -> Any:
    """moto's ``Invoke`` handler reads ``?qualifier=``, but boto3 sends
    ``?Qualifier=``: keep it for :func:`_backend_invoke`."""
    _REQUEST.qualifier = (response.querystring.get("Qualifier") or [None])[0]
    try:
        return original(response)
    finally:
        _REQUEST.qualifier = None


def _backend_invoke(original: Any, backend: Any, function_name: str, qualifier: str | None,
                    body: Any, headers: Any, response_headers: dict[str, Any]) -> bytes:
    """``Invoke``: run the function and shape the HTTP response like AWS."""
    from moto.awslambda.exceptions import LambdaClientError

    qualifier = qualifier or getattr(_REQUEST, "qualifier", None)

    lowered = {str(k).lower(): v for k, v in dict(headers or {}).items()}
    invocation_type = lowered.get("x-amz-invocation-type", "RequestResponse")
    fn, invoked_arn, resource = _resolve_in(backend, function_name, qualifier)
    if isinstance(body, bytes):
        body = body.decode("utf-8")
    if body:
        try:
            json.loads(body)
        except ValueError as error:
            raise LambdaClientError("InvalidRequestContentException",
                                    f"Could not parse request body into json: {error}") from None
    if invocation_type == "Event":
        result = lambda_runtime.invoke_async(fn, body or "", invoked_arn=invoked_arn, resource=resource)
    else:
        result = lambda_runtime.run_function(fn, body, invoked_arn=invoked_arn,
                                             invocation_type=invocation_type, resource=resource)
    if result.throttled:
        raise _too_many_requests()
    if result.function_error:
        response_headers["x-amz-function-error"] = result.function_error
    if invocation_type == "RequestResponse":
        response_headers["x-amz-log-result"] = result.log_result
        response_headers["x-amz-executed-version"] = result.executed_version
    response_headers["Content-Length"] = str(len(result.payload))
    return result.payload


_THROTTLE_ERROR: list[type[Exception]] = []


def _too_many_requests() -> Exception:
    """moto's JSON error for a throttled invoke: HTTP 429, with AWS's Reason."""
    if not _THROTTLE_ERROR:
        from moto.awslambda.exceptions import LambdaClientError

        class TooManyRequestsException(LambdaClientError):
            code = 429

            def __init__(self) -> None:
                super().__init__("TooManyRequestsException", lambda_runtime.THROTTLE_MESSAGE)
                self.description = json.dumps({
                    "Reason": lambda_runtime.THROTTLE_REASON, "Type": "User",
                    "message": lambda_runtime.THROTTLE_MESSAGE, "__type": "TooManyRequestsException"})

        _THROTTLE_ERROR.append(TooManyRequestsException)
    return _THROTTLE_ERROR[0]()


def _function_invoke(original: Any, fn: Any, body: str, request_headers: Any, response_headers: Any) -> bytes:
    """``LambdaFunction.invoke``: how S3 notifications, Kinesis, Logs subscriptions
    and ``InvokeAsync`` reach a function. Without an invocation type these are
    asynchronous (Event) invocations, as on AWS."""
    lowered = {str(k).lower(): v for k, v in dict(request_headers or {}).items()}
    invocation_type = lowered.get("x-amz-invocation-type", "Event")
    payload = body.decode("utf-8") if isinstance(body, bytes) else body
    arn = fn.function_arn
    if invocation_type == "Event":
        result = lambda_runtime.invoke_async(fn, payload, invoked_arn=arn)
    else:
        result = lambda_runtime.run_function(fn, payload, invoked_arn=arn, invocation_type=invocation_type)
    if result.function_error:
        response_headers["x-amz-function-error"] = result.function_error
    return result.payload


def _function_invoke_lambda(original: Any, fn: Any, event: Any = None) -> tuple[str, bool, str]:
    """``LambdaFunction._invoke_lambda``: moto's Docker path, now in-process."""
    payload = json.dumps(event if event is not None else {}) if not isinstance(event, str) else event
    result = lambda_runtime.run_function(fn, payload, invoked_arn=fn.function_arn)
    return result.payload.decode("utf-8"), result.function_error is not None, result.logs


# --------------------------------------------------------------------------
# SQS event source mappings
# --------------------------------------------------------------------------

_DEFER = threading.local()  # queues to poll once the current SendMessageBatch ends
_POLL_DEPTH = [0]  # nested polls (a handler sending to a mapped queue)
#: AWS stops a recursive loop after about 16 invocations; so do we.
MAX_POLL_DEPTH = 16
#: One poll retries a message at most this often (a visibility timeout of 0).
MAX_DELIVERIES_PER_POLL = 10


def _sqs_backend(account_id: str, region: str) -> Any:
    from moto.sqs.models import sqs_backends

    return sqs_backends[account_id][region]


def _queue_mappings(queue: Any) -> list[Any]:
    """Enabled mappings whose source is this queue, from the Lambda backend
    (the source of truth: moto's per-queue dict keeps deleted mappings)."""
    backend = _lambda_backend(queue.account_id, queue.region)
    return [esm for esm in backend.list_event_source_mappings(queue.queue_arn, None) if esm.enabled]


def _create_event_source_mapping(original: Any, backend: Any, spec: dict[str, Any]) -> Any:
    """Create the mapping; an SQS mapping starts polling at once, as on AWS."""
    esm = original(backend, spec)
    queue = _queue_by_arn(esm.event_source_arn)
    if queue is not None:
        queue.lambda_event_source_mappings.clear()  # moto's own dispatch stays off
        poll_queue(queue)
    return esm


def _update_event_source_mapping(original: Any, backend: Any, uuid: str, spec: dict[str, Any]) -> Any:
    esm = original(backend, uuid, spec)
    if esm is not None and esm.enabled:
        queue = _queue_by_arn(esm.event_source_arn)
        if queue is not None:
            poll_queue(queue)
    return esm


def _queue_by_arn(arn: str) -> Any:
    service, region, account_id, name = _arn_parts(arn)
    if service != "sqs":
        return None
    return _sqs_backend(account_id, region).queues.get(name)


def _queue_add_message(original: Any, queue: Any, message: Any) -> None:
    """A message arrived: the mapping's poller picks it up at once."""
    delivery = getattr(_SNS_DELIVERY, "current", None)
    if delivery is not None:
        delivery.accepted = True  # an SNS delivery to this queue succeeded; what the poller does is not SNS's
    original(queue, message)
    pending = getattr(_DEFER, "queues", None)
    if pending is not None:
        pending.add(queue)
    else:
        poll_queue(queue)


def _send_message_batch(original: Any, backend: Any, queue_name: str, entries: Any) -> Any:
    """Poll once after the whole batch, so a function gets batches, not singles."""
    outer = getattr(_DEFER, "queues", None)
    _DEFER.queues = set() if outer is None else outer
    try:
        result = original(backend, queue_name, entries)
    finally:
        pending, _DEFER.queues = _DEFER.queues, outer
    if outer is None:
        for queue in pending:
            poll_queue(queue)
    return result


def poll_all_sqs_mappings() -> int:
    """Poll every SQS queue that an enabled mapping reads; messages delivered."""
    from moto.sqs.models import sqs_backends

    delivered = 0
    for account_id, regions in list(sqs_backends.items()):
        for region, backend in list(regions.items()):
            for queue in list(backend.queues.values()):
                delivered += poll_queue(queue)
    return delivered


def poll_queue(queue: Any) -> int:
    """What Lambda's SQS poller does: receive up to BatchSize visible messages,
    invoke the function once per batch, delete what succeeded. Failed messages
    stay in flight until the queue's visibility timeout, then are received
    again (and moved to the DLQ by the redrive policy)."""
    mappings = _queue_mappings(queue)
    if not mappings or _POLL_DEPTH[0] >= MAX_POLL_DEPTH:
        return 0
    sqs = _sqs_backend(queue.account_id, queue.region)
    deliveries: dict[str, int] = {}
    delivered = 0
    _POLL_DEPTH[0] += 1
    try:
        progressed = True
        while progressed:
            progressed = False
            for esm in mappings:
                messages = sqs.receive_message(queue.name, esm.batch_size, 0, queue.visibility_timeout, ["All"])
                if not messages:
                    continue
                for message in messages:
                    deliveries[message.id] = deliveries.get(message.id, 0) + 1
                _deliver_batch(sqs, queue, esm, messages)
                delivered += len(messages)
                progressed = progressed or any(deliveries[m.id] < MAX_DELIVERIES_PER_POLL for m in messages)
    finally:
        _POLL_DEPTH[0] -= 1
    return delivered


def _deliver_batch(sqs: Any, queue: Any, esm: Any, messages: list[Any]) -> None:
    event = {"Records": [_sqs_record(queue, m) for m in messages]}
    service, region, account_id, _ = _arn_parts(esm.function_arn)
    fn, invoked, resource = _resolve_in(_lambda_backend(account_id, region), esm.function_arn, None)
    result = lambda_runtime.run_function(fn, json.dumps(event), invoked_arn=invoked, resource=resource)
    if result.throttled or result.function_error:
        return  # the whole batch returns to the queue after the visibility timeout
    failed = _batch_item_failures(esm, result, {m.id for m in messages})
    for message in messages:
        if message.id not in failed:
            sqs.delete_message(queue.name, message.receipt_handle)


def _batch_item_failures(esm: Any, result: lambda_runtime.InvocationResult, ids: set[str]) -> set[str]:
    """The message ids a partial batch response reports as failed. An invalid
    report fails the whole batch; an empty or null one fails nothing."""
    if "ReportBatchItemFailures" not in (esm.function_response_types or []):
        return set()
    try:
        response = result.json()
    except ValueError:
        return set()
    if not isinstance(response, dict) or not response.get("batchItemFailures"):
        return set()
    failed = set()
    for item in response["batchItemFailures"]:
        identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not identifier or identifier not in ids:
            return set(ids)
        failed.add(identifier)
    return failed


def _sqs_record(queue: Any, message: Any) -> dict[str, Any]:
    """One record of an SQS event, in the shape Lambda delivers it."""
    attributes = {
        "ApproximateReceiveCount": str(message.approximate_receive_count),
        "SentTimestamp": str(message.sent_timestamp),
        "SenderId": str(message.sender_id),
        "ApproximateFirstReceiveTimestamp": str(message.approximate_first_receive_timestamp),
    }
    if queue.fifo_queue:
        if message.sequence_number is not None:  # moto numbers only explicitly deduplicated messages
            attributes["SequenceNumber"] = str(message.sequence_number)
        attributes.update({"MessageGroupId": str(message.group_id),
                           "MessageDeduplicationId": str(message.deduplication_id)})
    record: dict[str, Any] = {
        "messageId": message.id,
        "receiptHandle": message.receipt_handle,
        "body": message.body,
        "attributes": attributes,
        "messageAttributes": {
            name: {"stringValue": value.get("StringValue"), "binaryValue": value.get("BinaryValue"),
                   "stringListValues": [], "binaryListValues": [], "dataType": value.get("DataType")}
            for name, value in message.message_attributes.items()
        },
        "md5OfBody": message.body_md5,
        "eventSource": "aws:sqs",
        "eventSourceARN": queue.queue_arn,
        "awsRegion": queue.region,
    }
    if message.message_attributes:
        record["md5OfMessageAttributes"] = message.attribute_md5
    return record


# --------------------------------------------------------------------------
# SNS deliveries: Lambda subscribers, and the subscription's dead-letter queue
# --------------------------------------------------------------------------


@dataclass
class _SnsDelivery:
    """One message on its way to one subscription."""

    subscription: Any
    message_id: str
    attributes: dict[str, Any]
    accepted: bool = False  # the endpoint took it: later errors are not SNS's delivery failing


_SNS_DELIVERY = threading.local()


def _subscription_publish(original: Any, subscription: Any, message: str, message_id: str,
                          subject: str | None = None, message_attributes: Any = None, group_id: Any = None,
                          deduplication_id: Any = None, message_structure: Any = None) -> None:
    """Deliver to one subscription (moto applies the filter policy and message
    structure, then sends to the queue or calls send_sns_message). A delivery
    the endpoint refuses, because the queue or function was deleted, is a
    client-side error on AWS: SNS does not retry it, Publish still succeeds, and
    the message goes to the subscription's dead-letter queue, or is discarded
    when the subscription has none (moto raises, so Publish failed)."""
    from moto.awslambda.exceptions import LambdaClientError
    from moto.sqs.exceptions import SQSException

    delivery = _SnsDelivery(subscription, message_id, message_attributes or {})
    outer = getattr(_SNS_DELIVERY, "current", None)
    _SNS_DELIVERY.current = delivery
    try:
        original(subscription, message, message_id, subject, message_attributes, group_id,
                 deduplication_id, message_structure)
    except (SQSException, LambdaClientError):
        if delivery.accepted:
            raise
        _dead_letter(subscription, message, message_id, subject, message_attributes, group_id,
                     deduplication_id, message_structure)
    finally:
        _SNS_DELIVERY.current = outer


def _dead_letter(subscription: Any, message: str, message_id: str, subject: str | None,
                 message_attributes: Any, group_id: Any, deduplication_id: Any, message_structure: Any) -> None:
    """Send an undeliverable message to the queue in the subscription's
    RedrivePolicy, in the form the subscriber would have received it: the SNS
    JSON envelope, or the bare message with its attributes as SQS message
    attributes when RawMessageDelivery is on. SNS adds no attributes of its
    own. Without a RedrivePolicy, or when that queue is gone too, the message
    is dropped."""
    from moto.sqs.exceptions import SQSException

    try:
        target = str(json.loads(subscription.attributes.get("RedrivePolicy") or "{}")["deadLetterTargetArn"])
        service, region, account_id, name = _arn_parts(target)
    except (ValueError, KeyError, TypeError, IndexError):
        return
    sqs = _sqs_backend(account_id, region) if service == "sqs" else None
    queue = sqs.queues.get(name) if sqs is not None else None
    if queue is None:
        return
    if message_structure == "json":
        message = subscription._parse_message_structure(message, subscription.protocol)
    attributes = None
    if subscription.protocol != "lambda" and subscription.attributes.get("RawMessageDelivery"):
        body = message
        attributes = _raw_message_attributes(message_attributes or {})
    else:
        body = json.dumps(subscription.get_post_data(message, message_id, subject,
                                                     message_attributes=message_attributes),
                          sort_keys=True, indent=2, separators=(",", ": "))
    fifo = bool(queue.fifo_queue)
    try:
        sqs.send_message(name, body, message_attributes=attributes,
                         deduplication_id=(deduplication_id or message_id) if fifo else None,
                         group_id=group_id if fifo else None)
    except SQSException:
        pass  # AWS counts it in NumberOfNotificationsFailedToRedriveToDlq; the message is lost


def _raw_message_attributes(attributes: dict[str, Any]) -> dict[str, Any]:
    """SNS message attributes as SQS message attributes (what raw delivery sends)."""
    out = {}
    for key, value in attributes.items():
        kind = str(value["Type"])
        field = "BinaryValue" if kind.startswith("Binary") else "StringValue"
        out[key] = {"DataType": kind, field: value["Value"] if field == "BinaryValue" else str(value["Value"])}
    return out


def _send_sns_message(original: Any, backend: Any, function_name: str, message: str,
                      subject: str | None = None, qualifier: str | None = None) -> None:
    """SNS invokes the function asynchronously with an SNS event."""
    delivery = getattr(_SNS_DELIVERY, "current", None)
    subscription = delivery.subscription if delivery is not None else None
    message_id, attributes = (delivery.message_id, delivery.attributes) if delivery is not None else ("", {})
    topic_arn = subscription.topic.arn if subscription is not None else ""
    record = {
        "EventSource": "aws:sns",
        "EventVersion": "1.0",
        "EventSubscriptionArn": subscription.arn if subscription is not None else "",
        "Sns": {
            "Type": "Notification",
            "MessageId": message_id,
            "TopicArn": topic_arn,
            "Subject": subject,
            "Message": message,
            "Timestamp": _now_iso(),
            "SignatureVersion": "1",
            "Signature": "EXAMPLE",
            "SigningCertUrl": "EXAMPLE",
            "UnsubscribeUrl": "EXAMPLE",
            "MessageAttributes": {name: {"Type": value.get("Type"), "Value": value.get("Value")}
                                  for name, value in attributes.items()},
        },
    }
    target = f"{function_name}:{qualifier}" if qualifier else function_name
    fn, invoked, resource = _resolve_in(backend, target, None)  # a deleted function raises here
    if delivery is not None:
        delivery.accepted = True
    lambda_runtime.invoke_async(fn, json.dumps({"Records": [record]}), invoked_arn=invoked, resource=resource)


# --------------------------------------------------------------------------
# EventBridge targets
# --------------------------------------------------------------------------


_SCHEDULE = threading.local()


def _rule_send_to_targets(original: Any, rule: Any, original_event: dict[str, Any],
                          transform_input: bool = True) -> None:
    """Deliver a matched event to every target as AWS does: a disabled rule and a
    schedule-only rule receive no events; each SQS, CloudWatch Logs, Lambda and
    SNS target gets the payload its Input/InputPath/InputTransformer builds
    (:func:`labkit.eventbridge.target_payload`). Archives, event buses and API
    destinations stay moto's. ``transform_input`` is ignored: AWS always applies
    the target's input settings, also to replayed and S3 events."""
    from labkit import eventbridge

    scheduled = getattr(_SCHEDULE, "rule", None) is rule
    if not str(rule.state).startswith("ENABLED"):
        return
    if not scheduled and (not rule.event_pattern.get_pattern() or not rule.event_pattern.matches_event(original_event)):
        return
    ours = [t for t in rule.targets if _arn_parts(t["Arn"])[0] in ("lambda", "sns", "sqs", "logs")]
    if len(ours) < len(rule.targets) and not scheduled:
        saved = rule.targets
        rule.targets = [t for t in saved if t not in ours]
        try:
            original(rule, original_event, True)
        finally:
            rule.targets = saved
    for target in ours:
        payload = eventbridge.target_payload(target, original_event, rule.name, rule.arn)
        _deliver_to_target(target, payload, original_event)


def _deliver_to_target(target: dict[str, Any], payload: str, event: dict[str, Any]) -> None:
    service, region, account_id, resource = _arn_parts(target["Arn"])
    if service == "lambda":
        fn, invoked, res = _resolve_in(_lambda_backend(account_id, region), target["Arn"], None)
        lambda_runtime.invoke_async(fn, payload, invoked_arn=invoked, resource=res)
    elif service == "sns":
        from moto.sns.models import sns_backends

        sns_backends[account_id][region].publish(payload, arn=target["Arn"])
    elif service == "sqs":
        from moto.sqs.models import sqs_backends

        group_id = (target.get("SqsParameters") or {}).get("MessageGroupId")
        sqs_backends[account_id][region].send_message(
            resource, payload, group_id=group_id, deduplication_id=str(event.get("id")) if group_id else None)
    elif service == "logs":
        _deliver_to_log_group(account_id, region, resource, payload, event)


def _deliver_to_log_group(account_id: str, region: str, resource: str, payload: str, event: dict[str, Any]) -> None:
    """One log event per delivery, in a stream named after the event id. A
    template of the form {"timestamp": ..., "message": ...} sets the message."""
    from moto.logs.exceptions import ResourceNotFoundException
    from moto.logs.models import logs_backends

    group = resource.split("log-group:", 1)[-1].split(":", 1)[0]
    message = payload
    try:
        parsed = json.loads(payload)
        if isinstance(parsed, dict) and set(parsed) == {"timestamp", "message"}:
            message = parsed["message"] if isinstance(parsed["message"], str) else json.dumps(parsed["message"])
    except ValueError:
        pass
    logs = logs_backends[account_id][region]
    stream = str(event.get("id") or uuid.uuid4())
    try:
        logs.ensure_log_stream(group, stream)
    except ResourceNotFoundException:
        return  # AWS cannot deliver to a missing log group either
    logs.put_log_events(group, stream, [{"timestamp": int(time.time() * 1000), "message": message}])


def put_service_event(account_id: str, region: str, entry: dict[str, Any]) -> str:
    """Put an event on the default bus from inside, as an AWS service does (no
    check of the ``aws.`` prefix). Returns the event id."""
    from moto.events.models import events_backends

    [result] = events_backends[account_id][region].put_events([entry])
    if "EventId" not in result:
        raise ValueError(f"{result.get('ErrorCode')}: {result.get('ErrorMessage')}")
    return str(result["EventId"])


def fire_scheduled_rule(account_id: str, region: str, rule_name: str) -> dict[str, Any] | None:
    """Deliver AWS's scheduled event to a scheduled rule's targets, now."""
    from labkit import eventbridge
    from moto.events.models import events_backends

    bus = events_backends[account_id][region].describe_event_bus("default")
    rule = bus.rules.get(rule_name)
    if rule is None:
        raise ValueError(f"no rule {rule_name!r} on the default event bus")
    if not rule.scheduled_expression:
        raise ValueError(f"rule {rule_name!r} has no ScheduleExpression: it reacts to events, not to a clock")
    if not str(rule.state).startswith("ENABLED"):
        return None
    now = time.time()
    event = {"version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event", "source": "aws.events",
             "account": account_id, "time": now, "region": region, "resources": [rule.arn], "detail": {},
             "ingestion-time": now}
    _SCHEDULE.rule = rule
    try:
        rule.send_to_targets(event)
    finally:
        _SCHEDULE.rule = None
    return eventbridge.aws_event(event)


def _events_put_events(original: Any, response: Any) -> Any:
    """PutEvents: an entry whose source begins with ``aws.`` fails (only AWS
    services may use that prefix); the other entries go through."""
    entries = response._get_param("Entries") or []
    refused = [i for i, e in enumerate(entries) if str(e.get("Source") or "").startswith("aws.")]
    if not refused or len(entries) > 10:
        return original(response)
    allowed = [e for i, e in enumerate(entries) if i not in refused]
    results = iter(response.events_backend.put_events(allowed) if allowed else [])
    out = [{"ErrorCode": "NotAuthorizedForSourceException", "ErrorMessage": "Not authorized for the source."}
           if i in refused else next(results) for i in range(len(entries))]
    return json.dumps({"FailedEntryCount": sum("ErrorCode" in e for e in out), "Entries": out})


def _events_test_event_pattern(original: Any, response: Any) -> Any:
    """TestEventPattern answers with the matcher rules use (moto returns {})."""
    from labkit import eventbridge
    from moto.events.exceptions import InvalidEventPatternException, ValidationException
    from moto.events.models import EventPatternParser

    pattern = response._get_param("EventPattern")
    EventPatternParser(pattern).parse()  # raises InvalidEventPatternException
    try:
        event = json.loads(response._get_param("Event") or "")
    except ValueError:
        raise ValidationException("Parameter Event is not valid. Reason: Event is not valid JSON.") from None
    if not isinstance(event, dict):
        raise InvalidEventPatternException(reason="Event must be a JSON object")
    missing = [f for f in eventbridge.TEST_EVENT_FIELDS if f not in event]
    if missing:
        raise ValidationException(f"Parameter Event is not valid. Reason: Provided Event is missing {', '.join(missing)}.")
    return json.dumps({"Result": eventbridge.pattern_matches(pattern, event)})


def _replay_events(original: Any, replay: Any, archive: Any) -> None:
    """Replay only the archived events whose time lies in [EventStartTime,
    EventEndTime], to the rules named in FilterArns (or every rule on the bus),
    each event marked with ``replay-name``; targets get their usual input."""
    from moto.events.models import ReplayState, events_backends

    backend = events_backends[replay.account_id][replay.region]
    bus = backend.describe_event_bus(replay.destination["Arn"].split("/")[-1])
    start, end = float(replay.event_start_time), float(replay.event_end_time)
    filters = set(replay.destination.get("FilterArns") or [])
    for event in list(archive.events):
        when = _event_epoch(event.get("time"))
        if when is None or not start <= when <= end:
            continue
        replayed = dict(event, **{"replay-name": replay.name})
        for rule in list(bus.rules.values()):
            if not filters or rule.arn in filters:
                rule.send_to_targets(replayed)
    replay.state = ReplayState.COMPLETED
    replay.end_time = time.time()


def _event_epoch(value: Any) -> float | None:
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            try:
                return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp()
            except ValueError:
                return None
    return None


# --------------------------------------------------------------------------
# DynamoDB stream mappings
# --------------------------------------------------------------------------


def _send_dynamodb_items(original: Any, backend: Any, function_arn: str, items: list[Any], source: str) -> bytes:
    """Invoke once per BatchSize records. A failed batch keeps every pending
    record in the shard; they are sent again with the next write."""
    mappings = [esm for esm in backend.list_event_source_mappings(source, None)
                if esm.function_arn == function_arn]
    if not mappings or not mappings[0].enabled:
        return b""
    size = int(mappings[0].batch_size or 100)
    records = [_dynamodb_record(item, source, backend.region_name) for item in items]
    fn, invoked, resource = _resolve_in(backend, function_arn, None)
    for start in range(0, len(records), size):
        event = json.dumps({"Records": records[start:start + size]}, default=str)
        result = lambda_runtime.run_function(fn, event, invoked_arn=invoked, resource=resource)
        if result.throttled or result.function_error:
            return b""
    return b"ok"


def _dynamodb_record(item: Any, source: str, region: str) -> dict[str, Any]:
    record = item.to_json()
    dynamodb = dict(record["dynamodb"])
    created = dynamodb.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        dynamodb["ApproximateCreationDateTime"] = created.timestamp()
    return {"eventID": record["eventID"], "eventName": record["eventName"],
            "eventVersion": record["eventVersion"], "eventSource": record["eventSource"],
            "awsRegion": region, "dynamodb": dynamodb, "eventSourceARN": source}


# --------------------------------------------------------------------------
# ElastiCache: deleted clusters and replication groups
# --------------------------------------------------------------------------


def forget_elasticache_resource(region: str, kind: str, resource_id: str, account_id: str | None = None) -> bool:
    """Let moto forget a deleted cache cluster (``kind="cluster"``) or
    replication group (``kind="group"``), and its tags, as AWS does once the
    deletion finishes. moto keeps it ``deleting`` forever, so creating the same
    id again failed with ``CacheClusterAlreadyExists``. :mod:`labkit.elasticache`
    calls this after a successful delete. True when moto had it."""
    from labkit import sandbox
    from moto.elasticache.models import elasticache_backends

    if kind not in ("cluster", "group"):
        raise ValueError(f"kind must be 'cluster' or 'group', not {kind!r}")
    if account_id is None:
        account_id = sandbox._SANDBOX.account_id if sandbox._SANDBOX else sandbox.ACCOUNT_ID
    backend = elasticache_backends[account_id][region]
    store = backend.cache_clusters if kind == "cluster" else backend.replication_groups
    resource = store.pop(resource_id, None)
    if resource is None:
        return False
    backend.tagging_service.delete_all_tags_for_resource(resource.arn)
    return True


# --------------------------------------------------------------------------
# Step Functions
# --------------------------------------------------------------------------


def _sfn_start_execution(original: Any, backend: Any, state_machine_arn: str, name: str | None = None,
                         *args: Any, **kwargs: Any) -> Any:
    """StartExecution without a name: AWS generates a UUID; moto's interpreter
    would name the execution ``None``, so a second unnamed start failed with
    ExecutionAlreadyExists."""
    return original(backend, state_machine_arn, name or str(uuid.uuid4()), *args, **kwargs)
