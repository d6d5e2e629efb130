"""The CloudTrail service: every learner call recorded in AWS's record format with
the identity that signed it (root, an IAM user's key, a role session); Event
history through LookupEvents (attributes, time window, pages, 90 days, AWS's
errors); trails that deliver gzip log files to S3 after the delivery delay, in
CloudTrail's key layout, with data events only when selectors ask; EventBridge
rules that react to a DeleteTable; its seams on real moto objects; and its reset.

What the chapter's lab grades is in tests/chapters/test_cloudtrail.py."""

from __future__ import annotations

import gzip
import json
import re
from datetime import datetime, timedelta, timezone

import boto3
import pytest
from botocore.exceptions import ClientError

from labkit.core import aws as core_aws
from labkit.core import registry, seams
from labkit.services import cloudtrail

REGION = "us-east-1"
KEY_PATTERN = re.compile(r"AWSLogs/123456789012/CloudTrail/us-east-1/\d{4}/\d\d/\d\d/"
                         r"123456789012_CloudTrail_us-east-1_\d{8}T\d{4}Z_[A-Za-z0-9]{16}\.json\.gz")


# ---------------------------------------------------------------- helpers


@pytest.fixture()
def trail_lab(lab):
    lab.cloudtrail  # noqa: B018  (install the recorder before the first call)
    return lab


def make_table(client, name: str = "orders") -> None:
    client.create_table(TableName=name, KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                        BillingMode="PAY_PER_REQUEST")


def lookup(lab, key: str | None = None, value: str | None = None, **kwargs) -> list[dict]:
    ct = lab.client("cloudtrail")
    if key is not None:
        kwargs["LookupAttributes"] = [{"AttributeKey": key, "AttributeValue": value}]
    events = []
    for page in ct.get_paginator("lookup_events").paginate(**kwargs):
        events.extend(page["Events"])
    return events


def user_session(lab, name: str) -> boto3.session.Session:
    """A session signed by a new IAM user's access key (the user may use DynamoDB and S3)."""
    iam = lab.client("iam")
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="shop", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["dynamodb:*", "s3:*", "sts:AssumeRole"], "Resource": "*"}]}))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return boto3.session.Session(aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"],
                                 region_name=REGION)


