"""Wrong answers to the RDS lab."""

from tests.chapters.wrong_answers import Wrong

AURORA = '''
def create_aurora_cluster(cluster_id: str, readers: int) -> dict:
    rds.create_db_cluster(DBClusterIdentifier=cluster_id, Engine="aurora-postgresql",
                          MasterUsername=USER, MasterUserPassword=PASSWORD, DatabaseName="shop")
    for n in range(1, readers + 2):
        rds.create_db_instance(DBInstanceIdentifier=f"{cluster_id}-{n}", DBClusterIdentifier=cluster_id,
                               Engine="aurora-postgresql", DBInstanceClass="db.r6g.large")
    rds.get_waiter("db_cluster_available").wait(DBClusterIdentifier=cluster_id, WaiterConfig={"Delay": 1})
    cluster = rds.describe_db_clusters(DBClusterIdentifier=cluster_id)["DBClusters"][0]
    return {"writer": cluster["Endpoint"], "reader": cluster["ReaderEndpoint"], "port": cluster["Port"]}
'''

PRIMARY_AND_REPLICA = '''
def build_orders_database(name: str) -> dict:
    primary = ensure_instance(name)
    try:
        rds.create_db_instance_read_replica(DBInstanceIdentifier=f"{name}-replica", SourceDBInstanceIdentifier=name)
    except ClientError as error:
        if error.response["Error"]["Code"] != "DBInstanceAlreadyExists":
            raise
    rds.get_waiter("db_instance_available").wait(DBInstanceIdentifier=f"{name}-replica", WaiterConfig={"Delay": 1})
    replica = rds.describe_db_instances(DBInstanceIdentifier=f"{name}-replica")["DBInstances"][0]
    return {"writer": primary["Endpoint"]["Address"], "reader": replica["Endpoint"]["Address"]}
'''

WRONG = [
    Wrong("aurora", "creates the cluster and its instances again on a second call",
          source=AURORA, loses=("calling it twice",)),
    Wrong("aurora", "the writer's and a reader's instance endpoints instead of the cluster's",
          source='''
def create_aurora_cluster(cluster_id: str, readers: int) -> dict:
    try:
        rds.describe_db_clusters(DBClusterIdentifier=cluster_id)
    except ClientError:
        rds.create_db_cluster(DBClusterIdentifier=cluster_id, Engine="aurora-postgresql",
                              MasterUsername=USER, MasterUserPassword=PASSWORD, DatabaseName="shop")
        for n in range(1, readers + 2):
            rds.create_db_instance(DBInstanceIdentifier=f"{cluster_id}-{n}", DBClusterIdentifier=cluster_id,
                                   Engine="aurora-postgresql", DBInstanceClass="db.r6g.large")
    rds.get_waiter("db_cluster_available").wait(DBClusterIdentifier=cluster_id, WaiterConfig={"Delay": 1})
    first, second = (rds.describe_db_instances(DBInstanceIdentifier=f"{cluster_id}-{n}")["DBInstances"][0]["Endpoint"]
                     for n in (1, 2))
    return {"writer": first["Address"], "reader": second["Address"], "port": first["Port"]}
''',
          loses=("after a failover",)),
    Wrong("stale", "always the replica, as before (the page the team shipped)",
          source='''
def my_orders(config: dict, customer: str, last_order_id: int | None = None) -> list[str]:
    conn = db(config["reader"])
    rows = conn.execute("SELECT item FROM purchases WHERE customer = ? ORDER BY id", (customer,)).fetchall()
    conn.close()
    return [item for (item,) in rows]
''', loses=("right after checkout",), hidden_too=True),
    Wrong("stale", "every read on the primary (the team's first fix)",
          source='''
def my_orders(config: dict, customer: str, last_order_id: int | None = None) -> list[str]:
    conn = db(config["writer"])
    rows = conn.execute("SELECT item FROM purchases WHERE customer = ? ORDER BY id", (customer,)).fetchall()
    return [item for (item,) in rows]
''', loses=("no new order is served by the replica", "replica alone serves the page again"), hidden_too=True),
    Wrong("stale", "the primary for any customer whose session holds an order, even once the replica has it",
          source='''
def my_orders(config: dict, customer: str, last_order_id: int | None = None) -> list[str]:
    conn = db(config["writer"] if last_order_id is not None else config["reader"])
    rows = conn.execute("SELECT item FROM purchases WHERE customer = ? ORDER BY id", (customer,)).fetchall()
    return [item for (item,) in rows]
''', loses=("replica alone serves the page again",), hidden_too=True),
    Wrong("ha", "a single-AZ primary with a read replica",
          source=PRIMARY_AND_REPLICA,
          loses=("same endpoint has every committed order",), hidden_too=True),
    Wrong("ha", "a Multi-AZ instance alone, reports on the same endpoint",
          source='''
def build_orders_database(name: str) -> dict:
    primary = ensure_instance(name, MultiAZ=True)
    return {"writer": primary["Endpoint"]["Address"], "reader": primary["Endpoint"]["Address"]}
''', loses=("does not take the writes",)),
]
