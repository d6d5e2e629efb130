"""What this sandbox created and did not delete, read from CloudTrail's records.

CloudTrail records every call the learner's code makes (labkit's own calls
excepted). A successful ``CreateQueue`` names a queue that exists until a
``DeleteQueue`` names it again; the drawing compares these names with the
ones it shows, and lists any it missed (:attr:`Account.undrawn`), so a
resource the survey cannot read never disappears silently.

Each table row is ``(event source, event name) -> (kind, how to find the
names)``; ``how`` reads the record's ``requestParameters`` (``p``) and
``responseElements`` (``r``), written in lowerCamelCase as CloudTrail logs
them. A deletion may take children with it (a zone its records, a log group
its metric filters): :data:`CHILDREN`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

Names = Callable[[dict[str, Any], dict[str, Any]], Iterable[Any]]


def _p(*keys: str) -> Names:
    """The first of ``keys`` in the request parameters (a list is every item)."""
    def names(p: dict[str, Any], r: dict[str, Any]) -> list[Any]:
        for key in keys:
            value = p.get(key)
            if value:
                return list(value) if isinstance(value, list) else [value]
        return []
    return names


def _tail(*keys: str, sep: str = "/") -> Names:
    """The last part of an ARN or URL in the request parameters."""
    inner = _p(*keys)
    return lambda p, r: [str(v).rstrip(sep).rsplit(sep, 1)[-1] for v in inner(p, r)]


def _lb_name(p: dict[str, Any], r: dict[str, Any]) -> list[str]:
    arn = str(p.get("loadBalancerArn") or p.get("targetGroupArn") or "")
    parts = arn.split(":", 5)[-1].split("/")
    return [parts[2] if parts[0] == "loadbalancer" and len(parts) > 2 else parts[1] if len(parts) > 1 else arn]


def _function(p: dict[str, Any], r: dict[str, Any]) -> list[str]:
    name = str(p.get("functionName", ""))
    return [name.split(":")[6] if name.startswith("arn:") else name.split(":")[0]] if name else []


def _instances(p: dict[str, Any], r: dict[str, Any]) -> list[str]:
    return [i.get("instanceId") for i in (r or {}).get("instances", []) if i.get("instanceId")]


def _health_check(p: dict[str, Any], r: dict[str, Any]) -> list[str]:
    return [((r or {}).get("healthCheck") or {}).get("id", "")]


def _zone(p: dict[str, Any], r: dict[str, Any]) -> list[str]:
    return [str(p.get("name", "")).rstrip(".").lower()]


def _cluster(p: dict[str, Any], r: dict[str, Any]) -> list[str]:
    return [str(p.get("clusterName") or p.get("cluster") or "default").rsplit("/", 1)[-1]]


def _trail(p: dict[str, Any], r: dict[str, Any]) -> list[str]:
    return [str(p.get("name", "")).rsplit("/", 1)[-1]]


def _final_snapshot(p: dict[str, Any], r: dict[str, Any]) -> list[str]:
    if p.get("skipFinalSnapshot") or not p.get("finalDBSnapshotIdentifier"):
        return []
    return [p["finalDBSnapshotIdentifier"]]


# (event source, event name) -> (kind, names); the event source without ".amazonaws.com".
CREATED: dict[tuple[str, str], tuple[str, Names]] = {
    ("sqs", "CreateQueue"): ("queue", _p("queueName")),
    ("sns", "CreateTopic"): ("topic", _p("name")),
    ("lambda", "CreateFunction"): ("function", _p("functionName")),
    ("dynamodb", "CreateTable"): ("table", _p("tableName")),
    ("events", "CreateEventBus"): ("event bus", _p("name")),
    ("events", "PutRule"): ("rule", _p("name")),
    ("events", "CreateArchive"): ("event archive", _p("archiveName")),
    ("states", "CreateStateMachine"): ("state machine", _p("name")),
    ("states", "CreateActivity"): ("activity", _p("name")),
    ("elasticache", "CreateReplicationGroup"): ("replication group", _p("replicationGroupId")),
    ("elasticache", "CreateCacheCluster"): ("cache cluster", _p("cacheClusterId")),
    ("rds", "CreateDBInstance"): ("DB instance", _p("dBInstanceIdentifier")),
    ("rds", "CreateDBInstanceReadReplica"): ("DB instance", _p("dBInstanceIdentifier")),
    ("rds", "RestoreDBInstanceFromDBSnapshot"): ("DB instance", _p("dBInstanceIdentifier")),
    ("rds", "RestoreDBInstanceToPointInTime"): ("DB instance", _p("targetDBInstanceIdentifier")),
    ("rds", "CreateDBCluster"): ("DB cluster", _p("dBClusterIdentifier")),
    ("rds", "RestoreDBClusterFromSnapshot"): ("DB cluster", _p("dBClusterIdentifier")),
    ("rds", "CreateDBParameterGroup"): ("DB parameter group", _p("dBParameterGroupName")),
    ("rds", "CreateDBClusterParameterGroup"): ("DB cluster parameter group", _p("dBClusterParameterGroupName")),
    ("rds", "CreateDBSnapshot"): ("DB snapshot", _p("dBSnapshotIdentifier")),
    ("rds", "DeleteDBInstance"): ("DB snapshot", _final_snapshot),
    ("rds", "CreateDBClusterSnapshot"): ("DB cluster snapshot", _p("dBClusterSnapshotIdentifier")),
    ("rds", "CreateDBSubnetGroup"): ("DB subnet group", _p("dBSubnetGroupName")),
    ("ec2", "RunInstances"): ("instance", _instances),
    ("ec2", "CreateLaunchTemplate"): ("launch template", _p("launchTemplateName")),
    ("ec2", "CreateSecurityGroup"): ("security group", _p("groupName")),
    ("ec2", "CreateKeyPair"): ("key pair", _p("keyName")),
    ("autoscaling", "CreateAutoScalingGroup"): ("Auto Scaling group", _p("autoScalingGroupName")),
    ("autoscaling", "PutScalingPolicy"): ("scaling policy", _p("policyName")),
    ("autoscaling", "CreateLaunchConfiguration"): ("launch configuration", _p("launchConfigurationName")),
    ("elasticloadbalancing", "CreateLoadBalancer"): ("load balancer", _p("name")),
    ("elasticloadbalancing", "CreateTargetGroup"): ("target group", _p("name")),
    ("apigateway", "CreateRestApi"): ("REST API", _p("name")),
    ("apigateway", "CreateApiKey"): ("API key", _p("name")),
    ("apigateway", "CreateUsagePlan"): ("usage plan", _p("name")),
    ("apigateway", "CreateAuthorizer"): ("API authorizer", _p("name")),
    ("apigateway", "CreateDomainName"): ("custom domain name", _p("domainName")),
    ("iam", "CreateRole"): ("role", _p("roleName")),
    ("iam", "CreateUser"): ("IAM user", _p("userName")),
    ("iam", "CreateGroup"): ("IAM group", _p("groupName")),
    ("iam", "CreatePolicy"): ("IAM policy", _p("policyName")),
    ("iam", "CreateInstanceProfile"): ("instance profile", _p("instanceProfileName")),
    ("logs", "CreateLogGroup"): ("log group", _p("logGroupName")),
    ("logs", "PutMetricFilter"): ("metric filter", _p("filterName")),
    ("monitoring", "PutMetricAlarm"): ("alarm", _p("alarmName")),
    ("monitoring", "PutCompositeAlarm"): ("alarm", _p("alarmName")),
    ("monitoring", "PutDashboard"): ("dashboard", _p("dashboardName")),
    ("cloudtrail", "CreateTrail"): ("trail", _p("name")),
    ("s3", "CreateBucket"): ("bucket", _p("bucketName")),
    ("route53", "CreateHostedZone"): ("hosted zone", _zone),
    ("route53", "CreateHealthCheck"): ("health check", _health_check),
    ("ecs", "CreateCluster"): ("ECS cluster", _cluster),
    ("ecs", "CreateService"): ("ECS service", _p("serviceName")),
    ("ecs", "RegisterTaskDefinition"): ("task definition", _p("family")),
}

DELETED: dict[tuple[str, str], tuple[str, Names]] = {
    ("sqs", "DeleteQueue"): ("queue", _tail("queueUrl")),
    ("sns", "DeleteTopic"): ("topic", _tail("topicArn", sep=":")),
    ("lambda", "DeleteFunction"): ("function", _function),
    ("dynamodb", "DeleteTable"): ("table", _p("tableName")),
    ("events", "DeleteEventBus"): ("event bus", _p("name")),
    ("events", "DeleteRule"): ("rule", _p("name")),
    ("events", "DeleteArchive"): ("event archive", _p("archiveName")),
    ("states", "DeleteStateMachine"): ("state machine", _tail("stateMachineArn", sep=":")),
    ("states", "DeleteActivity"): ("activity", _tail("activityArn", sep=":")),
    ("elasticache", "DeleteReplicationGroup"): ("replication group", _p("replicationGroupId")),
    ("elasticache", "DeleteCacheCluster"): ("cache cluster", _p("cacheClusterId")),
    ("rds", "DeleteDBInstance"): ("DB instance", _p("dBInstanceIdentifier")),
    ("rds", "DeleteDBCluster"): ("DB cluster", _p("dBClusterIdentifier")),
    ("rds", "DeleteDBParameterGroup"): ("DB parameter group", _p("dBParameterGroupName")),
    ("rds", "DeleteDBClusterParameterGroup"): ("DB cluster parameter group", _p("dBClusterParameterGroupName")),
    ("rds", "DeleteDBSnapshot"): ("DB snapshot", _p("dBSnapshotIdentifier")),
    ("rds", "DeleteDBClusterSnapshot"): ("DB cluster snapshot", _p("dBClusterSnapshotIdentifier")),
    ("rds", "DeleteDBSubnetGroup"): ("DB subnet group", _p("dBSubnetGroupName")),
    ("ec2", "TerminateInstances"): ("instance", _p("instanceIds")),
    ("ec2", "DeleteLaunchTemplate"): ("launch template", _p("launchTemplateName", "launchTemplateId")),
    ("ec2", "DeleteSecurityGroup"): ("security group", _p("groupName", "groupId")),
    ("ec2", "DeleteKeyPair"): ("key pair", _p("keyName")),
    ("autoscaling", "DeleteAutoScalingGroup"): ("Auto Scaling group", _p("autoScalingGroupName")),
    ("autoscaling", "DeletePolicy"): ("scaling policy", _tail("policyName", sep=":")),
    ("autoscaling", "DeleteLaunchConfiguration"): ("launch configuration", _p("launchConfigurationName")),
    ("elasticloadbalancing", "DeleteLoadBalancer"): ("load balancer", _lb_name),
    ("elasticloadbalancing", "DeleteTargetGroup"): ("target group", _lb_name),
    ("apigateway", "DeleteRestApi"): ("REST API", _p("restApiId")),
    ("apigateway", "DeleteApiKey"): ("API key", _p("apiKey")),
    ("apigateway", "DeleteUsagePlan"): ("usage plan", _p("usagePlanId")),
    ("apigateway", "DeleteAuthorizer"): ("API authorizer", _p("authorizerId")),
    ("apigateway", "DeleteDomainName"): ("custom domain name", _p("domainName")),
    ("iam", "DeleteRole"): ("role", _p("roleName")),
    ("iam", "DeleteUser"): ("IAM user", _p("userName")),
    ("iam", "DeleteGroup"): ("IAM group", _p("groupName")),
    ("iam", "DeletePolicy"): ("IAM policy", _tail("policyArn")),
    ("iam", "DeleteInstanceProfile"): ("instance profile", _p("instanceProfileName")),
    ("logs", "DeleteLogGroup"): ("log group", _p("logGroupName")),
    ("logs", "DeleteMetricFilter"): ("metric filter", _p("filterName")),
    ("monitoring", "DeleteAlarms"): ("alarm", _p("alarmNames")),
    ("monitoring", "DeleteDashboards"): ("dashboard", _p("dashboardNames")),
    ("cloudtrail", "DeleteTrail"): ("trail", _trail),
    ("s3", "DeleteBucket"): ("bucket", _p("bucketName")),
    ("route53", "DeleteHostedZone"): ("hosted zone", _p("id")),
    ("route53", "DeleteHealthCheck"): ("health check", _p("healthCheckId")),
    ("ecs", "DeleteCluster"): ("ECS cluster", _cluster),
    ("ecs", "DeleteService"): ("ECS service", _tail("service")),
}

#: A deleted parent takes these kinds with it: parent kind -> (child kind, the parameter naming the parent).
CHILDREN: dict[str, tuple[str, str]] = {
    "REST API": ("API authorizer", "restApiId"),
    "log group": ("metric filter", "logGroupName"),
    "hosted zone": ("record", "hostedZoneId"),
    "Auto Scaling group": ("scaling policy", "autoScalingGroupName"),
    "ECS cluster": ("ECS service", "cluster"),
}

#: Services whose records CloudTrail keeps in us-east-1, whatever the survey's region.
GLOBAL = ("iam", "route53")


def _ids(p: dict[str, Any], r: dict[str, Any]) -> list[str]:
    """The ids a create answer gives its resource (for a later delete by id)."""
    r = r or {}
    found = [r.get("id"), (r.get("hostedZone") or {}).get("id"), r.get("groupId"),
             (r.get("launchTemplate") or {}).get("launchTemplateId"), r.get("policyARN")]
    return [str(f).rsplit("/", 1)[-1] for f in found if f]


def created_and_kept(records: Iterable[dict[str, Any]], region: str) -> dict[tuple[str, str], str]:
    """``(kind, name) -> name`` for every resource the records create and do not delete, in ``region``."""
    live: dict[tuple[str, str], str] = {}
    parents: dict[tuple[str, str], tuple[str, str]] = {}  # child -> its parent (kind, id or name)
    ids: dict[tuple[str, str], str] = {}  # (kind, id) -> name
    for record in records:
        if record.get("errorCode") or record.get("readOnly"):
            continue
        source = str(record.get("eventSource", "")).removesuffix(".amazonaws.com")
        if record.get("awsRegion") != region and source not in GLOBAL:
            continue
        event = str(record.get("eventName", ""))
        p, r = record.get("requestParameters") or {}, record.get("responseElements") or {}
        if (source, event) == ("route53", "ChangeResourceRecordSets"):
            _records(p, live, parents)
        if (source, event) in DELETED:
            kind, names = DELETED[(source, event)]
            for value in names(p, r):
                name = ids.get((kind, str(value)), str(value))
                _forget(live, parents, kind, name, value)
        if (source, event) in CREATED:
            kind, names = CREATED[(source, event)]
            for name in names(p, r):
                if not name:
                    continue
                live[(kind, str(name))] = str(name)
                for found in _ids(p, r):
                    ids[(kind, found)] = str(name)
                for parent_kind, (child, parameter) in CHILDREN.items():
                    if child == kind and p.get(parameter):
                        parent = ids.get((parent_kind, str(p[parameter]).rsplit("/", 1)[-1]),
                                         str(p[parameter]).rsplit("/", 1)[-1])
                        parents[(kind, str(name))] = (parent_kind, parent)
    return live


def _records(p: dict[str, Any], live: dict[tuple[str, str], str], parents: dict[tuple[str, str], tuple[str, str]]) -> None:
    zone = str(p.get("hostedZoneId", "")).rsplit("/", 1)[-1]
    for change in (p.get("changeBatch") or {}).get("changes", []):
        name = str((change.get("resourceRecordSet") or {}).get("name", "")).rstrip(".").lower().replace("\\052", "*")
        if not name or (change.get("resourceRecordSet") or {}).get("type") in ("NS", "SOA"):
            continue
        if change.get("action") == "DELETE":
            live.pop(("record", name), None)  # other sets of the same name may remain: the survey tells
        else:
            live[("record", name)] = name
            parents[("record", name)] = ("hosted zone", zone)


def _forget(live: dict[tuple[str, str], str], parents: dict[tuple[str, str], tuple[str, str]], kind: str,
            name: str, value: Any) -> None:
    live.pop((kind, name), None)
    gone = {name, str(value).rsplit("/", 1)[-1]}
    for child, parent in list(parents.items()):
        if parent[0] == kind and parent[1] in gone:
            live.pop(child, None)
            parents.pop(child, None)


def undrawn(records: Iterable[dict[str, Any]], region: str, drawn: set[str]) -> list[str]:
    """``name (kind)`` of each resource created and kept that ``drawn`` does not name."""
    shown = {n.lower().rstrip(".") for n in drawn}
    return [f"{name} ({kind})" for (kind, name) in sorted(created_and_kept(records, region), key=lambda k: k[1])
            if name.lower().rstrip(".") not in shown]