def log_bucket(lab, name: str = "shop-audit", prefix: str = "") -> str:
    s3 = lab.client("s3")
    s3.create_bucket(Bucket=name)
    head = f"{prefix}/" if prefix else ""
    s3.put_bucket_policy(Bucket=name, Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "AclCheck", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
         "Action": "s3:GetBucketAcl", "Resource": f"arn:aws:s3:::{name}"},
        {"Sid": "Write", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
         "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{name}/{head}AWSLogs/{lab.account_id}/*",
         "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}}}]}))
    return name


def start_trail(lab, name: str = "shop-trail", bucket: str = "shop-audit", **kwargs) -> str:
    ct = lab.client("cloudtrail")
    arn = ct.create_trail(Name=name, S3BucketName=bucket, **kwargs)["TrailARN"]
    ct.start_logging(Name=name)
    return arn


def log_records(lab, bucket: str) -> list[dict]:
    s3 = lab.client("s3")
    records = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
            records.extend(json.loads(gzip.decompress(body))["Records"])
    return records


def log_keys(lab, bucket: str) -> list[str]:
    pages = lab.client("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return [item["Key"] for page in pages for item in page.get("Contents", [])]


# ---------------------------------------------------------------- the record


def test_a_successful_write_has_every_field_aws_writes(trail_lab):
    make_table(trail_lab.client("dynamodb"))
    [event] = lookup(trail_lab, "EventName", "CreateTable")
    record = json.loads(event["CloudTrailEvent"])
    assert list(record) == ["eventVersion", "userIdentity", "eventTime", "eventSource", "eventName", "awsRegion",
                            "sourceIPAddress", "userAgent", "requestParameters", "responseElements", "requestID",
                            "eventID", "readOnly", "eventType", "managementEvent", "recipientAccountId",
                            "eventCategory"]
    assert record["eventVersion"] == "1.11" and record["eventSource"] == "dynamodb.amazonaws.com"
    assert record["awsRegion"] == REGION and record["eventType"] == "AwsApiCall"
    assert record["readOnly"] is False and record["managementEvent"] is True and record["eventCategory"] == "Management"
    assert record["recipientAccountId"] == trail_lab.account_id
    assert record["requestParameters"]["tableName"] == "orders"
    assert record["responseElements"]["tableDescription"]["tableStatus"] == "ACTIVE"
    assert record["userAgent"].startswith("Boto3/")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", record["eventTime"])
    assert event["EventId"] == record["eventID"] and event["ReadOnly"] == "false"
    assert event["Resources"] == [{"ResourceType": "AWS::DynamoDB::Table", "ResourceName": "orders"}]


def test_a_failed_call_records_the_error_and_no_response(trail_lab):
    with pytest.raises(ClientError):
        trail_lab.client("dynamodb").delete_table(TableName="missing")
    [event] = lookup(trail_lab, "EventName", "DeleteTable")
    record = json.loads(event["CloudTrailEvent"])
    assert record["errorCode"] == "ResourceNotFoundException"
    assert "missing" in record["errorMessage"] or "not found" in record["errorMessage"].lower()
    assert record["responseElements"] is None and record["requestParameters"] == {"tableName": "missing"}


def test_a_read_has_no_response_elements_and_is_read_only(trail_lab):
    trail_lab.client("dynamodb").list_tables()
    [event] = lookup(trail_lab, "EventName", "ListTables")
    record = json.loads(event["CloudTrailEvent"])
    assert record["readOnly"] is True and record["responseElements"] is None and event["ReadOnly"] == "true"


def test_cloudwatch_and_step_functions_use_their_endpoint_names():
    assert cloudtrail.event_source("cloudwatch") == "monitoring.amazonaws.com"
    assert cloudtrail.event_source("stepfunctions") == "states.amazonaws.com"


# ---------------------------------------------------------------- identity


def test_default_credentials_are_the_account_root(trail_lab):
    trail_lab.client("dynamodb").list_tables()
    [event] = lookup(trail_lab, "EventName", "ListTables")
    identity = json.loads(event["CloudTrailEvent"])["userIdentity"]
    assert identity == {"type": "Root", "principalId": trail_lab.account_id,
                        "arn": f"arn:aws:iam::{trail_lab.account_id}:root", "accountId": trail_lab.account_id,
                        "accessKeyId": "testing"}
    assert event["Username"] == "root"


def test_a_users_access_key_is_recorded_as_that_user(trail_lab):
    session = user_session(trail_lab, "dana")
    key = session.get_credentials().access_key
    make_table(session.client("dynamodb"))
    [event] = lookup(trail_lab, "EventName", "CreateTable")
    identity = json.loads(event["CloudTrailEvent"])["userIdentity"]
    assert identity["type"] == "IAMUser" and identity["userName"] == "dana"
    assert identity["arn"] == f"arn:aws:iam::{trail_lab.account_id}:user/dana"
    assert identity["accessKeyId"] == key
    assert identity["principalId"] == trail_lab.client("iam").get_user(UserName="dana")["User"]["UserId"]
    assert event["Username"] == "dana" and event["AccessKeyId"] == key
    assert [e["EventName"] for e in lookup(trail_lab, "AccessKeyId", key)] == ["CreateTable"]


def test_a_role_session_is_recorded_with_its_issuer(trail_lab):
    iam = trail_lab.client("iam")
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
             "Principal": {"AWS": f"arn:aws:iam::{trail_lab.account_id}:root"}}]}
    role = iam.create_role(RoleName="deployer", AssumeRolePolicyDocument=json.dumps(trust))["Role"]
    iam.put_role_policy(RoleName="deployer", PolicyName="tables", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"}]}))
    creds = trail_lab.client("sts").assume_role(RoleArn=role["Arn"], RoleSessionName="release-42")["Credentials"]
    session = boto3.session.Session(aws_access_key_id=creds["AccessKeyId"],
                                    aws_secret_access_key=creds["SecretAccessKey"],
                                    aws_session_token=creds["SessionToken"], region_name=REGION)
    session.client("dynamodb").list_tables()
    [event] = lookup(trail_lab, "EventName", "ListTables")
    identity = json.loads(event["CloudTrailEvent"])["userIdentity"]
    assert identity["type"] == "AssumedRole"
    assert identity["arn"] == f"arn:aws:sts::{trail_lab.account_id}:assumed-role/deployer/release-42"
    assert identity["principalId"] == f"{role['RoleId']}:release-42"
    assert identity["accessKeyId"] == creds["AccessKeyId"]
    issuer = identity["sessionContext"]["sessionIssuer"]
    assert issuer == {"type": "Role", "principalId": role["RoleId"], "arn": role["Arn"],
                      "accountId": trail_lab.account_id, "userName": "deployer"}
    assert identity["sessionContext"]["attributes"]["mfaAuthenticated"] == "false"
    assert event["Username"] == "release-42"
    [assumed] = lookup(trail_lab, "EventName", "AssumeRole")
    assumed_record = json.loads(assumed["CloudTrailEvent"])
    assert assumed_record["eventSource"] == "sts.amazonaws.com"
    assert "secretAccessKey" not in json.dumps(assumed_record["responseElements"])


# ---------------------------------------------------------------- Event history and LookupEvents


def test_lookup_by_each_attribute(trail_lab):
    ddb = trail_lab.client("dynamodb")
    make_table(ddb, "orders")
    make_table(ddb, "carts")
    ddb.delete_table(TableName="carts")
    assert [e["EventName"] for e in lookup(trail_lab, "ResourceName", "carts")] == ["DeleteTable", "CreateTable"]
    assert len(lookup(trail_lab, "ResourceType", "AWS::DynamoDB::Table")) == 3
    assert [e["EventName"] for e in lookup(trail_lab, "EventSource", "dynamodb.amazonaws.com")] == \
        ["DeleteTable", "CreateTable", "CreateTable"]
    assert {e["EventName"] for e in lookup(trail_lab, "ReadOnly", "false")} >= {"DeleteTable", "CreateTable"}
    assert all(e["ReadOnly"] == "true" for e in lookup(trail_lab, "ReadOnly", "true"))
    assert len(lookup(trail_lab, "Username", "root")) >= 3
    [deleted] = lookup(trail_lab, "EventName", "DeleteTable")
    assert [e["EventName"] for e in lookup(trail_lab, "EventId", deleted["EventId"])] == ["DeleteTable"]
    assert lookup(trail_lab, "Username", "nobody") == []


def test_lookup_keeps_to_the_time_window(trail_lab):
    ddb = trail_lab.client("dynamodb")
    make_table(ddb, "early")
    trail_lab.clock.advance(3600)
    middle = datetime.fromtimestamp(trail_lab.clock.now(), timezone.utc)
    trail_lab.clock.advance(3600)
    make_table(ddb, "late")
    names = [e["Resources"][0]["ResourceName"] for e in lookup(trail_lab, "EventName", "CreateTable",
                                                               StartTime=middle)]
    assert names == ["late"]
    names = [e["Resources"][0]["ResourceName"] for e in lookup(trail_lab, "EventName", "CreateTable",
                                                               EndTime=middle)]
    assert names == ["early"]
    with pytest.raises(ClientError) as error:
        trail_lab.client("cloudtrail").lookup_events(StartTime=middle, EndTime=middle - timedelta(hours=1))
    assert error.value.response["Error"]["Code"] == "InvalidTimeRangeException"


def test_lookup_pages_newest_first(trail_lab):
    ddb = trail_lab.client("dynamodb")
    for n in range(5):
        make_table(ddb, f"t{n}")
    ct = trail_lab.client("cloudtrail")
    attributes = [{"AttributeKey": "EventName", "AttributeValue": "CreateTable"}]
    first = ct.lookup_events(LookupAttributes=attributes, MaxResults=2)
    assert [e["Resources"][0]["ResourceName"] for e in first["Events"]] == ["t4", "t3"]
    second = ct.lookup_events(LookupAttributes=attributes, MaxResults=2, NextToken=first["NextToken"])
    assert [e["Resources"][0]["ResourceName"] for e in second["Events"]] == ["t2", "t1"]
    third = ct.lookup_events(LookupAttributes=attributes, MaxResults=2, NextToken=second["NextToken"])
    assert [e["Resources"][0]["ResourceName"] for e in third["Events"]] == ["t0"] and "NextToken" not in third
    with pytest.raises(ClientError) as error:  # a token only serves the query that made it
        ct.lookup_events(MaxResults=2, NextToken=first["NextToken"])
    assert error.value.response["Error"]["Code"] == "InvalidNextTokenException"
    with pytest.raises(ClientError) as error:
        ct.lookup_events(MaxResults=51)
    assert error.value.response["Error"]["Code"] == "InvalidMaxResultsException"


def test_an_unknown_attribute_gets_aws_error_and_lookups_keep_working(trail_lab):
    ct = trail_lab.client("cloudtrail")
    with pytest.raises(ClientError) as error:
        ct.lookup_events(LookupAttributes=[{"AttributeKey": "TableName", "AttributeValue": "orders"}])
    assert error.value.response["Error"]["Code"] == "InvalidLookupAttributesException"
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(ClientError) as error:
        ct.lookup_events(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "A"},
                                           {"AttributeKey": "Username", "AttributeValue": "root"}])
    assert error.value.response["Error"]["Code"] == "InvalidLookupAttributesException"
    make_table(trail_lab.client("dynamodb"))
    assert len(lookup(trail_lab, "EventName", "CreateTable")) == 1


