"""EC2 Auto Scaling (labkit.services.autoscaling): capacity kept on the sandbox clock, EC2 and ELB
health checks, replacement, scaling policies run by CloudWatch alarms, activities in AWS's words."""

from __future__ import annotations

import base64
import math
from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError

from labkit.core import seams
from labkit.services import autoscaling as local
from labkit.services import ec2 as ec2_service

AMI = "ami-12c6146b"


def shop_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    sum(i * i for i in range(5000))
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"shop"]


class Shop:
    """A launch template whose instances serve the shop, a load balancer, a target group."""

    def __init__(self, lab: Any) -> None:
        self.lab = lab
        self.ec2, self.asg, self.elb = lab.client("ec2"), lab.client("autoscaling"), lab.client("elbv2")
        self.cw = lab.client("cloudwatch")
        lab.ec2.register_app("shop-web", shop_app)
        self.vpc = self.ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
        self.subnets = [s["SubnetId"] for s in self.ec2.describe_subnets(
            Filters=[{"Name": "vpc-id", "Values": [self.vpc]}])["Subnets"]][:2]
        self.ec2.create_launch_template(LaunchTemplateName="shop-web", LaunchTemplateData={
            "ImageId": AMI, "InstanceType": "t3.micro", "Monitoring": {"Enabled": True},
            "UserData": base64.b64encode(b"#!labkit-app shop-web\n").decode()})
        self.lb = self.elb.create_load_balancer(Name="shop", Subnets=self.subnets, Type="application")["LoadBalancers"][0]
        self.tg = self.elb.create_target_group(
            Name="web", Protocol="HTTP", Port=80, VpcId=self.vpc, TargetType="instance", HealthCheckIntervalSeconds=10,
            HealthyThresholdCount=2, UnhealthyThresholdCount=2)["TargetGroups"][0]["TargetGroupArn"]
        self.elb.create_listener(LoadBalancerArn=self.lb["LoadBalancerArn"], Protocol="HTTP", Port=80,
                                 DefaultActions=[{"Type": "forward", "TargetGroupArn": self.tg}])

    def group(self, name: str = "web", **extra: Any) -> dict[str, Any]:
        params = {"MinSize": 1, "MaxSize": 4, "DesiredCapacity": 2, "LaunchTemplate": {"LaunchTemplateName": "shop-web"},
                  "VPCZoneIdentifier": ",".join(self.subnets), **extra}
        self.asg.create_auto_scaling_group(AutoScalingGroupName=name, **params)
        return self.describe(name)

    def describe(self, name: str = "web") -> dict[str, Any]:
        return self.asg.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"][0]

    def in_service(self, name: str = "web") -> list[str]:
        return [i["InstanceId"] for i in self.describe(name)["Instances"] if i["LifecycleState"] == "InService"]

    def activities(self, name: str = "web") -> list[dict[str, Any]]:
        pages = self.asg.get_paginator("describe_scaling_activities").paginate(AutoScalingGroupName=name)
        return [a for page in pages for a in page["Activities"]]

    def get(self, path: str = "/") -> requests.Response:
        return requests.get("http://" + self.lb["DNSName"] + path, timeout=5)


@pytest.fixture()
def shop(lab: Any) -> Shop:
    return Shop(lab)


def settle(lab: Any, seconds: float = 30) -> None:
    lab.clock.advance(seconds)


# ---- capacity ---------------------------------------------------------------------------------

def test_a_group_launches_pending_instances_that_come_into_service_and_serve(lab, shop):
    found = shop.group(TargetGroupARNs=[shop.tg])
    assert [i["LifecycleState"] for i in found["Instances"]] == ["Pending", "Pending"]
    assert found["HealthCheckGracePeriod"] == 0  # left out: 0, as the API documents (moto says 300)
    settle(lab)
    assert len(shop.in_service()) == 2
    registered = {t["Target"]["Id"] for t in shop.elb.describe_target_health(TargetGroupArn=shop.tg)["TargetHealthDescriptions"]}
    assert registered == set(shop.in_service())
    assert shop.get().text == "shop"
    causes = [a["Cause"] for a in shop.activities()]
    assert len(causes) == 2 and all("a user request created an AutoScalingGroup changing the desired capacity from 0 to 2"
                                    in c for c in causes)
    assert all("an instance was started in response to a difference between desired and actual capacity, increasing "
               "the capacity from 0 to 2." in c for c in causes)


