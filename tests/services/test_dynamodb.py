"""The DynamoDB service (lab.dynamodb): item sizes, TTL sweeps, the streams client and
simulated throttling, driven by the sandbox clock."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid

import pytest
from botocore.exceptions import ClientError

from labkit.core import hooks
from labkit.core.aws import internal_client
from labkit.services import dynamodb as ld
from labkit.services.dynamodb import throttle as throttle_plane


def make_table(ddb, name=None, rcu=4, wcu=5, **extra) -> str:
    name = name or f"t-{uuid.uuid4().hex[:8]}"
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PROVISIONED",
        ProvisionedThroughput={"ReadCapacityUnits": rcu, "WriteCapacityUnits": wcu},
        **extra,
    )
    return name


@pytest.fixture
def ddb(aws):
    return aws["dynamodb"]


@pytest.fixture
def table(ddb):
    """A fresh provisioned table (pk string, 4 RCU, 5 WCU)."""
    return make_table(ddb)


class Replay:
    """Moves the frozen sandbox clock to moments of a replay (seconds from its start)."""

    def __init__(self, clock):
        self.clock, self.moment = clock, 0.0

    def at(self, moment: float) -> None:
        self.clock.advance(moment - self.moment)
        self.moment = moment


@pytest.fixture
def replay(lab):
    """The sandbox clock, frozen for the test: only advances move it."""
    with lab.clock.frozen():
        yield Replay(lab.clock)


def put_at(ddb, table, replay, moments, size=100):
    outcome = []
    for n, moment in enumerate(moments):
        replay.at(moment)
        try:
            ddb.put_item(TableName=table, Item={"pk": {"S": f"k{n}-{moment}"}, "d": {"S": "x" * size}})
            outcome.append(True)
        except ddb.exceptions.ProvisionedThroughputExceededException as error:
            code = error.response["Error"]["Code"]
            outcome.append(False if code == ld.THROTTLE_CODE else code)  # a wrong code fails the comparison
    return outcome


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
    assert ld.units_for_items([{"d": {"S": "x" * 1500}}, {"d": {"S": "x"}}]) == 3


# ---- TTL ----------------------------------------------------------------------

def test_moto_alone_never_deletes_expired_items(ddb, table):
    ddb.update_time_to_live(TableName=table, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires"})
    ddb.put_item(TableName=table, Item={"pk": {"S": "gone"}, "expires": {"N": "1"}})
    assert "Item" in ddb.get_item(TableName=table, Key={"pk": {"S": "gone"}})


def test_sweep_uses_the_tables_real_ttl_attribute(lab, ddb, table):
    ddb.update_time_to_live(TableName=table, TimeToLiveSpecification={"Enabled": True, "AttributeName": "valid_until"})
    now = lab.clock.now()
    ddb.put_item(TableName=table, Item={"pk": {"S": "old"}, "valid_until": {"N": str(int(now) - 5)}})
    ddb.put_item(TableName=table, Item={"pk": {"S": "fresh"}, "valid_until": {"N": str(int(now) + 3600)}})
    ddb.put_item(TableName=table, Item={"pk": {"S": "other-attr"}, "expires": {"N": "1"}})
    ddb.put_item(TableName=table, Item={"pk": {"S": "not-a-number"}, "valid_until": {"S": "1"}})
    assert ld.sweep_expired(table) == [{"pk": {"S": "old"}}]
    left = sorted(i["pk"]["S"] for i in ddb.scan(TableName=table)["Items"])
    assert left == ["fresh", "not-a-number", "other-attr"]
    # a later "now" expires the fresh item too
    assert ld.sweep_expired(table, now=now + 7200) == [{"pk": {"S": "fresh"}}]


def test_sweep_follows_the_sandbox_clock(lab, ddb, table):
    ddb.update_time_to_live(TableName=table, TimeToLiveSpecification={"Enabled": True, "AttributeName": "ttl"})
    in_an_hour = int(lab.clock.now()) + 3600
    ddb.put_item(TableName=table, Item={"pk": {"S": "session"}, "ttl": {"N": str(in_an_hour)}})
    assert ld.sweep_expired(table) == []
    lab.clock.advance(3601)  # an hour later, without waiting an hour
    assert ld.sweep_expired(table) == [{"pk": {"S": "session"}}]


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

def test_streams_client_reads_records_the_plain_client_cannot(lab, ddb):
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
        lab.client("dynamodbstreams").describe_stream(StreamArn=arn)
    streams = ld.streams_client()
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard,
                                          ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    records = streams.get_records(ShardIterator=iterator)["Records"]
    assert [r["eventName"] for r in records] == ["INSERT", "REMOVE"]
    assert records[1]["dynamodb"]["OldImage"] == {"pk": {"S": "a"}, "v": {"N": "1"}}


# ---- throttling ---------------------------------------------------------------

def test_moto_alone_never_throttles(ddb, table, replay):
    assert all(put_at(ddb, table, replay, [0.0] * 30))


def test_writes_beyond_wcu_are_refused_and_capacity_refills(ddb, table, replay):
    throttle = ld.simulate_throttling(table)
    # 5 WCU: ten 1-KB writes in the same instant -> 5 pass, 5 throttled
    assert put_at(ddb, table, replay, [0.0] * 10) == [True] * 5 + [False] * 5
    assert throttle.throttled["write"] == 5
    # one second later the bucket is full again
    assert put_at(ddb, table, replay, [1.0] * 6) == [True] * 5 + [False]
    assert ddb.scan(TableName=table)["Count"] == 10  # refused writes never reached the table


def test_throttling_follows_the_real_passing_of_sandbox_time(lab, ddb, table):
    """Without a frozen clock the buckets refill with real time, as on AWS."""
    ld.simulate_throttling(table, burst_seconds=1)
    with lab.clock.frozen():
        assert put_at(ddb, table, Replay(lab.clock), [0.0] * 6) == [True] * 5 + [False]
    time.sleep(0.25)  # a quarter of a second refills 1.25 units of 5 WCU
    ddb.put_item(TableName=table, Item={"pk": {"S": "after-a-pause"}})


def test_item_size_drives_the_cost(ddb, table, replay):
    throttle = ld.simulate_throttling(table)
    # 2.5 KB items cost 3 WCU each: only one fits in 5 WCU per second
    assert put_at(ddb, table, replay, [0.0, 0.0], size=2500) == [True, False]
    assert throttle.consumed["write"] == 3


def test_update_table_takes_effect_at_once(ddb, table, replay):
    ld.simulate_throttling(table)
    ddb.update_table(TableName=table, ProvisionedThroughput={"ReadCapacityUnits": 4, "WriteCapacityUnits": 50})
    assert all(put_at(ddb, table, replay, [n / 40 for n in range(40)]))


def test_on_demand_tables_are_not_throttled(ddb, table, replay):
    throttle = ld.simulate_throttling(table)
    ddb.update_table(TableName=table, BillingMode="PAY_PER_REQUEST")
    assert all(put_at(ddb, table, replay, [0.0] * 40))
    assert throttle.throttled["write"] == 0 and throttle.consumed["write"] == 40


def test_burst_capacity_saves_unused_seconds(ddb, table, replay):
    ld.simulate_throttling(table, burst_seconds=10)
    put_at(ddb, table, replay, [0.0])
    # idle for 30 s: 30 s of 5 WCU, but at most 10 s (50 units) kept
    assert put_at(ddb, table, replay, [30.0] * 52) == [True] * 50 + [False] * 2


def test_reads_cost_half_when_eventually_consistent(ddb, table, replay):
    ddb.put_item(TableName=table, Item={"pk": {"S": "a"}, "d": {"S": "x" * 5000}})  # 2 read units strongly
    throttle = ld.simulate_throttling(table)  # 4 RCU
    ok = 0
    for consistent in (True, True, False):
        try:
            ddb.get_item(TableName=table, Key={"pk": {"S": "a"}}, ConsistentRead=consistent)
            ok += 1
        except ddb.exceptions.ProvisionedThroughputExceededException:
            pass
    assert ok == 2 and throttle.consumed["read"] == 4.0
    replay.at(1.0)
    ddb.get_item(TableName=table, Key={"pk": {"S": "a"}})  # eventually consistent: 1 unit
    assert throttle.consumed["read"] == 5.0


def test_a_scan_is_charged_for_what_it_read(ddb, table, replay):
    for n in range(8):
        ddb.put_item(TableName=table, Item={"pk": {"S": f"k{n}"}, "d": {"S": "x" * 4000}})
    throttle = ld.simulate_throttling(table)
    ddb.scan(TableName=table, ConsistentRead=True)  # ~32 KB -> 8 RCU, more than the 4 RCU bucket
    assert throttle.consumed["read"] == pytest.approx(8, abs=0.5)
    with pytest.raises(ClientError) as refused:  # the bucket is in debt now
        ddb.get_item(TableName=table, Key={"pk": {"S": "k0"}})
    assert refused.value.response["Error"]["Code"] == ld.THROTTLE_CODE
    replay.at(2.0)  # 8 units repaid at 4 per second
    ddb.get_item(TableName=table, Key={"pk": {"S": "k0"}})


def test_an_update_that_grows_the_item_is_charged_for_its_new_size(ddb, table, replay):
    ddb.put_item(TableName=table, Item={"pk": {"S": "a"}})
    throttle = ld.simulate_throttling(table)
    ddb.update_item(TableName=table, Key={"pk": {"S": "a"}}, UpdateExpression="SET d = :d",
                    ExpressionAttributeValues={":d": {"S": "x" * 3000}})
    assert throttle.consumed["write"] == 3  # 1 paid before, 2 more once the item was 3 KB


def test_other_tables_and_stopped_tables_are_untouched(ddb, table, replay):
    other = make_table(ddb, wcu=1)
    ld.simulate_throttling(table)
    put_at(ddb, table, replay, [0.0] * 5)
    assert all(put_at(ddb, other, replay, [0.0] * 10))  # not opted in
    ld.stop_throttling(table)
    assert all(put_at(ddb, table, replay, [0.0] * 10))
    assert ld.throttling(table) is None


def test_labkits_own_calls_are_never_throttled(ddb, table, replay):
    """A TTL sweep, or any call labkit makes, is internal: the throttle leaves it alone."""
    ddb.update_time_to_live(TableName=table, TimeToLiveSpecification={"Enabled": True, "AttributeName": "ttl"})
    ld.simulate_throttling(table)
    put_at(ddb, table, replay, [0.0] * 5)  # the write bucket is empty now
    with pytest.raises(ClientError):
        ddb.put_item(TableName=table, Item={"pk": {"S": "learner"}, "ttl": {"N": "1"}})
    internal_client("dynamodb").put_item(TableName=table, Item={"pk": {"S": "own"}, "ttl": {"N": "1"}})
    with hooks.internal():
        ddb.put_item(TableName=table, Item={"pk": {"S": "inside"}, "ttl": {"N": "1"}})
    assert sorted(k["pk"]["S"] for k in ld.sweep_expired(table)) == ["inside", "own"]
    assert ld.throttling(table).throttled["write"] == 1


def test_a_deleted_table_gets_its_own_error_not_a_crash(ddb):
    name = make_table(ddb, rcu=1, wcu=1)
    ld.simulate_throttling(name)
    ddb.delete_table(TableName=name)
    with pytest.raises(ClientError) as missing:
        ddb.put_item(TableName=name, Item={"pk": {"S": "a"}})
    assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"


# ---- lifecycle ----------------------------------------------------------------

def test_reset_clears_every_throttle(lab, ddb, replay):
    name = make_table(ddb, wcu=1)
    ld.simulate_throttling(name)
    assert put_at(ddb, name, replay, [0.0, 0.0]) == [True, False]
    lab.reset()
    assert ld.throttling(name) is None
    ddb = lab.client("dynamodb")
    make_table(ddb, name=name, wcu=1)  # the same table again, after the reset
    with lab.clock.frozen():
        assert all(put_at(ddb, name, Replay(lab.clock), [0.0] * 5))


# ---------------------------------------------------------------- PartiQL, as AWS's PartiQL examples run it

MOVIE = "24 Hour PartiQL People"


@pytest.fixture
def movies(lab):
    """AWS's example table (year, title) through the boto3 *resource*, whose client takes plain Python values."""
    import boto3

    resource = boto3.resource("dynamodb", region_name="us-east-1")
    resource.create_table(
        TableName="movies", BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "year", "KeyType": "HASH"}, {"AttributeName": "title", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "year", "AttributeType": "N"},
                              {"AttributeName": "title", "AttributeType": "S"}])
    return resource.meta.client


