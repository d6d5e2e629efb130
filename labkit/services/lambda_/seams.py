"""The moto internals the Lambda service patches or calls.

Without a Docker engine moto stores Lambda functions but never runs them (an
invoke echoes the payload back). These patches send every way a function can
be invoked to labkit's runtime (:func:`.runtime.run_function`):

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
``Queue.add_message``,        SQS event source mappings (:mod:`.event_sources`):
``send_message_batch``,       batches of up to BatchSize, partial batch
``create_/update_event_``     responses; failed messages stay in flight
``source_mapping``            until the visibility timeout (then DLQ redrive)
``send_dynamodb_items``       DynamoDB stream mappings, in batches of BatchSize
``put_/update_function_``     PutFunctionEventInvokeConfig replaces the
``event_invoke_config``       configuration, Update changes only what it names
                              (moto appended, and kept reading the first)
============================  ===============================================

The registry checks every seam below when the service is first used, and
refuses (naming what moved) if moto changed one; ``tests/services/test_lambda_.py``
checks them too, instance attributes on real moto objects.
"""

from __future__ import annotations

import functools
import json
import threading
from typing import Any

from labkit.core.seams import Seam

from . import event_sources, functions
from .asynchronous import invoke_async
from .model import THROTTLE_MESSAGE, THROTTLE_REASON
from .runtime import run_function


class _Request(threading.local):
    qualifier: str | None = None  # the ?Qualifier= of the Invoke request being handled


_REQUEST = _Request()


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

    qualifier = qualifier or _REQUEST.qualifier
    lowered = {str(k).lower(): v for k, v in dict(headers or {}).items()}
    invocation_type = lowered.get("x-amz-invocation-type", "RequestResponse")
    fn, invoked_arn, resource = functions.resolve_in(backend, function_name, qualifier)
    if isinstance(body, bytes):
        body = body.decode("utf-8")
    if body:
        try:
            json.loads(body)
        except ValueError as error:
            raise LambdaClientError("InvalidRequestContentException",
                                    f"Could not parse request body into json: {error}") from None
    if invocation_type == "Event":
        result = invoke_async(fn, body or "", invoked_arn=invoked_arn, resource=resource)
    else:
        result = run_function(fn, body, invoked_arn=invoked_arn, invocation_type=invocation_type,
                              resource=resource)
    if result.throttled:
        raise _throttle_error()()
    if result.function_error:
        response_headers["x-amz-function-error"] = result.function_error
    if invocation_type == "RequestResponse":
        response_headers["x-amz-log-result"] = result.log_result
        response_headers["x-amz-executed-version"] = result.executed_version
    response_headers["Content-Length"] = str(len(result.payload))
    return result.payload


@functools.cache
def _throttle_error() -> type[Exception]:
    """moto's JSON error for a throttled invoke: HTTP 429, with AWS's Reason
    (a class made once, on first use: moto is imported only then)."""
    from moto.awslambda.exceptions import LambdaClientError

    class TooManyRequestsException(LambdaClientError):
        code = 429

        def __init__(self) -> None:
            super().__init__("TooManyRequestsException", THROTTLE_MESSAGE)
            self.description = json.dumps({
                "Reason": THROTTLE_REASON, "Type": "User",
                "message": THROTTLE_MESSAGE, "__type": "TooManyRequestsException"})

    return TooManyRequestsException


def _function_invoke(original: Any, fn: Any, body: str, request_headers: Any, response_headers: Any) -> bytes:
    """``LambdaFunction.invoke``: how S3 notifications, Kinesis, Logs subscriptions
    and ``InvokeAsync`` reach a function. Without an invocation type these are
    asynchronous (Event) invocations, as on AWS."""
    lowered = {str(k).lower(): v for k, v in dict(request_headers or {}).items()}
    invocation_type = lowered.get("x-amz-invocation-type", "Event")
    payload = body.decode("utf-8") if isinstance(body, bytes) else body
    arn = fn.function_arn
    if invocation_type == "Event":
        result = invoke_async(fn, payload, invoked_arn=arn)
    else:
        result = run_function(fn, payload, invoked_arn=arn, invocation_type=invocation_type)
    if result.function_error:
        response_headers["x-amz-function-error"] = result.function_error
    return result.payload


