"""labkit.dynamodb (TTL sweep, streams client, simulated throttling) and the DynamoDB
behaviours the chapter teaches, as the local emulation shows them."""

from __future__ import annotations

import time
import uuid

import boto3
import pytest
from botocore.exceptions import ClientError

import labkit
import labkit.dynamodb as ld

REGION = "us-east-1"


@pytest.fixture
def ddb():
    labkit.start()
    return boto3.client("dynamodb", region_name=REGION)


@pytest.fixture
def table(ddb):
    """A fresh provisioned table (pk string), deleted afterwards."""
    name = f"t-{uuid.uuid4().hex[:8]}"
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PROVISIONED",
        ProvisionedThroughput={"ReadCapacityUnits": 4, "WriteCapacityUnits": 5},
    )
    yield name
    ld.stop_throttling(name)
    ddb.delete_table(TableName=name)


# ---- sizes and units --------------------------------------------------------

@pytest.mark.parametrize(
    "item, size",
    [
        ({"pk": {"S": "abc"}}, 5),
        ({"é": {"S": "ü"}}, 4),  # UTF-8 bytes, names included
        ({"n": {"N": "123.45"}}, 1 + 4),  # 5 significant digits -> 3 bytes + 1
        ({"n": {"N": "1000"}}, 1 + 2),  # trailing zeroes trimmed
        ({"b": {"B": b"\x00\x01\x02"}}, 4),  # raw bytes
        ({"ok": {"BOOL": True}, "x": {"NULL": True}}, 3 + 2),
        ({"l": {"L": [{"S": "a"}, {"BOOL": True}]}}, 1 + 3 + 2 + 2),
        ({"m": {"M": {"k": {"S": "v"}}}}, 1 + 3 + 1 + 1 + 1),
        ({}, 0),
    ],
)
def test_item_size_follows_the_sizing_rules(item, size):
    assert ld.item_size(item) == size


def test_capacity_units_round_up_per_started_kb():
    assert [ld.write_units(s) for s in (1, 1024, 1025, 2500)] == [1, 1, 2, 3]
    assert ld.read_units(4096, consistent=True) == 1
    assert ld.read_units(4097, consistent=True) == 2
    assert ld.read_units(4097) == 1  # eventually consistent: half
    assert ld.read_units(10, consistent=False) == 0.5


# ---- TTL ----------------------------------------------------------------------

def test_moto_alone_never_deletes_expired_items(ddb, table):
    ddb.update_time_to_live(TableName=table, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires"})
    ddb.put_item(TableName=table, Item={"pk": {"S": "gone"}, "expires": {"N": "1"}})
    assert "Item" in ddb.get_item(TableName=table, Key={"pk": {"S": "gone"}})


def test_sweep_uses_the_tables_real_ttl_attribute(ddb, table):
    ddb.update_time_to_live(TableName=table, TimeToLiveSpecification={"Enabled": True, "AttributeName": "valid_until"})
    now = time.time()
    ddb.put_item(TableName=table, Item={"pk": {"S": "old"}, "valid_until": {"N": str(int(now) - 5)}})
    ddb.put_item(TableName=table, Item={"pk": {"S": "fresh"}, "valid_until": {"N": str(int(now) + 3600)}})
    ddb.put_item(TableName=table, Item={"pk": {"S": "other-attr"}, "expires": {"N": "1"}})
    ddb.put_item(TableName=table, Item={"pk": {"S": "not-a-number"}, "valid_until": {"S": "1"}})
    assert ld.sweep_expired(table) == [{"pk": {"S": "old"}}]
    left = sorted(i["pk"]["S"] for i in ddb.scan(TableName=table)["Items"])
    assert left == ["fresh", "not-a-number", "other-attr"]
    # a later "now" expires the fresh item too
    assert ld.sweep_expired(table, now=now + 7200) == [{"pk": {"S": "fresh"}}]


def test_sweep_does_nothing_when_ttl_is_off(ddb, table):
    ddb.put_item(TableName=table, Item={"pk": {"S": "a"}, "ttl": {"N": "1"}})
    assert ld.sweep_expired(table) == []
    assert ddb.scan(TableName=table)["Count"] == 1


def test_sweep_pages_through_a_large_table(ddb, table):
    ddb.update_time_to_live(TableName=table, TimeToLiveSpecification={"Enabled": True, "AttributeName": "ttl"})
    big = "x" * 20_000  # 60 items of ~20 KB exceed one 1 MB scan page
    for n in range(60):
        ddb.put_item(TableName=table, Item={"pk": {"S": f"k{n}"}, "ttl": {"N": "10"}, "blob": {"S": big}})
    assert "LastEvaluatedKey" in ddb.scan(TableName=table)
    assert len(ld.sweep_expired(table)) == 60
    assert ddb.scan(TableName=table)["Count"] == 0


# ---- streams ------------------------------------------------------------------

def test_streams_client_reads_records_the_plain_client_cannot(ddb):
    name = f"s-{uuid.uuid4().hex[:8]}"
    arn = ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )["TableDescription"]["LatestStreamArn"]
    ddb.put_item(TableName=name, Item={"pk": {"S": "a"}, "v": {"N": "1"}})
    ddb.delete_item(TableName=name, Key={"pk": {"S": "a"}})
    with pytest.raises(ClientError):  # the gap this helper exists for
        boto3.client("dynamodbstreams", region_name=REGION).describe_stream(StreamArn=arn)
    streams = ld.streams_client()
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    records = streams.get_records(ShardIterator=iterator)["Records"]
    assert [r["eventName"] for r in records] == ["INSERT", "REMOVE"]
    assert records[1]["dynamodb"]["OldImage"] == {"pk": {"S": "a"}, "v": {"N": "1"}}
    ddb.delete_table(TableName=name)