@pytest.mark.parametrize(("call", "params", "message"), [
    ("create_auto_scaling_group", {"MinSize": 1, "MaxSize": 3, "DesiredCapacity": 5},
     "Desired capacity:5 must be between the specified min size:1 and max size:3"),
    ("create_auto_scaling_group", {"MinSize": 4, "MaxSize": 3},
     "Max bound, 3, must be greater than or equal to min bound, 4"),
])
def test_a_desired_capacity_outside_min_and_max_is_a_validation_error(lab, shop, call, params, message):
    with pytest.raises(ClientError) as error:
        getattr(shop.asg, call)(AutoScalingGroupName="bad", LaunchTemplate={"LaunchTemplateName": "shop-web"},
                                VPCZoneIdentifier=shop.subnets[0], **params)
    assert error.value.response["Error"] == {"Code": "ValidationError", "Message": message, "Type": "Sender"} or \
        error.value.response["Error"]["Message"] == message
    assert shop.asg.describe_auto_scaling_groups()["AutoScalingGroups"] == []
    assert shop.ec2.describe_instances()["Reservations"] == []


def test_set_desired_capacity_above_max_is_refused_and_the_group_keeps_working(lab, shop):
    shop.group(MaxSize=3)
    for value, word in ((9, "above max value 3"), (0, "below min value 1")):
        with pytest.raises(ClientError) as error:
            shop.asg.set_desired_capacity(AutoScalingGroupName="web", DesiredCapacity=value)
        assert error.value.response["Error"]["Code"] == "ValidationError"
        assert word in error.value.response["Error"]["Message"]
    with pytest.raises(ClientError):
        shop.asg.update_auto_scaling_group(AutoScalingGroupName="web", DesiredCapacity=4)
    shop.asg.set_desired_capacity(AutoScalingGroupName="web", DesiredCapacity=3)
    settle(lab)
    assert len(shop.in_service()) == 3
    assert "a user request explicitly set group desired capacity changing the desired capacity from 2 to 3" in \
        shop.activities()[0]["Cause"]


def test_lowering_the_desired_capacity_terminates_the_oldest(lab, shop):
    shop.group(DesiredCapacity=3)
    settle(lab)
    oldest = shop.describe()["Instances"][0]["InstanceId"]
    shop.asg.update_auto_scaling_group(AutoScalingGroupName="web", DesiredCapacity=2)
    assert len(shop.describe()["Instances"]) == 2
    newest = shop.activities()[0]
    assert newest["Description"].startswith("Terminating EC2 instance: ")
    assert "shrinking the capacity from 3 to 2." in newest["Cause"]
    assert "a user request update of AutoScalingGroup constraints to min: 1, max: 4, desired: 2" in newest["Cause"]
    assert oldest not in [i["InstanceId"] for i in shop.describe()["Instances"]]


# ---- replacement ------------------------------------------------------------------------------

def test_a_terminated_instance_is_replaced_at_the_next_health_check(lab, shop):
    shop.group(TargetGroupARNs=[shop.tg])
    settle(lab)
    victim = shop.in_service()[0]
    shop.ec2.terminate_instances(InstanceIds=[victim])
    assert victim in [i["InstanceId"] for i in shop.describe()["Instances"]]  # not at once, as moto did
    lab.clock.advance(local.CHECK_SECONDS)
    ids = [i["InstanceId"] for i in shop.describe()["Instances"]]
    assert victim not in ids and len(ids) == 2
    terminating, launching = shop.activities()[1], shop.activities()[0]
    assert terminating["Description"] == f"Terminating EC2 instance: {victim}"
    assert terminating["Cause"].endswith("an instance was taken out of service in response to an EC2 health check "
                                         "indicating it has been terminated or stopped.")
    assert "increasing the capacity from 1 to 2." in launching["Cause"]
    settle(lab)
    assert len(shop.in_service()) == 2 and shop.get().ok


def test_a_stopped_instance_is_replaced_too(lab, shop):
    shop.group(DesiredCapacity=1)
    settle(lab)
    victim = shop.in_service()[0]
    shop.ec2.stop_instances(InstanceIds=[victim])
    lab.clock.advance(local.CHECK_SECONDS)
    assert victim not in [i["InstanceId"] for i in shop.describe()["Instances"]]


