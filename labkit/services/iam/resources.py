"""Resource-based policies: the queue's, the topic's, the function's, the bucket's.

Read from moto's state (no API call, so enforcement stays cheap). A
resource without a policy has none; a resource that does not exist has none
either (the call then fails as the service answers it).
"""

from __future__ import annotations

from typing import Any

from labkit.core.aws import ACCOUNT_ID, parse_arn

from .evaluate import Source
from .policy import as_text
from .seams import check_resource_seams


def _sqs(arn: Any) -> str | None:
    from moto.sqs.models import sqs_backends

    queue = sqs_backends[arn.account][arn.region].queues.get(arn.resource)
    return queue.policy if queue is not None else None


def _sns(arn: Any, text: str) -> str | None:
    from moto.sns.models import sns_backends

    topic = sns_backends[arn.account][arn.region].topics.get(text)
    return topic.policy if topic is not None else None


def _lambda(arn: Any) -> str | None:
    # get_backend: the backend Lambda calls reach (moto's Lambda or, as in the sandbox, its "simple" Lambda)
    from moto.awslambda.utils import get_backend

    parts = arn.resource.split(":")
    if len(parts) < 2 or parts[0] != "function":
        return None
    storage = get_backend(arn.account, arn.region)._lambdas
    versions = storage._functions.get(parts[1])
    if not versions:
        return None
    statements = versions["latest"].policy.statements
    if not statements:
        return None
    return as_text({"Version": "2012-10-17", "Statement": statements})


def _s3(arn_text: str) -> str | None:
    from moto.s3.models import s3_backends

    bucket_name = arn_text.split(":::", 1)[1].split("/", 1)[0]
    bucket = s3_backends[ACCOUNT_ID]["aws"].buckets.get(bucket_name)
    if bucket is None or not bucket.policy:
        return None
    return as_text(bucket.policy)


def resource_policy(resource_arn: str) -> Source | None:
    """The resource-based policy attached to ``resource_arn``, if any."""
    if not resource_arn.startswith("arn:"):
        return None
    check_resource_seams()
    try:
        arn = parse_arn(resource_arn)
        if arn.service == "sqs":
            text = _sqs(arn)
        elif arn.service == "sns":
            text = _sns(arn, resource_arn)
        elif arn.service == "lambda":
            text = _lambda(arn)
        elif arn.service == "s3":
            text = _s3(resource_arn)
        else:
            return None
    except (KeyError, ValueError, AttributeError):
        return None
    if not text:
        return None
    return Source("resource", resource_arn, as_text(text), "Resource Policy")