def test_history_is_per_region_and_keeps_90_days(trail_lab):
    trail_lab.client("dynamodb", region_name="us-west-2").list_tables()
    make_table(trail_lab.client("dynamodb"))
    west = trail_lab.client("cloudtrail", region_name="us-west-2")
    assert [e["EventName"] for e in west.lookup_events()["Events"]] == ["ListTables"]
    assert lookup(trail_lab, "EventName", "ListTables") == []
    trail_lab.clock.advance(89 * 86400)
    assert len(lookup(trail_lab, "EventName", "CreateTable")) == 1
    trail_lab.clock.advance(2 * 86400)
    assert lookup(trail_lab, "EventName", "CreateTable") == []


def test_labkits_own_calls_are_not_recorded(trail_lab):
    core_aws.internal_client("dynamodb", REGION).list_tables()
    trail_lab.client("dynamodb").describe_limits()
    assert lookup(trail_lab, "EventName", "ListTables") == []
    assert len(lookup(trail_lab, "EventName", "DescribeLimits")) == 1


def test_data_events_never_reach_event_history(trail_lab):
    s3 = trail_lab.client("s3")
    s3.create_bucket(Bucket="catalogue")
    s3.put_object(Bucket="catalogue", Key="a.json", Body=b"{}")
    assert lookup(trail_lab, "EventName", "PutObject") == []
    assert len(lookup(trail_lab, "EventName", "CreateBucket")) == 1
    [put] = cloudtrail.recorded(data=True)
    assert put["eventName"] == "PutObject" and put["eventCategory"] == "Data" and put["managementEvent"] is False
    assert put["requestParameters"] == {"bucketName": "catalogue", "key": "a.json",
                                        "Host": "catalogue.s3.us-east-1.amazonaws.com"}
    assert put["resources"][0] == {"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::catalogue/a.json"}