def break_app(lab: Any, instance_id: str) -> None:
    lab.ec2.stop_serving(instance_id)  # the instance runs; its web server does not


@pytest.mark.parametrize("check_type", ["EC2", "ELB"])
def test_an_elb_unhealthy_instance_is_replaced_only_with_health_check_type_elb(lab, shop, check_type):
    shop.group(TargetGroupARNs=[shop.tg], HealthCheckType=check_type, HealthCheckGracePeriod=60)
    settle(lab)
    sick = shop.in_service()[0]
    break_app(lab, sick)
    lab.clock.advance(30)  # two failed checks: unhealthy, but the grace period is not over
    states = {t["Target"]["Id"]: t["TargetHealth"]["State"]
              for t in shop.elb.describe_target_health(TargetGroupArn=shop.tg)["TargetHealthDescriptions"]}
    assert states[sick] == "unhealthy"
    assert sick in shop.in_service()
    lab.clock.advance(60)
    if check_type == "EC2":
        assert sick in shop.in_service()  # the EC2 status check sees a running instance
        assert all(i["HealthStatus"] == "Healthy" for i in shop.describe()["Instances"])
    else:
        assert sick not in [i["InstanceId"] for i in shop.describe()["Instances"]]
        cause = next(a["Cause"] for a in shop.activities() if a["Description"] == f"Terminating EC2 instance: {sick}")
        assert cause.endswith("an instance was taken out of service in response to an ELB system health check failure.")
        lab.clock.advance(30)
        assert len(shop.in_service()) == 2


def test_set_instance_health_unhealthy_replaces_the_instance(lab, shop):
    shop.group(DesiredCapacity=1)
    settle(lab)
    victim = shop.in_service()[0]
    shop.asg.set_instance_health(InstanceId=victim, HealthStatus="Unhealthy")
    local.check_now()
    assert victim not in [i["InstanceId"] for i in shop.describe()["Instances"]]
    assert shop.activities()[1]["Cause"].endswith("in response to a user health-check.")


def test_terminate_instance_in_group_with_and_without_decrement(lab, shop):
    shop.group(DesiredCapacity=2)
    settle(lab)
    first, second = shop.in_service()
    answer = shop.asg.terminate_instance_in_auto_scaling_group(InstanceId=first, ShouldDecrementDesiredCapacity=False)
    assert answer["Activity"]["Description"] == f"Terminating EC2 instance: {first}"
    settle(lab)
    assert len(shop.in_service()) == 2
    shop.asg.terminate_instance_in_auto_scaling_group(InstanceId=second, ShouldDecrementDesiredCapacity=True)
    settle(lab)
    assert shop.describe()["DesiredCapacity"] == 1 and len(shop.in_service()) == 1


def test_a_launch_template_with_a_missing_ami_is_a_failed_activity(lab, shop):
    shop.ec2.create_launch_template(LaunchTemplateName="broken", LaunchTemplateData={"ImageId": "ami-0badbadbadbadbad0"})
    shop.asg.create_auto_scaling_group(AutoScalingGroupName="broken", MinSize=1, MaxSize=1,
                                       LaunchTemplate={"LaunchTemplateName": "broken"}, VPCZoneIdentifier=shop.subnets[0])
    failed = shop.activities("broken")
    assert failed[0]["StatusCode"] == "Failed"
    assert "The image id '[ami-0badbadbadbadbad0]' does not exist" in failed[0]["StatusMessage"]
    lab.clock.advance(30)
    assert len(shop.activities("broken")) == 1  # retried a minute later, not every check
    lab.clock.advance(40)
    assert len(shop.activities("broken")) == 2
    assert shop.describe("broken")["Instances"] == []


# ---- scaling policies ---------------------------------------------------------------------------

def load(lab: Any, shop: Shop, requests_per_minute: int, minutes: int) -> None:
    with lab.clock.frozen():
        lab.clock.advance(60 - lab.clock.now() % 60 + 2)
        for _ in range(minutes):
            for _ in range(requests_per_minute):
                shop.get()
            lab.clock.advance(60)