def _function_invoke_lambda(original: Any, fn: Any, event: Any = None) -> tuple[str, bool, str]:
    """``LambdaFunction._invoke_lambda``: moto's Docker path, now in-process."""
    payload = json.dumps(event if event is not None else {}) if not isinstance(event, str) else event
    result = run_function(fn, payload, invoked_arn=fn.function_arn)
    return result.payload.decode("utf-8"), result.function_error is not None, result.logs


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


_INVOKE = ("self", "function_name", "qualifier", "body", "headers", "response_headers")

SEAMS: tuple[Seam, ...] = (
    # Replaced.
    Seam("moto.awslambda.responses", "LambdaResponse.invoke", ("self",), _response_invoke),
    Seam("moto.awslambda.models", "LambdaBackend.invoke", _INVOKE, _backend_invoke),
    Seam("moto.awslambda_simple.models", "LambdaSimpleBackend.invoke", _INVOKE, _backend_invoke),
    Seam("moto.awslambda.models", "LambdaFunction.invoke", ("self", "body", "request_headers", "response_headers"),
         _function_invoke),
    Seam("moto.awslambda.models", "LambdaFunction._invoke_lambda", ("self", "event"), _function_invoke_lambda),
    Seam("moto.awslambda.models", "LambdaBackend.send_dynamodb_items", ("self", "function_arn", "items", "source"),
         event_sources.send_dynamodb_items),
    Seam("moto.awslambda.models", "LambdaBackend.create_event_source_mapping", ("self", "spec"),
         event_sources.create_event_source_mapping),
    Seam("moto.awslambda.models", "LambdaBackend.update_event_source_mapping", ("self", "uuid", "spec"),
         event_sources.update_event_source_mapping),
    Seam("moto.awslambda.models", "LambdaBackend.put_function_event_invoke_config",
         ("self", "function_name", "config"), _put_event_invoke_config),
    Seam("moto.awslambda.models", "LambdaBackend.update_function_event_invoke_config",
         ("self", "function_name", "config"), _update_event_invoke_config),
    Seam("moto.sqs.models", "Queue.add_message", ("self", "message"), event_sources.queue_add_message),
    Seam("moto.sqs.models", "SQSBackend.send_message_batch", ("self", "queue_name", "entries"),
         event_sources.send_message_batch),
    # Called.
    Seam("moto.awslambda.utils", "get_backend", ("account_id", "region")),
    Seam("moto.awslambda.models", "LambdaBackend.get_function", ("self", "function_name_or_arn", "qualifier")),
    Seam("moto.awslambda.models", "LambdaBackend.get_alias", ("self", "name", "function_name")),
    Seam("moto.awslambda.models", "LambdaBackend.list_event_source_mappings",
         ("self", "event_source_arn", "function_name")),
    Seam("moto.awslambda.models", "EventInvokeConfig.config", None, instance=True),
    Seam("moto.awslambda.exceptions", "LambdaClientError", None),
    Seam("moto.logs.models", "LogsBackend.ensure_log_group", ("self", "log_group_name")),
    Seam("moto.logs.models", "LogsBackend.ensure_log_stream", ("self", "log_group_name", "log_stream_name")),
    Seam("moto.logs.models", "LogsBackend.put_log_events", ("self", "log_group_name", "log_stream_name", "log_events")),
    Seam("moto.cloudwatch.models", "CloudWatchBackend.put_metric_data", ("self", "namespace", "metric_data")),
    Seam("moto.sqs.models", "SQSBackend.receive_message",
         ("self", "queue_name", "count", "wait_seconds_timeout", "visibility_timeout", "message_attribute_names")),
    Seam("moto.sqs.models", "SQSBackend.delete_message", ("self", "queue_name", "receipt_handle")),
    Seam("moto.sqs.models", "SQSBackend.send_message",
         ("self", "queue_name", "message_body", "message_attributes", "delay_seconds", "deduplication_id",
          "group_id", "system_attributes", "validate_group_id")),
    Seam("moto.sqs.models", "SQSBackend.queues", None, instance=True),
    Seam("moto.sns.models", "SNSBackend.publish", None),  # an SNS destination
    Seam("moto.events.models", "EventsBackend.put_events", ("self", "events")),  # an EventBridge destination
)