def test_the_partiql_example_inserts_selects_updates_and_deletes(movies):
    from decimal import Decimal

    movies.execute_statement(Statement="INSERT INTO \"movies\" VALUE {'title': ?, 'year': ?, 'info': ?}",
                             Parameters=[MOVIE, 2026, {"plot": "Developers find a query language.", "rating": Decimal("9.9")}])
    found = movies.execute_statement(Statement='SELECT * FROM "movies" WHERE title=? AND year=?', Parameters=[MOVIE, 2026])
    assert found["Items"] == [{"title": MOVIE, "year": 2026, "info": {"plot": "Developers find a query language.",
                                                                     "rating": Decimal("9.9")}}]
    movies.execute_statement(Statement='UPDATE "movies" SET info.rating=? WHERE title=? AND year=?',
                             Parameters=[Decimal("2.4"), MOVIE, 2026])
    found = movies.execute_statement(Statement='SELECT * FROM "movies" WHERE title=? AND year=?', Parameters=[MOVIE, 2026])
    assert found["Items"][0]["info"]["rating"] == Decimal("2.4")
    movies.execute_statement(Statement='DELETE FROM "movies" WHERE title=? AND year=?', Parameters=[MOVIE, 2026])
    assert movies.scan(TableName="movies")["Items"] == []


