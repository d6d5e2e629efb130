"""Operate and secure: CloudWatch alarms (what they watch, what they do),
log groups, CloudTrail trails and their buckets, IAM roles, users and policies."""

from __future__ import annotations

from typing import Any

from .compute import instance_profiles
from .reading import Survey

PART = "operate and secure"
#: More log groups than this are drawn as one node with a count.
GROUP_ABOVE = 3

#: A metric dimension -> the key of the resource it names.
_DIMENSIONS = {
    "QueueName": "sqs:{}",
    "FunctionName": "lambda:{}",
    "TableName": "dynamodb:{}",
    "TopicName": "sns:{}",
    "AutoScalingGroupName": "asg:{}",
    "InstanceId": "{}",
    "StateMachineArn": "{}",
    "ApiName": "apigw-name:{}",
    "ApiId": "apigw:{}",
    "CacheClusterId": "elasticache:{}",
    "ReplicationGroupId": "elasticache:{}",
    "DBInstanceIdentifier": "rds:{}",
    "DBClusterIdentifier": "rds:{}",
    "RuleName": "events-rule:{}",
}


def _watched(dimensions: list[dict[str, str]]) -> list[str]:
    """The keys of the resources a metric's dimensions name, most specific first."""
    values = {d["Name"]: d["Value"] for d in dimensions}
    if "ClusterName" in values and "ServiceName" in values:
        return [f"ecs-service:{values['ClusterName']}/{values['ServiceName']}"]
    keys = []
    if "TargetGroup" in values:
        keys.append(values["TargetGroup"])
    elif "LoadBalancer" in values:
        keys.append(values["LoadBalancer"])
    if "ClusterName" in values:
        keys.append(f"ecs-cluster:{values['ClusterName']}")
    for name, pattern in _DIMENSIONS.items():
        if name in values:
            keys.append(pattern.format(values[name]))
    return keys


def cloudwatch(s: Survey) -> None:
    client = s.client("cloudwatch")
    alarms: list[dict[str, Any]] = []
    composite: list[dict[str, Any]] = []
    for page in client.get_paginator("describe_alarms").paginate(AlarmTypes=["MetricAlarm", "CompositeAlarm"]):
        alarms.extend(page.get("MetricAlarms", []))
        composite.extend(page.get("CompositeAlarms", []))
    for alarm in alarms + composite:
        name = alarm["AlarmName"]
        node = s.node(f"alarm:{name}", "alarm", name, noun="alarm", part=PART,
                      label=f"{name}\n{alarm.get('StateValue', '')}", keys=(alarm.get("AlarmArn", ""),))
        metrics = [(alarm.get("Namespace", ""), alarm["MetricName"], alarm.get("Dimensions", []))] \
            if alarm.get("MetricName") else []
        for query in alarm.get("Metrics", []):
            stat = (query.get("MetricStat") or {}).get("Metric") or {}
            if stat:
                metrics.append((stat.get("Namespace", ""), stat.get("MetricName", ""), stat.get("Dimensions", [])))
        for namespace, metric, dimensions in metrics:
            # the resource the dimensions name, or the log group whose metric filter makes the metric
            for key in (_watched(dimensions) or [f"metric:{namespace}/{metric}"])[:1]:
                s.link(node, key, metric, "watches", outside=False)
        for state, actions in (("ALARM", "AlarmActions"), ("OK", "OKActions"), ("INSUFFICIENT_DATA",
                                                                                 "InsufficientDataActions")):
            for action in alarm.get(actions, []):
                verb = "scales" if ":autoscaling:" in action else "notifies"
                s.link(node, action, f"on {state}", verb, outside=not action.startswith("arn:aws:automate"))
    for dashboard in s.pages("cloudwatch", "list_dashboards", "DashboardEntries"):
        s.detail("dashboards", dashboard["DashboardName"])


def logs(s: Survey) -> None:
    groups = s.pages("logs", "describe_log_groups", "logGroups")
    node = ""
    if len(groups) > GROUP_ABOVE:
        names = tuple(g["logGroupName"] for g in groups)
        node = s.node("logs:groups", "logs", "log groups", noun="log groups", part=PART,
                      label=f"{len(names)} log groups", members=names)
    for group in groups:
        name = group["logGroupName"]
        arn = str(group.get("arn", "")).removesuffix(":*")
        keys = (arn, f"logs:{name}")
        if node:
            for key in keys:
                s.key(key, node)
        else:
            s.node(f"logs:{name}", "logs", name, noun="log group", part=PART, keys=keys)
        for metric_filter in s.pages("logs", "describe_metric_filters", "metricFilters", logGroupName=name):
            s.detail("metric filters", metric_filter["filterName"])
            for made in metric_filter.get("metricTransformations", []):
                s.key(f"metric:{made.get('metricNamespace')}/{made.get('metricName')}", node or f"logs:{name}")
    for function in [n for n in s.account.nodes.values() if n.kind == "lambda" and n.part]:
        s.link(f"lambda:{function.name}", f"logs:/aws/lambda/{function.name}", "", "writes logs to", outside=False)


def cloudtrail(s: Survey) -> None:
    client = s.client("cloudtrail")
    for trail in client.describe_trails(includeShadowTrails=False).get("trailList", []):
        name = trail["Name"]
        try:
            logging = client.get_trail_status(Name=trail.get("TrailARN", name)).get("IsLogging")
        except Exception:  # noqa: BLE001  (the status is a detail of the label)
            logging = None
        state = {True: "logging", False: "not logging"}.get(logging, "")  # type: ignore[call-overload]
        node = s.node(f"cloudtrail:{name}", "cloudtrail", name, noun="trail", part=PART, label=f"{name}\n{state}",
                      keys=(trail.get("TrailARN", ""),))
        if trail.get("S3BucketName"):
            s.link(node, f"arn:aws:s3:::{trail['S3BucketName']}", trail.get("S3KeyPrefix", ""), "delivers log files to")
        if trail.get("CloudWatchLogsLogGroupArn"):
            s.link(node, trail["CloudWatchLogsLogGroupArn"], "", "sends events to")


def iam(s: Survey) -> None:
    for role in s.pages("iam", "list_roles", "Roles"):
        if role.get("Path", "/").startswith("/aws-service-role/"):
            continue
        name = role["RoleName"]
        s.node(f"iam:role:{name}", "iamrole", name, noun="role", part=PART, keys=(role["Arn"],))
    instance_profiles(s)
    for user in s.pages("iam", "list_users", "Users"):
        s.detail("IAM users", user["UserName"])
    for group in s.pages("iam", "list_groups", "Groups"):
        s.detail("IAM groups", group["GroupName"])
    for policy in s.pages("iam", "list_policies", "Policies", Scope="Local"):
        s.detail("IAM policies", policy["PolicyName"])


def unused_roles_to_details(s: Survey) -> None:
    """A role nothing drawn uses is listed under the drawing, not drawn."""
    linked = {end for edge in s.account.edges for end in edge[:2]}
    for key, node in list(s.account.nodes.items()):
        if node.kind == "iamrole" and key.startswith("iam:role:") and key not in linked:
            del s.account.nodes[key]
            s.detail("IAM roles", node.name)
