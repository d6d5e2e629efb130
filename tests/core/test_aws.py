"""labkit.core.aws: ARNs, AWS timestamps, regions, labkit's own clients."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from labkit.core import aws
from labkit.core.clock import clock


def test_an_arn_splits_into_its_fields():
    arn = aws.parse_arn("arn:aws:dynamodb:eu-west-1:111122223333:table/orders/stream/2026-11-30T09:00:00.000")
    assert (arn.partition, arn.service, arn.region, arn.account) == ("aws", "dynamodb", "eu-west-1", "111122223333")
    assert arn.resource == "table/orders/stream/2026-11-30T09:00:00.000"
    assert str(arn) == "arn:aws:dynamodb:eu-west-1:111122223333:table/orders/stream/2026-11-30T09:00:00.000"


@pytest.mark.parametrize("arn, name", [
    ("arn:aws:dynamodb:us-east-1:123456789012:table/orders", "orders"),
    ("arn:aws:lambda:us-east-1:123456789012:function:orders:live", "orders:live"),
    ("arn:aws:sqs:us-east-1:123456789012:orders", "orders"),
    ("arn:aws:iam::123456789012:role/service/worker", "worker"),
])
def test_resource_name_drops_the_resource_type(arn, name):
    assert aws.parse_arn(arn).resource_name == name


def test_a_string_that_is_not_an_arn_is_named():
    with pytest.raises(ValueError, match="not an ARN: 'orders'"):
        aws.parse_arn("orders")
    with pytest.raises(ValueError):
        aws.parse_arn("urn:aws:sqs:us-east-1:123456789012:orders")


def test_make_arn_defaults_to_the_sandbox_account_and_region():
    assert aws.make_arn("sqs", "orders") == "arn:aws:sqs:us-east-1:123456789012:orders"
    assert aws.make_arn("sns", "t", "eu-west-1", "111122223333") == "arn:aws:sns:eu-west-1:111122223333:t"


def test_timestamps_are_utc_with_or_without_milliseconds(monkeypatch):
    assert aws.iso_timestamp(0) == "1970-01-01T00:00:00.000Z"
    assert aws.iso_timestamp(1.2345, millis=False) == "1970-01-01T00:00:01Z"
    assert aws.iso_timestamp(1.2345) == "1970-01-01T00:00:01.234Z"
    monkeypatch.setattr(clock, "now", lambda: 86_400.5)  # the default is the sandbox clock's now
    assert aws.iso_timestamp() == "1970-01-02T00:00:00.500Z"


@pytest.mark.parametrize("value, epoch", [
    (90, 90.0),
    ("90.5", 90.5),
    ("1970-01-01T00:01:30Z", 90.0),
    ("1970-01-01T00:01:30.250+00:00", 90.25),
    ("1970-01-01T01:01:30+01:00", 90.0),
    (datetime(1970, 1, 1, 0, 1, 30), 90.0),  # naive: UTC
    (datetime(1970, 1, 1, 2, 1, 30, tzinfo=timezone(timedelta(hours=2))), 90.0),
    ("yesterday", None),
    (None, None),
])
def test_epoch_of_reads_every_form_aws_uses(value, epoch):
    assert aws.epoch_of(value) == epoch


def test_region_comes_from_the_arn_then_the_call_then_the_environment(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-south-1")
    assert aws.default_region() == "ap-south-1"
    assert aws.region_of() == "ap-south-1"
    assert aws.region_of({"client_region": "eu-west-1"}) == "eu-west-1"
    assert aws.region_of({"client_region": "eu-west-1"}, arn="arn:aws:sqs:sa-east-1:1:q") == "sa-east-1"
    assert aws.region_of({"client_region": "eu-west-1"}, arn="arn:aws:iam::1:role/r") == "eu-west-1"
    assert aws.region_of(arn="not an arn") == "ap-south-1"
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.delenv("AWS_REGION", raising=False)
    assert aws.default_region() == aws.REGION == "us-east-1"


def test_internal_clients_are_kept_per_service_and_region_until_forgotten(lab):
    sqs = aws.internal_client("sqs")
    assert aws.internal_client("sqs") is sqs
    assert aws.internal_client("sqs", "eu-west-1") is not sqs
    assert aws.internal_client("sqs", "eu-west-1").meta.region_name == "eu-west-1"
    aws.forget_clients()
    assert aws.internal_client("sqs") is not sqs
