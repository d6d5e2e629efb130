"""The get-or-create calls the chapters share: each looks before it creates,
and treats AWS's "already exists" answers as done.

:class:`Context` holds one build's clients (explicit region) and what it has
looked up so far.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from labkit.core import clock as _clock
from labkit.services import lambda_ as lab_lambda

from . import functions
from . import model as m


def error_code(error: ClientError) -> str:
    return str(error.response["Error"]["Code"])


def unless(codes: tuple[str, ...], call: Any, **params: Any) -> Any:
    """``call(**params)``, or ``None`` when AWS answers one of ``codes`` (it exists already)."""
    try:
        return call(**params)
    except ClientError as error:
        if error_code(error) not in codes:
            raise
        return None


def trust(service: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]})


@dataclass
class Context:
    """The clients of one build and what it has looked up so far."""

    session: Any
    account_id: str
    found: dict[str, Any] = field(default_factory=dict)
    _clients: dict[str, Any] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self.session.client(service, region_name=m.REGION)
        return self._clients[service]

    def arn(self, service: str, resource: str) -> str:
        return f"arn:aws:{service}:{m.REGION}:{self.account_id}:{resource}"


#: The SSM parameter naming the latest Amazon Linux 2023 AMI.
AMI_PARAMETER = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"


# --------------------------------------------------------------------------
# Look-ups shared by several chapters
# --------------------------------------------------------------------------

def network(ctx: Context) -> tuple[str, list[str]]:
    """The default VPC and its subnets."""
    if "vpc" not in ctx.found:
        ec2 = ctx.client("ec2")
        vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
        subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]
        ctx.found["vpc"] = vpc
        ctx.found["subnets"] = [s["SubnetId"] for s in sorted(subnets, key=lambda s: s["AvailabilityZone"])]
    return ctx.found["vpc"], ctx.found["subnets"]


def security_group(ctx: Context, name: str, description: str, port: int, source_group: str | None = None) -> str:
    """A security group of the default VPC letting ``port`` in (from ``source_group``, or anywhere)."""
    ec2 = ctx.client("ec2")
    vpc, _ = network(ctx)
    found = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": [name]},
                                                  {"Name": "vpc-id", "Values": [vpc]}])["SecurityGroups"]
    if found:
        return found[0]["GroupId"]
    group_id = ec2.create_security_group(GroupName=name, Description=description, VpcId=vpc)["GroupId"]
    rule: dict[str, Any] = {"IpProtocol": "tcp", "FromPort": port, "ToPort": port}
    if source_group:
        rule["UserIdGroupPairs"] = [{"GroupId": source_group}]
    else:
        rule["IpRanges"] = [{"CidrIp": "0.0.0.0/0", "Description": "the internet"}]
    ec2.authorize_security_group_ingress(GroupId=group_id, IpPermissions=[rule])
    return group_id


def load_balancer(ctx: Context) -> dict[str, Any]:
    if "alb" not in ctx.found:
        ctx.found["alb"] = ctx.client("elbv2").describe_load_balancers(Names=[m.ALB])["LoadBalancers"][0]
    return ctx.found["alb"]


def target_group(ctx: Context, name: str, *, port: int = 80, target_type: str = "instance",
                 health_path: str = "/health") -> str:
    """The ARN of target group ``name``, created if missing."""
    elb = ctx.client("elbv2")
    found = unless(("TargetGroupNotFound",), elb.describe_target_groups, Names=[name])
    if found:
        return str(found["TargetGroups"][0]["TargetGroupArn"])
    vpc, _ = network(ctx)
    return str(elb.create_target_group(
        Name=name, Protocol="HTTP", Port=port, VpcId=vpc, TargetType=target_type, HealthCheckPath=health_path,
        HealthCheckIntervalSeconds=10, HealthyThresholdCount=2, UnhealthyThresholdCount=2,
    )["TargetGroups"][0]["TargetGroupArn"])


def listener(ctx: Context) -> str:
    listeners = ctx.client("elbv2").describe_listeners(LoadBalancerArn=load_balancer(ctx)["LoadBalancerArn"])
    return str(next(x["ListenerArn"] for x in listeners["Listeners"] if x["Port"] == 80))


def wait_for_targets(ctx: Context, group_arn: str, count: int, *, limit: float = 300, step: float = 5) -> None:
    """Let sandbox time pass until ``count`` targets of the group are healthy (a waiter on the sandbox clock)."""
    elb = ctx.client("elbv2")
    waited = 0.0
    while True:
        health = elb.describe_target_health(TargetGroupArn=group_arn)["TargetHealthDescriptions"]
        if sum(d["TargetHealth"]["State"] == "healthy" for d in health) >= count:
            return
        if waited >= limit:
            states = [(d["Target"]["Id"], d["TargetHealth"]["State"]) for d in health]
            raise TimeoutError(f"{count} healthy targets expected in {group_arn} after {limit:.0f} s; found {states}")
        _clock.clock.advance(step)
        waited += step


def rest_api(ctx: Context) -> str | None:
    """The id of the REST API ``shop-api``, or ``None``."""
    if "api" not in ctx.found:
        for page in ctx.client("apigateway").get_paginator("get_rest_apis").paginate():
            for api in page["items"]:
                if api["name"] == m.API:
                    ctx.found["api"] = api["id"]
    return ctx.found.get("api")


def api_url(api_id: str) -> str:
    return f"https://{api_id}.execute-api.{m.REGION}.amazonaws.com/{m.STAGE}"


def api_resource(ctx: Context, api_id: str, path: str) -> tuple[str, bool]:
    """The id of ``path`` in the API, created with its parents; and whether it was created."""
    apigw = ctx.client("apigateway")
    resources = {r["path"]: r["id"] for page in apigw.get_paginator("get_resources").paginate(restApiId=api_id)
                 for r in page["items"]}
    if path in resources:
        return resources[path], False
    parent = path.rsplit("/", 1)[0] or "/"
    parent_id, _ = api_resource(ctx, api_id, parent)
    created = apigw.create_resource(restApiId=api_id, parentId=parent_id, pathPart=path.rsplit("/", 1)[1])
    return created["id"], True


def api_method(ctx: Context, api_id: str, path: str, method: str, integration: dict[str, Any],
                request_parameters: dict[str, bool] | None = None) -> bool:
    """Put a method and its integration on ``path`` unless it has one; whether it was added."""
    apigw = ctx.client("apigateway")
    resource_id, _ = api_resource(ctx, api_id, path)
    if unless(("NotFoundException",), apigw.get_method, restApiId=api_id, resourceId=resource_id,
               httpMethod=method) is not None:
        return False
    apigw.put_method(restApiId=api_id, resourceId=resource_id, httpMethod=method, authorizationType="NONE",
                     requestParameters=request_parameters or {})
    apigw.put_integration(restApiId=api_id, resourceId=resource_id, httpMethod=method, **integration)
    return True


def deploy_api(ctx: Context, api_id: str, description: str) -> None:
    ctx.client("apigateway").create_deployment(restApiId=api_id, stageName=m.STAGE, description=description)


def put_parameter(ctx: Context, name: str, value: str, *, secure: bool = False) -> None:
    """One of the apps' configuration parameters, ``/shop/<name>``."""
    ctx.client("ssm").put_parameter(Name=m.PARAMETERS + name, Value=value, Overwrite=True,
                                    Type="SecureString" if secure else "String")


