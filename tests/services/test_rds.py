"""The RDS service (lab.rds): SQL behind the emulated RDS and Aurora endpoints, replicas
and restores on the sandbox clock, and its lifecycle."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from datetime import datetime, timezone

import pytest
from botocore.exceptions import ClientError

from labkit.core import hooks
from labkit.services import rds as lrds
from labkit.services.rds import storage

USER, PASSWORD = "app", "s3cret-pass"


@pytest.fixture()
def rds(aws):
    return aws["rds"]


def make_instance(rds, name, **extra):
    extra.setdefault("BackupRetentionPeriod", 1)
    return rds.create_db_instance(
        DBInstanceIdentifier=name, Engine="postgres", DBInstanceClass="db.t3.micro",
        MasterUsername=USER, MasterUserPassword=PASSWORD, AllocatedStorage=20, DBName="shop", **extra,
    )["DBInstance"]


def make_cluster(rds, name, members=2):
    rds.create_db_cluster(DBClusterIdentifier=name, Engine="aurora-postgresql",
                          MasterUsername=USER, MasterUserPassword=PASSWORD, DatabaseName="shop")
    for n in range(1, members + 1):
        rds.create_db_instance(DBInstanceIdentifier=f"{name}-{n}", DBClusterIdentifier=name,
                               Engine="aurora-postgresql", DBInstanceClass="db.r6g.large")
    return rds.describe_db_clusters(DBClusterIdentifier=name)["DBClusters"][0]


def open_(host, **kw):
    return lrds.connect(host, user=USER, password=PASSWORD, **kw)


def items(conn):
    return [r[0] for r in conn.execute("SELECT item FROM orders ORDER BY id").fetchall()]


def seed(conn, *names):
    conn.execute("CREATE TABLE IF NOT EXISTS orders (id INTEGER PRIMARY KEY, item TEXT)")
    with conn:
        conn.executemany("INSERT INTO orders (item) VALUES (?)", [(n,) for n in names])


# ---------------------------------------------------------------- endpoints and credentials


def test_instance_endpoint_reaches_its_own_database(rds):
    a = make_instance(rds, "t-a")["Endpoint"]
    b = make_instance(rds, "t-b")["Endpoint"]
    seed(open_(a["Address"], port=a["Port"], dbname="shop"), "lamp")
    conn_b = open_(b["Address"])
    assert conn_b.instance_id == "t-b"
    with pytest.raises(sqlite3.OperationalError):
        items(conn_b)  # t-b has no table: the two instances do not share data
    assert items(open_(a["Address"])) == ["lamp"]


def test_unknown_host_wrong_port_credentials_and_dbname_are_refused(rds):
    ep = make_instance(rds, "t-auth")["Endpoint"]
    with pytest.raises(sqlite3.OperationalError, match="could not translate host name"):
        open_("t-auth.example.invalid")
    with pytest.raises(sqlite3.OperationalError, match="Connection refused"):
        open_(ep["Address"], port=ep["Port"] + 1)
    with pytest.raises(sqlite3.OperationalError, match="password authentication failed"):
        lrds.connect(ep["Address"], user=USER, password="wrong")
    with pytest.raises(sqlite3.OperationalError, match="password authentication failed"):
        lrds.connect(ep["Address"], user="root", password=PASSWORD)
    with pytest.raises(sqlite3.OperationalError, match="does not exist"):
        open_(ep["Address"], dbname="other")


def test_new_instance_with_a_reused_name_starts_empty(rds):
    ep = make_instance(rds, "t-reuse")["Endpoint"]["Address"]
    seed(open_(ep), "old")
    rds.delete_db_instance(DBInstanceIdentifier="t-reuse", SkipFinalSnapshot=True)
    with pytest.raises(sqlite3.OperationalError, match="could not translate"):
        open_(ep)
    ep = make_instance(rds, "t-reuse")["Endpoint"]["Address"]
    with pytest.raises(sqlite3.OperationalError, match="no such table"):
        items(open_(ep))


# ---------------------------------------------------------------- read replicas


def test_replica_is_read_only_with_the_engine_error(rds):
    ep = make_instance(rds, "t-src")["Endpoint"]["Address"]
    seed(open_(ep), "lamp")
    rep = rds.create_db_instance_read_replica(DBInstanceIdentifier="t-rep", SourceDBInstanceIdentifier="t-src")
    conn = open_(rep["DBInstance"]["Endpoint"]["Address"])
    assert conn.read_only and items(conn) == ["lamp"]  # created from the source's data
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        conn.execute("INSERT INTO orders (item) VALUES ('x')")


def test_replica_lags_then_catches_up(rds):
    ep = make_instance(rds, "t-lag")["Endpoint"]["Address"]
    primary = open_(ep)
    seed(primary, "lamp")
    rep = rds.create_db_instance_read_replica(DBInstanceIdentifier="t-lag-r", SourceDBInstanceIdentifier="t-lag")
    lrds.set_replica_lag("t-lag-r", 0.5)
    replica = open_(rep["DBInstance"]["Endpoint"]["Address"])
    seed(primary, "desk")
    assert items(replica) == ["lamp"]  # stale: the change is younger than the lag
    assert lrds.replica_lag("t-lag-r") > 0
    assert lrds.wait_for_replica("t-lag-r", timeout=10) > 0
    assert items(replica) == ["lamp", "desk"]
    assert lrds.replica_lag("t-lag-r") == 0.0


def test_replica_lag_is_measured_on_the_sandbox_clock(lab, rds):
    ep = make_instance(rds, "t-clock")["Endpoint"]["Address"]
    primary = open_(ep)
    seed(primary, "lamp")
    rep = rds.create_db_instance_read_replica(DBInstanceIdentifier="t-clock-r", SourceDBInstanceIdentifier="t-clock")
    lrds.set_replica_lag("t-clock-r", 600)  # ten minutes behind
    replica = open_(rep["DBInstance"]["Endpoint"]["Address"])
    with lab.clock.frozen():
        seed(primary, "desk")
        lab.clock.advance(599)
        assert items(replica) == ["lamp"] and lrds.replica_lag("t-clock-r") == pytest.approx(599)
        lab.clock.advance(1)  # ten minutes after the commit, without waiting ten minutes
        assert items(replica) == ["lamp", "desk"] and lrds.replica_lag("t-clock-r") == 0.0
        seed(primary, "chair")
        assert lrds.wait_for_replica("t-clock-r") == pytest.approx(600, abs=0.01)  # a frozen clock is advanced
        assert items(replica) == ["lamp", "desk", "chair"]
    with pytest.raises(KeyError):
        lrds.set_replica_lag("t-clock", 1)  # the source is no replica


def test_connections_accepted_counts_per_instance_and_reset_forgets(lab, rds):
    ep = make_instance(rds, "t-count")["Endpoint"]["Address"]
    seed(open_(ep), "lamp")
    rep = rds.create_db_instance_read_replica(DBInstanceIdentifier="t-count-r", SourceDBInstanceIdentifier="t-count")
    before = lrds.connections_accepted("t-count")
    for _ in range(3):
        open_(rep["DBInstance"]["Endpoint"]["Address"]).close()
    assert (lrds.connections_accepted("t-count") - before, lrds.connections_accepted("t-count-r")) == (0, 3)
    with pytest.raises(sqlite3.OperationalError):
        lrds.connect(ep, user=USER, password="wrong")  # a refused connection is not counted
    assert lrds.connections_accepted("t-count") == before
    lab.reset()
    assert lrds.connections_accepted("t-count-r") == 0


def test_replica_lag_is_published_to_cloudwatch_once_a_sandbox_minute(lab, aws, rds):
    cw = aws["cloudwatch"]
    make_instance(rds, "t-cw")
    rds.create_db_instance_read_replica(DBInstanceIdentifier="t-cw-r", SourceDBInstanceIdentifier="t-cw")
    cw.put_metric_alarm(AlarmName="t-cw-lag", Namespace="AWS/RDS", MetricName="ReplicaLag",
                        Dimensions=[{"Name": "DBInstanceIdentifier", "Value": "t-cw-r"}], Statistic="Maximum",
                        Period=60, EvaluationPeriods=2, DatapointsToAlarm=2, Threshold=60,
                        ComparisonOperator="GreaterThanThreshold", TreatMissingData="breaching")
    lab.clock.advance(180)  # the default lag: well below the threshold
    assert cw.describe_alarms(AlarmNames=["t-cw-lag"])["MetricAlarms"][0]["StateValue"] == "OK"
    lrds.set_replica_lag("t-cw-r", 90)
    lab.clock.advance(180)
    assert cw.describe_alarms(AlarmNames=["t-cw-lag"])["MetricAlarms"][0]["StateValue"] == "ALARM"
    now = datetime.fromtimestamp(lab.clock.now(), timezone.utc)
    points = cw.get_metric_statistics(Namespace="AWS/RDS", MetricName="ReplicaLag",
                                      Dimensions=[{"Name": "DBInstanceIdentifier", "Value": "t-cw-r"}],
                                      StartTime=datetime.fromtimestamp(lab.clock.now() - 360, timezone.utc), EndTime=now,
                                      Period=60, Statistics=["Maximum", "SampleCount"], Unit="Seconds")["Datapoints"]
    values = [p["Maximum"] for p in sorted(points, key=lambda p: p["Timestamp"])]
    assert len(values) >= 5 and all(p["SampleCount"] == 1 for p in points)  # one data point a minute
    assert values[0] == storage.DEFAULT_REPLICA_LAG and values[-1] == 90
    assert not [m for m in cw.list_metrics(Namespace="AWS/RDS")["Metrics"]
                if m["Dimensions"] != [{"Name": "DBInstanceIdentifier", "Value": "t-cw-r"}]]  # replicas only
    rds.delete_db_instance(DBInstanceIdentifier="t-cw-r", SkipFinalSnapshot=True)
    lab.clock.advance(120)
    assert not metrics_module().publish(lab.clock.now())  # no replica, nothing published


def metrics_module():
    from labkit.services.rds import metrics

    return metrics


def test_promote_keeps_only_applied_changes_and_becomes_writable(rds):
    ep = make_instance(rds, "t-pro")["Endpoint"]["Address"]
    primary = open_(ep)
    seed(primary, "a")
    rep = rds.create_db_instance_read_replica(DBInstanceIdentifier="t-pro-r", SourceDBInstanceIdentifier="t-pro")
    lrds.set_replica_lag("t-pro-r", 60)
    seed(primary, "b")  # not yet replicated
    rds.promote_read_replica(DBInstanceIdentifier="t-pro-r")
    promoted = open_(rep["DBInstance"]["Endpoint"]["Address"])
    assert not promoted.read_only
    assert items(promoted) == ["a"]  # asynchronous replication: "b" is lost on the promoted copy
    seed(promoted, "c")
    assert items(promoted) == ["a", "c"] and items(open_(ep)) == ["a", "b"]


# ---------------------------------------------------------------- Multi-AZ, reboots, failures


def test_multi_az_failover_keeps_endpoint_and_data_and_drops_connections(rds):
    ep = make_instance(rds, "t-maz", MultiAZ=True)["Endpoint"]["Address"]
    conn = open_(ep)
    seed(conn, "lamp")
    assert lrds.fail_instance("t-maz") == "multi-az failover"
    with pytest.raises(sqlite3.OperationalError, match="closed the connection"):
        conn.execute("SELECT 1")
    again = open_(ep)
    assert items(again) == ["lamp"]
    seed(again, "desk")
    assert items(again) == ["lamp", "desk"]


def test_single_az_failure_is_an_outage_until_recovery(rds):
    ep = make_instance(rds, "t-one")["Endpoint"]["Address"]
    seed(open_(ep), "lamp")
    assert lrds.fail_instance("t-one") == "unavailable"
    with pytest.raises(sqlite3.OperationalError, match="unreachable"):
        open_(ep)
    lrds.recover_instance("t-one")
    assert items(open_(ep)) == ["lamp"]


def test_plain_reboot_drops_connections(rds):
    ep = make_instance(rds, "t-reboot")["Endpoint"]["Address"]
    conn = open_(ep)
    conn.execute("SELECT 1")
    rds.reboot_db_instance(DBInstanceIdentifier="t-reboot")
    with pytest.raises(sqlite3.OperationalError):
        conn.execute("SELECT 1")
    open_(ep).execute("SELECT 1")


# ---------------------------------------------------------------- Aurora


def test_aurora_writer_reader_and_failover(rds):
    cluster = make_cluster(rds, "t-au", members=3)
    writer = open_(cluster["Endpoint"])
    assert writer.instance_id == "t-au-1" and not writer.read_only
    seed(writer, "lamp")
    seen = set()
    for _ in range(4):
        reader = open_(cluster["ReaderEndpoint"])
        assert reader.read_only and items(reader) == ["lamp"]  # the shared cluster volume
        seen.add(reader.execute("SELECT aurora_db_instance_identifier()").fetchone()[0])
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            reader.execute("INSERT INTO orders (item) VALUES ('x')")
    assert seen == {"t-au-2", "t-au-3"}  # connections are spread over the replicas
    rds.failover_db_cluster(DBClusterIdentifier="t-au", TargetDBInstanceIdentifier="t-au-3")
    with pytest.raises(sqlite3.OperationalError):
        writer.execute("SELECT 1")
    new_writer = open_(cluster["Endpoint"])
    assert new_writer.instance_id == "t-au-3"
    seed(new_writer, "desk")
    assert items(open_(cluster["ReaderEndpoint"])) == ["lamp", "desk"]


def test_aurora_reader_endpoint_without_replica_leads_to_writer(rds):
    cluster = make_cluster(rds, "t-solo", members=1)
    conn = open_(cluster["ReaderEndpoint"])
    assert conn.instance_id == "t-solo-1" and not conn.read_only
    seed(conn, "ok")
    assert lrds.fail_instance("t-solo-1") == "unavailable"


def test_aurora_writer_failure_promotes_a_replica(rds):
    cluster = make_cluster(rds, "t-auf", members=2)
    seed(open_(cluster["Endpoint"]), "lamp")
    assert lrds.fail_instance("t-auf-1") == "aurora failover"
    conn = open_(cluster["Endpoint"])
    assert conn.instance_id == "t-auf-2" and items(conn) == ["lamp"]


# ---------------------------------------------------------------- snapshots and restores


def test_snapshot_restore_has_the_snapshot_data_not_later_writes(rds):
    ep = make_instance(rds, "t-snap")["Endpoint"]["Address"]
    conn = open_(ep)
    seed(conn, "lamp")
    rds.create_db_snapshot(DBInstanceIdentifier="t-snap", DBSnapshotIdentifier="t-snap-1")
    with conn:
        conn.execute("DELETE FROM orders")  # the accident
    restored = rds.restore_db_instance_from_db_snapshot(DBInstanceIdentifier="t-snap-back",
                                                        DBSnapshotIdentifier="t-snap-1")["DBInstance"]
    assert restored["Endpoint"]["Address"] != ep  # a new instance, a new endpoint
    assert items(open_(restored["Endpoint"]["Address"])) == ["lamp"]
    assert items(open_(ep)) == []


def test_point_in_time_restore_returns_the_data_of_that_moment(lab, rds):
    ep = make_instance(rds, "t-pit")["Endpoint"]["Address"]
    conn = open_(ep)
    seed(conn, "a")
    lab.clock.advance(60)
    moment = datetime.fromtimestamp(lab.clock.now(), timezone.utc)
    lab.clock.advance(60)
    seed(conn, "b")
    before = rds.restore_db_instance_to_point_in_time(
        SourceDBInstanceIdentifier="t-pit", TargetDBInstanceIdentifier="t-pit-before", RestoreTime=moment)
    latest = rds.restore_db_instance_to_point_in_time(
        SourceDBInstanceIdentifier="t-pit", TargetDBInstanceIdentifier="t-pit-latest", UseLatestRestorableTime=True)
    assert items(open_(before["DBInstance"]["Endpoint"]["Address"])) == ["a"]
    assert items(open_(latest["DBInstance"]["Endpoint"]["Address"])) == ["a", "b"]


def test_final_snapshot_on_delete_keeps_the_data(rds):
    ep = make_instance(rds, "t-final")["Endpoint"]["Address"]
    seed(open_(ep), "kept")
    rds.delete_db_instance(DBInstanceIdentifier="t-final", FinalDBSnapshotIdentifier="t-final-snap")
    back = rds.restore_db_instance_from_db_snapshot(DBInstanceIdentifier="t-final-2",
                                                    DBSnapshotIdentifier="t-final-snap")["DBInstance"]
    assert items(open_(back["Endpoint"]["Address"])) == ["kept"]


def test_cluster_snapshot_and_point_in_time_restore(rds):
    cluster = make_cluster(rds, "t-cs", members=1)
    writer = open_(cluster["Endpoint"])
    seed(writer, "a")
    rds.create_db_cluster_snapshot(DBClusterIdentifier="t-cs", DBClusterSnapshotIdentifier="t-cs-1")
    seed(writer, "b")
    restored = rds.restore_db_cluster_from_snapshot(DBClusterIdentifier="t-cs-back", SnapshotIdentifier="t-cs-1",
                                                    Engine="aurora-postgresql")["DBCluster"]
    rds.create_db_instance(DBInstanceIdentifier="t-cs-back-1", DBClusterIdentifier="t-cs-back",
                           Engine="aurora-postgresql", DBInstanceClass="db.r6g.large")
    assert items(open_(restored["Endpoint"])) == ["a"]
    latest = rds.restore_db_cluster_to_point_in_time(DBClusterIdentifier="t-cs-pit", SourceDBClusterIdentifier="t-cs",
                                                     UseLatestRestorableTime=True)["DBCluster"]
    rds.create_db_instance(DBInstanceIdentifier="t-cs-pit-1", DBClusterIdentifier="t-cs-pit",
                           Engine="aurora-postgresql", DBInstanceClass="db.r6g.large")
    assert items(open_(latest["Endpoint"])) == ["a", "b"]


# ---------------------------------------------------------------- parameter groups


def test_max_connections_from_the_parameter_group_applies_at_boot(rds):
    rds.create_db_parameter_group(DBParameterGroupName="t-pg", DBParameterGroupFamily="postgres16", Description="t")
    rds.modify_db_parameter_group(DBParameterGroupName="t-pg", Parameters=[
        {"ParameterName": "max_connections", "ParameterValue": "2", "ApplyMethod": "pending-reboot"}])
    ep = make_instance(rds, "t-max", DBParameterGroupName="t-pg")["Endpoint"]["Address"]
    held = [open_(ep), open_(ep)]
    with pytest.raises(sqlite3.OperationalError, match="too many clients"):
        open_(ep)
    held[0].close()
    held.append(open_(ep))  # a closed connection frees its slot
    rds.modify_db_parameter_group(DBParameterGroupName="t-pg", Parameters=[
        {"ParameterName": "max_connections", "ParameterValue": "5", "ApplyMethod": "pending-reboot"}])
    with pytest.raises(sqlite3.OperationalError, match="too many clients"):
        open_(ep)  # a static parameter: not applied before a reboot
    rds.reboot_db_instance(DBInstanceIdentifier="t-max")
    more = [open_(ep) for _ in range(5)]
    assert len(more) == 5


def test_default_parameter_group_sets_no_limit(rds):
    ep = make_instance(rds, "t-nolimit")["Endpoint"]["Address"]
    assert len([open_(ep) for _ in range(20)]) == 20



# ---------------------------------------------------------------- what AWS's SDK examples call first
# The calls of AWS's "get started with DB instances" and "get started with Aurora clusters" Python examples,
# in their order: the versions of an engine, a family, a group, its auto_increment parameters, a change.


def _auto_increment_flow(rds, engine, cluster):
    versions = rds.describe_db_engine_versions(Engine=engine)["DBEngineVersions"]
    families = sorted({v["DBParameterGroupFamily"] for v in versions})
    assert families and all(v["Engine"] == engine and v["EngineVersion"] for v in versions)
    family = families[-1]
    kind, group = ("DBClusterParameterGroupName", "ex-cpg") if cluster else ("DBParameterGroupName", "ex-pg")
    if cluster:
        rds.create_db_cluster_parameter_group(DBClusterParameterGroupName=group, DBParameterGroupFamily=family,
                                              Description="Example parameter group.")
        pages = rds.get_paginator("describe_db_cluster_parameters").paginate(DBClusterParameterGroupName=group)
    else:
        rds.create_db_parameter_group(DBParameterGroupName=group, DBParameterGroupFamily=family,
                                      Description="Example parameter group.")
        pages = rds.get_paginator("describe_db_parameters").paginate(DBParameterGroupName=group)
    auto_inc = [p for page in pages for p in page["Parameters"] if p["ParameterName"].startswith("auto_increment")]
    assert sorted(p["ParameterName"] for p in auto_inc) == ["auto_increment_increment", "auto_increment_offset"]
    updates = []
    for p in auto_inc:
        assert p["IsModifiable"] and p["DataType"] == "integer" and p["Description"]
        low, high = p["AllowedValues"].split("-")
        p["ParameterValue"] = str(int(low) + 4)
        assert int(low) <= int(p["ParameterValue"]) <= int(high)
        updates.append(p)  # the example sends back the described parameters, every field included
    modify = rds.modify_db_cluster_parameter_group if cluster else rds.modify_db_parameter_group
    modify(**{kind: group, "Parameters": updates})
    describe = rds.describe_db_cluster_parameters if cluster else rds.describe_db_parameters
    user = describe(**{kind: group, "Source": "user"})["Parameters"]
    assert {(p["ParameterName"], p["ParameterValue"], p["Source"]) for p in user} == {
        ("auto_increment_increment", "5", "user"), ("auto_increment_offset", "5", "user")}
    return versions


def test_the_sdk_example_reads_engine_versions_and_sets_parameters(rds):
    versions = _auto_increment_flow(rds, "mysql", cluster=False)
    chosen = [v for v in versions if v["DBParameterGroupFamily"] == "mysql8.4"][0]
    options = [o for page in rds.get_paginator("describe_orderable_db_instance_options").paginate(
        Engine=chosen["Engine"], EngineVersion=chosen["EngineVersion"]) for o in page["OrderableDBInstanceOptions"]]
    micro = sorted({o["DBInstanceClass"] for o in options if "micro" in o["DBInstanceClass"]})
    assert micro == ["db.t3.micro", "db.t4g.micro"]
    instance = rds.create_db_instance(
        DBName="docexampledb", DBInstanceIdentifier="ex-inst", DBParameterGroupName="ex-pg",
        Engine=chosen["Engine"], EngineVersion=chosen["EngineVersion"], DBInstanceClass=micro[0],
        StorageType="standard", AllocatedStorage=5, MasterUsername="admin", MasterUserPassword="example-pass")
    assert instance["DBInstance"]["EngineVersion"] == chosen["EngineVersion"]


def test_the_aurora_example_reads_engine_versions_and_sets_cluster_parameters(rds):
    versions = _auto_increment_flow(rds, "aurora-mysql", cluster=True)
    assert {v["DBParameterGroupFamily"] for v in versions} == {"aurora-mysql8.0"}
    options = rds.describe_orderable_db_instance_options(Engine="aurora-mysql",
                                                         EngineVersion=versions[0]["EngineVersion"])
    assert "db.r6g.large" in {o["DBInstanceClass"] for o in options["OrderableDBInstanceOptions"]}


@pytest.mark.parametrize("engine, family", [("postgres", "postgres16"), ("mysql", "mysql8.0"),
                                            ("aurora-postgresql", "aurora-postgresql17"),
                                            ("aurora-mysql", "aurora-mysql8.0")])
def test_engine_versions_of_the_chapters_engines(rds, engine, family):
    versions = rds.describe_db_engine_versions(Engine=engine, DBParameterGroupFamily=family)["DBEngineVersions"]
    assert versions and {v["DBParameterGroupFamily"] for v in versions} == {family}
    for v in versions:
        assert v["Status"] == "available" and v["DBEngineDescription"] and v["DBEngineVersionDescription"]
    default = rds.describe_db_engine_versions(Engine=engine, DefaultOnly=True)["DBEngineVersions"]
    assert len(default) == 1


def test_engine_versions_filters_pages_and_errors(rds):
    major = rds.describe_db_engine_versions(Engine="postgres", EngineVersion="16")["DBEngineVersions"]
    assert [v["EngineVersion"] for v in major] == ["16.3", "16.8"]
    assert "17.5" in [t["EngineVersion"] for t in major[0]["ValidUpgradeTarget"]]
    everything = [v for page in rds.get_paginator("describe_db_engine_versions").paginate(PaginationConfig={
        "PageSize": 20}) for v in page["DBEngineVersions"]]
    assert {v["Engine"] for v in everything} == {"postgres", "mysql", "aurora-postgresql", "aurora-mysql"}
    with pytest.raises(ClientError) as error:
        rds.describe_db_engine_versions(Engine="postgress")
    assert error.value.response["Error"]["Code"] == "InvalidParameterValue"
    with pytest.raises(lrds.NotEmulated, match="'mariadb' is a real AWS engine"):
        rds.describe_db_engine_versions(Engine="mariadb")


def test_unknown_parameter_group_is_not_found_as_on_aws(rds):
    with pytest.raises(ClientError) as error:
        rds.describe_db_parameter_groups(DBParameterGroupName="doc-example-parameter-group")
    assert error.value.response["Error"]["Code"] == "DBParameterGroupNotFound"
    default = rds.describe_db_parameter_groups(DBParameterGroupName="default.postgres16")["DBParameterGroups"]
    assert default[0]["DBParameterGroupFamily"] == "postgres16"
    params = rds.describe_db_parameters(DBParameterGroupName="default.postgres16")["Parameters"]
    assert any(p["ParameterName"] == "max_connections" and p["Source"] == "system" for p in params)
    with pytest.raises(ClientError) as error:
        rds.describe_db_parameters(DBParameterGroupName="nope")
    assert error.value.response["Error"]["Code"] == "DBParameterGroupNotFound"


def test_parameter_changes_aws_refuses(rds):
    rds.create_db_parameter_group(DBParameterGroupName="pg-ref", DBParameterGroupFamily="postgres16",
                                  Description="refusals")

    def code(**parameter):
        with pytest.raises(ClientError) as error:
            rds.modify_db_parameter_group(DBParameterGroupName="pg-ref", Parameters=[parameter])
        return error.value.response["Error"]["Code"]

    assert code(ParameterName="max_connections", ParameterValue="200",
                ApplyMethod="immediate") == "InvalidParameterCombination"  # static: pending-reboot only
    assert code(ParameterName="statement_timeout", ParameterValue="-5",
                ApplyMethod="immediate") == "InvalidParameterValue"
    rds.modify_db_parameter_group(DBParameterGroupName="pg-ref", Parameters=[
        {"ParameterName": "max_connections", "ParameterValue": "200", "ApplyMethod": "pending-reboot"}])
    user = rds.describe_db_parameters(DBParameterGroupName="pg-ref", Source="user")["Parameters"]
    assert [(p["ParameterName"], p["ParameterValue"]) for p in user] == [("max_connections", "200")]
    engine_defaults = rds.describe_db_parameters(DBParameterGroupName="pg-ref", Source="engine-default")
    assert "max_connections" not in {p["ParameterName"] for p in engine_defaults["Parameters"]}
    with pytest.raises(ClientError) as error:
        rds.modify_db_parameter_group(DBParameterGroupName="default.postgres16", Parameters=[
            {"ParameterName": "work_mem", "ParameterValue": "8192", "ApplyMethod": "immediate"}])
    assert error.value.response["Error"]["Code"] == "InvalidDBParameterGroupState"


# ---------------------------------------------------------------- labkit's own calls, lifecycle


def test_labkits_own_calls_are_internal(rds):
    """Resolving an endpoint and reacting to a failure use describe and reboot calls of
    labkit's own: a subscriber that skips internal calls (a recorder, an enforcer) never sees them."""
    ep = make_instance(rds, "t-own", MultiAZ=True)["Endpoint"]["Address"]
    seen: list[str] = []

    def record(call):
        seen.append(call.operation)

    hooks.subscribe("before", "rds", "*", record, internal=False)
    try:
        seed(open_(ep), "lamp")
        assert lrds.fail_instance("t-own") == "multi-az failover"
        assert items(open_(ep)) == ["lamp"]
        rds.describe_db_instances(DBInstanceIdentifier="t-own")  # the learner's own call is seen
    finally:
        hooks.unsubscribe(record)
    assert seen == ["DescribeDBInstances"]


