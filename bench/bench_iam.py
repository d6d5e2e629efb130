"""What does IAM enforcement add to a boto3 call? (A benchmark, not a test.)

Prints the median latency of the same calls made two ways against the sandbox,
alternated call by call so that both see the same machine:

* with the sandbox's default credentials (the administrator: never evaluated),
  the floor every boto3 call pays;
* with an IAM user's own access key, so that each call is evaluated before moto
  answers it: the user's identity-based policies (an inline policy, a managed
  policy, a group's policy), a permissions boundary, and the resource's own
  policy where it has one;

for ``dynamodb.get_item`` (no resource policy) and ``sqs.get_queue_attributes``
(a queue with a queue policy), and the ratio of each pair (the goal is 1.3x or
less). Neither call changes state, so both sides see the same account.

Run: ``.venv/bin/python bench/bench_iam.py [rounds]``
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Callable

import boto3

import labkit

REGION = "us-east-1"


def paired_medians(floor: Callable[[], object], checked: Callable[[], object], rounds: int) -> tuple[float, float]:
    """Median milliseconds of two calls, alternated round by round so both see the same machine."""
    for _ in range(20):  # warm up
        floor()
        checked()
    samples: tuple[list[float], list[float]] = ([], [])
    for _ in range(rounds):
        for call, out in ((floor, samples[0]), (checked, samples[1])):
            started = time.perf_counter()
            call()
            out.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples[0]), statistics.median(samples[1])


def _doc(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def main(rounds: int = 500) -> None:
    lab = labkit.start(reset=True)
    account = lab.account_id
    iam, dynamodb, sqs = lab.client("iam"), lab.client("dynamodb"), lab.client("sqs")
    dynamodb.create_table(TableName="orders", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                          AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                          BillingMode="PAY_PER_REQUEST")
    dynamodb.put_item(TableName="orders", Item={"pk": {"S": "o-1"}})
    url = sqs.create_queue(QueueName="orders")["QueueUrl"]
    queue_arn = f"arn:aws:sqs:{REGION}:{account}:orders"
    table_arn = f"arn:aws:dynamodb:{REGION}:{account}:table/orders"

    # A user as a shop would set one up: inline, managed and group policies, a boundary, a condition.
    iam.create_user(UserName="bench")
    iam.put_user_policy(UserName="bench", PolicyName="orders", PolicyDocument=_doc(
        {"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:Query"], "Resource": table_arn,
         "Condition": {"StringEquals": {"aws:RequestedRegion": REGION}}},
        {"Effect": "Deny", "Action": "dynamodb:DeleteTable", "Resource": "*"}))
    iam.attach_user_policy(UserName="bench", PolicyArn="arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")
    iam.create_group(GroupName="bench-team")
    iam.put_group_policy(GroupName="bench-team", PolicyName="queues", PolicyDocument=_doc(
        {"Effect": "Allow", "Action": "sqs:GetQueueAttributes", "Resource": queue_arn}))
    iam.add_user_to_group(GroupName="bench-team", UserName="bench")
    boundary = iam.create_policy(PolicyName="bench-boundary", PolicyDocument=_doc(
        {"Effect": "Allow", "Action": ["dynamodb:*", "sqs:*", "s3:Get*", "s3:List*"], "Resource": "*"}))["Policy"]["Arn"]
    iam.put_user_permissions_boundary(UserName="bench", PermissionsBoundary=boundary)
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": _doc(
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:user/bench"}, "Action": "sqs:SendMessage",
         "Resource": queue_arn})})
    key = iam.create_access_key(UserName="bench")["AccessKey"]
    keys = {"aws_access_key_id": key["AccessKeyId"], "aws_secret_access_key": key["SecretAccessKey"]}
    user_dynamodb = boto3.client("dynamodb", region_name=REGION, **keys)
    user_sqs = boto3.client("sqs", region_name=REGION, **keys)

    item = {"TableName": "orders", "Key": {"pk": {"S": "o-1"}}}
    floor_get, user_get = paired_medians(lambda: dynamodb.get_item(**item), lambda: user_dynamodb.get_item(**item), rounds)
    attributes = {"QueueUrl": url, "AttributeNames": ["QueueArn"]}
    floor_send, user_send = paired_medians(lambda: sqs.get_queue_attributes(**attributes),
                                           lambda: user_sqs.get_queue_attributes(**attributes), rounds)
    print(f"rounds per call: {rounds}")
    print(f"dynamodb.get_item   default credentials  median {floor_get:6.3f} ms")
    print(f"dynamodb.get_item   a user's key         median {user_get:6.3f} ms")
    print(f"sqs.get_queue_attributes  default        median {floor_send:6.3f} ms")
    print(f"sqs.get_queue_attributes  a user's key   median {user_send:6.3f} ms  (the queue has a policy)")
    print(f"ratio get_item  user / default           {user_get / floor_get:.2f}x   (goal: 1.3x or less)")
    print(f"ratio get_queue_attributes user / default {user_send / floor_send:.2f}x   (goal: 1.3x or less)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 500)
