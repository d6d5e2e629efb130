"""The moto internals labkit patches or calls (labkit.moto_seams) are where we expect.

When moto is upgraded and one of these moves, these tests fail with the name
of what moved: fix labkit/moto_seams.py, then widen TESTED_MOTO and the pin.
"""

from __future__ import annotations

import inspect
import json
import re
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

import labkit
from labkit import moto_seams
from labkit.lambda_runtime import zip_code

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture()
def lab() -> labkit.Sandbox:
    return labkit.start(reset=True)


def original(function: object) -> object:
    return getattr(function, "__labkit_original__", function)


def params(function: object) -> tuple[str, ...]:
    return tuple(inspect.signature(original(function)).parameters)  # type: ignore[arg-type]


def test_every_seam_is_where_labkit_expects_it(lab):
    assert moto_seams.installed()
    assert moto_seams.check_seams() == []


def test_the_seams_named_in_the_course_notes():
    from moto.awslambda.models import LambdaBackend, LambdaFunction
    from moto.events.models import Rule
    from moto.sqs.models import Queue

    assert params(LambdaFunction._invoke_lambda) == ("self", "event")
    assert params(LambdaFunction.invoke) == ("self", "body", "request_headers", "response_headers")
    assert params(LambdaBackend.invoke) == ("self", "function_name", "qualifier", "body", "headers",
                                            "response_headers")
    assert params(Rule.send_to_targets) == ("self", "original_event", "transform_input")
    assert params(Queue.add_message) == ("self", "message")


def test_installed_methods_are_labkits(lab):
    from moto.awslambda.models import LambdaFunction
    from moto.awslambda_simple.models import LambdaSimpleBackend
    from moto.events.models import Rule

    for method in (LambdaFunction._invoke_lambda, LambdaSimpleBackend.invoke, Rule.send_to_targets):
        assert hasattr(method, "__labkit_original__"), method


def test_moto_version_is_a_tested_one_and_the_pin_says_the_same():
    version = tuple(int(part) for part in re.findall(r"\d+", moto_seams.moto_version())[:3])
    low = tuple(int(p) for p in re.findall(r"\d+", moto_seams.TESTED_MOTO[0]))
    high = tuple(int(p) for p in re.findall(r"\d+", moto_seams.TESTED_MOTO[1]))
    assert low <= version < high, f"moto {version} is outside the tested range {moto_seams.TESTED_MOTO}"
    [pin] = re.findall(r'"(moto\[[^"]*)"', (ROOT / "pyproject.toml").read_text())
    assert pin.endswith("]" + ",".join(moto_seams.TESTED_MOTO)), pin


def test_instance_attributes_the_runtime_reads_exist(lab):
    role = lab.client("iam").create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    lab.client("lambda").create_function(FunctionName="f", Role=role, Runtime="python3.12",
                                         Handler="app.handler", Code={"ZipFile": zip_code("x = 1\n")})
    from moto.awslambda.utils import get_backend

    function = get_backend(lab.account_id, lab.region).get_function("f")
    missing = [name for name in moto_seams.FUNCTION_ATTRIBUTES if not hasattr(function, name)]
    assert missing == []
    assert isinstance(function.code_bytes, bytes) and function.code_bytes.startswith(b"PK")

    lab.client("sqs").create_queue(QueueName="q")
    from moto.sqs.models import sqs_backends

    queue = sqs_backends[lab.account_id][lab.region].queues["q"]
    for name in ("queue_arn", "visibility_timeout", "fifo_queue", "lambda_event_source_mappings",
                 "account_id", "region", "name"):
        assert hasattr(queue, name), name

    events = lab.client("events")
    events.put_rule(Name="r", EventPattern=json.dumps({"source": ["x"]}))
    from moto.events.models import events_backends

    rule = events_backends[lab.account_id][lab.region].event_buses["default"].rules["r"]
    assert isinstance(rule.targets, list) and hasattr(rule, "event_pattern")


