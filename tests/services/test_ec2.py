"""EC2 instances (labkit.services.ec2): the lifecycle on the sandbox clock, apps named by user data,
IMDSv2, AWS/EC2 metrics, AWS's errors; driven through boto3 and real traffic."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from datetime import datetime, timezone
from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError

from labkit.core import hooks, loopback, names, seams
from labkit.services import ec2 as local
from tests.support.lifecycle import assert_nothing_left_running
from tests.support.nosockets import take_sockets_away

AMI = "ami-12c6146b"
EC2_TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}


def hello(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    body = f"{environ['REQUEST_METHOD']} {environ['PATH_INFO']}?{environ['QUERY_STRING']} " \
           f"{environ.get('HTTP_X_SHOP', '-')} {environ['wsgi.input'].read().decode()}"
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body.encode()]


def launch(lab: Any, **extra: Any) -> dict[str, Any]:
    ec2 = lab.client("ec2")
    return ec2.run_instances(ImageId=AMI, MinCount=1, MaxCount=1, InstanceType=extra.pop("InstanceType", "t3.micro"),
                             **extra)["Instances"][0]


def state_of(lab: Any, instance_id: str) -> dict[str, Any]:
    found = lab.client("ec2").describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
    return found["State"]


@pytest.fixture()
def instance(lab: Any) -> dict[str, Any]:
    ec2 = lab.client("ec2")
    found = launch(lab)
    ec2.get_waiter("instance_running").wait(InstanceIds=[found["InstanceId"]])
    return ec2.describe_instances(InstanceIds=[found["InstanceId"]])["Reservations"][0]["Instances"][0]


# ---- the lifecycle ----------------------------------------------------------------------------

def test_an_instance_is_pending_until_the_clock_reaches_its_boot(lab):
    found = launch(lab)
    iid = found["InstanceId"]
    assert found["State"] == {"Code": 0, "Name": "pending"}
    assert state_of(lab, iid) == {"Code": 0, "Name": "pending"}  # a describe does not move it on (moto's did)
    lab.clock.advance(local.BOOT_SECONDS - 1)
    assert state_of(lab, iid)["Name"] == "pending"
    lab.clock.advance(1)
    assert state_of(lab, iid) == {"Code": 16, "Name": "running"}


def test_stop_and_terminate_pass_through_aws_transitional_states(lab, instance):
    ec2 = lab.client("ec2")
    iid = instance["InstanceId"]
    answer = ec2.stop_instances(InstanceIds=[iid])["StoppingInstances"][0]
    assert answer["PreviousState"]["Name"] == "running"
    assert answer["CurrentState"] == {"Code": 64, "Name": "stopping"}
    lab.clock.advance(local.STOP_SECONDS)
    assert state_of(lab, iid) == {"Code": 80, "Name": "stopped"}
    assert ec2.start_instances(InstanceIds=[iid])["StartingInstances"][0]["CurrentState"]["Name"] == "pending"
    lab.clock.advance(local.BOOT_SECONDS)
    answer = ec2.terminate_instances(InstanceIds=[iid])["TerminatingInstances"][0]
    assert answer["CurrentState"] == {"Code": 32, "Name": "shutting-down"}
    lab.clock.advance(local.SHUTDOWN_SECONDS)
    assert state_of(lab, iid) == {"Code": 48, "Name": "terminated"}


def test_a_waiter_lets_sandbox_time_pass_instead_of_sleeping(lab):
    iid = launch(lab)["InstanceId"]
    before = lab.clock.now()
    lab.client("ec2").get_waiter("instance_running").wait(InstanceIds=[iid], WaiterConfig={"Delay": 1, "MaxAttempts": 1})
    assert lab.clock.now() - before >= local.BOOT_SECONDS
    assert state_of(lab, iid)["Name"] == "running"


def test_starting_a_stopping_instance_is_incorrect_instance_state(lab, instance):
    ec2 = lab.client("ec2")
    ec2.stop_instances(InstanceIds=[instance["InstanceId"]])
    with pytest.raises(ClientError) as error:
        ec2.start_instances(InstanceIds=[instance["InstanceId"]])
    assert error.value.response["Error"]["Code"] == "IncorrectInstanceState"


# ---- apps ------------------------------------------------------------------------------------

def test_the_app_answers_on_the_private_and_public_address(lab, instance):
    lab.ec2.serve(instance["InstanceId"], hello)
    answer = requests.post(f"http://{instance['PrivateIpAddress']}/cart?id=7", data=b"two", headers={"X-Shop": "s"},
                           timeout=5)
    assert answer.text == "POST /cart?id=7 s two"
    assert requests.get(f"http://{instance['PublicIpAddress']}/", timeout=5).status_code == 200
    assert lab.ec2.url(instance["InstanceId"], "/x") == f"http://{instance['PrivateIpAddress']}/x"


def test_the_app_follows_stop_start_reboot_and_terminate(lab, instance):
    ec2 = lab.client("ec2")
    iid, address = instance["InstanceId"], instance["PrivateIpAddress"]
    lab.ec2.serve(iid, hello, port=8080)
    assert requests.get(f"http://{address}:8080/", timeout=5).ok
    ec2.stop_instances(InstanceIds=[iid])
    with pytest.raises(requests.ConnectionError):  # the app stops as the instance starts stopping
        requests.get(f"http://{address}:8080/", timeout=5)
    ec2.get_waiter("instance_stopped").wait(InstanceIds=[iid])
    ec2.start_instances(InstanceIds=[iid])
    with pytest.raises(requests.ConnectionError):  # pending: not yet
        requests.get(f"http://{address}:8080/", timeout=5)
    ec2.get_waiter("instance_running").wait(InstanceIds=[iid])
    assert requests.get(f"http://{address}:8080/", timeout=5).ok
    ec2.reboot_instances(InstanceIds=[iid])
    assert requests.get(f"http://{address}:8080/", timeout=5).ok
    ec2.terminate_instances(InstanceIds=[iid])
    assert lab.ec2.served(iid) is None
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://{address}:8080/", timeout=5)


def test_user_data_names_a_registered_app_that_starts_at_boot(lab):
    lab.ec2.register_app("shop-web", hello, port=8080)
    found = launch(lab, UserData="#!labkit-app shop-web\n")
    assert lab.ec2.served(found["InstanceId"]) is None
    lab.clock.advance(local.BOOT_SECONDS)
    assert requests.get(f"http://{found['PrivateIpAddress']}:8080/x", timeout=5).text.startswith("GET /x")
    assert lab.ec2.boot_log(found["InstanceId"]) == ["labkit-app: serving 'shop-web' on port 8080"]


def test_a_launch_template_gives_every_instance_its_app(lab):
    ec2 = lab.client("ec2")
    lab.ec2.register_app("shop-web", hello)
    ec2.create_launch_template(LaunchTemplateName="shop-web", LaunchTemplateData={
        "ImageId": AMI, "InstanceType": "t3.micro", "UserData": base64.b64encode(b"#!labkit-app shop-web\n").decode()})
    found = ec2.run_instances(LaunchTemplate={"LaunchTemplateName": "shop-web"}, MinCount=2, MaxCount=2)["Instances"]
    lab.clock.advance(local.BOOT_SECONDS)
    assert [requests.get(f"http://{i['PrivateIpAddress']}/", timeout=5).status_code for i in found] == [200, 200]


def test_user_data_that_names_no_registered_app_serves_nothing_and_says_so(lab):
    found = launch(lab, UserData="#!labkit-app nothing-here\n")
    other = launch(lab, UserData="#!/bin/bash\nyum install -y httpd\n")
    lab.clock.advance(local.BOOT_SECONDS)
    assert "no app registered as 'nothing-here'" in lab.ec2.boot_log(found["InstanceId"])[0]
    assert "stored, not run" in lab.ec2.boot_log(other["InstanceId"])[0]
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://{found['PrivateIpAddress']}/", timeout=5)


def test_an_instance_address_without_an_app_is_refused_not_sent_out(lab, instance):
    assert names.resolve(instance["PrivateIpAddress"]) == [instance["PrivateIpAddress"]]
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://{instance['PrivateIpAddress']}/", timeout=5)


def test_an_app_that_raises_is_a_500_and_the_server_keeps_serving(lab, instance):
    calls = []

    def flaky(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("first request fails")
        return hello(environ, start_response)

    served = lab.ec2.serve(instance["InstanceId"], flaky)
    url = f"http://{instance['PrivateIpAddress']}/"
    assert requests.get(url, timeout=5).status_code == 500
    assert "first request fails" in served.errors[0]
    assert requests.get(url, timeout=5).status_code == 200


def test_serving_again_replaces_the_app(lab, instance):
    lab.ec2.serve(instance["InstanceId"], hello)

    def other(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [])
        return [b"v2"]

    lab.ec2.serve(instance["InstanceId"], other)
    assert requests.get(f"http://{instance['PrivateIpAddress']}/", timeout=5).text == "v2"
    assert len(loopback.live_servers()) == 1


def test_unknown_or_terminated_instances_and_bad_apps_are_refused(lab, instance):
    with pytest.raises(ValueError, match="no instance"):
        lab.ec2.serve("i-0123456789abcdef0", hello)
    with pytest.raises(TypeError):
        lab.ec2.serve(instance["InstanceId"], "not an app")
    with pytest.raises(TypeError):
        lab.ec2.register_app("x", "not an app")
    lab.client("ec2").terminate_instances(InstanceIds=[instance["InstanceId"]])
    with pytest.raises(ValueError, match="shutting-down|terminated"):
        lab.ec2.serve(instance["InstanceId"], hello)


# ---- instance metadata (IMDSv2) ----------------------------------------------------------------

def metadata_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """Code on the instance: IMDSv2 the AWS way, from inside a request."""
    base = "http://169.254.169.254/latest"
    token = requests.put(f"{base}/api/token", headers={"X-aws-ec2-metadata-token-ttl-seconds": "300"}, timeout=5).text
    headers = {"X-aws-ec2-metadata-token": token}
    role = requests.get(f"{base}/meta-data/iam/security-credentials/", headers=headers, timeout=5).text
    found = {
        "id": requests.get(f"{base}/meta-data/instance-id", headers=headers, timeout=5).text,
        "az": requests.get(f"{base}/meta-data/placement/availability-zone", headers=headers, timeout=5).text,
        "no_token": requests.get(f"{base}/meta-data/instance-id", timeout=5).status_code,
        "role": role,
        "credentials": requests.get(f"{base}/meta-data/iam/security-credentials/{role}", headers=headers, timeout=5).json(),
    }
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps(found).encode()]


def launch_whoami(lab: Any, **extra: Any) -> dict[str, Any]:
    """An instance with the role shop-web (made on first use) serving :func:`metadata_app`."""
    iam = lab.client("iam")
    try:
        iam.create_role(RoleName="shop-web", AssumeRolePolicyDocument=json.dumps(EC2_TRUST))
        iam.create_instance_profile(InstanceProfileName="shop-web")
        iam.add_role_to_instance_profile(InstanceProfileName="shop-web", RoleName="shop-web")
    except iam.exceptions.EntityAlreadyExistsException:
        pass
    lab.ec2.register_app("whoami", metadata_app)
    return launch(lab, UserData="#!labkit-app whoami", IamInstanceProfile={"Name": "shop-web"}, **extra)


def test_the_app_on_an_instance_reads_its_own_metadata_with_a_token(lab):
    first = launch_whoami(lab, MetadataOptions={"HttpTokens": "required"})
    second = launch_whoami(lab)
    lab.clock.advance(local.BOOT_SECONDS)
    one = requests.get(f"http://{first['PrivateIpAddress']}/", timeout=10).json()
    two = requests.get(f"http://{second['PrivateIpAddress']}/", timeout=10).json()
    assert (one["id"], two["id"]) == (first["InstanceId"], second["InstanceId"])
    assert one["az"] == first["Placement"]["AvailabilityZone"]
    assert (one["no_token"], two["no_token"]) == (401, 200)  # HttpTokens required: IMDSv1 refused
    assert one["role"] == "shop-web"
    assert one["credentials"]["Code"] == "Success" and one["credentials"]["AccessKeyId"].startswith("ASIA")
    sts = lab.client("sts", aws_access_key_id=one["credentials"]["AccessKeyId"],
                     aws_secret_access_key=one["credentials"]["SecretAccessKey"],
                     aws_session_token=one["credentials"]["Token"])
    assert sts.get_caller_identity()["Arn"].endswith(f"assumed-role/shop-web/{first['InstanceId']}")


def test_metadata_refuses_bad_tokens_and_ttls_and_answers_nothing_to_the_notebook(lab, instance):
    iid = instance["InstanceId"]
    assert lab.ec2.metadata(iid, "/latest/api/token", method="PUT").status == 400  # no TTL
    bad_ttl = {"X-aws-ec2-metadata-token-ttl-seconds": "21601"}
    assert lab.ec2.metadata(iid, "/latest/api/token", method="PUT", headers=bad_ttl).status == 400
    token = lab.ec2.metadata(iid, "/latest/api/token", method="PUT",
                             headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"}).body.decode()
    good = {"X-aws-ec2-metadata-token": token}
    assert lab.ec2.metadata(iid, "/latest/meta-data/local-ipv4", headers=good).body.decode() == instance["PrivateIpAddress"]
    assert lab.ec2.metadata(iid, "/latest/meta-data/nothing", headers=good).status == 404
    assert lab.ec2.metadata(iid, "/latest/meta-data/instance-id", headers={"X-aws-ec2-metadata-token": "forged"}).status == 401
    lab.clock.advance(61)
    assert lab.ec2.metadata(iid, "/latest/meta-data/instance-id", headers=good).status == 401  # expired on the clock
    with pytest.raises(requests.ConnectionError):
        requests.get("http://169.254.169.254/latest/meta-data/instance-id", timeout=5)


def test_in_the_browser_an_app_reads_its_own_metadata_in_process(lab, monkeypatch):
    """The browser edition: no socket; the app and its instance's metadata server answer in-process."""

    from labkit.core import inprocess, platform

    monkeypatch.setenv(platform.VARIABLE, "1")
    lab.reset()
    inprocess.install()
    take_sockets_away(monkeypatch)
    first = launch_whoami(lab, MetadataOptions={"HttpTokens": "required"})
    lab.clock.advance(local.BOOT_SECONDS)
    assert local.served(first["InstanceId"]).front._server.in_process
    one = requests.get(f"http://{first['PrivateIpAddress']}/", timeout=10).json()
    assert (one["id"], one["no_token"], one["role"]) == (first["InstanceId"], 401, "shop-web")
    assert one["credentials"]["Code"] == "Success" and one["credentials"]["AccessKeyId"].startswith("ASIA")
    with pytest.raises(requests.ConnectionError):  # the notebook is on no instance: nothing answers it there
        requests.get("http://169.254.169.254/latest/meta-data/instance-id", timeout=5)
    monkeypatch.undo()
    lab.reset()


