"""A boto3 call turned into a CloudTrail record, field by field.

The fields and their meaning follow the CloudTrail User Guide's "CloudTrail
record contents": ``eventVersion`` 1.11, ``userIdentity`` (see
:mod:`.identity`), ``eventTime`` (UTC, to the second), ``eventSource`` (the
service's endpoint name plus ``.amazonaws.com``), ``eventName`` (the API
action), ``awsRegion``, ``sourceIPAddress``, ``userAgent``,
``requestParameters``, ``responseElements`` (for calls that change
something; ``null`` for reads and failures), ``errorCode`` and
``errorMessage`` on failures, ``requestID``, ``eventID``, ``readOnly``,
``eventType`` (``AwsApiCall``), ``managementEvent``,
``recipientAccountId`` and ``eventCategory`` (``Management`` or ``Data``).

What is approximated, and how
    ``readOnly`` comes from the action's verb (Get, List, Describe, Head,
    Query, Scan, Lookup... are reads). Parameter and response names are
    written in lowerCamelCase, as most services log them, with binary
    values, streams and secret keys left out. Which actions are *data*
    events (S3 object-level actions, Lambda ``Invoke``, DynamoDB item
    actions, SQS message actions, SNS ``Publish``) is a table here
    (:data:`DATA_EVENTS`); everything else is a management event.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any

from labkit.core.aws import ACCOUNT_ID

__all__ = [
    "DATA_EVENTS",
    "EVENT_VERSION",
    "GLOBAL_SERVICES",
    "SOURCE_IP",
    "Recorded",
    "event_source",
    "is_read_only",
    "make_record",
    "resources_of",
]

#: The record format version AWS writes today (CloudTrail User Guide, record contents).
EVENT_VERSION = "1.11"
#: The address calls come from: this machine (the sandbox has no public address).
SOURCE_IP = "127.0.0.1"
#: Services whose calls CloudTrail records in US East (N. Virginia), whatever the client's region.
GLOBAL_SERVICES = {"iam": "us-east-1", "route53": "us-east-1", "cloudfront": "us-east-1",
                   "organizations": "us-east-1"}

_READ_VERBS = ("Get", "List", "Describe", "Head", "Lookup", "Query", "Scan", "BatchGet", "Search", "Select",
               "Filter", "Receive", "Test", "Simulate", "Validate", "Check", "Estimate", "Preview", "Poll",
               "Download", "Retrieve", "View")

#: Data events: (botocore service, action) -> the resource type a data event names.
DATA_EVENTS: dict[tuple[str, str], str] = {
    **{("s3", a): "AWS::S3::Object" for a in (
        "GetObject", "PutObject", "DeleteObject", "DeleteObjects", "HeadObject", "CopyObject", "GetObjectAcl",
        "PutObjectAcl", "GetObjectTagging", "PutObjectTagging", "DeleteObjectTagging", "GetObjectAttributes",
        "CreateMultipartUpload", "UploadPart", "UploadPartCopy", "CompleteMultipartUpload",
        "AbortMultipartUpload", "ListParts", "RestoreObject", "SelectObjectContent", "GetObjectRetention",
        "PutObjectRetention", "GetObjectLegalHold", "PutObjectLegalHold")},
    ("lambda", "Invoke"): "AWS::Lambda::Function",
    ("lambda", "InvokeWithResponseStream"): "AWS::Lambda::Function",
    ("lambda", "InvokeAsync"): "AWS::Lambda::Function",
    **{("dynamodb", a): "AWS::DynamoDB::Table" for a in (
        "GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan", "BatchGetItem", "BatchWriteItem",
        "TransactGetItems", "TransactWriteItems", "ExecuteStatement", "BatchExecuteStatement",
        "ExecuteTransaction")},
    **{("dynamodbstreams", a): "AWS::DynamoDB::Stream" for a in (
        "GetRecords", "GetShardIterator", "DescribeStream", "ListStreams")},
    **{("sqs", a): "AWS::SQS::Queue" for a in (
        "SendMessage", "SendMessageBatch", "ReceiveMessage", "DeleteMessage", "DeleteMessageBatch",
        "ChangeMessageVisibility", "ChangeMessageVisibilityBatch")},
    ("sns", "Publish"): "AWS::SNS::Topic",
    ("sns", "PublishBatch"): "AWS::SNS::Topic",
}

# Where a management event's resource is named: botocore parameter -> (resource type, how to name it).
_RESOURCE_PARAMETERS: dict[str, dict[str, str]] = {
    "dynamodb": {"TableName": "AWS::DynamoDB::Table"},
    "s3": {"Bucket": "AWS::S3::Bucket"},
    "sqs": {"QueueUrl": "AWS::SQS::Queue", "QueueName": "AWS::SQS::Queue"},
    "sns": {"TopicArn": "AWS::SNS::Topic"},
    "lambda": {"FunctionName": "AWS::Lambda::Function"},
    "iam": {"UserName": "AWS::IAM::User", "RoleName": "AWS::IAM::Role", "PolicyArn": "AWS::IAM::Policy",
            "GroupName": "AWS::IAM::Group"},
    "sts": {"RoleArn": "AWS::IAM::Role"},
    "events": {"Name": "AWS::Events::Rule", "Rule": "AWS::Events::Rule"},
    "stepfunctions": {"stateMachineArn": "AWS::StepFunctions::StateMachine"},
    "cloudtrail": {"Name": "AWS::CloudTrail::Trail", "TrailName": "AWS::CloudTrail::Trail"},
    "rds": {"DBInstanceIdentifier": "AWS::RDS::DBInstance", "DBClusterIdentifier": "AWS::RDS::DBCluster"},
    "elasticache": {"CacheClusterId": "AWS::ElastiCache::CacheCluster",
                    "ReplicationGroupId": "AWS::ElastiCache::ReplicationGroup"},
    "logs": {"logGroupName": "AWS::Logs::LogGroup"},
    "cloudwatch": {"AlarmName": "AWS::CloudWatch::Alarm"},
    "ec2": {"InstanceIds": "AWS::EC2::Instance", "InstanceId": "AWS::EC2::Instance"},
}

_SOURCE_NAMES: dict[str, str] = {}
_SECRET_KEYS = {"secretAccessKey", "SecretAccessKey", "password", "Password", "SecretString", "SecretBinary"}


class Recorded:
    """One recorded call: the record, and what Event history indexes it by."""

    __slots__ = ("access_key", "category", "epoch", "record", "region", "resources", "seq", "username")

    def __init__(self, record: dict[str, Any], epoch: float, region: str, username: str,
                 resources: list[tuple[str, str]], seq: int) -> None:
        self.record = record
        self.epoch = epoch
        self.region = region
        self.username = username
        self.resources = resources  # [(ResourceType, ResourceName)]
        self.access_key = str(record["userIdentity"].get("accessKeyId", ""))
        self.category = record["eventCategory"]
        self.seq = seq

    @property
    def management(self) -> bool:
        return bool(self.category == "Management")

    @property
    def read_only(self) -> bool:
        return bool(self.record["readOnly"])


def event_source(service: str) -> str:
    """``dynamodb.amazonaws.com``, ``states.amazonaws.com``, ``monitoring.amazonaws.com``: the
    service's endpoint name, read from botocore's model, plus ``.amazonaws.com``."""
    source = _SOURCE_NAMES.get(service)
    if source is None:
        prefix = service
        try:
            import botocore.session

            prefix = botocore.session.get_session().get_service_model(service).endpoint_prefix or service
        except Exception:  # noqa: BLE001  (an unknown model: keep the botocore name)
            pass
        source = _SOURCE_NAMES[service] = f"{prefix}.amazonaws.com"
    return source


def is_read_only(operation: str) -> bool:
    """True for actions that only read (by their verb)."""
    return operation.startswith(_READ_VERBS)


def _camel(name: str) -> str:
    return name[:1].lower() + name[1:] if name[:1].isupper() else name


def _clean(value: Any, depth: int = 0) -> Any:
    """A JSON-ready copy: keys in lowerCamelCase, times as ISO strings, binary and streams left out."""
    if isinstance(value, dict):
        if depth > 12:
            return None
        out = {}
        for key, item in value.items():
            if key == "ResponseMetadata" or key in _SECRET_KEYS:
                continue
            cleaned = _clean(item, depth + 1)
            if cleaned is not _DROP:
                out[_camel(str(key))] = cleaned
        return out
    if isinstance(value, (list, tuple)):
        return [c for c in (_clean(v, depth + 1) for v in value) if c is not _DROP]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return _DROP  # bytes, streaming bodies, file objects


_DROP = object()


def _s3_parameters(params: dict[str, Any], region: str) -> dict[str, Any]:
    out = _clean({k: v for k, v in params.items() if k not in ("Bucket", "Key", "Body")})
    if "Bucket" in params:
        out["bucketName"] = params["Bucket"]
        out["Host"] = f"{params['Bucket']}.s3.{region}.amazonaws.com"
    if "Key" in params:
        out["key"] = params["Key"]
    return dict(out)


def _name_of(value: Any) -> str:
    text = str(value)
    if text.startswith("https://") or text.startswith("http://"):  # an SQS queue URL
        return text.rstrip("/").rsplit("/", 1)[-1]
    if text.startswith("arn:"):
        tail = text.split(":", 5)[-1]
        return tail.rsplit("/", 1)[-1] if "/" in tail else tail.rsplit(":", 1)[-1]
    return text


def resources_of(service: str, params: dict[str, Any]) -> list[tuple[str, str]]:
    """The (ResourceType, ResourceName) pairs Event history lists for a call."""
    table = _RESOURCE_PARAMETERS.get(service)
    if not table:
        return []
    found = []
    for parameter, kind in table.items():
        value = params.get(parameter)
        if value is None:
            continue
        for item in value if isinstance(value, list) else [value]:
            found.append((kind, _name_of(item)))
    return found


def _data_resources(service: str, kind: str, params: dict[str, Any], region: str) -> list[dict[str, str]]:
    """The ``resources`` a data event record names (type and ARN, as AWS writes them)."""
    if kind == "AWS::S3::Object":
        bucket = params.get("Bucket", "")
        out = [{"type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{bucket}", "accountId": ACCOUNT_ID}]
        keys = [params["Key"]] if "Key" in params else \
            [o.get("Key", "") for o in (params.get("Delete") or {}).get("Objects", [])]
        out[:0] = [{"type": kind, "ARN": f"arn:aws:s3:::{bucket}/{k}"} for k in keys]
        return out
    if kind == "AWS::Lambda::Function":
        name = str(params.get("FunctionName", ""))
        arn = name if name.startswith("arn:") else f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{name}"
        return [{"type": kind, "ARN": arn, "accountId": ACCOUNT_ID}]
    if kind == "AWS::DynamoDB::Table":
        names = [params["TableName"]] if "TableName" in params else list(params.get("RequestItems") or {})
        return [{"type": kind, "ARN": f"arn:aws:dynamodb:{region}:{ACCOUNT_ID}:table/{n}", "accountId": ACCOUNT_ID}
                for n in names]
    if kind == "AWS::SQS::Queue":
        name = _name_of(params.get("QueueUrl", ""))
        return [{"type": kind, "ARN": f"arn:aws:sqs:{region}:{ACCOUNT_ID}:{name}", "accountId": ACCOUNT_ID}]
    if kind == "AWS::SNS::Topic":
        return [{"type": kind, "ARN": str(params.get("TopicArn", "")), "accountId": ACCOUNT_ID}]
    if kind == "AWS::DynamoDB::Stream":
        return [{"type": kind, "ARN": str(params.get("StreamArn", "")), "accountId": ACCOUNT_ID}]
    return []


def make_record(*, service: str, operation: str, region: str, params: dict[str, Any], parsed: dict[str, Any],
                status: int, identity: dict[str, Any], user_agent: str, epoch: float) -> dict[str, Any]:
    """The CloudTrail record of one call (a plain dict, ready for ``json.dumps``)."""
    region = GLOBAL_SERVICES.get(service, region)
    data_kind = DATA_EVENTS.get((service, operation))
    read_only = is_read_only(operation)
    error = parsed.get("Error") if status >= 300 or "Error" in parsed else None
    metadata = parsed.get("ResponseMetadata") or {}
    record: dict[str, Any] = {
        "eventVersion": EVENT_VERSION,
        "userIdentity": identity,
        "eventTime": datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": event_source(service),
        "eventName": operation,
        "awsRegion": region,
        "sourceIPAddress": SOURCE_IP,
        "userAgent": user_agent,
    }
    if error:
        record["errorCode"] = str(error.get("Code", ""))
        record["errorMessage"] = str(error.get("Message", ""))
    record["requestParameters"] = (_s3_parameters(params, region) if service == "s3" else _clean(params)) or None
    if error or read_only:
        record["responseElements"] = None
    else:
        elements = _clean(parsed)
        record["responseElements"] = elements or None
    record["requestID"] = str(metadata.get("RequestId") or uuid.uuid4())
    record["eventID"] = str(uuid.uuid4())
    record["readOnly"] = read_only
    if data_kind:
        record["resources"] = _data_resources(service, data_kind, params, region)
    record["eventType"] = "AwsApiCall"
    record["managementEvent"] = data_kind is None
    record["recipientAccountId"] = ACCOUNT_ID
    record["eventCategory"] = "Data" if data_kind else "Management"
    return record