def test_a_moved_seam_is_reported_and_install_refuses(monkeypatch, lab):
    from moto.events.models import Rule

    moto_seams.uninstall()
    try:
        def send_to_targets(self, event):  # a moto release that changed the signature
            raise AssertionError("never called")

        monkeypatch.setattr(Rule, "send_to_targets", send_to_targets)
        problems = moto_seams.check_seams()
        assert any("Rule.send_to_targets" in p for p in problems)
        with pytest.raises(moto_seams.SeamMoved, match="Rule.send_to_targets"):
            moto_seams.install()
        monkeypatch.delattr(Rule, "send_to_targets")
        assert any("Rule.send_to_targets is gone" in p for p in moto_seams.check_seams())
    finally:
        monkeypatch.undo()
        moto_seams.install()
    assert moto_seams.installed() and moto_seams.check_seams() == []


def test_eventbridge_seams_are_installed_and_read_real_objects(lab):
    from moto.events.models import Replay, Rule, events_backends
    from moto.events.responses import EventsHandler

    for method in (EventsHandler.put_events, EventsHandler.test_event_pattern, Replay.replay_events,
                   Rule.send_to_targets):
        assert hasattr(method, "__labkit_original__"), method
    events = lab.client("events")
    events.put_rule(Name="nightly", ScheduleExpression="rate(1 day)")
    bus_arn = events.describe_event_bus(Name="default")["Arn"]
    archive_arn = events.create_archive(ArchiveName="a", EventSourceArn=bus_arn)["ArchiveArn"]
    events.start_replay(ReplayName="r", EventSourceArn=archive_arn, EventStartTime=0, EventEndTime=1,
                        Destination={"Arn": bus_arn})
    backend = events_backends[lab.account_id][lab.region]
    rule = backend.describe_event_bus("default").rules["nightly"]
    for name in ("scheduled_expression", "state", "arn", "targets", "event_pattern", "name"):
        assert hasattr(rule, name), name
    replay = backend.replays["r"]
    for name in ("account_id", "region", "name", "destination", "event_start_time", "event_end_time", "state",
                 "end_time"):
        assert hasattr(replay, name), name
    assert isinstance(backend.archives["a"].events, list)
    assert events.describe_replay(ReplayName="r")["State"] == "COMPLETED"


def test_instance_attributes_named_in_seams_exist_on_real_objects(lab):
    """Seams with ``instance=True`` are attributes of moto's objects: only their
    class is checked by check_seams(), so check each on a real object here."""
    from moto.awslambda.utils import get_backend
    from moto.elasticache.models import elasticache_backends
    from moto.events.models import events_backends
    from moto.sns.models import sns_backends
    from moto.sqs.models import sqs_backends

    role = lab.client("iam").create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    lab.client("lambda").create_function(FunctionName="f", Role=role, Runtime="python3.12",
                                         Handler="app.handler", Code={"ZipFile": zip_code("x = 1\n")})
    lab.client("lambda").put_function_event_invoke_config(FunctionName="f", MaximumRetryAttempts=1)
    queue_arn = lab.arn("sqs", "q")
    lab.client("sqs").create_queue(QueueName="q")
    topic = lab.client("sns").create_topic(Name="t")["TopicArn"]
    sub = lab.client("sns").subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn,
                                      ReturnSubscriptionArn=True)["SubscriptionArn"]
    lab.client("events").put_rule(Name="r", EventPattern=json.dumps({"source": ["x"]}))
    ec = lab.client("elasticache")
    ec.create_cache_cluster(CacheClusterId="c", Engine="memcached", CacheNodeType="cache.t3.micro", NumCacheNodes=1)
    ec.create_replication_group(ReplicationGroupId="g", ReplicationGroupDescription="d", Engine="redis",
                                CacheNodeType="cache.t3.micro", NumCacheClusters=1)
    elasticache = elasticache_backends[lab.account_id][lab.region]
    objects = {
        ("moto.events.models", "Rule"): events_backends[lab.account_id][lab.region].event_buses["default"].rules["r"],
        ("moto.sqs.models", "SQSBackend"): sqs_backends[lab.account_id][lab.region],
        ("moto.awslambda.models", "EventInvokeConfig"):
            get_backend(lab.account_id, lab.region).get_function("f").event_invoke_config[0],
        ("moto.sns.models", "Subscription"): sns_backends[lab.account_id][lab.region].subscriptions[sub],
        ("moto.elasticache.models", "ElastiCacheBackend"): elasticache,
        ("moto.elasticache.models", "CacheCluster"): elasticache.cache_clusters["c"],
        ("moto.elasticache.models", "ReplicationGroup"): elasticache.replication_groups["g"],
    }
    instance_seams = [seam for seam in moto_seams.SEAMS if seam.instance]
    assert instance_seams
    for seam in instance_seams:
        owner, attribute = seam.qualname.rsplit(".", 1)
        assert (seam.module, owner) in objects, f"add a real {owner} to this test for {seam.path}"
        assert hasattr(objects[(seam.module, owner)], attribute), seam.path