# ---- metrics -----------------------------------------------------------------------------------

def cpu_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    sum(i * i for i in range(20000))
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"x" * 100]


def datapoints(lab: Any, name: str, dims: list[dict[str, str]], period: int = 60, stat: str = "Average") -> list[float]:
    now = lab.clock.now()
    found = lab.client("cloudwatch").get_metric_statistics(
        Namespace="AWS/EC2", MetricName=name, Dimensions=dims, Period=period, Statistics=[stat],
        StartTime=datetime.fromtimestamp(now - 900, timezone.utc), EndTime=datetime.fromtimestamp(now, timezone.utc))
    return [p[stat] for p in sorted(found["Datapoints"], key=lambda p: p["Timestamp"])]


def test_cpu_and_network_come_from_the_apps_work_each_minute(lab):
    found = launch(lab, Monitoring={"Enabled": True})
    iid = found["InstanceId"]
    lab.clock.advance(local.BOOT_SECONDS)
    lab.ec2.serve(iid, cpu_app)
    with lab.clock.frozen():
        lab.clock.advance(60 - lab.clock.now() % 60)
        for _ in range(40):
            requests.get(f"http://{found['PrivateIpAddress']}/", timeout=5)
        lab.clock.advance(60)
        lab.clock.advance(60)  # a quiet minute
    dims = [{"Name": "InstanceId", "Value": iid}]
    cpu = datapoints(lab, "CPUUtilization", dims)
    assert cpu[-2] > 0 and cpu[-1] == 0
    assert datapoints(lab, "NetworkOut", dims, stat="Sum")[-2] > 40 * 100
    assert "MemoryUtilization" not in {m["MetricName"] for m in lab.client("cloudwatch").list_metrics(
        Namespace="AWS/EC2")["Metrics"]}