# ---- throttling ---------------------------------------------------------------

def _put_at(ddb, table, clock, moments, size=100):
    outcome = []
    for n, moment in enumerate(moments):
        clock.set(moment)
        try:
            ddb.put_item(TableName=table, Item={"pk": {"S": f"k{n}"}, "d": {"S": "x" * size}})
            outcome.append(True)
        except ddb.exceptions.ProvisionedThroughputExceededException as error:
            assert error.response["Error"]["Code"] == ld.THROTTLE_CODE
            outcome.append(False)
    return outcome


def test_moto_alone_never_throttles(ddb, table):
    for n in range(30):
        ddb.put_item(TableName=table, Item={"pk": {"S": f"k{n}"}})


def test_writes_beyond_wcu_are_refused_and_capacity_refills(ddb, table):
    clock = ld.ManualClock()
    throttle = ld.simulate_throttling(table, clock=clock)
    # 5 WCU: ten 1-KB writes in the same instant -> 5 pass, 5 throttled
    assert _put_at(ddb, table, clock, [0.0] * 10) == [True] * 5 + [False] * 5
    assert throttle.throttled["write"] == 5
    # one second later the bucket is full again
    assert _put_at(ddb, table, clock, [1.0] * 6) == [True] * 5 + [False]
    assert ddb.scan(TableName=table)["Count"] <= 10  # refused writes never reached the table


def test_item_size_drives_the_cost(ddb, table):
    clock = ld.ManualClock()
    throttle = ld.simulate_throttling(table, clock=clock)
    # 2.5 KB items cost 3 WCU each: only one fits in 5 WCU per second
    assert _put_at(ddb, table, clock, [0.0, 0.0], size=2500) == [True, False]
    assert throttle.consumed["write"] == 3


def test_update_table_takes_effect_at_once(ddb, table):
    clock = ld.ManualClock()
    ld.simulate_throttling(table, clock=clock)
    ddb.update_table(TableName=table, ProvisionedThroughput={"ReadCapacityUnits": 4, "WriteCapacityUnits": 50})
    assert all(_put_at(ddb, table, clock, [n / 40 for n in range(40)]))


def test_on_demand_tables_are_not_throttled(ddb, table):
    clock = ld.ManualClock()
    throttle = ld.simulate_throttling(table, clock=clock)
    ddb.update_table(TableName=table, BillingMode="PAY_PER_REQUEST")
    assert all(_put_at(ddb, table, clock, [0.0] * 40))
    assert throttle.throttled["write"] == 0 and throttle.consumed["write"] == 40


def test_burst_capacity_saves_unused_seconds(ddb, table):
    clock = ld.ManualClock()
    ld.simulate_throttling(table, clock=clock, burst_seconds=10)
    _put_at(ddb, table, clock, [0.0])
    clock.advance(30)  # idle: 30 s of 5 WCU, but at most 10 s (50 units) kept
    assert _put_at(ddb, table, clock, [30.0] * 52) == [True] * 50 + [False] * 2