def test_a_deleted_cache_cluster_or_replication_group_id_can_be_created_again(lab):
    """moto keeps deleted ElastiCache resources 'deleting' forever; labkit lets it
    forget them, so a notebook that creates and deletes them can run twice."""
    ec = lab.client("elasticache")
    for attempt in ("first", "second"):
        tags = [{"Key": "attempt", "Value": "first"}] if attempt == "first" else []
        arn = ec.create_cache_cluster(CacheClusterId="again", Engine="memcached", CacheNodeType="cache.t3.micro",
                                      NumCacheNodes=1, Tags=tags)["CacheCluster"]["ARN"]
        assert ec.list_tags_for_resource(ResourceName=arn)["TagList"] == tags  # no tags left from the first
        ec.delete_cache_cluster(CacheClusterId="again")
        with pytest.raises(ClientError) as error:
            ec.describe_cache_clusters(CacheClusterId="again")
        assert error.value.response["Error"]["Code"] == "CacheClusterNotFound"

        ec.create_replication_group(ReplicationGroupId="again-rg", ReplicationGroupDescription=attempt,
                                    Engine="redis", CacheNodeType="cache.t3.micro", NumCacheClusters=2)
        ec.delete_replication_group(ReplicationGroupId="again-rg")
        with pytest.raises(ClientError) as error:
            ec.describe_replication_groups(ReplicationGroupId="again-rg")
        assert error.value.response["Error"]["Code"] == "ReplicationGroupNotFoundFault"


def test_forget_elasticache_resource_only_knows_clusters_and_groups(lab):
    assert moto_seams.forget_elasticache_resource(lab.region, "cluster", "never-created") is False
    with pytest.raises(ValueError):
        moto_seams.forget_elasticache_resource(lab.region, "snapshot", "x")


def test_event_invoke_config_put_overwrites_and_update_merges(lab):
    from moto.awslambda.utils import get_backend

    lam = lab.client("lambda")
    role = lab.client("iam").create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    lam.create_function(FunctionName="f", Role=role, Runtime="python3.12", Handler="app.handler",
                        Code={"ZipFile": zip_code("x = 1\n")})
    failures = lab.arn("sqs", "failures")

    def current():
        got = lam.get_function_event_invoke_config(FunctionName="f")
        listed = lam.list_function_event_invoke_configs(FunctionName="f")["FunctionEventInvokeConfigs"]
        keys = ("MaximumRetryAttempts", "MaximumEventAgeInSeconds", "DestinationConfig")
        assert [{k: c[k] for k in keys if k in c} for c in listed] == [{k: got[k] for k in keys if k in got}]
        runtime = moto_seams.event_invoke_config(get_backend(lab.account_id, lab.region).get_function("f"))
        assert runtime == {k: got[k] for k in keys if k in got}
        return runtime

    lam.put_function_event_invoke_config(FunctionName="f", MaximumRetryAttempts=0,
                                         DestinationConfig={"OnFailure": {"Destination": failures}})
    lam.put_function_event_invoke_config(FunctionName="f", MaximumEventAgeInSeconds=120)
    assert current() == {"MaximumEventAgeInSeconds": 120}  # the settings left out are removed
    lam.update_function_event_invoke_config(FunctionName="f", MaximumRetryAttempts=1)
    assert current() == {"MaximumEventAgeInSeconds": 120, "MaximumRetryAttempts": 1}
    with pytest.raises(ClientError):
        lam.put_function_event_invoke_config(FunctionName="f", MaximumEventAgeInSeconds=99999)
    assert current() == {"MaximumEventAgeInSeconds": 120, "MaximumRetryAttempts": 1}  # a refused put changes nothing
    lam.delete_function_event_invoke_config(FunctionName="f")
    assert lam.list_function_event_invoke_configs(FunctionName="f")["FunctionEventInvokeConfigs"] == []
