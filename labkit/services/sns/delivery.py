"""Deliveries from a topic to its subscribers: Lambda functions, the
endpoint's permission, and the subscription's dead-letter queue.

What AWS does
    SNS invokes a subscribed Lambda function *asynchronously*, with an SNS
    event (``{"Records": [{"EventSource": "aws:sns", "Sns": {...}}]}``); the
    function's own errors are Lambda's to retry. SNS may deliver only where
    the endpoint's resource policy lets ``sns.amazonaws.com`` in: the queue
    policy must allow ``sqs:SendMessage``, the function's policy
    (``add_permission``) ``lambda:InvokeFunction``, usually for this topic only
    (``aws:SourceArn``). A delivery the endpoint refuses, because the queue or
    function was deleted or its policy does not allow SNS, is a client-side
    error: SNS does not retry it, ``Publish`` still succeeds, and the message
    goes to the subscription's dead-letter queue (its ``RedrivePolicy``) in the
    form the subscriber would have received it, or is discarded when there is
    none. The dead-letter queue's own policy must let SNS send to it too.

What moto does
    moto applies the filter policy and the message structure, then sends to
    the queue or calls ``LambdaBackend.send_sns_message``, which would run the
    function in Docker. It reads no endpoint policy, and a delivery to a
    deleted queue or function raises, so ``Publish`` failed.

What this module adds
    :func:`subscription_publish` (in place of ``Subscription.publish``) applies
    the filter policy, asks the endpoint's policy
    (:func:`labkit.services.iam.allows_service`), keeps moto's delivery, and
    sends a refused delivery, or one to a deleted endpoint, to the
    dead-letter queue (:func:`dead_letter`).
    :func:`send_sns_message` (in place of ``LambdaBackend.send_sns_message``)
    builds the SNS event and hands it to the Lambda service
    (:func:`labkit.services.lambda_.invoke_async`).

The ``AWS/SNS`` metrics (``NumberOfNotificationsFailed`` for a refused
delivery) are counted by the CloudWatch service, with the same question
(:func:`allowed`).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any

from labkit.core.aws import iso_timestamp, make_arn, parse_arn
from labkit.services import lambda_

__all__ = ["ACTIONS", "SERVICE_PRINCIPAL", "allowed", "dead_letter", "send_sns_message", "sns_event",
           "subscription_publish"]

#: Who SNS is, to an endpoint's resource policy.
SERVICE_PRINCIPAL = "sns.amazonaws.com"
#: The action each protocol's delivery needs the endpoint's policy to allow.
ACTIONS = {"sqs": "sqs:SendMessage", "lambda": "lambda:InvokeFunction"}


@dataclass
class _Delivery:
    """One message on its way to one subscription."""

    subscription: Any
    message_id: str
    attributes: dict[str, Any] = field(default_factory=dict)
    accepted: bool = False  # the function was found: later errors are not SNS's delivery failing


class _Current(threading.local):
    delivery: _Delivery | None = None


_CURRENT = _Current()


def _sqs_backend(account_id: str, region: str) -> Any:
    from moto.sqs.models import sqs_backends

    return sqs_backends[account_id][region]


def _endpoint_gone(subscription: Any, delivery: _Delivery) -> bool:
    """Whether the endpoint refused the delivery because it no longer exists."""
    if subscription.protocol == "sqs":
        arn = parse_arn(subscription.endpoint)
        return arn.resource not in _sqs_backend(arn.account, arn.region).queues
    if subscription.protocol == "lambda":
        return not delivery.accepted
    return False


def allowed(endpoint_arn: str, topic_arn: str, protocol: str) -> bool:
    """Does the resource policy of the queue or function ``endpoint_arn`` let
    SNS deliver to it from ``topic_arn``? Other protocols need no policy."""
    action = ACTIONS.get(protocol)
    if action is None:
        return True
    from labkit.services.iam import allows_service  # IAM imports no other service

    return allows_service(SERVICE_PRINCIPAL, action, endpoint_arn, topic_arn)


def _filtered_out(subscription: Any, message: str, message_attributes: Any) -> bool:
    """The subscription's filter policy refuses the message (moto's matcher)."""
    matcher = subscription._filter_policy_matcher
    if matcher is None:
        return False
    try:
        return not matcher.matches(message_attributes, message)
    except Exception:  # noqa: BLE001  (moto's publish raises it again, as before)
        return False


def _endpoint_exists(subscription: Any) -> bool:
    arn = parse_arn(subscription.endpoint)
    if subscription.protocol == "sqs":
        return arn.resource in _sqs_backend(arn.account, arn.region).queues
    try:
        lambda_.resolve_function(subscription.endpoint)
    except Exception:  # noqa: BLE001  (moto's delivery raises its own error for it)
        return False
    return True


def subscription_publish(original: Any, subscription: Any, message: str, message_id: str,
                         subject: str | None = None, message_attributes: Any = None, group_id: Any = None,
                         deduplication_id: Any = None, message_structure: Any = None) -> None:
    """Deliver to one subscription (moto applies the filter policy and message
    structure, then sends to the queue or calls send_sns_message), if the
    queue's or function's policy lets SNS in. A delivery the endpoint refuses,
    because the queue or function was deleted or its policy does not allow
    this topic, is a client-side error on AWS: SNS does not retry it, Publish
    still succeeds, and the message goes to the subscription's dead-letter
    queue, or is discarded when the subscription has none (moto delivered
    without asking, or raised, so Publish failed)."""
    from moto.awslambda.exceptions import LambdaClientError
    from moto.sqs.exceptions import SQSException

    args = (message, message_id, subject, message_attributes, group_id, deduplication_id, message_structure)
    if (subscription.protocol in ACTIONS and not _filtered_out(subscription, message, message_attributes)
            and _endpoint_exists(subscription)
            and not allowed(subscription.endpoint, subscription.topic.arn, subscription.protocol)):
        dead_letter(subscription, *args)
        return
    delivery = _Delivery(subscription, message_id, message_attributes or {})
    outer = _CURRENT.delivery
    _CURRENT.delivery = delivery
    try:
        original(subscription, message, message_id, subject, message_attributes, group_id,
                 deduplication_id, message_structure)
    except (SQSException, LambdaClientError):
        if not _endpoint_gone(subscription, delivery):
            raise
        dead_letter(subscription, message, message_id, subject, message_attributes, group_id,
                    deduplication_id, message_structure)
    finally:
        _CURRENT.delivery = outer


def dead_letter(subscription: Any, message: str, message_id: str, subject: str | None,
                message_attributes: Any, group_id: Any, deduplication_id: Any, message_structure: Any) -> None:
    """Send an undeliverable message to the queue in the subscription's
    RedrivePolicy, in the form the subscriber would have received it: the SNS
    JSON envelope, or the bare message with its attributes as SQS message
    attributes when RawMessageDelivery is on. SNS adds no attributes of its
    own. Without a RedrivePolicy, when that queue is gone too, or when its
    queue policy does not let SNS send from this topic, the message is dropped."""
    from moto.sqs.exceptions import SQSException

    try:
        target_arn = str(json.loads(subscription.attributes.get("RedrivePolicy") or "{}")["deadLetterTargetArn"])
        target = parse_arn(target_arn)
    except (ValueError, KeyError, TypeError):
        return
    if target.service != "sqs":
        return
    sqs = _sqs_backend(target.account, target.region)
    queue = sqs.queues.get(target.resource)
    if queue is None or not allowed(target_arn, subscription.topic.arn, "sqs"):
        return  # AWS counts it in NumberOfNotificationsFailedToRedriveToDlq; the message is lost
    if message_structure == "json":
        message = subscription._parse_message_structure(message, subscription.protocol)
    attributes = None
    if subscription.protocol != "lambda" and subscription.attributes.get("RawMessageDelivery"):
        body = message
        attributes = raw_message_attributes(message_attributes or {})
    else:
        body = json.dumps(subscription.get_post_data(message, message_id, subject,
                                                     message_attributes=message_attributes),
                          sort_keys=True, indent=2, separators=(",", ": "))
    fifo = bool(queue.fifo_queue)
    try:
        sqs.send_message(target.resource, body, message_attributes=attributes,
                         deduplication_id=(deduplication_id or message_id) if fifo else None,
                         group_id=group_id if fifo else None)
    except SQSException:
        pass  # AWS counts it in NumberOfNotificationsFailedToRedriveToDlq; the message is lost


def raw_message_attributes(attributes: dict[str, Any]) -> dict[str, Any]:
    """SNS message attributes as SQS message attributes (what raw delivery sends)."""
    out = {}
    for key, value in attributes.items():
        kind = str(value["Type"])
        field_name = "BinaryValue" if kind.startswith("Binary") else "StringValue"
        out[key] = {"DataType": kind,
                    field_name: value["Value"] if field_name == "BinaryValue" else str(value["Value"])}
    return out


def sns_event(message: str, subject: str | None, *, message_id: str = "", topic_arn: str = "",
              subscription_arn: str = "", attributes: dict[str, Any] | None = None) -> dict[str, Any]:
    """The event a Lambda function subscribed to a topic receives (one record),
    stamped with the sandbox clock."""
    record = {
        "EventSource": "aws:sns",
        "EventVersion": "1.0",
        "EventSubscriptionArn": subscription_arn,
        "Sns": {
            "Type": "Notification",
            "MessageId": message_id,
            "TopicArn": topic_arn,
            "Subject": subject,
            "Message": message,
            "Timestamp": iso_timestamp(),
            "SignatureVersion": "1",
            "Signature": "EXAMPLE",
            "SigningCertUrl": "EXAMPLE",
            "UnsubscribeUrl": "EXAMPLE",
            "MessageAttributes": {name: {"Type": value.get("Type"), "Value": value.get("Value")}
                                  for name, value in (attributes or {}).items()},
        },
    }
    return {"Records": [record]}


def send_sns_message(original: Any, backend: Any, function_name: str, message: str,
                     subject: str | None = None, qualifier: str | None = None) -> None:
    """SNS invokes the function asynchronously with an SNS event, through the
    Lambda service (moto would look for Docker)."""
    delivery = _CURRENT.delivery
    subscription = delivery.subscription if delivery is not None else None
    event = sns_event(
        message, subject,
        message_id=delivery.message_id if delivery is not None else "",
        topic_arn=subscription.topic.arn if subscription is not None else "",
        subscription_arn=subscription.arn if subscription is not None else "",
        attributes=delivery.attributes if delivery is not None else {},
    )
    resource = f"function:{function_name}" + (f":{qualifier}" if qualifier else "")
    arn = make_arn("lambda", resource, backend.region_name, backend.account_id)
    fn, invoked_arn, invoked_resource = lambda_.resolve_function(arn)  # a deleted function raises here
    if delivery is not None:
        delivery.accepted = True
    lambda_.invoke_async(fn, json.dumps(event), invoked_arn=invoked_arn, resource=invoked_resource)
