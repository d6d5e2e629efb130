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
    Wrong("stale", "waits a second, then reads the replica",
          source='''
def confirmation_page(config: dict, order_id: int) -> str:
    time.sleep(1)  # give the replica time to catch up
    conn = db(config["reader"])
    row = conn.execute("SELECT item FROM orders WHERE id = ?", (order_id,)).fetchone()
    return row[0] if row else "order not found"
''', loses=("right after checkout",), hidden_too=True),
    Wrong("stale", "reads the primary, but a missing order raises",
          source='''
def confirmation_page(config: dict, order_id: int) -> str:
    conn = db(config["writer"])
    return conn.execute("SELECT item FROM orders WHERE id = ?", (order_id,)).fetchone()[0]
''', loses=("does not exist",)),
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
