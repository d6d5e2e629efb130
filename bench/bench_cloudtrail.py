"""What does recording every call in CloudTrail cost? (A benchmark, not a test.)

Prints the median latency of plain boto3 calls against the sandbox, with the
CloudTrail recorder off (the floor) and on, measured in alternating blocks so
both see the same machine:

* ``dynamodb.describe_table``: a read (recorded in Event history);
* ``dynamodb.update_table``: a write whose response is large (a whole table
  description goes into ``responseElements``);
* ``s3.put_object``: a data event, with a logging trail whose selectors take it;

and the ratio of each recorded call to its floor (the goal: at most 1.3x).

Run: ``.venv/bin/python bench/bench_cloudtrail.py [rounds]``
"""

from __future__ import annotations

import json
import statistics
import sys
from collections.abc import Callable

from common import median_ms

import labkit


def compare(call: Callable[[], object], rounds: int, on: Callable[[], None], off: Callable[[], None],
            blocks: int = 6) -> tuple[float, float]:
    """Medians of ``call`` with recording off and on, in alternating blocks."""
    for _ in range(20):  # warm up
        call()
    floors, recorded = [], []
    for _ in range(blocks):
        off()
        floors.append(median_ms(call, rounds // blocks, warmup=0))
        on()
        recorded.append(median_ms(call, rounds // blocks, warmup=0))
    return statistics.median(floors), statistics.median(recorded)


def main(rounds: int = 600) -> None:
    lab = labkit.start(reset=True)
    trail = lab.cloudtrail
    from labkit.services.cloudtrail import recorder

    ddb, s3, ct = lab.client("dynamodb"), lab.client("s3"), lab.client("cloudtrail")
    ddb.create_table(TableName="orders", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST")
    s3.create_bucket(Bucket="audit")
    s3.put_bucket_policy(Bucket="audit", Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "s3:GetBucketAcl",
         "Resource": "arn:aws:s3:::audit"},
        {"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "s3:PutObject",
         "Resource": f"arn:aws:s3:::audit/AWSLogs/{lab.account_id}/*"}]}))
    s3.create_bucket(Bucket="catalogue")
    ct.create_trail(Name="bench", S3BucketName="audit")
    ct.put_event_selectors(TrailName="bench", EventSelectors=[{
        "ReadWriteType": "All", "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3:::catalogue/"]}]}])
    ct.start_logging(Name="bench")

    calls = {
        "dynamodb.describe_table": lambda: ddb.describe_table(TableName="orders"),
        "dynamodb.update_table": lambda: ddb.update_table(TableName="orders", BillingMode="PAY_PER_REQUEST"),
        "s3.put_object (data event)": lambda: s3.put_object(Bucket="catalogue", Key="item.json", Body=b"{}"),
    }
    print(f"rounds per call: {rounds} (alternating blocks, recorder off/on)")
    worst = 0.0
    for name, call in calls.items():
        floor, recorded = compare(call, rounds, recorder.install, recorder.uninstall)
        worst = max(worst, recorded / floor)
        print(f"{name:28s} floor {floor:6.3f} ms   recorded {recorded:6.3f} ms   ratio {recorded / floor:.2f}x")
    print(f"records kept: {len(trail.recorded())} management, {len(trail.recorded(data=True))} data")
    print(f"worst ratio {worst:.2f}x   (goal: at most 1.3x)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 600)