def test_target_tracking_creates_aws_alarms_and_scales_out_then_in(lab, shop):
    shop.group(DesiredCapacity=1, TargetGroupARNs=[shop.tg])
    settle(lab)
    answer = shop.asg.put_scaling_policy(
        AutoScalingGroupName="web", PolicyName="cpu-40", PolicyType="TargetTrackingScaling",
        TargetTrackingConfiguration={"PredefinedMetricSpecification": {"PredefinedMetricType": "ASGAverageCPUUtilization"},
                                     "TargetValue": 40.0})
    names = [a["AlarmName"] for a in answer["Alarms"]]
    assert [n.split("-")[:3] for n in names] == [["TargetTracking", "web", "AlarmHigh"], ["TargetTracking", "web", "AlarmLow"]]
    alarms = {a["AlarmName"]: a for a in shop.cw.describe_alarms(AlarmNames=names)["MetricAlarms"]}
    high = alarms[names[0]]
    assert (high["Namespace"], high["MetricName"], high["Dimensions"]) == (
        "AWS/EC2", "CPUUtilization", [{"Name": "AutoScalingGroupName", "Value": "web"}])
    assert high["AlarmActions"] == [answer["PolicyARN"]] and high["Threshold"] == 40.0
    assert shop.asg.describe_policies(AutoScalingGroupName="web")["ScalingPolicies"][0]["Alarms"] == answer["Alarms"]
    lab.ec2.set_vcpu_speed(2e-5)  # a very slow vCPU: a few requests make a busy minute
    load(lab, shop, 20, 4)
    assert shop.describe()["DesiredCapacity"] > 1
    first_launch = [a for a in shop.activities() if "triggered policy cpu-40" in a["Cause"]][-1]
    assert f"a monitor alarm {names[0]} in state ALARM triggered policy cpu-40 changing the desired capacity from 1 to" \
        in first_launch["Cause"]
    lab.clock.advance(60 * 25)  # quiet: the low alarm after 15 minutes, then scale-in
    assert shop.describe()["DesiredCapacity"] == 1
    assert any("AlarmLow" in a["Cause"] and a["Description"].startswith("Terminating") for a in shop.activities())


def test_disable_scale_in_makes_no_low_alarm_and_deleting_the_policy_deletes_its_alarms(lab, shop):
    shop.group(DesiredCapacity=1)
    answer = shop.asg.put_scaling_policy(
        AutoScalingGroupName="web", PolicyName="cpu", PolicyType="TargetTrackingScaling",
        TargetTrackingConfiguration={"PredefinedMetricSpecification": {"PredefinedMetricType": "ASGAverageCPUUtilization"},
                                     "TargetValue": 50.0, "DisableScaleIn": True})
    assert len(answer["Alarms"]) == 1
    shop.asg.delete_policy(AutoScalingGroupName="web", PolicyName="cpu")
    assert shop.cw.describe_alarms(AlarmNamePrefix="TargetTracking-web")["MetricAlarms"] == []


def test_step_scaling_picks_the_step_from_the_breach(lab, shop):
    shop.group(DesiredCapacity=1, MaxSize=6, TargetGroupARNs=[shop.tg])
    settle(lab)
    arn = shop.asg.put_scaling_policy(
        AutoScalingGroupName="web", PolicyName="steps", PolicyType="StepScaling", AdjustmentType="ChangeInCapacity",
        StepAdjustments=[{"MetricIntervalLowerBound": 0, "MetricIntervalUpperBound": 20, "ScalingAdjustment": 1},
                         {"MetricIntervalLowerBound": 20, "ScalingAdjustment": 3}])["PolicyARN"]
    shop.cw.put_metric_alarm(AlarmName="web-cpu-high", Namespace="AWS/EC2", MetricName="CPUUtilization",
                             Dimensions=[{"Name": "AutoScalingGroupName", "Value": "web"}], Statistic="Average",
                             Period=60, EvaluationPeriods=2, Threshold=30, ComparisonOperator="GreaterThanThreshold",
                             AlarmActions=[arn])
    lab.ec2.set_vcpu_speed(1e-6)  # every minute with a request is 100 % busy: 70 above the threshold
    load(lab, shop, 5, 3)
    assert shop.describe()["DesiredCapacity"] == 4  # 1 + 3, once: the warm-up holds the next step
    assert shop.cw.describe_alarms(AlarmNames=["web-cpu-high"])["MetricAlarms"][0]["StateValue"] == "ALARM"