def test_without_thread_time_as_in_pyodide_an_app_serves_and_its_cpu_is_counted(lab, instance, monkeypatch):
    import time

    monkeypatch.delattr(time, "thread_time")  # Pyodide's time module has none
    lab.ec2.serve(instance["InstanceId"], cpu_app)
    assert requests.get(f"http://{instance['PrivateIpAddress']}/", timeout=5).status_code == 200
    assert local.served(instance["InstanceId"]).cpu_seconds > 0
    assert local.calibrate(cpu_app, requests_per_minute=60, utilization=50, instances=1) > 0


def test_basic_monitoring_publishes_every_five_minutes(lab):
    iid = launch(lab)["InstanceId"]  # Monitoring left out: basic
    lab.clock.advance(local.BOOT_SECONDS)
    lab.clock.advance(600)
    found = lab.client("cloudwatch").get_metric_statistics(
        Namespace="AWS/EC2", MetricName="CPUUtilization", Dimensions=[{"Name": "InstanceId", "Value": iid}], Period=60,
        Statistics=["SampleCount"], StartTime=datetime.fromtimestamp(lab.clock.now() - 600, timezone.utc),
        EndTime=datetime.fromtimestamp(lab.clock.now(), timezone.utc))["Datapoints"]
    assert {int(p["Timestamp"].timestamp()) % 300 for p in found} == {0}
    assert 1 <= len(found) <= 2


