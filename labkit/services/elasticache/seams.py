"""The moto and fakeredis internals the ElastiCache service relies on.

moto keeps a deleted cache cluster or replication group ``deleting`` forever,
so creating the same id again failed with ``CacheClusterAlreadyExists``.
:func:`forget_resource` removes it (and its tags) from moto's backend, as AWS
does once the deletion finishes; :mod:`.deployments` calls it after every
successful delete. ``ModifyCacheCluster`` is missing from moto: :mod:`.control`
answers it and records the new node count and type on moto's stored cluster
(:func:`set_cluster_field`). Nothing in moto is patched.

The Redis and Valkey nodes are fakeredis servers; :mod:`.servers` subclasses
fakeredis's TCP server and handler, wraps each connection's command
processing (read-only replicas) and points fakeredis's clock at the sandbox's.

Every name below is checked when the service is first used
(:func:`labkit.core.seams.install`) and in the service's tests.
"""

from __future__ import annotations

from labkit.core import sandbox
from labkit.core.aws import ACCOUNT_ID
from labkit.core.seams import Seam

SEAMS: tuple[Seam, ...] = (
    # moto: forgetting a deleted resource
    Seam("moto.elasticache.models", "elasticache_backends", None),
    Seam("moto.elasticache.models", "ElastiCacheBackend.cache_clusters", None, instance=True),
    Seam("moto.elasticache.models", "ElastiCacheBackend.replication_groups", None, instance=True),
    Seam("moto.elasticache.models", "ElastiCacheBackend.tagging_service", None, instance=True),
    Seam("moto.elasticache.models", "CacheCluster.arn", None, instance=True),
    Seam("moto.elasticache.models", "ReplicationGroup.arn", None, instance=True),
    Seam("moto.elasticache.models", "CacheCluster.num_cache_nodes", None, instance=True),
    Seam("moto.elasticache.models", "CacheCluster.cache_node_type", None, instance=True),
    Seam("moto.utilities.tagging_service", "TaggingService.delete_all_tags_for_resource", ("self", "arn")),
    # fakeredis: the TCP front of a Redis/Valkey node
    Seam("fakeredis._clients._tcp_server", "TcpFakeServer.__init__",
         ("self", "server_address", "bind_and_activate", "server_type", "server_version")),
    Seam("fakeredis._clients._tcp_server", "TCPFakeRequestHandler.setup", ("self",)),
    Seam("fakeredis._clients._tcp_server", "TCPFakeRequestHandler.handle", ("self",)),
    Seam("fakeredis._clients._tcp_server", "TCPFakeRequestHandler.finish", ("self",)),
    Seam("fakeredis._socket._base", "BaseFakeSocket._process_command", ("self", "fields")),
    Seam("fakeredis._socket._base", "BaseFakeSocket.put_response", ("self", "msg")),
    Seam("fakeredis._socket._base", "time", None),
    Seam("fakeredis._helpers", "SimpleError", None),
)


def forget_resource(region: str, kind: str, resource_id: str, account_id: str | None = None) -> bool:
    """Let moto forget a deleted cache cluster (``kind="cluster"``) or
    replication group (``kind="group"``), and its tags, as AWS does once the
    deletion finishes. True when moto had it."""
    from moto.elasticache.models import elasticache_backends

    if kind not in ("cluster", "group"):
        raise ValueError(f"kind must be 'cluster' or 'group', not {kind!r}")
    if account_id is None:
        account_id = sandbox.current().account_id if sandbox.running() else ACCOUNT_ID
    backend = elasticache_backends[account_id][region]
    store = backend.cache_clusters if kind == "cluster" else backend.replication_groups
    resource = store.pop(resource_id, None)
    if resource is None:
        return False
    backend.tagging_service.delete_all_tags_for_resource(resource.arn)
    return True


#: The attributes of moto's CacheCluster that :func:`set_cluster_field` may set.
CLUSTER_FIELDS = ("num_cache_nodes", "cache_node_type")


def set_cluster_field(region: str, cluster_id: str, name: str, value: object, account_id: str | None = None) -> None:
    """Set one setting of moto's stored cache cluster (what ``ModifyCacheCluster`` changes)."""
    from moto.elasticache.models import elasticache_backends

    if name not in CLUSTER_FIELDS:
        raise ValueError(f"labkit sets only {CLUSTER_FIELDS} on moto's cache clusters, not {name!r}")
    if account_id is None:
        account_id = sandbox.current().account_id if sandbox.running() else ACCOUNT_ID
    cluster = elasticache_backends[account_id][region].cache_clusters[cluster_id]
    if not hasattr(cluster, name):
        raise AttributeError(f"moto's CacheCluster has no {name!r}: update labkit's ElastiCache seams")
    setattr(cluster, name, value)
