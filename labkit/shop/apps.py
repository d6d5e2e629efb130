"""The shop's two web apps: the storefront on EC2 and the cart on ECS.

Both walk the data path the book teaches: ``GET /products/<id>`` reads the
cache (Valkey, at the replication group's primary endpoint) and, on a miss,
the database (Aurora, through the cluster's reader endpoint, as the RDS
chapter does), then fills the cache. Before the cache exists the answer says
``"cache": "none"``; before the database exists it comes from a small
catalogue in the app's memory (``"source": "memory"``).

Where the cache and the database are is configuration, not code: the apps
read the SSM parameters under ``/shop/`` (:func:`config`), which the
elasticache and rds chapters write (on AWS an app would read them with its
instance or task role; here labkit's own client reads them, so that a busy
shop does not fill the learner's CloudTrail trail).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from typing import Any

from labkit.core import aws

from . import model

#: The teas the shop sells (the table ``products`` is seeded with them).
TEAS: tuple[tuple[int, str, float], ...] = (
    (1, "Harbour Breakfast", 6.50),
    (2, "Sencha Tide", 9.00),
    (3, "Lighthouse Earl Grey", 7.25),
    (4, "Smoked Lapsang", 8.75),
    (5, "Mint Mooring", 5.50),
)
CACHE_TTL = 300  # seconds a product stays in the cache

_REDIS: dict[tuple[str, int], Any] = {}
_LOCK = threading.Lock()


_CONFIG: dict[str, str] | None = None  # read once, read again after any change to an SSM parameter


def config() -> dict[str, str]:
    """The shop's configuration, from the SSM parameters under ``/shop/``
    (``cache/endpoint``, ``db/endpoint``, ``db/reader``, ``db/user``, ``db/password``).

    The apps keep what they read until a parameter changes (:func:`forget_config`,
    called after every ``PutParameter`` and ``DeleteParameter(s)``), as an app
    that reloads its configuration when told to would."""
    global _CONFIG
    cached = _CONFIG
    if cached is not None:
        return cached
    ssm = aws.internal_client("ssm", model.REGION)
    found: dict[str, str] = {}
    for page in ssm.get_paginator("get_parameters_by_path").paginate(Path=model.PARAMETERS, Recursive=True,
                                                                      WithDecryption=True):
        for parameter in page["Parameters"]:
            found[parameter["Name"][len(model.PARAMETERS):]] = parameter["Value"]
    _CONFIG = found
    return found


def forget_config(*_: Any) -> None:
    """The next request reads the SSM parameters again."""
    global _CONFIG
    _CONFIG = None


def follow_parameters() -> None:
    """Forget the configuration whenever an SSM parameter is written or deleted (``install()``)."""
    from labkit.core import hooks

    for operation in ("PutParameter", "DeleteParameter", "DeleteParameters", "LabelParameterVersion"):
        hooks.subscribe("after", "ssm", operation, forget_config)


def _cache(settings: dict[str, str]) -> Any:
    endpoint = settings.get("cache/endpoint")
    if not endpoint:
        return None
    import redis

    host, port = endpoint.rsplit(":", 1)
    key = (host, int(port))
    with _LOCK:
        client = _REDIS.get(key)
        if client is None:
            client = _REDIS[key] = redis.Redis(host=host, port=int(port), decode_responses=True,
                                               socket_timeout=2, socket_connect_timeout=2)
    return client


def _query(settings: dict[str, str], sql: str, parameters: tuple[Any, ...] = ()) -> list[tuple[Any, ...]] | None:
    """Rows from the shop's database, or ``None`` when there is no database yet."""
    endpoint = settings.get("db/reader") or settings.get("db/endpoint")
    if not endpoint:
        return None
    from labkit.services import rds

    host, port = endpoint.rsplit(":", 1)
    connection = rds.connect(host, int(port), user=settings.get("db/user"), password=settings.get("db/password"),
                             dbname=model.DB_NAME)
    try:
        return connection.execute(sql, parameters).fetchall()
    finally:
        connection.close()


def product(product_id: int) -> dict[str, Any] | None:
    """One product, by the cache-aside path: cache, then database, then fill the cache."""
    settings = config()
    cache = _cache(settings)
    key = f"product:{product_id}"
    if cache is not None:
        cached = cache.get(key)
        if cached is not None:
            return {**json.loads(cached), "cache": "hit"}
    rows = _query(settings, "SELECT id, name, price FROM products WHERE id = ?", (product_id,))
    if rows is None:
        found = [tea for tea in TEAS if tea[0] == product_id]
        source = "memory"
    else:
        found, source = rows, "database"
    if not found:
        return None
    item = {"id": found[0][0], "name": found[0][1], "price": float(found[0][2]), "source": source}
    if cache is not None:
        cache.set(key, json.dumps(item), ex=CACHE_TTL)
    return {**item, "cache": "miss" if cache is not None else "none"}


