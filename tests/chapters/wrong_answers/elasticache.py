"""Wrong answers to the ElastiCache lab."""

from tests.chapters.wrong_answers import Wrong

GET_PRODUCT = '''
def get_product(cache, db, product_id, ttl):
    key = f"product:{product_id}"
    cached = cache.get(key)
    if cached is not None:
        return json.loads(cached)
    product = db.fetch(product_id)
    cache.set(key, json.dumps(product)EXPIRY)
    return product


def choose_ttl(max_stale_seconds):
    return TTL
'''

LEADERBOARD = '''
def create_leaderboard_store(ec, name):
    try:
        ec.create_cache_cluster(CacheClusterId=name, Engine="redis", CacheNodeType="cache.t3.micro", NumCacheNodes=1)
    except ClientError as error:
        if error.response["Error"]["Code"] != "CacheClusterAlreadyExists":
            raise
    ec.get_waiter("cache_cluster_available").wait(CacheClusterId=name)
    node = ec.describe_cache_clusters(CacheClusterId=name, ShowCacheNodeInfo=True)["CacheClusters"][0]["CacheNodes"][0]
    return node["Endpoint"]["Address"], node["Endpoint"]["Port"]


def add_points(endpoint, player, points):
    redis.Redis(host=endpoint[0], port=endpoint[1]).zincrby("leaderboard", points, player)


def top_players(endpoint, n):
    client = redis.Redis(host=endpoint[0], port=endpoint[1], decode_responses=True)
    return client.zrevrange("leaderboard", 0, n - 1, withscores=True)
'''

REPLICATED = '''
def create_leaderboard_store(ec, name):
    try:
        ec.create_replication_group(ReplicationGroupId=name, ReplicationGroupDescription="game leaderboard",
                                    Engine="redis", CacheNodeType="cache.t3.micro", NumCacheClusters=2,
                                    AutomaticFailoverEnabled=True)
    except ClientError as error:
        if error.response["Error"]["Code"] != "ReplicationGroupAlreadyExists":
            raise
    ec.get_waiter("replication_group_available").wait(ReplicationGroupId=name)
    primary = ec.describe_replication_groups(ReplicationGroupId=name)["ReplicationGroups"][0]["NodeGroups"][0]["PrimaryEndpoint"]
    return primary["Address"], primary["Port"]


def add_points(endpoint, player, points):
    redis.Redis(host=endpoint[0], port=endpoint[1]).zincrby("leaderboard", points, player)


def top_players(endpoint, n):
    client = redis.Redis(host=endpoint[0], port=endpoint[1], decode_responses=True)
    return client.zrange("leaderboard", 0, n - 1, withscores=True)  # lowest first
'''

WRONG = [
    Wrong("cache-aside", "stores the entry without a TTL",
          source=GET_PRODUCT.replace("EXPIRY", "").replace("TTL", "int(max_stale_seconds)"),
          loses=("expire within the TTL", "a price the feed changes"), hidden_too=True),
    Wrong("cache-aside", "a fixed TTL of 60 s, which fits the visible bound",
          source=GET_PRODUCT.replace("EXPIRY", ", ex=ttl").replace("TTL", "60"), loses=(), hidden_too=True),
    Wrong("stale", "deletes the cache entry before writing the database",
          source='''
def update_price(cache, db, product_id, new_price):
    cache.delete(f"product:{product_id}")
    db.update_price(product_id, new_price)
''', loses=("the next reads show the new price",), hidden_too=True),
    Wrong("stale", "empties the whole cache on every price change",
          source='''
def update_price(cache, db, product_id, new_price):
    db.update_price(product_id, new_price)
    cache.flushdb()
''', loses=(), hidden_too=True),
    Wrong("leaderboard", "a single Redis node: ranked and atomic, but a failure loses every score",
          source=LEADERBOARD, loses=("no score is lost",), hidden_too=True),
    Wrong("leaderboard", "a replicated group, but the board read lowest first",
          source=REPLICATED, loses=("the top 2, best first",), hidden_too=True),
]