def test_reset_forgets_every_database(lab, rds):
    ep = make_instance(rds, "t-gone")["Endpoint"]["Address"]
    seed(open_(ep), "lamp")
    rds.create_db_instance_read_replica(DBInstanceIdentifier="t-gone-r", SourceDBInstanceIdentifier="t-gone")
    rds.create_db_snapshot(DBInstanceIdentifier="t-gone", DBSnapshotIdentifier="t-gone-snap")
    assert lrds.fail_instance("t-gone") == "unavailable"
    files = [v.path for v in storage.STATE.instances.values()]
    assert len(files) == 2 and all(os.path.exists(f) for f in files)
    lab.reset()
    state = storage.STATE
    assert (state.instances, state.replicas, state.snapshots, state.outages, state.passwords) == ({}, {}, {}, set(), {})
    assert not any(os.path.exists(f) for f in files)
    ep = make_instance(lab.client("rds"), "t-gone")["Endpoint"]["Address"]  # the same name, after the reset
    with pytest.raises(sqlite3.OperationalError, match="no such table"):
        items(open_(ep))


def test_importing_the_service_installs_nothing():
    code = ("import labkit.services.rds, labkit.core.hooks as h; "
            "print(sorted({k[1] for k, v in h._SUBSCRIBERS.items() if v}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_install_subscribes_once(lab):
    from labkit.services.rds import control

    lab.rds.install()
    lab.rds.install()
    subscribers = [fn for fn, _ in hooks._SUBSCRIBERS.get(("after", "rds", "CreateDBInstance"), [])]
    assert subscribers.count(control.after_call) == 1


def test_creating_a_cluster_twice_gets_aws_error_and_keeps_the_first(lab):
    from botocore.exceptions import ClientError

    rds = lab.client("rds")
    params = {"DBClusterIdentifier": "twice", "Engine": "aurora-postgresql", "MasterUsername": "admin",
                  "MasterUserPassword": "password123"}
    first = rds.create_db_cluster(**params)["DBCluster"]
    with pytest.raises(ClientError) as error:
        rds.create_db_cluster(**params)
    assert error.value.response["Error"]["Code"] == "DBClusterAlreadyExistsFault"
    (kept,) = rds.describe_db_clusters(DBClusterIdentifier="twice")["DBClusters"]
    assert kept["Endpoint"] == first["Endpoint"] and kept["ClusterCreateTime"] == first["ClusterCreateTime"]
