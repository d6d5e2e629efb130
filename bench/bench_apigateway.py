"""What does API Gateway's emulated front door cost per request, and does its
throttle hold its configuration? (A benchmark, not a test.)

Prints:

* the median of a direct Lambda invoke of a trivial proxy function, through
  ``lab.lambda_.invoke`` (the runtime alone, no HTTP);
* the median of the same function behind an ``AWS_PROXY`` method, through the
  invoke URL with ``requests`` over verified HTTPS (one kept-alive session),
  and in-process through ``lab.apigateway.invoke`` (the plane without sockets
  or TLS); and each one's ratio to the direct invoke;
* the throttle: a stage configured at ``rate`` requests a second and a burst,
  driven for simulated seconds with the sandbox clock held still, several
  attempts per tick; the measured rate after the burst against the
  configured one (the goal is within 10 %).

The HTTPS figure includes TLS, a thread per connection and the loopback
round trip; the in-process figure is the plane's own cost.

Run: ``.venv/bin/python bench/bench_apigateway.py [rounds]``
"""

from __future__ import annotations

import json
import math
import statistics
import sys
import time
from collections.abc import Callable

import requests

import labkit

PROXY_FUNCTION = ("import json\n"
                  "def handler(event, context):\n"
                  "    return {'statusCode': 200, 'body': json.dumps({'id': event['pathParameters']['id']})}\n")


def medians_ms(calls: dict[str, Callable[[], object]], rounds: int) -> dict[str, float]:
    """Each call's median, the calls alternated round by round so that all see the same machine."""
    for call in calls.values():
        for _ in range(20):  # warm up
            call()
    samples: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(rounds):
        for name, call in calls.items():
            started = time.perf_counter()
            call()
            samples[name].append((time.perf_counter() - started) * 1000)
    return {name: statistics.median(values) for name, values in samples.items()}


def build(lab: object, fn_arn: str) -> tuple[str, str]:
    apigw = lab.client("apigateway")  # type: ignore[attr-defined]
    api = apigw.create_rest_api(name="bench")["id"]
    root = next(r["id"] for r in apigw.get_resources(restApiId=api)["items"] if r["path"] == "/")
    items = apigw.create_resource(restApiId=api, parentId=root, pathPart="items")["id"]
    item = apigw.create_resource(restApiId=api, parentId=items, pathPart="{id}")["id"]
    apigw.put_method(restApiId=api, resourceId=item, httpMethod="GET", authorizationType="NONE")
    apigw.put_integration(restApiId=api, resourceId=item, httpMethod="GET", type="AWS_PROXY",
                          integrationHttpMethod="POST", uri=lab.apigateway.lambda_uri(fn_arn))  # type: ignore[attr-defined]
    apigw.create_deployment(restApiId=api, stageName="prod")
    return api, f"https://{api}.execute-api.us-east-1.amazonaws.com/prod"


def measured_rate(lab: object, api: str, url: str, rate: float, burst: int, seconds: int = 60,
                  ticks_per_second: int = 10) -> float:
    """Requests served per second after the burst, on the frozen sandbox clock, offering
    twice the configured rate."""
    attempts_per_tick = max(1, math.ceil(2 * rate / ticks_per_second))
    apigw = lab.client("apigateway")  # type: ignore[attr-defined]
    apigw.update_stage(restApiId=api, stageName="prod", patchOperations=[
        {"op": "replace", "path": "/*/*/throttling/rateLimit", "value": str(rate)},
        {"op": "replace", "path": "/*/*/throttling/burstLimit", "value": str(burst)}])
    served = 0
    with lab.clock.frozen():  # type: ignore[attr-defined]
        for _ in range(burst + 5):  # spend the burst first
            lab.apigateway.invoke("GET", url + "/items/1")  # type: ignore[attr-defined]
        for _ in range(seconds * ticks_per_second):
            lab.clock.advance(1 / ticks_per_second)  # type: ignore[attr-defined]
            for _ in range(attempts_per_tick):
                served += lab.apigateway.invoke("GET", url + "/items/1").status == 200  # type: ignore[attr-defined]
    return served / seconds


def main(rounds: int = 300) -> None:
    lab = labkit.start(reset=True)
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                      "Principal": {"Service": "lambda.amazonaws.com"}}]}
    role = lab.client("iam").create_role(RoleName="bench", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    fn = lab.client("lambda").create_function(
        FunctionName="items", Runtime="python3.12", Role=role, Handler="app.handler",
        Code={"ZipFile": lab.lambda_.zip_code(PROXY_FUNCTION)})["FunctionArn"]
    api, url = build(lab, fn)
    event = json.dumps({"pathParameters": {"id": "1"}})
    session = requests.Session()
    figures = medians_ms({
        "direct": lambda: lab.lambda_.invoke("items", event),
        "https": lambda: session.get(url + "/items/1", timeout=10),
        "plane": lambda: lab.apigateway.invoke("GET", url + "/items/1"),
    }, rounds)
    direct, https, plane = figures["direct"], figures["https"], figures["plane"]
    print(f"rounds per call: {rounds}")
    print(f"lambda_.invoke (direct, warm)                  median {direct:7.3f} ms")
    print(f"GET invoke URL (requests, HTTPS, keep-alive)   median {https:7.3f} ms   {https / direct:5.2f}x direct")
    print(f"GET through the plane in-process               median {plane:7.3f} ms   {plane / direct:5.2f}x direct")
    for rate, burst in ((10.0, 20), (50.0, 10)):
        got = measured_rate(lab, api, url, rate, burst)
        print(f"throttle rate {rate:5.1f}/s burst {burst:3d}: measured {got:6.2f}/s "
              f"({(got - rate) / rate * 100:+.1f} %; goal within 10 %)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300)