def role(ctx: Context, name: str, service: str, policy: dict[str, Any]) -> str:
    """The ARN of role ``name`` that ``service`` may assume, with one inline policy (kept up to date)."""
    iam = ctx.client("iam")
    try:
        arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust(service))["Role"]["Arn"]
    except ClientError as error:
        if error_code(error) != "EntityAlreadyExists":
            raise
        arn = iam.get_role(RoleName=name)["Role"]["Arn"]
    iam.put_role_policy(RoleName=name, PolicyName=name, PolicyDocument=json.dumps(policy))
    return str(arn)


def lambda_function(ctx: Context, name: str, role_arn: str, environment: dict[str, str] | None = None) -> str:
    """The ARN of the shop's function ``name``, created from :mod:`.functions` if missing."""
    lam = ctx.client("lambda")
    try:
        created = lam.create_function(FunctionName=name, Runtime="python3.12", Role=role_arn, Handler="app.handler",
                                      Code={"ZipFile": lab_lambda.zip_code(functions.SOURCES[name])}, Timeout=10,
                                      Environment={"Variables": environment or {}})
        lam.get_waiter("function_active_v2").wait(FunctionName=name)
        return str(created["FunctionArn"])
    except ClientError as error:
        if error_code(error) != "ResourceConflictException":
            raise
    return str(lam.get_function_configuration(FunctionName=name)["FunctionArn"])


def orders_environment(ctx: Context, **variables: str) -> None:
    """Add ``variables`` to ``shop-orders``' environment (a later chapter gives the function more to do)."""
    lam = ctx.client("lambda")
    current = lam.get_function_configuration(FunctionName=m.ORDERS_FUNCTION).get("Environment", {}).get("Variables", {})
    if all(current.get(k) == v for k, v in variables.items()):
        return
    lam.update_function_configuration(FunctionName=m.ORDERS_FUNCTION, Environment={"Variables": {**current, **variables}})
    lam.get_waiter("function_updated_v2").wait(FunctionName=m.ORDERS_FUNCTION)


def queue_url(ctx: Context, name: str, attributes: dict[str, str] | None = None) -> str:
    return str(ctx.client("sqs").create_queue(QueueName=name, Attributes=attributes or {})["QueueUrl"])


def queue_arn(ctx: Context, name: str) -> str:
    return ctx.arn("sqs", name)