# ---------------------------------------------------------------- trails


def test_create_trail_refuses_a_bucket_cloudtrail_cannot_write_to(trail_lab):
    trail_lab.client("s3").create_bucket(Bucket="no-policy")
    ct = trail_lab.client("cloudtrail")
    with pytest.raises(ClientError) as error:
        ct.create_trail(Name="orders-trail", S3BucketName="no-policy")
    assert error.value.response["Error"]["Code"] == "InsufficientS3BucketPolicyException"
    log_bucket(trail_lab, "audited", prefix="trails")
    with pytest.raises(ClientError) as error:  # the policy allows writing under trails/ only
        ct.create_trail(Name="orders-trail", S3BucketName="audited")
    assert error.value.response["Error"]["Code"] == "InsufficientS3BucketPolicyException"
    ct.create_trail(Name="orders-trail", S3BucketName="audited", S3KeyPrefix="trails")
    assert [t["Name"] for t in ct.describe_trails()["trailList"]] == ["orders-trail"]


def test_a_trail_delivers_a_gzip_log_file_after_the_delivery_delay(trail_lab):
    log_bucket(trail_lab)
    arn = start_trail(trail_lab)
    make_table(trail_lab.client("dynamodb"))
    assert log_keys(trail_lab, "shop-audit") == []  # not yet: CloudTrail delivers minutes later
    assert cloudtrail.pending("shop-trail") >= 1
    trail_lab.clock.advance(cloudtrail.DELIVERY_DELAY)
    [key] = log_keys(trail_lab, "shop-audit")
    assert KEY_PATTERN.fullmatch(key), key
    records = log_records(trail_lab, "shop-audit")
    assert "CreateTable" in [r["eventName"] for r in records]
    [created] = [r for r in records if r["eventName"] == "CreateTable"]
    [event] = lookup(trail_lab, "EventName", "CreateTable")
    assert created == json.loads(event["CloudTrailEvent"])  # the same record in the file and in Event history
    status = trail_lab.client("cloudtrail").get_trail_status(Name=arn)
    assert status["IsLogging"] is True and "LatestDeliveryTime" in status and "LatestDeliveryError" not in status


