"""The IAM service: AWS's policy evaluation logic as a table of cases, then the
same logic on real boto3 calls signed by users and role sessions; trust
policies, managed policies, the simulator, bad input; its seams and reset."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError

from labkit.core import seams

ACCOUNT = "123456789012"
REGION = "us-east-1"
ORDERS = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/orders"
CATALOGUE = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/catalogue"
USER = f"arn:aws:iam::{ACCOUNT}:user/ana"


def doc(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action, resource="*", **extra):
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action, resource="*", **extra):
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


# ---------------------------------------------------------------------------
# The evaluation logic, case by case (IAM User Guide, "Policy evaluation logic")
# ---------------------------------------------------------------------------

BASE = {"aws:SourceIp": "203.0.113.10", "aws:RequestedRegion": "us-east-1",
        "aws:CurrentTime": "2026-11-30T12:00:00Z", "aws:username": "ana", "aws:PrincipalTag/team": "shop"}

CASES = [
    # (name, identity policies, boundary, action, resource, extra context, expected decision)
    ("no policy: implicit deny", [], None, "dynamodb:GetItem", ORDERS, {}, "implicitDeny"),
    ("an allow allows", [doc(allow("dynamodb:GetItem", ORDERS))], None, "dynamodb:GetItem", ORDERS, {}, "allowed"),
    ("actions ignore case", [doc(allow("DynamoDB:getitem", ORDERS))], None, "dynamodb:GetItem", ORDERS, {}, "allowed"),
    ("wildcard action", [doc(allow("dynamodb:Get*", ORDERS))], None, "dynamodb:GetItem", ORDERS, {}, "allowed"),
    ("wildcard does not reach other actions", [doc(allow("dynamodb:Get*", ORDERS))], None, "dynamodb:PutItem", ORDERS, {},
     "implicitDeny"),
    ("resources keep case", [doc(allow("dynamodb:GetItem", ORDERS.replace("orders", "Orders")))], None,
     "dynamodb:GetItem", ORDERS, {}, "implicitDeny"),
    ("other resource: implicit deny", [doc(allow("dynamodb:GetItem", ORDERS))], None, "dynamodb:GetItem", CATALOGUE, {},
     "implicitDeny"),
    ("explicit deny beats an allow", [doc(allow("dynamodb:*")), doc(deny("dynamodb:DeleteTable"))], None,
     "dynamodb:DeleteTable", ORDERS, {}, "explicitDeny"),
    ("explicit deny in the same policy", [doc(allow("*"), deny("dynamodb:*", ORDERS))], None,
     "dynamodb:GetItem", ORDERS, {}, "explicitDeny"),
    ("NotAction allows everything else", [doc({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})], None,
     "sqs:SendMessage", "*", {}, "allowed"),
    ("NotAction does not allow what it lists", [doc({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})], None,
     "iam:CreateUser", "*", {}, "implicitDeny"),
    ("Deny with NotResource denies all but the listed",
     [doc(allow("dynamodb:*"), {"Effect": "Deny", "Action": "dynamodb:*", "NotResource": ORDERS})], None,
     "dynamodb:GetItem", CATALOGUE, {}, "explicitDeny"),
    ("Deny with NotResource spares the listed",
     [doc(allow("dynamodb:*"), {"Effect": "Deny", "Action": "dynamodb:*", "NotResource": ORDERS})], None,
     "dynamodb:GetItem", ORDERS, {}, "allowed"),
    ("policy variable ${aws:username}", [doc(allow("s3:GetObject", "arn:aws:s3:::home/${aws:username}/*"))], None,
     "s3:GetObject", "arn:aws:s3:::home/ana/notes.txt", {}, "allowed"),
    ("policy variable does not reach another user", [doc(allow("s3:GetObject", "arn:aws:s3:::home/${aws:username}/*"))],
     None, "s3:GetObject", "arn:aws:s3:::home/bo/notes.txt", {}, "implicitDeny"),
    # String
    ("StringEquals on a principal tag", [doc(allow("sqs:*", Condition={"StringEquals": {"aws:PrincipalTag/team": "shop"}}))],
     None, "sqs:SendMessage", "*", {}, "allowed"),
    ("StringEquals fails", [doc(allow("sqs:*", Condition={"StringEquals": {"aws:PrincipalTag/team": "ops"}}))],
     None, "sqs:SendMessage", "*", {}, "implicitDeny"),
    ("StringLike", [doc(allow("sqs:*", Condition={"StringLike": {"aws:username": "a*"}}))], None,
     "sqs:SendMessage", "*", {}, "allowed"),
    ("StringNotEquals holds when the key is absent", [doc(allow("sqs:*", Condition={"StringNotEquals": {"aws:PrincipalTag/x": "y"}}))],
     None, "sqs:SendMessage", "*", {}, "allowed"),
    ("StringEqualsIgnoreCase", [doc(allow("sqs:*", Condition={"StringEqualsIgnoreCase": {"aws:username": "ANA"}}))],
     None, "sqs:SendMessage", "*", {}, "allowed"),
    # Region
    ("aws:RequestedRegion allows the region",
     [doc(allow("*", Condition={"StringEquals": {"aws:RequestedRegion": ["eu-west-1", "us-east-1"]}}))],
     None, "sqs:SendMessage", "*", {}, "allowed"),
    ("aws:RequestedRegion denies the others",
     [doc(allow("*"), deny("*", Condition={"StringNotEquals": {"aws:RequestedRegion": "eu-west-1"}}))],
     None, "sqs:SendMessage", "*", {}, "explicitDeny"),
    # IP
    ("IpAddress in range", [doc(allow("*", Condition={"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}))], None,
     "sqs:SendMessage", "*", {}, "allowed"),
    ("NotIpAddress deny", [doc(allow("*"), deny("*", Condition={"NotIpAddress": {"aws:SourceIp": "192.0.2.0/24"}}))], None,
     "sqs:SendMessage", "*", {}, "explicitDeny"),
    # Numeric, Date, Bool, Null
    ("NumericLessThanEquals", [doc(allow("dynamodb:Query", Condition={"NumericLessThanEquals": {"dynamodb:Limit": "10"}}))],
     None, "dynamodb:Query", "*", {"dynamodb:Limit": "5"}, "allowed"),
    ("NumericLessThanEquals fails", [doc(allow("dynamodb:Query", Condition={"NumericLessThanEquals": {"dynamodb:Limit": "10"}}))],
     None, "dynamodb:Query", "*", {"dynamodb:Limit": "50"}, "implicitDeny"),
    ("DateLessThan: before the end date", [doc(allow("*", Condition={"DateLessThan": {"aws:CurrentTime": "2027-01-01T00:00:00Z"}}))],
     None, "sqs:SendMessage", "*", {}, "allowed"),
    ("DateGreaterThan: not yet", [doc(allow("*", Condition={"DateGreaterThan": {"aws:CurrentTime": "2027-01-01T00:00:00Z"}}))],
     None, "sqs:SendMessage", "*", {}, "implicitDeny"),
    ("Bool aws:SecureTransport", [doc(allow("*"), deny("*", Condition={"Bool": {"aws:SecureTransport": "false"}}))], None,
     "sqs:SendMessage", "*", {"aws:SecureTransport": "true"}, "allowed"),
    ("Null: the key is absent", [doc(allow("*", Condition={"Null": {"aws:MultiFactorAuthPresent": "true"}}))], None,
     "sqs:SendMessage", "*", {}, "allowed"),
    ("Bool without its key does not match", [doc(allow("*", Condition={"Bool": {"aws:MultiFactorAuthPresent": "true"}}))],
     None, "sqs:SendMessage", "*", {}, "implicitDeny"),
    ("BoolIfExists passes without its key", [doc(allow("*", Condition={"BoolIfExists": {"aws:MultiFactorAuthPresent": "true"}}))],
     None, "sqs:SendMessage", "*", {}, "allowed"),
    ("IfExists still checks a present key", [doc(allow("*", Condition={"StringEqualsIfExists": {"aws:username": "bo"}}))],
     None, "sqs:SendMessage", "*", {}, "implicitDeny"),
    ("Arn operators", [doc(allow("*", Condition={"ArnLike": {"aws:SourceArn": "arn:aws:sns:*:123456789012:orders-*"}}))],
     None, "sqs:SendMessage", "*", {"aws:SourceArn": f"arn:aws:sns:{REGION}:{ACCOUNT}:orders-placed"}, "allowed"),
    ("ForAllValues over the leading keys",
     [doc(allow("dynamodb:GetItem", Condition={"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["ana"]}}))],
     None, "dynamodb:GetItem", ORDERS, {"dynamodb:LeadingKeys": ["bo"]}, "implicitDeny"),
    # Boundaries
    ("a boundary limits an allow", [doc(allow("*"))], doc(allow("dynamodb:GetItem")), "dynamodb:DeleteTable", ORDERS, {},
     "implicitDeny"),
    ("a boundary lets through what both allow", [doc(allow("*"))], doc(allow("dynamodb:GetItem")), "dynamodb:GetItem", ORDERS, {},
     "allowed"),
    ("a boundary grants nothing by itself", [], doc(allow("*")), "dynamodb:GetItem", ORDERS, {}, "implicitDeny"),
    ("a deny in a boundary is an explicit deny", [doc(allow("*"))], doc(allow("*"), deny("dynamodb:DeleteTable")),
     "dynamodb:DeleteTable", ORDERS, {}, "explicitDeny"),
]


@pytest.mark.parametrize("name,identity,boundary,action,resource,extra,expected", CASES, ids=[c[0] for c in CASES])
def test_evaluation_logic(lab, name, identity, boundary, action, resource, extra, expected):
    from labkit.services.iam.evaluate import Source, evaluate

    sources = [Source("identity", f"p{i}", text) for i, text in enumerate(identity)]
    limit = Source("boundary", "b", boundary) if boundary else None
    decision = evaluate(action, resource, {**BASE, **extra}, identity=sources, boundary=limit)
    assert decision.decision == expected, name


def test_resource_policy_grants_a_principal_with_no_identity_policy(lab):
    from labkit.services.iam.evaluate import Source, evaluate

    queue = f"arn:aws:sqs:{REGION}:{ACCOUNT}:orders"
    grant = Source("resource", queue, doc({"Effect": "Allow", "Principal": {"AWS": USER}, "Action": "sqs:SendMessage",
                                           "Resource": queue}))
    me = {"AWS": [USER, f"arn:aws:iam::{ACCOUNT}:root"], "direct": [USER]}
    assert evaluate("sqs:SendMessage", queue, BASE, resource_policy=grant, principal=me).allowed
    other = {"AWS": [f"arn:aws:iam::{ACCOUNT}:user/bo"], "direct": [f"arn:aws:iam::{ACCOUNT}:user/bo"]}
    assert not evaluate("sqs:SendMessage", queue, BASE, resource_policy=grant, principal=other).allowed
    # Named directly, the user is not limited by a boundary that does not allow it.
    boundary = Source("boundary", "b", doc(allow("dynamodb:*")))
    assert evaluate("sqs:SendMessage", queue, BASE, resource_policy=grant, principal=me, boundary=boundary).allowed


def test_a_resource_policy_naming_a_role_is_limited_by_the_sessions_boundary(lab):
    from labkit.services.iam.evaluate import Source, evaluate

    queue = f"arn:aws:sqs:{REGION}:{ACCOUNT}:orders"
    role = f"arn:aws:iam::{ACCOUNT}:role/checkout"
    session = f"arn:aws:sts::{ACCOUNT}:assumed-role/checkout/s1"
    grant = Source("resource", queue, doc({"Effect": "Allow", "Principal": {"AWS": role}, "Action": "sqs:*"}))
    me = {"AWS": [session, role], "direct": [session]}
    assert evaluate("sqs:SendMessage", queue, BASE, resource_policy=grant, principal=me).allowed
    boundary = Source("boundary", "b", doc(allow("dynamodb:*")))
    decision = evaluate("sqs:SendMessage", queue, BASE, resource_policy=grant, principal=me, boundary=boundary)
    assert decision.decision == "implicitDeny" and "permissions boundary" in decision.reason


# ---------------------------------------------------------------------------
# Real calls signed by a user's keys
# ---------------------------------------------------------------------------


def _tables(aws, *names):
    for name in names:
        aws["dynamodb"].create_table(TableName=name, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                                     BillingMode="PAY_PER_REQUEST")


def _user(aws, name, *policies, boundary=None):
    aws["iam"].create_user(UserName=name)
    for n, text in enumerate(policies):
        aws["iam"].put_user_policy(UserName=name, PolicyName=f"p{n}", PolicyDocument=text)
    if boundary:
        arn = aws["iam"].create_policy(PolicyName=f"{name}-boundary", PolicyDocument=boundary)["Policy"]["Arn"]
        aws["iam"].put_user_permissions_boundary(UserName=name, PermissionsBoundary=arn)
    key = aws["iam"].create_access_key(UserName=name)["AccessKey"]
    return {"aws_access_key_id": key["AccessKeyId"], "aws_secret_access_key": key["SecretAccessKey"]}


def _code(fn):
    try:
        fn()
    except ClientError as error:
        return error.response["Error"]["Code"], error.response["ResponseMetadata"]["HTTPStatusCode"], error.response["Error"]["Message"]
    return "ok", 200, ""


def test_a_user_reads_one_table_and_is_denied_the_rest_with_aws_errors(aws):
    _tables(aws, "orders", "catalogue")
    keys = _user(aws, "ana", doc(allow("dynamodb:GetItem", ORDERS)))
    ddb = boto3.client("dynamodb", region_name=REGION, **keys)
    assert _code(lambda: ddb.get_item(TableName="orders", Key={"pk": {"S": "o-1"}}))[0] == "ok"
    code, status, message = _code(lambda: ddb.get_item(TableName="catalogue", Key={"pk": {"S": "lamp"}}))
    assert (code, status) == ("AccessDeniedException", 400)
    assert message == (f"User: {USER} is not authorized to perform: dynamodb:GetItem on resource: {CATALOGUE} "
                       "because no identity-based policy allows the dynamodb:GetItem action")
    assert _code(lambda: ddb.put_item(TableName="orders", Item={"pk": {"S": "o-2"}}))[0] == "AccessDeniedException"
    code, _, message = _code(lambda: ddb.list_tables())
    assert code == "AccessDeniedException" and "on resource" not in message
    # Each service answers with its own code and status.
    assert _code(lambda: boto3.client("sqs", region_name=REGION, **keys).list_queues())[:2] == ("AccessDeniedException", 400)
    assert _code(lambda: boto3.client("sns", region_name=REGION, **keys).list_topics())[:2] == ("AuthorizationError", 403)
    assert _code(lambda: boto3.client("iam", region_name=REGION, **keys).list_users())[:2] == ("AccessDenied", 403)
    assert _code(lambda: boto3.client("lambda", region_name=REGION, **keys).list_functions())[:2] == ("AccessDeniedException", 403)
    assert _code(lambda: boto3.client("s3", region_name=REGION, **keys).list_buckets())[:2] == ("AccessDenied", 403)
    who = boto3.client("sts", region_name=REGION, **keys).get_caller_identity()  # needs no permission
    assert who["Arn"] == USER


def test_explicit_deny_message_and_default_credentials_unaffected(aws):
    _tables(aws, "orders")
    keys = _user(aws, "ana", doc(allow("dynamodb:*"), deny("dynamodb:DeleteTable")))
    ddb = boto3.client("dynamodb", region_name=REGION, **keys)
    code, _, message = _code(lambda: ddb.delete_table(TableName="orders"))
    assert code == "AccessDeniedException" and message.endswith("with an explicit deny in an identity-based policy")
    assert aws["dynamodb"].describe_table(TableName="orders")["Table"]["TableName"] == "orders"  # the administrator
    aws["dynamodb"].delete_table(TableName="orders")


def test_a_user_boundary_limits_its_policies(aws):
    _tables(aws, "orders")
    keys = _user(aws, "ana", doc(allow("dynamodb:*")), boundary=doc(allow("dynamodb:GetItem")))
    assert aws["iam"].get_user(UserName="ana")["User"]["PermissionsBoundary"]["PermissionsBoundaryArn"].endswith("ana-boundary")
    ddb = boto3.client("dynamodb", region_name=REGION, **keys)
    assert _code(lambda: ddb.get_item(TableName="orders", Key={"pk": {"S": "1"}}))[0] == "ok"
    code, _, message = _code(lambda: ddb.put_item(TableName="orders", Item={"pk": {"S": "1"}}))
    assert code == "AccessDeniedException" and message.endswith("because no permissions boundary allows the dynamodb:PutItem action")
    aws["iam"].delete_user_permissions_boundary(UserName="ana")
    assert _code(lambda: ddb.put_item(TableName="orders", Item={"pk": {"S": "1"}}))[0] == "ok"


def test_conditions_on_source_ip_and_tags_and_leading_keys(lab, aws):
    _tables(aws, "orders")
    keys = _user(aws, "ana", doc(allow("dynamodb:GetItem", ORDERS, Condition={
        "IpAddress": {"aws:SourceIp": "203.0.113.0/24"},
        "ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["${aws:username}"]}})))
    ddb = boto3.client("dynamodb", region_name=REGION, **keys)
    assert _code(lambda: ddb.get_item(TableName="orders", Key={"pk": {"S": "ana"}}))[0] == "ok"
    assert _code(lambda: ddb.get_item(TableName="orders", Key={"pk": {"S": "bo"}}))[0] == "AccessDeniedException"
    lab.iam.set_source_ip("198.51.100.4")
    assert _code(lambda: ddb.get_item(TableName="orders", Key={"pk": {"S": "ana"}}))[0] == "AccessDeniedException"


def test_resource_policy_of_a_queue_grants_a_user_with_no_identity_policy(aws):
    url = aws["sqs"].create_queue(QueueName="orders")["QueueUrl"]
    queue = f"arn:aws:sqs:{REGION}:{ACCOUNT}:orders"
    keys = _user(aws, "ana")
    sqs = boto3.client("sqs", region_name=REGION, **keys)
    assert _code(lambda: sqs.send_message(QueueUrl=url, MessageBody="x"))[0] == "AccessDeniedException"
    aws["sqs"].set_queue_attributes(QueueUrl=url, Attributes={"Policy": doc(
        {"Effect": "Allow", "Principal": {"AWS": USER}, "Action": "sqs:SendMessage", "Resource": queue})})
    assert _code(lambda: sqs.send_message(QueueUrl=url, MessageBody="x"))[0] == "ok"
    assert _code(lambda: sqs.receive_message(QueueUrl=url))[0] == "AccessDeniedException"


def test_a_deleted_or_inactive_key_is_refused_and_unknown_keys_stay_the_administrator(aws):
    keys = _user(aws, "ana", doc(allow("sqs:*")))
    sqs = boto3.client("sqs", region_name=REGION, **keys)
    assert _code(lambda: sqs.list_queues())[0] == "ok"
    aws["iam"].update_access_key(UserName="ana", AccessKeyId=keys["aws_access_key_id"], Status="Inactive")
    assert _code(lambda: sqs.list_queues())[:2] == ("UnrecognizedClientException", 400)
    aws["iam"].delete_access_key(UserName="ana", AccessKeyId=keys["aws_access_key_id"])
    assert _code(lambda: sqs.list_queues())[0] == "UnrecognizedClientException"
    made_up = boto3.client("sqs", region_name=REGION, aws_access_key_id="FAKEKEYFORTESTS00001", aws_secret_access_key="x")
    assert _code(lambda: made_up.list_queues())[0] == "ok"


# ---------------------------------------------------------------------------
# Roles: trust policies, sessions, expiry
# ---------------------------------------------------------------------------


def _role(aws, name, trust, *policies):
    arn = aws["iam"].create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    for n, text in enumerate(policies):
        aws["iam"].put_role_policy(RoleName=name, PolicyName=f"p{n}", PolicyDocument=text)
    return arn


def _trust(principal):
    return {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}]}


def test_assume_role_honours_the_trust_policy(aws):
    _tables(aws, "orders")
    account_role = _role(aws, "support", _trust({"AWS": f"arn:aws:iam::{ACCOUNT}:root"}), doc(allow("dynamodb:DescribeTable")))
    lambda_role = _role(aws, "checkout", _trust({"Service": "lambda.amazonaws.com"}))
    creds = aws["sts"].assume_role(RoleArn=account_role, RoleSessionName="s1")["Credentials"]
    ddb = boto3.client("dynamodb", region_name=REGION, aws_access_key_id=creds["AccessKeyId"],
                       aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds["SessionToken"])
    assert _code(lambda: ddb.describe_table(TableName="orders"))[0] == "ok"
    code, _, message = _code(lambda: ddb.delete_table(TableName="orders"))
    assert code == "AccessDeniedException" and message.startswith(f"User: arn:aws:sts::{ACCOUNT}:assumed-role/support/s1 ")
    code, status, message = _code(lambda: aws["sts"].assume_role(RoleArn=lambda_role, RoleSessionName="s2"))
    assert (code, status) == ("AccessDenied", 403) and "sts:AssumeRole on resource: " + lambda_role in message
    missing = f"arn:aws:iam::{ACCOUNT}:role/nobody"
    assert _code(lambda: aws["sts"].assume_role(RoleArn=missing, RoleSessionName="s3"))[0] == "AccessDenied"


def test_a_user_needs_both_the_trust_policy_and_an_identity_allow_unless_named(aws):
    by_account = _role(aws, "support", _trust({"AWS": ACCOUNT}))
    keys = _user(aws, "ana")
    sts = boto3.client("sts", region_name=REGION, **keys)
    assert _code(lambda: sts.assume_role(RoleArn=by_account, RoleSessionName="s1"))[0] == "AccessDenied"
    aws["iam"].put_user_policy(UserName="ana", PolicyName="assume", PolicyDocument=doc(allow("sts:AssumeRole", by_account)))
    assert _code(lambda: sts.assume_role(RoleArn=by_account, RoleSessionName="s1"))[0] == "ok"
    by_name = _role(aws, "named", _trust({"AWS": USER}))
    assert _code(lambda: sts.assume_role(RoleArn=by_name, RoleSessionName="s2"))[0] == "ok"


def test_session_policy_and_expiry_on_the_sandbox_clock(lab, aws):
    role = _role(aws, "support", _trust({"AWS": ACCOUNT}), doc(allow("sqs:*")))
    creds = aws["sts"].assume_role(RoleArn=role, RoleSessionName="s1", DurationSeconds=900,
                                   Policy=doc(allow("sqs:ListQueues")))["Credentials"]
    sqs = boto3.client("sqs", region_name=REGION, aws_access_key_id=creds["AccessKeyId"],
                       aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds["SessionToken"])
    assert _code(lambda: sqs.list_queues())[0] == "ok"
    code, _, message = _code(lambda: sqs.create_queue(QueueName="x"))
    assert code == "AccessDeniedException" and "no session policy allows" in message
    lab.clock.advance(901)
    assert _code(lambda: sqs.list_queues())[:2] == ("ExpiredTokenException", 400)


def test_service_credentials_follow_the_trust_policy(lab, aws):
    role = _role(aws, "checkout", _trust({"Service": "lambda.amazonaws.com"}), doc(allow("sqs:ListQueues")))
    creds = lab.iam.service_credentials(role, "lambda.amazonaws.com")
    sqs = boto3.client("sqs", region_name=REGION, aws_access_key_id=creds["AccessKeyId"],
                       aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds["SessionToken"])
    assert _code(lambda: sqs.list_queues())[0] == "ok"
    assert lab.iam.caller_arn(creds["AccessKeyId"]) == f"arn:aws:sts::{ACCOUNT}:assumed-role/checkout/lambda"
    with pytest.raises(PermissionError):
        lab.iam.service_credentials(role, "states.amazonaws.com")


# ---------------------------------------------------------------------------
# Managed policies, the simulator, bad input
# ---------------------------------------------------------------------------


def test_aws_managed_policies_attach_on_first_use(lab, aws):
    role = _role(aws, "checkout", _trust({"Service": "lambda.amazonaws.com"}))
    basic = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
    aws["iam"].attach_role_policy(RoleName="checkout", PolicyArn=basic)
    attached = aws["iam"].list_attached_role_policies(RoleName="checkout")["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == [basic]
    assert aws["iam"].get_policy(PolicyArn="arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")["Policy"]["PolicyName"] == (
        "AmazonS3ReadOnlyAccess")
    names = [p["PolicyName"] for page in aws["iam"].get_paginator("list_policies").paginate(Scope="AWS")
             for p in page["Policies"]]
    assert len(names) > 1000 and "ReadOnlyAccess" in names
    creds = lab.iam.service_credentials(role)
    logs = boto3.client("logs", region_name=REGION, aws_access_key_id=creds["AccessKeyId"],
                        aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds["SessionToken"])
    assert _code(lambda: logs.create_log_group(logGroupName="/aws/lambda/checkout"))[0] == "ok"
    assert _code(lambda: logs.delete_log_group(logGroupName="/aws/lambda/checkout"))[0] == "AccessDeniedException"


def test_the_simulator_answers_with_the_same_evaluator(aws):
    _user(aws, "ana", doc(allow("dynamodb:GetItem", ORDERS), deny("dynamodb:DeleteTable")))
    results = aws["iam"].simulate_principal_policy(
        PolicySourceArn=USER, ActionNames=["dynamodb:GetItem", "dynamodb:DeleteTable"],
        ResourceArns=[ORDERS, CATALOGUE])["EvaluationResults"]
    got = {(r["EvalActionName"], r["EvalResourceName"]): r["EvalDecision"] for r in results}
    assert got == {("dynamodb:GetItem", ORDERS): "allowed", ("dynamodb:GetItem", CATALOGUE): "implicitDeny",
                   ("dynamodb:DeleteTable", ORDERS): "explicitDeny", ("dynamodb:DeleteTable", CATALOGUE): "explicitDeny"}
    matched = results[0]["MatchedStatements"][0]
    assert (matched["SourcePolicyId"], matched["SourcePolicyType"]) == ("p0", "user")
    custom = aws["iam"].simulate_custom_policy(
        PolicyInputList=[doc(allow("s3:GetObject", "arn:aws:s3:::shop/*"))], ActionNames=["s3:GetObject"],
        ResourceArns=["arn:aws:s3:::shop/a.png", "arn:aws:s3:::other/a.png"],
        ContextEntries=[{"ContextKeyName": "aws:SourceIp", "ContextKeyValues": ["203.0.113.9"], "ContextKeyType": "ip"}])
    assert [r["EvalDecision"] for r in custom["EvaluationResults"]] == ["allowed", "implicitDeny"]


def test_bad_input_gets_aws_errors_and_nothing_stops(aws):
    iam = aws["iam"]
    assert _code(lambda: iam.create_policy(PolicyName="bad", PolicyDocument="not json"))[0] == "MalformedPolicyDocument"
    misspelt = doc({"Effect": "Alow", "Action": "s3:*", "Resource": "*"})
    assert _code(lambda: iam.create_policy(PolicyName="bad", PolicyDocument=misspelt))[0] == "MalformedPolicyDocument"
    code, status, message = _code(lambda: iam.create_role(
        RoleName="bad", AssumeRolePolicyDocument=doc({"Effect": "Allow", "Action": "sts:AssumeRole"})))
    assert (code, status, message) == ("MalformedPolicyDocument", 400, "Missing required field Principal.")
    code, _, message = _code(lambda: iam.create_role(
        RoleName="bad", AssumeRolePolicyDocument=doc({"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                                                      "Action": "sts:AssumeRole", "Resource": "*"})))
    assert (code, message) == ("MalformedPolicyDocument", "Has prohibited field Resource.")
    assert _code(lambda: iam.simulate_custom_policy(PolicyInputList=["{"], ActionNames=["s3:GetObject"]))[0] == "InvalidInput"
    assert _code(lambda: iam.put_user_permissions_boundary(UserName="ghost", PermissionsBoundary=
                                                           "arn:aws:iam::aws:policy/ReadOnlyAccess"))[:2] == ("NoSuchEntity", 404)
    assert iam.create_user(UserName="still-serving")["User"]["UserName"] == "still-serving"


# ---------------------------------------------------------------------------
# allows_service, seams, lifecycle
# ---------------------------------------------------------------------------


def test_allows_service_reads_the_queue_policy(lab, aws):
    url = aws["sqs"].create_queue(QueueName="orders")["QueueUrl"]
    queue = f"arn:aws:sqs:{REGION}:{ACCOUNT}:orders"
    topic = f"arn:aws:sns:{REGION}:{ACCOUNT}:orders-placed"
    assert not lab.iam.allows_service("sns.amazonaws.com", "sqs:SendMessage", queue, topic)
    aws["sqs"].set_queue_attributes(QueueUrl=url, Attributes={"Policy": doc(
        {"Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"}, "Action": "sqs:SendMessage", "Resource": queue,
         "Condition": {"ArnEquals": {"aws:SourceArn": topic}}})})
    assert lab.iam.allows_service("sns.amazonaws.com", "sqs:SendMessage", queue, topic)
    assert not lab.iam.allows_service("sns.amazonaws.com", "sqs:SendMessage", queue, topic + "-other")
    assert not lab.iam.allows_service("events.amazonaws.com", "sqs:SendMessage", queue, topic)


def test_allows_service_reads_the_function_policy(lab, aws, lambda_role):
    fn = aws["lambda"].create_function(FunctionName="notify", Runtime="python3.12", Role=lambda_role,
                                       Handler="app.handler",
                                       Code={"ZipFile": lab.lambda_.zip_code("def handler(e, c):\n    pass\n")})
    topic = f"arn:aws:sns:{REGION}:{ACCOUNT}:orders-placed"
    assert not lab.iam.allows_service("sns.amazonaws.com", "lambda:InvokeFunction", fn["FunctionArn"], topic)
    aws["lambda"].add_permission(FunctionName="notify", StatementId="sns", Action="lambda:InvokeFunction",
                                 Principal="sns.amazonaws.com", SourceArn=topic)
    assert lab.iam.allows_service("sns.amazonaws.com", "lambda:InvokeFunction", fn["FunctionArn"], topic)
    assert not lab.iam.allows_service("sns.amazonaws.com", "lambda:InvokeFunction", fn["FunctionArn"], topic + "-other")
    assert not lab.iam.allows_service("events.amazonaws.com", "lambda:InvokeFunction", fn["FunctionArn"], topic)


def test_trusts_and_role_allows_answer_as_a_session_of_the_role_would_be_answered(lab, aws):
    machine = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:fulfil"
    start = allow("states:StartExecution", machine)
    role = _role(aws, "events-start", _trust({"Service": "events.amazonaws.com"}), doc(start))
    assert lab.iam.trusts(role, "events.amazonaws.com") and not lab.iam.trusts(role, "lambda.amazonaws.com")
    assert lab.iam.role_allows(role, "states:StartExecution", machine)
    assert not lab.iam.role_allows(role, "states:StartExecution", machine + "-other")
    assert not lab.iam.role_allows(role, "states:StopExecution", machine)
    aws["iam"].put_role_policy(RoleName="events-start", PolicyName="deny", PolicyDocument=doc(deny("states:*")))
    assert not lab.iam.role_allows(role, "states:StartExecution", machine)
    bounded = _role(aws, "bounded", _trust({"Service": "events.amazonaws.com"}), doc(start))
    boundary = aws["iam"].create_policy(PolicyName="only-sqs", PolicyDocument=doc(allow("sqs:*")))["Policy"]["Arn"]
    aws["iam"].put_role_permissions_boundary(RoleName="bounded", PermissionsBoundary=boundary)
    assert not lab.iam.role_allows(bounded, "states:StartExecution", machine)
    missing = f"arn:aws:iam::{ACCOUNT}:role/nobody"
    assert not lab.iam.trusts(missing, "events.amazonaws.com")
    assert not lab.iam.role_allows(missing, "states:StartExecution", machine)


def test_every_seam_is_where_the_service_expects_it(lab, aws):
    from labkit.services import iam

    aws["iam"].create_user(UserName="ana")
    assert seams.check(iam.SEAMS) == []
    assert seams.check(iam.seams.RESOURCE_SEAMS) == []


def test_instance_attributes_named_in_seams_exist_on_real_objects(lab, aws):
    from moto.iam.models import iam_backends
    from moto.sts.models import sts_backends

    from labkit.services import iam

    _tables(aws, "orders")
    keys = _user(aws, "ana")
    role = _role(aws, "r", _trust({"AWS": ACCOUNT}))
    aws["sts"].assume_role(RoleArn=role, RoleSessionName="s1")
    backend = iam_backends[ACCOUNT]["aws"]
    objects = {"IAMBackend": backend, "AccessKey": backend.access_keys[keys["aws_access_key_id"]],
               "Role": next(iter(backend.roles.values())), "AssumedRole": sts_backends[ACCOUNT]["aws"].assumed_roles[0]}
    from moto.dynamodb.models import dynamodb_backends

    objects["Table"] = dynamodb_backends[ACCOUNT][REGION].tables["orders"]
    for seam in (*iam.SEAMS, *iam.seams.RESOURCE_SEAMS):
        cls, _, attribute = seam.qualname.rpartition(".")
        if seam.instance and cls in objects:
            assert hasattr(objects[cls], attribute), seam.path


def test_reset_forgets_keys_boundaries_and_the_source_address(lab, aws):
    keys = _user(aws, "ana", doc(allow("sqs:*")), boundary=doc(allow("sqs:ListQueues")))
    lab.iam.set_source_ip("198.51.100.1")
    lab.reset()
    assert lab.iam.source_ip() == "203.0.113.10"
    from labkit.services.iam import principals

    assert principals.user_boundary("ana") is None
    # The key died with the account: after a reset it is an unknown key again (the administrator's, as in moto).
    assert lab.iam.caller_arn(keys["aws_access_key_id"]) == lab.iam.DEFAULT_PRINCIPAL_ARN