def test_the_batch_example_and_per_statement_errors(movies):
    insert = "INSERT INTO \"movies\" VALUE {'title': ?, 'year': ?, 'info': ?}"
    out = movies.batch_execute_statement(Statements=[
        {"Statement": insert, "Parameters": [t, y, {"plot": "p"}]} for t, y in [("A", 2001), ("B", 2002)]])
    assert [r.get("Error") for r in out["Responses"]] == [None, None]
    out = movies.batch_execute_statement(Statements=[
        {"Statement": insert, "Parameters": ["A", 2001, {"plot": "again"}]},
        {"Statement": 'SELECT * FROM "movies" WHERE title=? AND year=?', "Parameters": ["B", 2002]}])
    assert out["Responses"][0]["Error"]["Code"] == "DuplicateItem"
    assert out["Responses"][1]["Item"]["title"] == "B"


def test_partiql_refusals_are_aws_errors(movies):
    def code(statement, parameters=None):
        with pytest.raises(ClientError) as error:
            movies.execute_statement(Statement=statement, **({"Parameters": parameters} if parameters else {}))
        return error.value.response["Error"]["Code"]

    movies.execute_statement(Statement="INSERT INTO \"movies\" VALUE {'title': 'It''s', 'year': 1999, 'tags': <<'a','b'>>}")
    assert code("INSERT INTO \"movies\" VALUE {'title': 'It''s', 'year': 1999}") == "DuplicateItemException"
    assert code('UPDATE "movies" SET rating=1 WHERE title=? AND year=?', ["Missing", 1999]) == \
        "ConditionalCheckFailedException"  # UPDATE changes an existing item, never creates one
    assert code('UPDATE "movies" SET rating=1 WHERE year=1999') == "ValidationException"  # not the full key
    assert code('SELECT * FROM "movies" WHERE year=?', [1999, 2000]) == "ValidationException"  # parameters count
    assert code('SELECT * FROM "nope"') == "ResourceNotFoundException"
    assert code("SELEC * FROM movies") == "ValidationException"