def test_the_vcpu_model_scales_cpu_and_reset_restores_it(lab):
    found = launch(lab, Monitoring={"Enabled": True}, InstanceType="t3.micro")
    lab.clock.advance(local.BOOT_SECONDS)
    lab.ec2.serve(found["InstanceId"], cpu_app)
    lab.ec2.set_vcpu_speed(1e-6)
    with lab.clock.frozen():
        lab.clock.advance(60 - lab.clock.now() % 60)
        requests.get(f"http://{found['PrivateIpAddress']}/", timeout=5)
        lab.clock.advance(60)
    assert datapoints(lab, "CPUUtilization", [{"Name": "InstanceId", "Value": found["InstanceId"]}])[-1] == 100.0
    with pytest.raises(ValueError):
        lab.ec2.set_vcpu_speed(0)
    lab.reset()
    assert local.metrics.VCPU_SPEED == local.metrics.DEFAULT_VCPU_SPEED


def test_calibration_makes_a_given_load_a_given_utilization(lab):
    found = launch(lab, Monitoring={"Enabled": True})
    lab.clock.advance(local.BOOT_SECONDS)
    lab.ec2.serve(found["InstanceId"], cpu_app)
    lab.ec2.calibrate(cpu_app, requests_per_minute=30, utilization=50, instances=1, vcpus_each=2)
    with lab.clock.frozen():
        lab.clock.advance(60 - lab.clock.now() % 60)
        for _ in range(30):
            requests.get(f"http://{found['PrivateIpAddress']}/", timeout=5)
        lab.clock.advance(60)
    measured = datapoints(lab, "CPUUtilization", [{"Name": "InstanceId", "Value": found["InstanceId"]}])[-1]
    assert 25 < measured < 90  # about 50: the served request costs a little more than the bare app


