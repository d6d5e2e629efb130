"""Data: ElastiCache replication groups and clusters, RDS and Aurora, DynamoDB tables, S3 buckets."""

from __future__ import annotations

from .reading import Survey

PART = "data"


def elasticache(s: Survey) -> None:
    grouped = set()
    for group in s.pages("elasticache", "describe_replication_groups", "ReplicationGroups"):
        group_id = group["ReplicationGroupId"]
        members = tuple(sorted(group.get("MemberClusters", [])))
        grouped.update(members)
        roles = [m.get("CurrentRole", "") for ng in group.get("NodeGroups", []) for m in ng.get("NodeGroupMembers", [])]
        shape = (f"primary + {roles.count('replica')} replica{'s' if roles.count('replica') != 1 else ''}"
                 if roles else f"{len(members)} nodes")
        engine = group.get("Engine", "redis")
        endpoints = [ng.get(k, {}).get("Address", "") for ng in group.get("NodeGroups", [])
                     for k in ("PrimaryEndpoint", "ReaderEndpoint")]
        endpoints.append((group.get("ConfigurationEndpoint") or {}).get("Address", ""))
        s.node(f"elasticache:{group_id}", "redis", group_id, noun=f"{engine.capitalize()} replication group",
               part=PART, label=f"{group_id}\n{engine} {shape}", members=members,
               keys=(group.get("ARN", ""), *members, *(f"elasticache:{m}" for m in members), *endpoints))
    for cluster in s.pages("elasticache", "describe_cache_clusters", "CacheClusters", ShowCacheNodeInfo=True):
        cluster_id = cluster["CacheClusterId"]
        if cluster_id in grouped or cluster.get("ReplicationGroupId"):
            continue
        engine = cluster.get("Engine", "")
        nodes = cluster.get("NumCacheNodes", len(cluster.get("CacheNodes", [])))
        s.node(f"elasticache:{cluster_id}", "memcached" if engine == "memcached" else "redis", cluster_id,
               noun=f"{engine.capitalize()} cluster", part=PART, label=f"{cluster_id}\n{engine}, {nodes} nodes",
               keys=(cluster.get("ARN", ""), (cluster.get("ConfigurationEndpoint") or {}).get("Address", ""),
                     *(n.get("Endpoint", {}).get("Address", "") for n in cluster.get("CacheNodes", []))))


def rds(s: Survey) -> None:
    in_cluster: set[str] = set()
    for cluster in s.pages("rds", "describe_db_clusters", "DBClusters"):
        cluster_id = cluster["DBClusterIdentifier"]
        members = cluster.get("DBClusterMembers", [])
        writer = [m["DBInstanceIdentifier"] for m in members if m.get("IsClusterWriter")]
        readers = [m["DBInstanceIdentifier"] for m in members if not m.get("IsClusterWriter")]
        in_cluster.update(writer + readers)
        shape = ", ".join([f"writer {w}" for w in writer] + ([f"readers {', '.join(readers)}"] if len(readers) > 1
                          else [f"reader {r}" for r in readers]))
        kind = "aurora" if str(cluster.get("Engine", "")).startswith("aurora") else "rds"
        s.node(f"rds:{cluster_id}", kind, cluster_id, noun=f"{cluster.get('Engine', '')} cluster", part=PART,
               label=f"{cluster_id}\n{shape or 'no instances'}", members=tuple(writer + readers),
               keys=(cluster.get("DBClusterArn", ""), cluster.get("Endpoint", ""), cluster.get("ReaderEndpoint", ""),
                     *(f"rds:{i}" for i in writer + readers)))
    replicas = []
    for instance in s.pages("rds", "describe_db_instances", "DBInstances"):
        instance_id = instance["DBInstanceIdentifier"]
        if instance_id in in_cluster or instance.get("DBClusterIdentifier"):
            continue
        source = instance.get("ReadReplicaSourceDBInstanceIdentifier")
        node = s.node(f"rds:{instance_id}", "rds", instance_id, noun=f"{instance.get('Engine', '')} instance",
                      part=PART, label=f"{instance_id}\n{instance.get('Engine', '')}"
                                       + (" read replica" if source else ""),
                      keys=(instance.get("DBInstanceArn", ""), (instance.get("Endpoint") or {}).get("Address", "")))
        if source:
            replicas.append((source, node))
    for source, node in replicas:
        s.link(f"rds:{source.rsplit(':', 1)[-1]}", node, "asynchronous", "replicates to")
    for group in s.pages("rds", "describe_db_parameter_groups", "DBParameterGroups"):
        if not group["DBParameterGroupName"].startswith("default."):
            s.detail("DB parameter groups", group["DBParameterGroupName"])
    for group in s.pages("rds", "describe_db_cluster_parameter_groups", "DBClusterParameterGroups"):
        if not group["DBClusterParameterGroupName"].startswith("default."):
            s.detail("DB cluster parameter groups", group["DBClusterParameterGroupName"])
    for snapshot in s.pages("rds", "describe_db_snapshots", "DBSnapshots", SnapshotType="manual"):
        s.detail("DB snapshots", snapshot["DBSnapshotIdentifier"])
    for snapshot in s.pages("rds", "describe_db_cluster_snapshots", "DBClusterSnapshots", SnapshotType="manual"):
        s.detail("DB cluster snapshots", snapshot["DBClusterSnapshotIdentifier"])
    for group in s.pages("rds", "describe_db_subnet_groups", "DBSubnetGroups"):
        if group["DBSubnetGroupName"] != "default":
            s.detail("DB subnet groups", group["DBSubnetGroupName"])


def dynamodb(s: Survey) -> None:
    client = s.client("dynamodb")
    for name in s.pages("dynamodb", "list_tables", "TableNames"):
        described = s.read(client.describe_table, TableName=name)
        if described is None:
            continue
        table = described["Table"]
        extras = []
        if table.get("GlobalSecondaryIndexes"):
            extras.append(f"{len(table['GlobalSecondaryIndexes'])} GSI")
        if (table.get("StreamSpecification") or {}).get("StreamEnabled"):
            extras.append("stream")
        mode = (table.get("BillingModeSummary") or {}).get("BillingMode", "PROVISIONED")
        extras.append("on-demand" if mode == "PAY_PER_REQUEST" else "provisioned")
        s.node(f"dynamodb:{name}", "dynamodb", name, noun="table", part=PART, label=f"{name}\n{', '.join(extras)}",
               keys=(table.get("TableArn", ""), table.get("LatestStreamArn", "")))


def s3(s: Survey) -> None:
    for bucket in s.client("s3").list_buckets().get("Buckets", []):
        name = bucket["Name"]
        s.node(f"s3:{name}", "s3", name, noun="bucket", part=PART, keys=(f"arn:aws:s3:::{name}",))