def test_partiql_conditions_sets_and_returning(movies):
    for year, title in [(2000, "b"), (2000, "a"), (2001, "c")]:
        movies.execute_statement(Statement="INSERT INTO movies VALUE {'year': ?, 'title': ?, 'n': 1, 'tags': <<'x'>>}",
                                 Parameters=[year, title])
    titles = [i["title"] for i in movies.execute_statement(Statement="SELECT title FROM movies WHERE year = 2000")["Items"]]
    assert titles == ["a", "b"]  # a key condition reads in sort-key order
    rows = movies.execute_statement(Statement="SELECT * FROM movies WHERE year BETWEEN 2000 AND 2001 AND "
                                              "begins_with(title, 'c') AND tags IS NOT MISSING")["Items"]
    assert [r["title"] for r in rows] == ["c"]
    new = movies.execute_statement(
        Statement="UPDATE movies SET n = n + 2 SET tags = set_add(tags, <<'y'>>) WHERE year=2000 AND title='a' "
                  "RETURNING ALL NEW *")["Items"][0]
    assert new["n"] == 3 and new["tags"] == {"x", "y"}
    page = movies.execute_statement(Statement="SELECT * FROM movies", Limit=2)
    rest = movies.execute_statement(Statement="SELECT * FROM movies", NextToken=page["NextToken"])
    assert len(page["Items"]) == 2 and len(rest["Items"]) == 1 and "NextToken" not in rest


def test_partiql_transaction_writes_all_or_nothing(movies):
    statement = "INSERT INTO movies VALUE {'year': ?, 'title': ?}"
    movies.execute_transaction(TransactStatements=[{"Statement": statement, "Parameters": [1, "x"]},
                                                   {"Statement": statement, "Parameters": [2, "y"]}])
    with pytest.raises(ClientError) as error:
        movies.execute_transaction(TransactStatements=[{"Statement": statement, "Parameters": [3, "z"]},
                                                       {"Statement": statement, "Parameters": [1, "x"]}])
    assert error.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert sorted(i["year"] for i in movies.scan(TableName="movies")["Items"]) == [1, 2]


def test_partiql_beyond_the_emulated_subset_names_the_gap(movies):
    with pytest.raises(ld.PartiQLNotEmulated, match="WHERE clause"):
        movies.execute_statement(Statement="SELECT * FROM movies WHERE size(title) > 3")


def test_importing_the_service_installs_nothing():
    code = ("import labkit.services.dynamodb, labkit.core.hooks as h; "
            "print(sorted({k[1] for k, v in h._SUBSCRIBERS.items() if v}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "dynamodb" not in out


def test_install_subscribes_once(lab):
    lab.dynamodb.install()
    lab.dynamodb.install()
    subscribers = [fn for fn, _ in hooks._SUBSCRIBERS.get(("before", "dynamodb", "PutItem"), [])]
    assert subscribers.count(throttle_plane.before_call) == 1
