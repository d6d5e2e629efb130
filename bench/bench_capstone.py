"""The capstone: one request along the whole path, and the time to build the shop. (A benchmark, not a test.)

Prints:

* the time ``lab.shop.build()`` takes to build Harbour Tea up to the last
  chapter in an empty sandbox (every chapter's piece with boto3; instances and
  tasks boot and pass health checks on the sandbox clock), and the time a
  second build takes (idempotent: it only looks);
* the time ``lab.shop.deploy()`` takes to create the same shop from its
  CloudFormation template in an empty sandbox;
* the median time of one product page along the whole path, as a customer's
  browser makes it: a new connection, ``shop.example.com`` resolved from the
  Route 53 zone, the ALB's listener rule, an EC2 instance's app, a cache
  miss, a query to Aurora through the reader endpoint, the cache filled (the
  product's cache entry is deleted before each request, outside the timing);
* the same page when the cache answers (a hit: no database);
* ``lab.shop.trace`` of one page (the request plus asking each plane what it did).

Run: ``.venv/bin/python bench/bench_capstone.py [rounds]``
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable

import boto3
import redis
import requests

import labkit


def timed(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def median_ms(call: Callable[[], object], rounds: int, before: Callable[[], object] | None = None) -> float:
    for _ in range(5):  # warm up
        if before:
            before()
        call()
    samples = []
    for _ in range(rounds):
        if before:
            before()
        samples.append(timed(call) * 1000)
    return statistics.median(samples)


def main(rounds: int = 200) -> None:
    lab = labkit.start(reset=True)
    build = timed(lab.shop.build)
    again = timed(lab.shop.build)
    print(f"the shop built up to the last chapter: {build:.1f} s (a second build: {again:.1f} s)")

    lab = labkit.start(reset=True)
    deploy = timed(lambda: lab.shop.deploy(stack_name="shop"))
    print(f"the same shop deployed from its CloudFormation template: {deploy:.1f} s")

    lab = labkit.start(reset=True)
    shop = lab.shop.build()
    endpoint = boto3.client("ssm", region_name="us-east-1").get_parameter(
        Name="/shop/cache/endpoint")["Parameter"]["Value"]
    host, port = endpoint.rsplit(":", 1)
    cache = redis.Redis(host=host, port=int(port))
    url = shop.url + "/products/3"

    def page() -> None:
        answer = requests.get(url, timeout=10)  # no session: a new connection and a name look-up each time
        assert answer.status_code == 200, answer.status_code

    def forget() -> None:
        cache.delete("product:3")

    assert requests.get(url, timeout=10).headers.get("X-Shop-Cache") in ("hit", "miss")
    forget()
    assert requests.get(url, timeout=10).headers["X-Shop-Cache"] == "miss"
    full = median_ms(page, rounds, before=forget)
    hit = median_ms(page, rounds)
    traced = median_ms(lambda: lab.shop.trace("/products/3"), max(20, rounds // 10))
    print(f"one product page through DNS, the ALB, an instance, a cache miss and Aurora: median {full:.1f} ms "
          f"({rounds} requests)")
    print(f"the same page answered by the cache: median {hit:.1f} ms")
    print(f"lab.shop.trace of one page (cache hit), with every plane asked: median {traced:.1f} ms")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