def test_the_key_prefix_and_a_stopped_trail(trail_lab):
    log_bucket(trail_lab, prefix="shop")
    start_trail(trail_lab, S3KeyPrefix="shop")
    ddb = trail_lab.client("dynamodb")
    make_table(ddb, "before-stop")
    trail_lab.client("cloudtrail").stop_logging(Name="shop-trail")
    make_table(ddb, "after-stop")
    trail_lab.clock.advance(cloudtrail.DELIVERY_DELAY)
    assert all(k.startswith("shop/AWSLogs/") for k in log_keys(trail_lab, "shop-audit"))
    names = [r["requestParameters"]["tableName"] for r in log_records(trail_lab, "shop-audit")
             if r["eventName"] == "CreateTable"]
    assert names == ["before-stop"]
    assert len(lookup(trail_lab, "EventName", "CreateTable")) == 2  # Event history has both


def test_data_events_are_delivered_only_when_selectors_ask(trail_lab):
    log_bucket(trail_lab)
    start_trail(trail_lab)
    s3 = trail_lab.client("s3")
    for bucket in ("catalogue", "carts"):
        s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket="catalogue", Key="before.json", Body=b"{}")
    trail_lab.client("cloudtrail").put_event_selectors(TrailName="shop-trail", EventSelectors=[{
        "ReadWriteType": "All", "IncludeManagementEvents": True,
        "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3:::catalogue/"]}]}])
    s3.put_object(Bucket="catalogue", Key="after.json", Body=b"{}")
    s3.get_object(Bucket="catalogue", Key="after.json")
    s3.put_object(Bucket="carts", Key="c.json", Body=b"{}")
    trail_lab.clock.advance(cloudtrail.DELIVERY_DELAY)
    records = log_records(trail_lab, "shop-audit")
    data = [(r["eventName"], r["requestParameters"]["key"]) for r in records if r["eventCategory"] == "Data"]
    assert data == [("PutObject", "after.json"), ("GetObject", "after.json")]
    assert "CreateBucket" in [r["eventName"] for r in records]