# ---- AWS's errors and moto's gaps ------------------------------------------------------------

def test_an_unknown_ami_or_instance_type_gets_aws_errors_and_ec2_keeps_working(lab):
    ec2 = lab.client("ec2")
    with pytest.raises(ClientError) as error:
        ec2.run_instances(ImageId="ami-00000000deadbeef", MinCount=1, MaxCount=1)
    assert error.value.response["Error"]["Code"] == "InvalidAMIID.NotFound"
    assert "ami-00000000deadbeef" in error.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as error:
        ec2.run_instances(ImageId=AMI, InstanceType="t9.huge", MinCount=1, MaxCount=1)
    assert error.value.response["Error"] == {"Code": "InvalidParameterValue",
                                             "Message": "Invalid value 't9.huge' for InstanceType."}
    ec2.create_launch_template(LaunchTemplateName="broken", LaunchTemplateData={"ImageId": "ami-0badbadbadbadbad0"})
    with pytest.raises(ClientError) as error:
        ec2.run_instances(LaunchTemplate={"LaunchTemplateName": "broken"}, MinCount=1, MaxCount=1)
    assert error.value.response["Error"]["Code"] == "InvalidAMIID.NotFound"
    assert launch(lab)["State"]["Name"] == "pending"


def test_describe_key_pairs_says_the_key_type(lab):
    ec2 = lab.client("ec2")
    ec2.create_key_pair(KeyName="ops-ed", KeyType="ed25519")
    ec2.create_key_pair(KeyName="ops-rsa")
    found = {k["KeyName"]: k["KeyType"] for k in ec2.describe_key_pairs()["KeyPairs"]}
    assert found == {"ops-ed": "ed25519", "ops-rsa": "rsa"}


