"""The EC2 chapter: what its page states, checked through plain boto3 against the sandbox.

The services' own behaviour is in tests/services/test_ec2.py and test_autoscaling.py; the lab's
wrong answers are in tests/chapters/wrong_answers/ec2.py (run by test_wrong_answers.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

ROOT = Path(__file__).resolve().parents[2]
PAGE = (ROOT / "book" / "ec2.md").read_text()
AMI = "ami-12c6146b"


def test_the_state_codes_the_page_lists_are_the_ones_instances_report(lab):
    ec2 = lab.client("ec2")
    listed = dict(re.findall(r"`([a-z-]+)` (\d+)", PAGE.split("Instance states and their codes")[1].splitlines()[0]))
    seen = {}
    instance = ec2.run_instances(ImageId=AMI, InstanceType="t3.micro", MinCount=1, MaxCount=1)["Instances"][0]
    iid = instance["InstanceId"]
    seen[instance["State"]["Name"]] = instance["State"]["Code"]
    ec2.get_waiter("instance_running").wait(InstanceIds=[iid])
    state = ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]["State"]
    seen[state["Name"]] = state["Code"]
    state = ec2.stop_instances(InstanceIds=[iid])["StoppingInstances"][0]["CurrentState"]
    seen[state["Name"]] = state["Code"]
    ec2.get_waiter("instance_stopped").wait(InstanceIds=[iid])
    state = ec2.terminate_instances(InstanceIds=[iid])["TerminatingInstances"][0]
    seen[state["PreviousState"]["Name"]] = state["PreviousState"]["Code"]
    seen[state["CurrentState"]["Name"]] = state["CurrentState"]["Code"]
    ec2.get_waiter("instance_terminated").wait(InstanceIds=[iid])
    state = ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]["State"]
    seen[state["Name"]] = state["Code"]
    assert {name: int(code) for name, code in listed.items()} == seen


def test_the_grace_period_defaults_and_the_validation_error_the_page_states(lab):
    ec2, autoscaling = lab.client("ec2"), lab.client("autoscaling")
    ec2.create_launch_template(LaunchTemplateName="page", LaunchTemplateData={"ImageId": AMI, "InstanceType": "t3.micro"})
    subnet = ec2.describe_subnets()["Subnets"][0]["SubnetId"]
    autoscaling.create_auto_scaling_group(AutoScalingGroupName="page", MinSize=1, MaxSize=2,
                                          LaunchTemplate={"LaunchTemplateName": "page"}, VPCZoneIdentifier=subnet)
    group = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=["page"])["AutoScalingGroups"][0]
    assert group["HealthCheckGracePeriod"] == 0 and group["HealthCheckType"] == "EC2"
    assert "0 seconds from the API and SDKs" in PAGE
    with pytest.raises(ClientError) as error:
        autoscaling.set_desired_capacity(AutoScalingGroupName="page", DesiredCapacity=3)
    assert error.value.response["Error"]["Code"] == "ValidationError"


@pytest.mark.parametrize(("call", "code"), [
    ({"ImageId": "ami-0123456789abcdef0", "InstanceType": "t3.micro"}, "InvalidAMIID.NotFound"),
    ({"ImageId": AMI, "InstanceType": "t3.enormous"}, "InvalidParameterValue"),
])
def test_the_errors_the_page_names(lab, call, code):
    with pytest.raises(ClientError) as error:
        lab.client("ec2").run_instances(MinCount=1, MaxCount=1, **call)
    assert error.value.response["Error"]["Code"] == code
    assert f"`{code}`" in PAGE


def test_the_token_ttl_in_aws_examples_is_accepted(lab):
    instance = lab.client("ec2").run_instances(ImageId=AMI, MinCount=1, MaxCount=1)["Instances"][0]
    answer = lab.ec2.metadata(instance["InstanceId"], "/latest/api/token", method="PUT",
                              headers={"X-aws-ec2-metadata-token-ttl-seconds": "21600"})
    assert answer.status == 200 and "21,600 s" in PAGE


def test_no_memory_metric_as_the_page_says(lab):
    instance = lab.client("ec2").run_instances(ImageId=AMI, MinCount=1, MaxCount=1, Monitoring={"Enabled": True})
    lab.clock.advance(180)
    names = {m["MetricName"] for m in lab.client("cloudwatch").list_metrics(
        Namespace="AWS/EC2", Dimensions=[{"Name": "InstanceId", "Value": instance["Instances"][0]["InstanceId"]}])["Metrics"]}
    assert names == {"CPUUtilization", "NetworkIn", "NetworkOut"}
    assert "**Memory is not among them**" in PAGE
