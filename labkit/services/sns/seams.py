"""Where the SNS service reaches into moto.

Two patched seams route deliveries (:mod:`.delivery`), a third signs them in the browser edition:

=================================  ==========================================
moto method                        what labkit does instead
=================================  ==========================================
``Subscription.publish``           a delivery that the queue's or function's
                                   policy refuses, or to a deleted queue or
                                   function, goes to the subscription's
                                   dead-letter queue (or is dropped) and
                                   Publish succeeds
``LambdaBackend.send_sns_message`` an AWS-shaped SNS event, invoked
                                   asynchronously by the Lambda service
``Subscription.get_post_data``     in the browser edition only: the same
                                   envelope, signed without ``cryptography``
                                   (:mod:`.signing`)
=================================  ==========================================

The others are called: the filter policy (asked before the endpoint's
policy), what a dead-lettered message is built from, and where it is sent. FIFO deduplication needs no seam: it listens to boto3 calls
(:mod:`.dedup`). The registry checks every seam when SNS is first used;
``tests/services/test_sns.py`` checks them too, instance attributes on real
moto objects.
"""

from __future__ import annotations

from labkit.core.seams import Seam

from .delivery import send_sns_message, subscription_publish
from .signing import post_data

SEAMS: tuple[Seam, ...] = (
    # Replaced.
    Seam("moto.sns.models", "Subscription.publish",
         ("self", "message", "message_id", "subject", "message_attributes", "group_id",
          "deduplication_id", "message_structure"), subscription_publish),
    Seam("moto.awslambda.models", "LambdaBackend.send_sns_message",
         ("self", "function_name", "message", "subject", "qualifier"), send_sns_message),
    Seam("moto.sns.models", "Subscription.get_post_data",  # moto's own envelope, except in the browser edition
         ("self", "message", "message_id", "subject", "message_attributes"), post_data),
    # Called.
    Seam("moto.sns.models", "Subscription._parse_message_structure", ("self", "message", "protocol")),
    Seam("moto.sns.models", "Subscription._filter_policy_matcher", None, instance=True),
    Seam("moto.sns.utils", "FilterPolicyMatcher.matches", ("self", "message_attributes", "message")),
    Seam("moto.sns.models", "Subscription.attributes", None, instance=True),
    Seam("moto.sns.models", "Subscription.protocol", None, instance=True),
    Seam("moto.sns.models", "Subscription.endpoint", None, instance=True),
    Seam("moto.sns.models", "Subscription.topic", None, instance=True),
    Seam("moto.sns.models", "Subscription.arn", None, instance=True),
    Seam("moto.awslambda.models", "LambdaBackend.region_name", None, instance=True),
    Seam("moto.awslambda.models", "LambdaBackend.account_id", None, instance=True),
    Seam("moto.sqs.models", "sqs_backends", None),
    Seam("moto.sqs.models", "SQSBackend.queues", None, instance=True),
    Seam("moto.sqs.models", "SQSBackend.send_message",
         ("self", "queue_name", "message_body", "message_attributes", "delay_seconds", "deduplication_id",
          "group_id", "system_attributes", "validate_group_id")),
    Seam("moto.sqs.models", "Queue.fifo_queue", None, instance=True),
    Seam("moto.sqs.exceptions", "SQSException", None),
    Seam("moto.awslambda.exceptions", "LambdaClientError", None),
)
