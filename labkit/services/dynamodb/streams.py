"""A DynamoDB Streams client that the local emulation answers.

moto records stream events, but botocore sends ``DescribeStream``,
``GetShardIterator`` and ``GetRecords`` to an account-prefixed host
(``<account>.streams-ddb.<region>...``) that moto does not answer.
:func:`streams_client` pins the regional endpoint
``streams.dynamodb.<region>.amazonaws.com`` (a real AWS endpoint too), which
moto does answer. It is the learner's client: its calls are not internal.
"""

from __future__ import annotations

from typing import Any

import boto3
import botocore.client

from labkit.core.aws import default_region


def streams_client(region_name: str | None = None, **kwargs: Any) -> botocore.client.BaseClient:
    """A ``dynamodbstreams`` client that the local emulation answers.

    Same as ``boto3.client("dynamodbstreams", region_name=...)`` with the
    regional endpoint ``https://streams.dynamodb.<region>.amazonaws.com`` set
    explicitly (botocore would otherwise pick an account-specific host for
    calls that name a stream ARN, which moto does not answer).
    """
    region = region_name or default_region()
    kwargs.setdefault("endpoint_url", f"https://streams.dynamodb.{region}.amazonaws.com")
    return boto3.client("dynamodbstreams", region_name=region, **kwargs)
