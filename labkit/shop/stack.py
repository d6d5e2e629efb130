"""Deploying the shop's template: ``create_stack``, then what labkit fills in.

:func:`deploy` sends moto the part of the template it creates
(:func:`.template.split`), waits for ``stack_create_complete``, then creates
each filled resource (:data:`.template.FILLED`) with boto3, from its own
properties in the template: ``Ref``, ``Fn::GetAtt`` and ``Fn::Sub`` are
resolved against the stack's resources and the resources filled before it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from labkit.core import registry
from labkit.services import ec2 as lab_ec2
from labkit.services import ecs as lab_ecs

from . import apps, chapters, resources
from . import model as m
from . import template as tpl

#: The botocore services a shop's stack touches.
SERVICES = ("route53", "elbv2", "ec2", "autoscaling", "apigateway", "ecs", "lambda", "elasticache", "rds", "dynamodb",
            "logs", "cloudwatch", "sns", "s3", "cloudtrail", "iam", "sqs", "events", "stepfunctions", "ssm")

Resolved = dict[str, tuple[str, dict[str, Any]]]  # logical id -> (Ref value, attributes)


class Resolver:
    """Ref, Fn::GetAtt, Fn::Sub and Fn::Base64 of one deployment's template."""

    def __init__(self, ctx: resources.Context, stack_name: str, resources: dict[str, Any]) -> None:
        self.ctx, self.resources = ctx, resources
        self.done: Resolved = {}
        for page in ctx.client("cloudformation").get_paginator("list_stack_resources").paginate(StackName=stack_name):
            for summary in page["StackResourceSummaries"]:
                self.done[summary["LogicalResourceId"]] = (summary["PhysicalResourceId"], {})

    def ref(self, name: str) -> str:
        if name == "AWS::AccountId":
            return self.ctx.account_id
        if name == "AWS::Region":
            return m.REGION
        return self.done[name][0]

    def att(self, name: str, attribute: str) -> Any:
        ref, attributes = self.done[name]
        if attribute not in attributes:
            attributes[attribute] = self._stack_attribute(self.resources[name]["Type"], ref, attribute)
        return attributes[attribute]

    def _stack_attribute(self, kind: str, ref: str, attribute: str) -> Any:
        """An attribute of a resource moto created, read with describe calls."""
        if kind == "AWS::ElasticLoadBalancingV2::LoadBalancer" and attribute == "LoadBalancerFullName":
            return ref.split(":loadbalancer/")[1]
        if kind == "AWS::SQS::Queue" and attribute == "Arn":
            return self.ctx.client("sqs").get_queue_attributes(QueueUrl=ref, AttributeNames=["QueueArn"])[
                "Attributes"]["QueueArn"]
        if kind == "AWS::Lambda::Function" and attribute == "Arn":
            return self.ctx.client("lambda").get_function_configuration(FunctionName=ref)["FunctionArn"]
        if kind == "AWS::ApiGateway::RestApi" and attribute == "RootResourceId":
            items = self.ctx.client("apigateway").get_resources(restApiId=ref)["items"]
            return next(r["id"] for r in items if r["path"] == "/")
        if kind == "AWS::ElasticLoadBalancingV2::LoadBalancer" and attribute == "DNSName":
            return self.ctx.client("elbv2").describe_load_balancers(LoadBalancerArns=[ref])["LoadBalancers"][0]["DNSName"]
        if kind == "AWS::ElasticLoadBalancingV2::LoadBalancer" and attribute == "CanonicalHostedZoneID":
            return self.ctx.client("elbv2").describe_load_balancers(LoadBalancerArns=[ref])["LoadBalancers"][0][
                "CanonicalHostedZoneId"]
        if kind == "AWS::EC2::LaunchTemplate" and attribute == "LatestVersionNumber":
            return str(self.ctx.client("ec2").describe_launch_templates(LaunchTemplateIds=[ref])["LaunchTemplates"][0][
                "LatestVersionNumber"])
        if kind == "AWS::IAM::Role" and attribute == "Arn":
            return self.ctx.client("iam").get_role(RoleName=ref)["Role"]["Arn"]
        raise KeyError(f"labkit does not read {attribute} of {kind}: add it to Resolver._stack_attribute")

    def value(self, value: Any) -> Any:
        if isinstance(value, dict):
            if "Ref" in value:
                return self.ref(value["Ref"])
            if "Fn::GetAtt" in value:
                return self.att(*value["Fn::GetAtt"])
            if "Fn::Sub" in value:
                return re.sub(r"\$\{([^}]+)\}", lambda x: str(self._sub(x.group(1))), value["Fn::Sub"])
            return {k: self.value(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.value(v) for v in value]
        return value

    def _sub(self, name: str) -> Any:
        if "::" in name or "." not in name:
            return self.ref(name)
        logical, attribute = name.split(".", 1)
        return self.att(logical, attribute)


# --------------------------------------------------------------------------
# Each filled type: create it from its properties, return (Ref value, attributes)
# --------------------------------------------------------------------------

def _cache(ctx: resources.Context, p: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    client = ctx.client("elasticache")
    resources.unless(("ReplicationGroupAlreadyExists",), client.create_replication_group, **p)
    client.get_waiter("replication_group_available").wait(ReplicationGroupId=p["ReplicationGroupId"],
                                                          WaiterConfig={"Delay": 1})
    group = client.describe_replication_groups(ReplicationGroupId=p["ReplicationGroupId"])["ReplicationGroups"][0]
    primary = group["NodeGroups"][0]["PrimaryEndpoint"]
    return p["ReplicationGroupId"], {"PrimaryEndPoint.Address": primary["Address"],
                                     "PrimaryEndPoint.Port": primary["Port"]}


def _db_cluster(ctx: resources.Context, p: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    client = ctx.client("rds")
    resources.unless(("DBClusterAlreadyExistsFault",), client.create_db_cluster, **p)
    cluster = client.describe_db_clusters(DBClusterIdentifier=p["DBClusterIdentifier"])["DBClusters"][0]
    return p["DBClusterIdentifier"], {"Endpoint.Address": cluster["Endpoint"], "Endpoint.Port": cluster["Port"],
                                      "ReadEndpoint.Address": cluster["ReaderEndpoint"]}


def _db_instance(ctx: resources.Context, p: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    client = ctx.client("rds")
    resources.unless(("DBInstanceAlreadyExists",), client.create_db_instance, **p)
    client.get_waiter("db_instance_available").wait(DBInstanceIdentifier=p["DBInstanceIdentifier"],
                                                    WaiterConfig={"Delay": 1})
    return p["DBInstanceIdentifier"], {}


def _parameter(ctx: resources.Context, p: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    ctx.client("ssm").put_parameter(Name=p["Name"], Value=str(p["Value"]), Type=p.get("Type", "String"), Overwrite=True)
    return p["Name"], {}


def _alarm(ctx: resources.Context, p: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    ctx.client("cloudwatch").put_metric_alarm(**p)
    return p["AlarmName"], {}


def _bucket_policy(ctx: resources.Context, p: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    ctx.client("s3").put_bucket_policy(Bucket=p["Bucket"], Policy=json.dumps(p["PolicyDocument"]))
    return p["Bucket"], {}


def _trail(ctx: resources.Context, p: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    client = ctx.client("cloudtrail")
    logging = p.pop("IsLogging", False)
    name = p.pop("TrailName")
    resources.unless(("TrailAlreadyExistsException",), client.create_trail, Name=name, **p)
    if logging:
        client.start_logging(Name=name)
    return name, {}


def _queue_policy(ctx: resources.Context, p: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    for url in p["Queues"]:
        ctx.client("sqs").set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(p["PolicyDocument"])})
    return ",".join(p["Queues"]), {}


def _camel(value: Any) -> Any:
    """CloudFormation's PascalCase keys as the ECS API's camelCase ones."""
    if isinstance(value, dict):
        return {k[0].lower() + k[1:]: _camel(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_camel(v) for v in value]
    return value


def _ecs_service(ctx: resources.Context, p: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    client = ctx.client("ecs")
    params = _camel(p)
    params["cluster"] = p["Cluster"]
    network = params.pop("networkConfiguration")
    params["networkConfiguration"] = {"awsvpcConfiguration": network["awsvpcConfiguration"]}
    found = client.describe_services(cluster=p["Cluster"], services=[p["ServiceName"]])["services"]
    if not [s for s in found if s["status"] == "ACTIVE"]:
        arn = client.create_service(**params)["service"]["serviceArn"]
    else:
        arn = found[0]["serviceArn"]
    return arn, {"Name": p["ServiceName"]}


def _task_definition(ctx: resources.Context, p: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    client = ctx.client("ecs")
    found = client.list_task_definitions(familyPrefix=p["Family"], sort="DESC")["taskDefinitionArns"]
    if found:
        return found[0], {}
    return client.register_task_definition(**_camel(p))["taskDefinition"]["taskDefinitionArn"], {}


def _method(ctx: resources.Context, p: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    client = ctx.client("apigateway")
    integration = p["Integration"]
    client.put_method(restApiId=p["RestApiId"], resourceId=p["ResourceId"], httpMethod=p["HttpMethod"],
                      authorizationType=p["AuthorizationType"], requestParameters=p.get("RequestParameters", {}))
    client.put_integration(restApiId=p["RestApiId"], resourceId=p["ResourceId"], httpMethod=p["HttpMethod"],
                           type=integration["Type"], integrationHttpMethod=integration["IntegrationHttpMethod"],
                           uri=integration["Uri"], requestParameters=integration.get("RequestParameters", {}))
    return f"{p['ResourceId']} {p['HttpMethod']}", {}


def _deployment(ctx: resources.Context, p: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    created = ctx.client("apigateway").create_deployment(restApiId=p["RestApiId"], stageName=p["StageName"],
                                                         description=p.get("Description", ""))
    return created["id"], {}


def _record(ctx: resources.Context, p: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    zone = p.pop("HostedZoneId")
    alias = p.pop("AliasTarget", None)
    record = dict(p)
    if alias is not None:
        record["AliasTarget"] = alias
    ctx.client("route53").change_resource_record_sets(HostedZoneId=zone, ChangeBatch={
        "Changes": [{"Action": "UPSERT", "ResourceRecordSet": record}]})
    return p["Name"], {}


def _auto_scaling_group(ctx: resources.Context, p: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    client = ctx.client("autoscaling")
    name = p["AutoScalingGroupName"]
    if not client.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"]:
        params = {**p, "VPCZoneIdentifier": ",".join(p["VPCZoneIdentifier"])}
        for key in ("MinSize", "MaxSize", "DesiredCapacity"):
            params[key] = int(p[key])
        client.create_auto_scaling_group(**params)
    return name, {}


def _state_machine(ctx: resources.Context, p: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    client = ctx.client("stepfunctions")
    arn = ctx.arn("states", f"stateMachine:{p['StateMachineName']}")
    if resources.unless(("StateMachineDoesNotExist",), client.describe_state_machine, stateMachineArn=arn) is None:
        arn = client.create_state_machine(name=p["StateMachineName"], definition=p["DefinitionString"],
                                          roleArn=p["RoleArn"])["stateMachineArn"]
    return arn, {"Name": p["StateMachineName"]}


def _events_rule(ctx: resources.Context, p: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    client = ctx.client("events")
    bus = p.get("EventBusName", "default")
    arn = client.put_rule(Name=p["Name"], EventBusName=bus, EventPattern=json.dumps(p["EventPattern"]),
                          Description=p.get("Description", ""), State=p.get("State", "ENABLED"))["RuleArn"]
    if p.get("Targets"):
        client.put_targets(Rule=p["Name"], EventBusName=bus, Targets=p["Targets"])
    return p["Name"], {"Arn": arn}


FILLERS: dict[str, Callable[[resources.Context, dict[str, Any]], tuple[str, dict[str, Any]]]] = {
    "AWS::ElastiCache::ReplicationGroup": _cache,
    "AWS::RDS::DBCluster": _db_cluster,
    "AWS::RDS::DBInstance": _db_instance,
    "AWS::SSM::Parameter": _parameter,
    "AWS::CloudWatch::Alarm": _alarm,
    "AWS::S3::BucketPolicy": _bucket_policy,
    "AWS::CloudTrail::Trail": _trail,
    "AWS::SQS::QueuePolicy": _queue_policy,
    "AWS::ECS::Service": _ecs_service,
    "AWS::ECS::TaskDefinition": _task_definition,
    "AWS::StepFunctions::StateMachine": _state_machine,
    "AWS::Events::Rule": _events_rule,  # filled when its target is the filled state machine
    "AWS::ApiGateway::Method": _method,
    "AWS::ApiGateway::Deployment": _deployment,
    "AWS::Route53::RecordSet": _record,
    "AWS::AutoScaling::AutoScalingGroup": _auto_scaling_group,
}


def fill(ctx: resources.Context, stack_name: str, body: dict[str, Any], filled: dict[str, Any]) -> list[str]:
    """Create the filled resources, each after what it refers to; return their logical ids in that order."""
    resolver = Resolver(ctx, stack_name, body["Resources"])
    order: list[str] = []
    waiting = dict(filled)
    while waiting:
        ready = [name for name, r in waiting.items()
                 if (tpl.references(r.get("Properties", {})) | set(r.get("DependsOn", []))) - {"AWS::AccountId"}
                 <= set(resolver.done)]
        if not ready:
            raise ValueError(f"the filled resources refer to each other in a cycle: {sorted(waiting)}")
        for name in ready:
            resource = waiting.pop(name)
            filler = FILLERS.get(resource["Type"])
            if filler is None:
                raise NotImplementedError(f"labkit cannot fill {name} ({resource['Type']}): add a filler to FILLERS")
            resolver.done[name] = filler(ctx, resolver.value(resource.get("Properties", {})))
            order.append(name)
    return order


def exists(ctx: resources.Context, stack_name: str) -> bool:
    """Whether the stack ``stack_name`` exists (and is not deleted)."""
    try:
        found = ctx.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as error:
        if resources.error_code(error) != "ValidationError":  # AWS's answer for a stack that does not exist
            raise
        return False
    return any(stack["StackStatus"] != "DELETE_COMPLETE" for stack in found)


def deploy(ctx: resources.Context, stack_name: str, body: dict[str, Any]) -> list[str]:
    """Create the stack from ``body`` and fill in the rest; return the filled logical ids."""
    lab_ec2.register_app(m.WEB_APP, apps.web)  # the code the AMI and the image would carry
    lab_ecs.register_image(m.CART_IMAGE, start=apps.cart_start)
    for service in SERVICES:  # labkit's services follow moto's state from their first call: install them first
        registry.ensure_for_botocore(service)
    stack_body, filled = tpl.split(body)
    cfn = ctx.client("cloudformation")
    try:
        cfn.create_stack(StackName=stack_name, TemplateBody=json.dumps(stack_body), Capabilities=["CAPABILITY_NAMED_IAM"])
    except ClientError as error:
        if resources.error_code(error) != "AlreadyExistsException":
            raise
    cfn.get_waiter("stack_create_complete").wait(StackName=stack_name, WaiterConfig={"Delay": 1})
    order = fill(ctx, stack_name, body, filled)
    apps.forget_config()  # the stack wrote parameters without an SSM call the apps would hear of
    declared = body["Resources"]
    if "Database" in declared:
        cluster = ctx.client("rds").describe_db_clusters(DBClusterIdentifier=m.DB_CLUSTER)["DBClusters"][0]
        chapters.seed_products(cluster["Endpoint"], cluster["Port"])
    if "WebGroup" in declared:
        resources.wait_for_targets(ctx, resources.target_group(ctx, m.WEB_TG), 2)
    if "CartService" in declared:
        resources.wait_for_targets(ctx, resources.target_group(ctx, m.CART, port=m.CART_PORT, target_type="ip"), 2)
    return order