def products() -> list[dict[str, Any]]:
    """The catalogue (never cached: a list page is cheap to build and changes with stock)."""
    rows = _query(config(), "SELECT id, name, price FROM products ORDER BY id")
    source = "memory" if rows is None else "database"
    return [{"id": r[0], "name": r[1], "price": float(r[2]), "source": source} for r in (rows or TEAS)]


def _json(start_response: Callable[..., Any], status: str, body: Any, headers: list[tuple[str, str]]) -> Iterable[bytes]:
    data = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data))), *headers])
    return [data]


def _product_page(path: str, who: tuple[str, str], start_response: Callable[..., Any]) -> Iterable[bytes]:
    label, value = who
    wanted = path.rsplit("/", 1)[1]
    if not wanted.isdigit():
        return _json(start_response, "400 Bad Request", {"message": f"a product id is a number, not {wanted!r}"}, [])
    item = product(int(wanted))
    if item is None:
        return _json(start_response, "404 Not Found", {"message": f"no product {wanted}"}, [])
    item[label] = value
    headers = [("X-Shop-Cache", item["cache"]), (f"X-Shop-{label.capitalize()}", value)]
    return _json(start_response, "200 OK", item, headers)


def web(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """The storefront (``shop-web`` on every EC2 instance of the Auto Scaling group).

    ``/health`` 200; ``/products`` the catalogue; ``/products/<id>`` one product
    by the cache-aside path, with ``X-Shop-Cache`` and ``X-Shop-Instance``.
    """
    from labkit.services import ec2

    path = environ["PATH_INFO"]
    instance = ec2.current_instance() or "unknown"
    if path == "/health":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]
    if path in ("/", "/products"):
        return _json(start_response, "200 OK", {"products": products(), "instance": instance},
                     [("X-Shop-Instance", instance)])
    if path.startswith("/products/"):
        return _product_page(path, ("instance", instance), start_response)
    return _json(start_response, "404 Not Found", {"message": f"no page {path}"}, [("X-Shop-Instance", instance)])


_CARTS: dict[str, dict[str, int]] = {}  # carts kept in memory before the cache exists


def cart(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """The cart service (``shop-cart`` tasks on ECS, behind the listener rule ``/cart*``).

    ``GET /cart/<cart id>`` the cart, each item read by the same cache-aside
    path; ``POST /cart/<cart id>`` with ``{"product": id, "quantity": n}`` adds
    to it. Carts live in the cache (a hash per cart) once it exists.
    """
    path, method = environ["PATH_INFO"], environ["REQUEST_METHOD"]
    task = environ.get("SERVER_NAME", "unknown")
    if path in ("/health", "/cart/health"):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]
    if path.startswith("/cart/products/"):
        return _product_page(path, ("task", task), start_response)
    parts = path.strip("/").split("/")
    if len(parts) != 2 or parts[0] != "cart" or not parts[1]:
        return _json(start_response, "404 Not Found", {"message": "use /cart/<cart id>"}, [])
    cart_id = parts[1]
    cache = _cache(config())
    if method == "POST":
        try:
            size = int(environ.get("CONTENT_LENGTH") or 0)
            wanted = json.loads(environ["wsgi.input"].read(size) or b"{}")
            product_id, quantity = int(wanted["product"]), int(wanted.get("quantity", 1))
        except (ValueError, KeyError, TypeError):
            return _json(start_response, "400 Bad Request", {"message": 'send {"product": <id>, "quantity": <n>}'}, [])
        if cache is not None:
            cache.hincrby(f"cart:{cart_id}", str(product_id), quantity)
        else:
            with _LOCK:
                items = _CARTS.setdefault(cart_id, {})
                items[str(product_id)] = items.get(str(product_id), 0) + quantity
    if cache is not None:
        items = {k: int(v) for k, v in cache.hgetall(f"cart:{cart_id}").items()}
    else:
        items = dict(_CARTS.get(cart_id, {}))
    lines = [{**(product(int(k)) or {"id": int(k)}), "quantity": n} for k, n in sorted(items.items())]
    return _json(start_response, "201 Created" if method == "POST" else "200 OK",
                 {"cart": cart_id, "items": lines, "task": task}, [("X-Shop-Task", task)])


def cart_start(environment: dict[str, str]) -> Callable[..., Iterable[bytes]]:
    """What the ``shop-cart`` image runs when a container starts."""
    return cart


def reset() -> None:
    """Forget the apps' clients and the in-memory carts (``lab.reset()``)."""
    forget_config()
    with _LOCK:
        for client in _REDIS.values():
            try:
                client.close()
            except Exception:  # noqa: BLE001  (a closed server: nothing to release)
                pass
        _REDIS.clear()
        _CARTS.clear()