def test_reads_cost_half_when_eventually_consistent(ddb, table):
    ddb.put_item(TableName=table, Item={"pk": {"S": "a"}, "d": {"S": "x" * 5000}})  # 2 read units strongly
    clock = ld.ManualClock()
    throttle = ld.simulate_throttling(table, clock=clock)  # 4 RCU
    ok = 0
    for consistent in (True, True, False):
        try:
            ddb.get_item(TableName=table, Key={"pk": {"S": "a"}}, ConsistentRead=consistent)
            ok += 1
        except ddb.exceptions.ProvisionedThroughputExceededException:
            pass
    assert ok == 2 and throttle.consumed["read"] == 4.0
    clock.advance(1)
    ddb.get_item(TableName=table, Key={"pk": {"S": "a"}})  # eventually consistent: 1 unit
    assert throttle.consumed["read"] == 5.0


def test_a_scan_is_charged_for_what_it_read(ddb, table):
    for n in range(8):
        ddb.put_item(TableName=table, Item={"pk": {"S": f"k{n}"}, "d": {"S": "x" * 4000}})
    clock = ld.ManualClock()
    throttle = ld.simulate_throttling(table, clock=clock)
    ddb.scan(TableName=table, ConsistentRead=True)  # ~32 KB -> 8 RCU, more than the 4 RCU bucket
    assert throttle.consumed["read"] == pytest.approx(8, abs=0.5)
    with pytest.raises(ClientError) as refused:  # the bucket is in debt now
        ddb.get_item(TableName=table, Key={"pk": {"S": "k0"}})
    assert refused.value.response["Error"]["Code"] == ld.THROTTLE_CODE
    clock.advance(2)  # 8 units repaid at 4 per second
    ddb.get_item(TableName=table, Key={"pk": {"S": "k0"}})


def test_other_tables_and_stopped_tables_are_untouched(ddb, table):
    clock = ld.ManualClock()
    ld.simulate_throttling(table, clock=clock)
    _put_at(ddb, table, clock, [0.0] * 5)
    ld.stop_throttling(table)
    assert all(_put_at(ddb, table, clock, [0.0] * 10))
    assert ld.throttling(table) is None


def test_a_deleted_table_gets_its_own_error_not_a_crash(ddb):
    name = f"d-{uuid.uuid4().hex[:8]}"
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        ProvisionedThroughput={"ReadCapacityUnits": 1, "WriteCapacityUnits": 1},
    )
    ld.simulate_throttling(name)
    ddb.delete_table(TableName=name)
    with pytest.raises(ClientError) as missing:
        ddb.put_item(TableName=name, Item={"pk": {"S": "a"}})
    assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"
    ld.stop_throttling(name)


# ---- behaviours the chapter relies on ----------------------------------------------

def test_conditional_write_refuses_a_stale_version(ddb, table):
    ddb.put_item(TableName=table, Item={"pk": {"S": "acct"}, "version": {"N": "1"}})
    ddb.update_item(
        TableName=table, Key={"pk": {"S": "acct"}}, UpdateExpression="SET version = :new",
        ConditionExpression="version = :seen", ExpressionAttributeValues={":new": {"N": "2"}, ":seen": {"N": "1"}},
    )
    with pytest.raises(ClientError) as stale:
        ddb.update_item(
            TableName=table, Key={"pk": {"S": "acct"}}, UpdateExpression="SET version = :new",
            ConditionExpression="version = :seen", ExpressionAttributeValues={":new": {"N": "2"}, ":seen": {"N": "1"}},
        )
    assert stale.value.response["Error"]["Code"] == "ConditionalCheckFailedException"


def test_transaction_cancellation_reasons_name_the_failed_item(ddb, table):
    ddb.put_item(TableName=table, Item={"pk": {"S": "from"}, "balance": {"N": "5"}})
    ddb.put_item(TableName=table, Item={"pk": {"S": "to"}, "balance": {"N": "0"}})
    with pytest.raises(ClientError) as cancelled:
        ddb.transact_write_items(TransactItems=[
            {"Update": {"TableName": table, "Key": {"pk": {"S": "to"}}, "UpdateExpression": "ADD balance :a",
                        "ExpressionAttributeValues": {":a": {"N": "10"}}}},
            {"Update": {"TableName": table, "Key": {"pk": {"S": "from"}}, "UpdateExpression": "ADD balance :m",
                        "ConditionExpression": "balance >= :a",
                        "ExpressionAttributeValues": {":m": {"N": "-10"}, ":a": {"N": "10"}}}},
        ])
    assert cancelled.value.response["Error"]["Code"] == "TransactionCanceledException"
    codes = [r["Code"] for r in cancelled.value.response["CancellationReasons"]]
    assert codes == ["None", "ConditionalCheckFailed"]
    assert ddb.get_item(TableName=table, Key={"pk": {"S": "to"}})["Item"]["balance"] == {"N": "0"}
