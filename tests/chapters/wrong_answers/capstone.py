"""Wrong answers to the capstone lab."""

from tests.chapters.wrong_answers import Wrong

WRONG = [
    Wrong("budget", "faster health checks only: the dead server still has half the traffic",
          source='''
def harden(target_group_arn: str, group_name: str) -> None:
    elbv2.modify_target_group(TargetGroupArn=target_group_arn, HealthCheckIntervalSeconds=5,
                              HealthCheckTimeoutSeconds=2, UnhealthyThresholdCount=2)
''', loses=("at most 2.5 %", "at least three keep serving"), hidden_too=True),
    Wrong("budget", "a spare instance only: the slow health checks keep the dead one in use too long",
          source='''
def harden(target_group_arn: str, group_name: str) -> None:
    autoscaling.update_auto_scaling_group(AutoScalingGroupName=group_name, MinSize=4, DesiredCapacity=4)
''', loses=("at most 2.5 %",), hidden_too=True),
    Wrong("incident", "the newest change in the whole trail, made after the alarm",
          source='''
def find_the_change(alarm_name: str) -> dict:
    newest = cloudtrail.lookup_events(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "PutParameter"}],
                                      MaxResults=1)["Events"][0]
    record = json.loads(newest["CloudTrailEvent"])
    return {"arn": record["userIdentity"]["arn"], "event": record["eventName"],
            "parameter": record["requestParameters"]["name"]}


def undo(parameter: str) -> None:
    versions = ssm.get_parameter_history(Name=parameter)["Parameters"]
    versions.sort(key=lambda v: v["Version"])
    ssm.put_parameter(Name=parameter, Value=versions[-2]["Value"], Type="String", Overwrite=True)
''', loses=("names the principal", "names the call and the parameter"), hidden_too=True),
    Wrong("incident", "the last call before the alarm, though it was refused",
          source='''
def find_the_change(alarm_name: str) -> dict:
    history = cloudwatch.describe_alarm_history(AlarmName=alarm_name, HistoryItemType="StateUpdate")["AlarmHistoryItems"]
    fired = max(h["Timestamp"] for h in history if "to ALARM" in h["HistorySummary"])
    events = cloudtrail.lookup_events(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "PutParameter"}],
                                      StartTime=fired - timedelta(minutes=15), EndTime=fired)["Events"]
    record = json.loads(events[0]["CloudTrailEvent"])
    return {"arn": record["userIdentity"]["arn"], "event": record["eventName"],
            "parameter": record["requestParameters"]["name"]}


def undo(parameter: str) -> None:
    versions = ssm.get_parameter_history(Name=parameter)["Parameters"]
    versions.sort(key=lambda v: v["Version"])
    ssm.put_parameter(Name=parameter, Value=versions[-2]["Value"], Type="String", Overwrite=True)
''', loses=("names the principal",), hidden_too=True),
    Wrong("pager", "pages on the load balancer's own 5XX: every dying server pages",
          source='''
def page_on(topic_arn: str) -> None:
    balancer = elbv2.describe_load_balancers(Names=["shop-alb"])["LoadBalancers"][0]["LoadBalancerArn"]
    dimension = [{"Name": "LoadBalancer", "Value": balancer.split(":loadbalancer/")[1]}]
    for metric in ("HTTPCode_ELB_5XX_Count", "HTTPCode_Target_5XX_Count"):
        cloudwatch.put_metric_alarm(
            AlarmName=f"ex3-{metric}", Namespace="AWS/ApplicationELB", MetricName=metric, Dimensions=dimension,
            Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=1,
            ComparisonOperator="GreaterThanOrEqualToThreshold", TreatMissingData="notBreaching", AlarmActions=[topic_arn])
    cloudwatch.put_metric_alarm(
        AlarmName="ex3-orders-not-delivered", Namespace="AWS/SNS", MetricName="NumberOfNotificationsFailed",
        Dimensions=[{"Name": "TopicName", "Value": "shop-order-placed"}], Statistic="Sum", Period=60,
        EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanOrEqualToThreshold",
        TreatMissingData="notBreaching", AlarmActions=[topic_arn])
''', loses=("stays quiet",), hidden_too=True),
    Wrong("pager", "only the storefront's errors: a silent failure never pages",
          source='''
def page_on(topic_arn: str) -> None:
    balancer = elbv2.describe_load_balancers(Names=["shop-alb"])["LoadBalancers"][0]["LoadBalancerArn"]
    cloudwatch.put_metric_alarm(
        AlarmName="ex3-storefront-failing", Namespace="AWS/ApplicationELB", MetricName="HTTPCode_Target_5XX_Count",
        Dimensions=[{"Name": "LoadBalancer", "Value": balancer.split(":loadbalancer/")[1]}], Statistic="Sum",
        Period=60, EvaluationPeriods=1, Threshold=5, ComparisonOperator="GreaterThanOrEqualToThreshold",
        TreatMissingData="notBreaching", AlarmActions=[topic_arn])
''', loses=("orders silently stop", "stays quiet"), hidden_too=True),
]