def test_advanced_selectors_take_only_what_their_fields_match(trail_lab):
    log_bucket(trail_lab)
    ct = trail_lab.client("cloudtrail")
    ct.create_trail(Name="shop-trail", S3BucketName="shop-audit")
    ct.put_event_selectors(TrailName="shop-trail", AdvancedEventSelectors=[{
        "Name": "writes to catalogue objects", "FieldSelectors": [
            {"Field": "eventCategory", "Equals": ["Data"]},
            {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
            {"Field": "readOnly", "Equals": ["false"]},
            {"Field": "resources.ARN", "StartsWith": ["arn:aws:s3:::catalogue/"]}]}])
    ct.start_logging(Name="shop-trail")
    s3 = trail_lab.client("s3")
    s3.create_bucket(Bucket="catalogue")
    s3.put_object(Bucket="catalogue", Key="a.json", Body=b"{}")
    s3.get_object(Bucket="catalogue", Key="a.json")
    trail_lab.clock.advance(cloudtrail.DELIVERY_DELAY)
    assert [r["eventName"] for r in log_records(trail_lab, "shop-audit")] == ["PutObject"]


def test_a_deleted_bucket_is_reported_as_the_delivery_error(trail_lab):
    log_bucket(trail_lab)
    arn = start_trail(trail_lab)
    trail_lab.client("dynamodb").list_tables()
    core_aws.internal_client("s3", REGION).delete_bucket_policy(Bucket="shop-audit")
    core_aws.internal_client("s3", REGION).delete_bucket(Bucket="shop-audit")
    trail_lab.clock.advance(cloudtrail.DELIVERY_DELAY)
    status = trail_lab.client("cloudtrail").get_trail_status(Name=arn)
    assert status["LatestDeliveryError"] == "NoSuchBucket" and "LatestDeliveryTime" not in status


# ---------------------------------------------------------------- EventBridge


def rule_to_queue(lab, pattern: dict) -> str:
    sqs, events = lab.client("sqs"), lab.client("events")
    url = sqs.create_queue(QueueName="table-alarms")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    rule_arn = events.put_rule(Name="table-deleted", EventPattern=json.dumps(pattern))["RuleArn"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "sqs:SendMessage",
        "Resource": arn, "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}}}]})})
    events.put_targets(Rule="table-deleted", Targets=[{"Id": "q", "Arn": arn}])
    return url


def received(lab, url: str) -> list[dict]:
    messages = lab.client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(m["Body"]) for m in messages]


DELETE_TABLE = {"source": ["aws.dynamodb"], "detail-type": ["AWS API Call via CloudTrail"],
                "detail": {"eventSource": ["dynamodb.amazonaws.com"], "eventName": ["DeleteTable"]}}


def test_a_rule_reacts_to_delete_table_while_a_trail_logs(trail_lab):
    log_bucket(trail_lab)
    start_trail(trail_lab)
    url = rule_to_queue(trail_lab, DELETE_TABLE)
    ddb = trail_lab.client("dynamodb")
    make_table(ddb)
    ddb.describe_table(TableName="orders")
    ddb.delete_table(TableName="orders")
    [event] = received(trail_lab, url)
    assert event["detail-type"] == "AWS API Call via CloudTrail" and event["source"] == "aws.dynamodb"
    assert event["detail"]["eventName"] == "DeleteTable"
    assert event["detail"]["requestParameters"] == {"tableName": "orders"}
    assert event["detail"]["userIdentity"]["type"] == "Root"
    [history] = lookup(trail_lab, "EventName", "DeleteTable")
    assert event["detail"]["eventID"] == history["EventId"]


def test_without_a_logging_trail_eventbridge_gets_no_api_calls(trail_lab):
    url = rule_to_queue(trail_lab, DELETE_TABLE)
    ddb = trail_lab.client("dynamodb")
    make_table(ddb)
    ddb.delete_table(TableName="orders")
    assert received(trail_lab, url) == []
    assert len(lookup(trail_lab, "EventName", "DeleteTable")) == 1  # Event history has it all the same


# ---------------------------------------------------------------- seams and lifecycle


def test_every_seam_is_where_the_service_expects_it(lab):
    lab.client("cloudtrail").list_trails()  # the first CloudTrail call installs the service
    assert "cloudtrail" in registry.installed()
    assert seams.check(cloudtrail.SEAMS) == []
    patched = [seam.path for seam in cloudtrail.SEAMS if seam.patched]
    assert patched == ["moto.cloudtrail.models.TrailStatus.description"]
    assert set(patched) <= set(seams.patched())


def test_instance_attributes_named_in_seams_exist_on_real_objects(trail_lab):
    from moto.cloudtrail.models import cloudtrail_backends
    from moto.iam.models import iam_backends
    from moto.s3.models import s3_backends
    from moto.sts.models import sts_backends

    log_bucket(trail_lab)
    start_trail(trail_lab)
    session = user_session(trail_lab, "dana")
    iam = trail_lab.client("iam")
    role = iam.create_role(RoleName="r", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"AWS": "*"}}]}))["Role"]
    session.client("sts").assume_role(RoleArn=role["Arn"], RoleSessionName="ses")
    backend = cloudtrail_backends[trail_lab.account_id][REGION]
    trail = backend.trails["shop-trail"]
    iam_backend = iam_backends[trail_lab.account_id]["aws"]
    sts_backend = sts_backends[trail_lab.account_id]["aws"]
    objects = {"CloudTrailBackend": backend, "Trail": trail, "TrailStatus": trail.status, "IAMBackend": iam_backend,
               "AccessKey": next(iter(iam_backend.access_keys.values())), "STSBackend": sts_backend,
               "AssumedRole": sts_backend.assumed_roles[0],
               "FakeBucket": s3_backends[trail_lab.account_id]["aws"].get_bucket("shop-audit")}
    instance_seams = [seam for seam in cloudtrail.SEAMS if seam.instance]
    assert instance_seams
    for seam in instance_seams:
        owner, attribute = seam.qualname.rsplit(".", 1)
        assert owner in objects, f"add a real {owner} for {seam.path}"
        assert hasattr(objects[owner], attribute), seam.path
    assert trail.status.is_logging is True and isinstance(trail.event_selectors, list)
    assert isinstance(iam_backend.access_keys, dict) and isinstance(sts_backend.assumed_roles, list)


