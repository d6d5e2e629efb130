"""Wrong answers to the EC2 lab."""

from tests.chapters.wrong_answers import Wrong

WRONG = [
    Wrong("group", "a group that never joins the target group",
          source='''
def create_web_group(name: str, template: str, target_group_arn: str, size: int) -> None:
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName=name, LaunchTemplate={"LaunchTemplateName": template, "Version": "$Latest"},
        MinSize=1, MaxSize=2 * size, DesiredCapacity=size, VPCZoneIdentifier=",".join(subnets))
''', loses=("answers with the shop's page", "two instances answer"), hidden_too=True),
    Wrong("group", "instances launched by hand and registered as targets",
          source='''
def create_web_group(name: str, template: str, target_group_arn: str, size: int) -> None:
    launched = ec2.run_instances(LaunchTemplate={"LaunchTemplateName": template}, MinCount=size, MaxCount=size)
    ids = [i["InstanceId"] for i in launched["Instances"]]
    ec2.get_waiter("instance_running").wait(InstanceIds=ids)
    elb.register_targets(TargetGroupArn=target_group_arn, Targets=[{"Id": i} for i in ids])
''', loses=("is replaced",)),
    Wrong("group", "one instance whatever the size",
          source='''
def create_web_group(name: str, template: str, target_group_arn: str, size: int) -> None:
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName=name, LaunchTemplate={"LaunchTemplateName": template, "Version": "$Latest"},
        MinSize=1, MaxSize=2 * size, DesiredCapacity=1, VPCZoneIdentifier=",".join(subnets),
        TargetGroupARNs=[target_group_arn])
''', loses=("two instances answer",), hidden_too=True),
    Wrong("health", "the broken instance marked unhealthy by hand",
          source='''
def repair(group_name: str) -> None:
    for instance_id in instances(group_name):
        health = elb.describe_target_health(TargetGroupArn=group)["TargetHealthDescriptions"]
        if any(t["Target"]["Id"] == instance_id and t["TargetHealth"]["State"] == "unhealthy" for t in health):
            autoscaling.set_instance_health(InstanceId=instance_id, HealthStatus="Unhealthy")
''', loses=("broken instance is replaced", "later failure")),
    Wrong("health", "more instances instead of replacement",
          source='''
def repair(group_name: str) -> None:
    autoscaling.update_auto_scaling_group(AutoScalingGroupName=group_name, DesiredCapacity=4)
''', loses=("broken instance is replaced", "two instances")),
    Wrong("health", "ELB health checks behind an hour of grace",
          source='''
def repair(group_name: str) -> None:
    autoscaling.update_auto_scaling_group(AutoScalingGroupName=group_name, HealthCheckType="ELB",
                                          HealthCheckGracePeriod=3600)
''', loses=("broken instance is replaced",)),
    Wrong("peak", "a simple policy no alarm ever runs",
          source='''
def plan_capacity(group_name: str) -> None:
    autoscaling.put_scaling_policy(AutoScalingGroupName=group_name, PolicyName=f"{group_name}-add",
                                   AdjustmentType="ChangeInCapacity", ScalingAdjustment=2)
''', loses=("pages stay fast",), hidden_too=True),
    Wrong("peak", "target tracking that never scales in",
          source='''
def plan_capacity(group_name: str) -> None:
    autoscaling.put_scaling_policy(
        AutoScalingGroupName=group_name, PolicyName=f"{group_name}-cpu", PolicyType="TargetTrackingScaling",
        TargetTrackingConfiguration={"PredefinedMetricSpecification": {"PredefinedMetricType": "ASGAverageCPUUtilization"},
                                     "TargetValue": 30.0, "DisableScaleIn": True})
''', loses=("back to 2 instances",), hidden_too=True),
    Wrong("peak", "the peak's capacity all day",
          source='''
def plan_capacity(group_name: str) -> None:
    autoscaling.update_auto_scaling_group(AutoScalingGroupName=group_name, MinSize=6, DesiredCapacity=6)
''', loses=("back to 2 instances",), hidden_too=True),
]
