"""Asynchronous invocations: retries, and records sent to destinations.

SNS, EventBridge, S3 and ``InvocationType=Event`` invoke a function
asynchronously: the caller gets 202 at once, and Lambda runs the event later,
retries it on a function error up to ``MaximumRetryAttempts`` times (default 2),
then sends an invocation record to the ``OnFailure`` destination, or to
``OnSuccess`` after a success.

When it happens here: **at once**, retries included. AWS waits about one and
two minutes between attempts; labkit does not wait, and does not schedule
them on the sandbox clock either, so a cell that invokes asynchronously shows
every attempt and the destination's record as soon as it returns (a lab would
otherwise need ``lab.clock.advance(180)`` after every async invoke). Nothing
is therefore ever pending between cells, and ``lab.reset()`` has no retry
queue to drop. ``MaximumEventAgeInSeconds`` never expires an event for the
same reason.

Destinations are other services: SQS, SNS, EventBridge and Lambda itself.
They are reached through moto's backends (what AWS's Lambda service does
through their APIs), so this package imports no other labkit service; the
SNS topic or EventBridge bus then delivers as its own service patched it to.
"""

from __future__ import annotations

import json
from typing import Any

from labkit.core.aws import iso_timestamp, parse_arn

from . import functions
from .model import InvocationResult
from .runtime import run_function


def invoke_async(fn: Any, payload: bytes | str, *, invoked_arn: str, resource: str | None = None) -> InvocationResult:
    """An asynchronous invocation, as SNS, EventBridge, S3 and ``InvocationType=Event`` make.

    Args:
        fn: moto's function object (from :func:`labkit.services.lambda_.resolve_function`).
        payload: the event as JSON text.
        invoked_arn, resource: as :func:`labkit.services.lambda_.resolve_function` returns them.

    The event runs at once; on a function error it is retried at once, up to
    ``MaximumRetryAttempts`` times; the outcome goes to the ``OnSuccess`` or
    ``OnFailure`` destination, if one is configured. A throttled event
    (reserved concurrency 0) is counted in ``Throttles`` and dropped.

    Returns:
        What the ``Invoke`` API answers: status 202, with the last attempt's
        request id, logs and function error (callers may ignore it).
    """
    config = functions.event_invoke_config(fn)
    attempts = 1 + int(config.get("MaximumRetryAttempts", 2))
    result = InvocationResult(status_code=202)
    attempt = 0
    while attempt < attempts:
        attempt += 1
        result = run_function(fn, payload, invoked_arn=invoked_arn, invocation_type="RequestResponse",
                              resource=resource)
        if result.throttled or not result.function_error:
            break
    if result.throttled:
        return InvocationResult(status_code=202, request_id=result.request_id, executed_version=result.executed_version)
    condition = "Success" if not result.function_error else "RetriesExhausted"
    destination = config.get("DestinationConfig", {}).get("OnSuccess" if condition == "Success" else "OnFailure", {})
    if destination.get("Destination"):
        record = destination_record(invoked_arn, result, payload, condition, attempt)
        send_to_destination(destination["Destination"], record)
    return InvocationResult(status_code=202, function_error=result.function_error, request_id=result.request_id,
                            executed_version=result.executed_version, logs=result.logs,
                            duration_ms=result.duration_ms, billed_duration_ms=result.billed_duration_ms,
                            init_duration_ms=result.init_duration_ms)


def destination_record(invoked_arn: str, result: InvocationResult, payload: bytes | str,
                       condition: str, attempts: int) -> dict[str, Any]:
    """The invocation record Lambda sends to an async destination (its
    timestamp on the sandbox clock)."""
    function_arn = invoked_arn if invoked_arn.count(":") == 7 else f"{invoked_arn}:{result.executed_version}"
    response: dict[str, Any] = {"statusCode": 200, "executedVersion": result.executed_version}
    if result.function_error:
        response["functionError"] = result.function_error
    try:
        response_payload = result.json()
    except ValueError:
        response_payload = result.payload.decode("utf-8", "replace")
    return {
        "version": "1.0",
        "timestamp": iso_timestamp(),
        "requestContext": {"requestId": result.request_id, "functionArn": function_arn,
                           "condition": condition, "approximateInvokeCount": attempts},
        "requestPayload": json.loads(payload) if payload else {},
        "responseContext": response,
        "responsePayload": response_payload,
    }


def send_to_destination(arn: str, record: dict[str, Any]) -> None:
    """Deliver an async invocation record to an SQS, SNS, Lambda or EventBridge destination."""
    target = parse_arn(arn)
    region, account_id = target.region, target.account
    body = json.dumps(record)
    if target.service == "sqs":
        from moto.sqs.models import sqs_backends

        sqs_backends[account_id][region].send_message(target.resource, body)
    elif target.service == "sns":
        from moto.sns.models import sns_backends

        sns_backends[account_id][region].publish(body, arn=arn)
    elif target.service == "lambda":
        fn, invoked, resource = functions.resolve_in(functions.lambda_backend(account_id, region), arn, None)
        invoke_async(fn, body, invoked_arn=invoked, resource=resource)
    elif target.service == "events":
        from moto.events.models import events_backends

        success = record["requestContext"]["condition"] == "Success"
        events_backends[account_id][region].put_events([{
            "Source": "lambda",
            "DetailType": f"Lambda Function Invocation Result - {'Success' if success else 'Failure'}",
            "Detail": body, "Resources": [record["requestContext"]["functionArn"]],
            "EventBusName": target.resource.split("/")[-1],
        }])