def test_deleting_a_launch_template_that_does_not_exist_is_not_found(lab):
    with pytest.raises(ClientError) as error:
        lab.client("ec2").delete_launch_template(LaunchTemplateName="never-made")
    assert error.value.response["Error"]["Code"] == "InvalidLaunchTemplateName.NotFoundException"


def test_a_launch_template_gives_its_instances_monitoring_and_a_profile(lab):
    ec2 = lab.client("ec2")
    ec2.create_launch_template(LaunchTemplateName="watched", LaunchTemplateData={
        "ImageId": AMI, "InstanceType": "t3.micro", "Monitoring": {"Enabled": True},
        "IamInstanceProfile": {"Name": "shop-web"}})
    found = ec2.run_instances(LaunchTemplate={"LaunchTemplateName": "watched"}, MinCount=1, MaxCount=1)["Instances"][0]
    instance = local.apps.moto_instance(found["InstanceId"], lab.region)
    assert instance.monitoring_state == "enabled"
    assert instance.iam_instance_profile["Arn"].endswith(":instance-profile/shop-web")


# ---- furniture -------------------------------------------------------------------------------

def test_every_seam_is_where_the_service_expects_it(lab, instance):
    from moto.ec2.models import ec2_backends

    lab.ec2  # noqa: B018
    assert seams.check(local.SEAMS) == []
    assert {s.qualname for s in local.SEAMS if s.patched} == {
        "InstanceBackend.run_instances", "Instance.start", "Instance.stop", "Instance.terminate", "Instance.reboot"}
    backend = ec2_backends[lab.account_id][lab.region]
    reservation = next(iter(backend.reservations.values()))
    moto_instance = reservation.instances[0]
    assert hasattr(moto_instance, "_state") and hasattr(moto_instance, "monitoring_state")
    assert hasattr(moto_instance, "metadata_options") and hasattr(backend, "key_pairs")


def test_reset_stops_every_app_and_forgets_transitions(lab, instance):
    lab.ec2.serve(instance["InstanceId"], hello)
    lab.ec2.register_app("shop-web", hello)
    launch(lab)
    assert len(loopback.live_servers()) == 1 and local.lifecycle._DUE
    lab.reset()
    assert_nothing_left_running()
    assert local.lifecycle._DUE == {} and local.registered_apps() == {}


def test_importing_the_service_installs_nothing():
    code = ("import labkit.services.ec2, labkit.core.hooks as h, labkit.core.loopback as l; "
            "print(sorted({k[1] for k, v in h._SUBSCRIBERS.items() if v}), len(l.live_servers()))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[] 0"


def test_install_subscribes_once(lab):
    lab.ec2.install()
    lab.ec2.install()
    subscribers = [fn for fn, _ in hooks._SUBSCRIBERS.get(("before", "ec2", "RunInstances"), [])]
    assert subscribers.count(local.answers.before_run_instances) == 1