def test_a_moved_seam_is_named_and_nothing_is_patched(monkeypatch):
    from moto.cloudtrail.models import TrailStatus

    def description(self, verbose):  # a moto release that changed the signature
        raise AssertionError("never called")

    monkeypatch.setattr(TrailStatus, "description", description)
    problems = seams.check(cloudtrail.SEAMS)
    assert problems == [("moto.cloudtrail.models.TrailStatus.description takes ('self', 'verbose'), "
                        "labkit expects ('self',)")]
    with pytest.raises(seams.SeamMoved, match="TrailStatus.description"):
        seams.install(cloudtrail.SEAMS, owner="labkit.services.cloudtrail")


def test_reset_forgets_every_record_and_keeps_recording(trail_lab):
    log_bucket(trail_lab)
    start_trail(trail_lab)
    make_table(trail_lab.client("dynamodb"))
    trail_lab.reset()
    assert cloudtrail.recorded() == [] and cloudtrail.recorded(data=True) == []
    assert lookup(trail_lab, "EventName", "CreateTable") == []
    trail_lab.client("dynamodb").list_tables()
    assert len(lookup(trail_lab, "EventName", "ListTables")) == 1
    trail_lab.clock.advance(cloudtrail.DELIVERY_DELAY)  # the forgotten trail delivers nothing
    assert "shop-audit" not in [b["Name"] for b in trail_lab.client("s3").list_buckets()["Buckets"]]


def test_the_very_first_call_of_a_fresh_sandbox_is_in_event_history():
    """No cloudtrail call, no lab.cloudtrail: Event history records from the start, as on AWS."""
    import subprocess
    import sys

    code = ("import labkit; lab = labkit.start(); lab.client('sqs').create_queue(QueueName='first');"
            "print([e['EventName'] for e in lab.client('cloudtrail').lookup_events()['Events']])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True).stdout
    assert out.strip() == "['CreateQueue']"
