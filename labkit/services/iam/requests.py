"""From a boto3 call to what a policy sees: the action, the resources, the context.

The action is the service's IAM prefix and the operation's name
(``dynamodb:GetItem``), with the few renames AWS documents
(``lambda:InvokeFunction`` for ``Invoke``, ``s3:ListBucket`` for
``ListObjectsV2``, the SQS and SNS batch calls checked as their single
action). The resource ARN is built from the parameters for the services the
course's labs use (DynamoDB tables and indexes, SQS queues, SNS topics,
Lambda functions, S3 buckets and objects, Step Functions state machines and
executions, EventBridge rules and buses, CloudWatch Logs groups, IAM users,
roles, groups and policies, the role of ``sts:AssumeRole``). Any other call is
checked against the resource ``*``: a policy that scopes it to an ARN does
not match it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from labkit.core.aws import ACCOUNT_ID

#: botocore service name -> IAM service prefix, where they differ.
PREFIX = {
    "stepfunctions": "states",
    "elbv2": "elasticloadbalancing",
    "elb": "elasticloadbalancing",
    "dynamodbstreams": "dynamodb",
    "apigatewayv2": "apigateway",
    "sesv2": "ses",
    "opensearch": "es",
    "s3control": "s3",
}

#: (botocore service, operation) -> IAM action name, where they differ.
RENAMED = {
    ("lambda", "Invoke"): "InvokeFunction",
    ("lambda", "InvokeWithResponseStream"): "InvokeFunction",
    ("sqs", "SendMessageBatch"): "SendMessage",
    ("sqs", "DeleteMessageBatch"): "DeleteMessage",
    ("sqs", "ChangeMessageVisibilityBatch"): "ChangeMessageVisibility",
    ("sns", "PublishBatch"): "Publish",
    ("s3", "ListObjects"): "ListBucket",
    ("s3", "ListObjectsV2"): "ListBucket",
    ("s3", "ListObjectVersions"): "ListBucketVersions",
    ("s3", "HeadObject"): "GetObject",
    ("s3", "HeadBucket"): "ListBucket",
    ("s3", "ListBuckets"): "ListAllMyBuckets",
    ("s3", "DeleteObjects"): "DeleteObject",
    ("s3", "CopyObject"): "PutObject",
    ("s3", "CreateMultipartUpload"): "PutObject",
    ("s3", "UploadPart"): "PutObject",
    ("s3", "CompleteMultipartUpload"): "PutObject",
    ("s3", "GetBucketPolicy"): "GetBucketPolicy",
}


@dataclass
class Request:
    """One call as a policy sees it."""

    action: str
    resources: list[str]
    context: dict[str, Any] = field(default_factory=dict)
    #: True when the resource could not be derived from the parameters ("*").
    unscoped: bool = False


def action_of(service: str, operation: str) -> str:
    prefix = PREFIX.get(service, service)
    if prefix == "apigateway":  # API Gateway's actions are HTTP verbs
        for start, verb in (("Get", "GET"), ("Create", "POST"), ("Put", "PUT"), ("Update", "PATCH"),
                            ("Delete", "DELETE")):
            if operation.startswith(start):
                return f"apigateway:{verb}"
        return "apigateway:POST"
    return f"{prefix}:{RENAMED.get((service, operation), operation)}"


def _arn(service: str, region: str, resource: str) -> str:
    return f"arn:aws:{service}:{region}:{ACCOUNT_ID}:{resource}"


def _dynamodb(op: str, p: dict[str, Any], region: str, ctx: dict[str, Any], keys: bool) -> list[str]:
    if "TableName" in p:
        name = p["TableName"]
        table = name if str(name).startswith("arn:") else _arn("dynamodb", region, f"table/{name}")
        if keys:
            _leading_keys(op, name, p, region, ctx)
        if p.get("IndexName"):
            return [f"{table}/index/{p['IndexName']}"]
        return [table]
    if "RequestItems" in p:
        return [_arn("dynamodb", region, f"table/{name}") for name in p["RequestItems"]]
    if "TransactItems" in p:
        names = []
        for item in p["TransactItems"]:
            for inner in item.values():
                if isinstance(inner, dict) and "TableName" in inner and inner["TableName"] not in names:
                    names.append(inner["TableName"])
        return [_arn("dynamodb", region, f"table/{name}") for name in names]
    if "StreamArn" in p:
        return [p["StreamArn"]]
    if "ResourceArn" in p:
        return [p["ResourceArn"]]
    return []


def _leading_keys(op: str, name: str, p: dict[str, Any], region: str, ctx: dict[str, Any]) -> None:
    """``dynamodb:LeadingKeys``: the partition key value of a single-item call."""
    item = p.get("Key") or p.get("Item")
    if op not in ("GetItem", "PutItem", "UpdateItem", "DeleteItem") or not isinstance(item, dict):
        return
    try:
        from moto.dynamodb.models import dynamodb_backends

        from .seams import check_resource_seams

        check_resource_seams()

        table = dynamodb_backends[ACCOUNT_ID][region].tables.get(name)
    except Exception:  # noqa: BLE001  (no table: no key)
        return
    if table is None or table.hash_key_attr not in item:
        return
    value = item[table.hash_key_attr]
    ctx["dynamodb:LeadingKeys"] = [next(iter(value.values()))] if isinstance(value, dict) and value else []


def _lambda(op: str, p: dict[str, Any], region: str) -> list[str]:
    if op in ("CreateEventSourceMapping", "ListEventSourceMappings") or "FunctionName" not in p:
        if "UUID" in p:
            return [_arn("lambda", region, f"event-source-mapping:{p['UUID']}")]
        return []
    name = str(p["FunctionName"])
    qualifier = p.get("Qualifier")
    if name.startswith("arn:"):
        base = name
    else:
        if ":" in name and not name.startswith("function:"):
            name, qualifier = name.split(":", 1)[0], qualifier or name.split(":", 1)[1]
        base = _arn("lambda", region, f"function:{name.removeprefix('function:')}")
    if qualifier and base.count(":") == 6:
        base = f"{base}:{qualifier}"
    return [base]


def _events(op: str, p: dict[str, Any], region: str) -> list[str]:
    bus = p.get("EventBusName")
    if op == "PutEvents":
        arns = []
        for entry in p.get("Entries", []):
            name = entry.get("EventBusName") or "default"
            arn = name if str(name).startswith("arn:") else _arn("events", region, f"event-bus/{name}")
            if arn not in arns:
                arns.append(arn)
        return arns
    rule = p.get("Rule") or (p.get("Name") if "Rule" in op or op in ("DescribeRule",) else None)
    if rule:
        if str(rule).startswith("arn:"):
            return [rule]
        prefix = f"rule/{bus}/" if bus and bus != "default" and not str(bus).startswith("arn:") else "rule/"
        return [_arn("events", region, f"{prefix}{rule}")]
    if op in ("CreateEventBus", "DeleteEventBus", "DescribeEventBus") and p.get("Name"):
        return [_arn("events", region, f"event-bus/{p['Name']}")]
    return []


def _iam(p: dict[str, Any]) -> list[str]:
    for key, kind in (("RoleName", "role"), ("UserName", "user"), ("GroupName", "group")):
        if key in p:
            return [f"arn:aws:iam::{ACCOUNT_ID}:{kind}/{p[key]}"]
    if "PolicyArn" in p:
        return [p["PolicyArn"]]
    if "PolicyName" in p:
        return [f"arn:aws:iam::{ACCOUNT_ID}:policy/{p['PolicyName']}"]
    return []


def request_of(service: str, operation: str, params: dict[str, Any], region: str, *,
               leading_keys: bool = True) -> Request:
    """The action, resources and service condition keys of one call
    (``dynamodb:LeadingKeys`` only if ``leading_keys``: it reads the table's key schema)."""
    p, ctx = params, {}
    resources: list[str] = []
    if service in ("dynamodb", "dynamodbstreams"):
        resources = _dynamodb(operation, p, region, ctx, leading_keys)
    elif service == "sqs":
        if "QueueUrl" in p:
            resources = [_arn("sqs", region, str(p["QueueUrl"]).rstrip("/").rsplit("/", 1)[-1])]
        elif "QueueName" in p:
            resources = [_arn("sqs", region, p["QueueName"])]
    elif service == "sns":
        arn = p.get("TopicArn") or p.get("TargetArn") or p.get("ResourceArn")
        if arn:
            resources = [arn]
        elif "SubscriptionArn" in p:
            resources = [str(p["SubscriptionArn"]).rsplit(":", 1)[0]]
        elif operation == "CreateTopic" and "Name" in p:
            resources = [_arn("sns", region, p["Name"])]
        if operation == "Subscribe":
            ctx.update({"sns:Protocol": p.get("Protocol"), "sns:Endpoint": p.get("Endpoint")})
    elif service == "lambda":
        resources = _lambda(operation, p, region)
    elif service == "s3":
        if "Bucket" in p:
            bucket = f"arn:aws:s3:::{p['Bucket']}"
            resources = [f"{bucket}/{p['Key']}" if "Key" in p else bucket]
            if "Prefix" in p:
                ctx["s3:prefix"] = p["Prefix"]
    elif service == "stepfunctions":
        for key in ("stateMachineArn", "executionArn", "activityArn", "resourceArn"):
            if key in p:
                resources = [p[key]]
                break
        else:
            if operation == "CreateStateMachine" and "name" in p:
                resources = [_arn("states", region, f"stateMachine:{p['name']}")]
    elif service == "events":
        resources = _events(operation, p, region)
    elif service == "logs":
        if "logGroupName" in p:
            group = _arn("logs", region, f"log-group:{p['logGroupName']}")
            stream = p.get("logStreamName")
            resources = [f"{group}:log-stream:{stream}" if stream else f"{group}:*"]
    elif service == "iam":
        resources = _iam(p)
        if "PermissionsBoundary" in p:
            ctx["iam:PermissionsBoundary"] = p["PermissionsBoundary"]
        if "PolicyArn" in p and operation.startswith(("Attach", "Detach")):
            ctx["iam:PolicyARN"] = p["PolicyArn"]
    elif service == "sts" and "RoleArn" in p:
        resources = [p["RoleArn"]]
        if "ExternalId" in p:
            ctx["sts:ExternalId"] = p["ExternalId"]
        if "RoleSessionName" in p:
            ctx["sts:RoleSessionName"] = p["RoleSessionName"]
    unscoped = not resources
    return Request(action_of(service, operation), resources or ["*"], {k: v for k, v in ctx.items() if v is not None},
                   unscoped)