def test_execute_policy_runs_simple_and_step_policies(lab, shop):
    shop.group(DesiredCapacity=1, MaxSize=5)
    shop.asg.put_scaling_policy(AutoScalingGroupName="web", PolicyName="add-two", AdjustmentType="ChangeInCapacity",
                                ScalingAdjustment=2)
    shop.asg.execute_policy(AutoScalingGroupName="web", PolicyName="add-two")
    assert shop.describe()["DesiredCapacity"] == 3
    assert "a user request executed policy add-two changing the desired capacity from 1 to 3" in shop.activities()[0]["Cause"]
    shop.asg.put_scaling_policy(AutoScalingGroupName="web", PolicyName="half", PolicyType="StepScaling",
                                AdjustmentType="PercentChangeInCapacity",
                                StepAdjustments=[{"MetricIntervalUpperBound": 0, "ScalingAdjustment": -50}])
    shop.asg.execute_policy(AutoScalingGroupName="web", PolicyName="half", MetricValue=10, BreachThreshold=20)
    assert shop.describe()["DesiredCapacity"] == 2  # 3 - 1.5 rounded toward zero: -1
    shop.asg.execute_policy(AutoScalingGroupName="web", PolicyName="add-two")
    assert shop.describe()["DesiredCapacity"] == 4
    shop.asg.execute_policy(AutoScalingGroupName="web", PolicyName="add-two")
    assert shop.describe()["DesiredCapacity"] == 5  # never above MaxSize


@pytest.mark.parametrize(("current", "kind", "adjustment", "expected"), [
    (4, "ChangeInCapacity", 2, 6), (4, "ExactCapacity", 2, 2), (4, "PercentChangeInCapacity", 10, 5),
    (10, "PercentChangeInCapacity", 25, 12), (10, "PercentChangeInCapacity", -25, 8), (4, "PercentChangeInCapacity", -10, 3),
])
def test_adjustments_round_as_aws_documents(current, kind, adjustment, expected):
    assert local.policies.adjust(current, kind, adjustment) == expected


def test_step_intervals_are_relative_to_the_threshold():
    steps = [{"MetricIntervalLowerBound": 0, "MetricIntervalUpperBound": 10, "ScalingAdjustment": 1},
             {"MetricIntervalLowerBound": 10, "ScalingAdjustment": 2}]
    assert [local.policies.step_for(steps, d) for d in (0, 9.9, 10, 50)] == [1, 1, 2, 2]
    assert local.policies.step_for(steps, -1) is None
    assert math.isclose(local.policies.LOW_FACTOR, 0.9)


# ---- deletion, activities, furniture ------------------------------------------------------------

def test_a_group_with_instances_is_deleted_only_with_force_delete(lab, shop):
    shop.group(DesiredCapacity=2)
    settle(lab)
    ids = shop.in_service()
    with pytest.raises(ClientError) as error:
        shop.asg.delete_auto_scaling_group(AutoScalingGroupName="web")
    assert error.value.response["Error"]["Code"] == "ResourceInUse"
    shop.asg.delete_auto_scaling_group(AutoScalingGroupName="web", ForceDelete=True)
    shop.ec2.get_waiter("instance_terminated").wait(InstanceIds=ids)


def test_activities_page(lab, shop):
    shop.group(DesiredCapacity=4)
    first = shop.asg.describe_scaling_activities(AutoScalingGroupName="web", MaxRecords=3)
    assert len(first["Activities"]) == 3 and "NextToken" in first
    assert len(shop.activities()) == 4


def test_every_seam_is_where_the_service_expects_it(lab, shop):
    shop.group(DesiredCapacity=1)
    assert seams.check(local.SEAMS) == []
    from moto.autoscaling.models import autoscaling_backends

    group = autoscaling_backends[lab.account_id][lab.region].autoscaling_groups["web"]
    assert hasattr(group.instance_states[0], "lifecycle_state") and hasattr(group, "health_check_grace_period")


def test_reset_forgets_activities_and_schedules(lab, shop):
    shop.group(DesiredCapacity=1)
    assert local.activities("web")
    lab.reset()
    assert local.state.NOTES == {} and local.policies.ALARMS == {}
    assert ec2_service.registered_apps() == {}
