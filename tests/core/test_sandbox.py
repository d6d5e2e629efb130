"""labkit.core.sandbox and labkit.core.offline: fake credentials, kept state, reset, nothing leaves."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from botocore.handlers import BUILTIN_HANDLERS

import labkit
from labkit.core import offline, registry, sandbox
from tests.harness import HONEYPOT_KEY


def test_start_replaces_honeypot_credentials_and_pins_region():
    # tests/harness.py puts honeypot keys, a profile and a ~/.aws folder back before every test.
    assert os.environ["AWS_ACCESS_KEY_ID"] == HONEYPOT_KEY and os.environ["AWS_PROFILE"] == "honeypot"
    lab = labkit.start()
    creds = boto3.session.Session().get_credentials()
    assert creds.access_key == "testing" and creds.secret_key == "testing"
    assert "AWS_PROFILE" not in os.environ
    assert boto3.session.Session().region_name == "us-east-1" == lab.region
    assert lab.client("sqs").meta.region_name == "us-east-1"


def test_start_again_keeps_state_and_reset_wipes_it():
    lab = labkit.start()
    sqs = lab.client("sqs")
    sqs.create_queue(QueueName="kept")
    again = labkit.start()
    assert again is lab
    assert any(u.endswith("/kept") for u in again.client("sqs").list_queues().get("QueueUrls", []))
    labkit.start(reset=True)
    assert not lab.client("sqs").list_queues().get("QueueUrls")


def test_handle_builds_arns_in_its_account_and_region():
    lab = labkit.start()
    assert lab.arn("sqs", "orders") == "arn:aws:sqs:us-east-1:123456789012:orders"
    assert lab.client("sts").get_caller_identity()["Account"] == lab.account_id


def test_request_moto_cannot_answer_is_stopped_before_it_leaves():
    labkit.start()
    client = boto3.client("sqs", region_name="us-east-1", endpoint_url="https://queue.example.com")
    with pytest.raises(offline.OfflineError, match="ListQueues to queue.example.com"):
        client.list_queues()


def test_loopback_endpoints_are_allowed_through():
    labkit.start()
    client = boto3.client("sqs", region_name="us-east-1", endpoint_url="http://127.0.0.1:9")
    # Nothing listens on port 9: the request was really attempted, on loopback only.
    with pytest.raises(EndpointConnectionError):
        client.list_queues()


@pytest.mark.parametrize(
    "host, expected",
    [("localhost", True), ("127.0.0.1", True), ("127.3.2.1", True), ("[::1]", True), ("api.localhost", True),
     ("sqs.us-east-1.amazonaws.com", False), ("10.0.0.1", False), ("8.8.8.8", False), ("", False)],
)
def test_is_loopback(host, expected):
    assert offline.is_loopback(host) is expected


def test_guard_takes_the_place_of_motos_handler():
    """The seam: moto registers botocore_stubber as a before-send handler; labkit wraps it.

    If moto renames or stops registering its stubber, this test fails loudly.
    """
    from moto.core.models import botocore_stubber

    labkit.start()
    assert offline.installed() and offline.moto_adopted()
    assert ("before-send", botocore_stubber) not in BUILTIN_HANDLERS
    assert callable(botocore_stubber) and hasattr(botocore_stubber, "enabled")


def test_sandbox_before_start_reports_clearly(monkeypatch):
    monkeypatch.setattr(sandbox, "_MOCK", None)
    with pytest.raises(RuntimeError, match="call labkit.start"):
        sandbox.Sandbox().reset()


def test_start_installs_no_service_until_it_is_used():
    """A lab's first cell pays only for what it uses: a fresh process that starts
    the sandbox installs nothing, and its first SQS call installs SQS's service
    and the one that watches every call (the trail), nothing else."""
    code = (
        "import json, labkit\n"
        "from labkit.core import registry\n"
        "lab = labkit.start()\n"
        "after_start = registry.installed()\n"
        "lab.client('sqs').list_queues()\n"
        "print(json.dumps([after_start, registry.installed()]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120).stdout
    after_start, after_call = json.loads(out.strip().splitlines()[-1])
    watchers = sorted(name for name, service in registry.declared().items() if service.every_call)
    assert after_start == [] and sorted(after_call) == sorted(["sqs", *watchers]) and watchers == ["cloudtrail"]


def test_the_handle_has_one_attribute_per_declared_service():
    lab = labkit.start()
    declared = set(registry.declared())
    folders = {p.name for p in (Path(labkit.__file__).parent / "services").iterdir() if (p / "__init__.py").exists()}
    rooms = {"shop", "account"}  # the two rooms that are not services (labkit/__init__.py)
    assert declared == folders | rooms and {"lambda_", "sqs", "route53", "iam"} <= declared
    assert set(lab.services()) == declared and declared <= set(dir(lab))


def test_botocore_sessions_share_one_data_loader_once_started():
    import boto3
    import botocore.session

    labkit.start()
    assert getattr(botocore.session.create_loader, "__labkit_shared__", False), \
        "botocore.session.create_loader moved: labkit.core.sandbox.share_botocore_data no longer applies"
    first, second = botocore.session.get_session(), botocore.session.get_session()
    assert first is not second
    assert first.get_component("data_loader") is second.get_component("data_loader")
    # Clients made from separate sessions still work, and see the same service model.
    a = boto3.session.Session(region_name="us-east-1").client("sqs")
    b = boto3.session.Session(region_name="us-east-1").client("sqs")
    a.create_queue(QueueName="shared-loader")
    assert any(url.endswith("/shared-loader") for url in b.list_queues().get("QueueUrls", []))
    assert a.meta.service_model.operation_names == b.meta.service_model.operation_names


def test_every_service_gap_is_one_kind_of_error_a_learner_can_catch():
    import labkit
    from labkit.services.dynamodb import partiql
    from labkit.services.elasticache import control
    from labkit.services.rds import catalogue_api

    for module in (partiql, control, catalogue_api):
        assert issubclass(module.NotEmulated, labkit.NotEmulated) and module.NotEmulated is not labkit.NotEmulated
    assert issubclass(labkit.NotEmulated, NotImplementedError)


def test_an_error_aws_returns_comes_without_motos_note_about_its_tables():
    """GetQueueUrl for a queue that does not exist: the client's error carries AWS's code, and
    moto's warning that its code is not the model's spelling is not shown (moto does warn it)."""
    labkit.start()
    sqs = boto3.client("sqs", region_name="us-east-1")
    with warnings.catch_warnings(record=True) as shown, pytest.raises(ClientError) as raised:
        sqs.get_queue_url(QueueName="no-such-queue")
    assert raised.value.response["Error"]["Code"] == "AWS.SimpleQueueService.NonExistentQueue"
    assert not [w for w in shown if "error shape" in str(w.message)], [str(w.message) for w in shown]
    with warnings.catch_warnings(record=True) as shown:  # the sandbox's filter left out, in this block only
        warnings.filters[:] = [f for f in warnings.filters if f[1] is None or "error shape" not in f[1].pattern]
        with pytest.raises(ClientError):
            sqs.get_queue_url(QueueName="no-such-queue")
    assert [w for w in shown if "error shape" in str(w.message)], "moto no longer warns: the filter can go"
