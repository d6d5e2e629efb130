"""Elastic Load Balancing (labkit.services.elb), driven through plain boto3 and real traffic.

Each test builds load balancers, listeners, rules and target groups with boto3 as
a lab would, starts its targets on 127.0.0.1, and sends requests to the
``DNSName`` that AWS returned. Then: routing by every condition type and by
priority, the actions, weighted and sticky forwarding, health checks on the
sandbox clock, draining, the errors the load balancer makes itself (400, 502,
503, 504), HTTPS, the NLB as a TCP proxy, Lambda and instance targets, metrics,
the seams and the lifecycle.
"""

from __future__ import annotations

import json
import random
import socket
import socketserver
import subprocess
import sys
import threading
from collections import Counter
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError

from labkit.core import hooks, inprocess, platform, seams
from labkit.core.httpfront import HttpFront, HttpRequest, HttpResponse
from labkit.core.loopback import LoopbackServer
from labkit.services import elb as local
from labkit.services.elb import health
from tests.support.lifecycle import assert_nothing_left_running
from tests.support.nosockets import take_sockets_away

# ---- targets on 127.0.0.1 -------------------------------------------------------------

def app_server(name: str, *, health_status: int = 200) -> HttpFront:
    """A target that answers JSON naming itself and echoing what it received;
    ``/health`` answers ``health_status`` (a test may change ``server.health_status``)."""

    def handle(request: HttpRequest) -> HttpResponse:
        if request.path == "/health":
            return HttpResponse.text(front.health_status, "health")
        return HttpResponse.json(200, {"server": name, "path": request.path, "query": request.query,
                                       "method": request.method, "headers": dict(request.headers),
                                       "body": request.body.decode()})

    front = HttpFront(handle, name=f"target-{name}")
    front.health_status = health_status  # type: ignore[attr-defined]
    return front


class _RawHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        behaviour = self.server.owner.behaviour  # type: ignore[attr-defined]
        self.server.owner.track(self.request)  # type: ignore[attr-defined]
        try:
            behaviour(self.request)
        except OSError:
            pass
        finally:
            self.server.owner.untrack(self.request)  # type: ignore[attr-defined]


def raw_server(behaviour: Any) -> LoopbackServer:
    """A TCP server whose every connection is given to ``behaviour(sock)``."""
    server = LoopbackServer(_RawHandler, name="raw-target")
    server.behaviour = behaviour  # type: ignore[attr-defined]
    return server


def hang(sock: socket.socket) -> None:
    sock.recv(65536)
    sock.settimeout(5)
    try:
        sock.recv(1)  # never answers; ends when the client goes away (or after 5 s)
    except OSError:
        pass


def close_at_once(sock: socket.socket) -> None:
    sock.recv(65536)  # reads the request, then closes without a word


def garbage(sock: socket.socket) -> None:
    sock.recv(65536)
    sock.sendall(b"this is not HTTP at all\r\n\r\n")


def echo(sock: socket.socket) -> None:
    while True:
        data = sock.recv(65536)
        if not data:
            return
        sock.sendall(data)


# ---- building blocks ----------------------------------------------------------------------

class Shop:
    """A VPC's subnets and an ELBv2 client, with helpers that make resources with boto3."""

    def __init__(self, lab: Any) -> None:
        self.lab = lab
        self.ec2 = lab.client("ec2")
        self.elb = lab.client("elbv2")
        self.vpc = self.ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
        self.subnets = [s["SubnetId"] for s in self.ec2.describe_subnets()["Subnets"]][:2]

    def balancer(self, name: str = "shop", kind: str = "application") -> dict[str, Any]:
        return self.elb.create_load_balancer(Name=name, Subnets=self.subnets, Type=kind)["LoadBalancers"][0]

    def group(self, name: str, *, protocol: str = "HTTP", target_type: str = "ip", **extra: Any) -> str:
        params: dict[str, Any] = {"Name": name, "TargetType": target_type}
        if target_type != "lambda":
            params.update(Protocol=protocol, Port=80, VpcId=self.vpc)
        params.update(extra)
        return self.elb.create_target_group(**params)["TargetGroups"][0]["TargetGroupArn"]

    def register(self, group_arn: str, *servers: Any) -> None:
        self.elb.register_targets(TargetGroupArn=group_arn,
                                  Targets=[{"Id": "127.0.0.1", "Port": s.port} for s in servers])

    def listener(self, lb: dict[str, Any], default: dict[str, Any], *, port: int = 80, protocol: str = "HTTP") -> str:
        return self.elb.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol=protocol, Port=port,
                                        DefaultActions=[default])["Listeners"][0]["ListenerArn"]

    def rule(self, listener_arn: str, priority: int, conditions: list[dict[str, Any]], action: dict[str, Any]) -> str:
        return self.elb.create_rule(ListenerArn=listener_arn, Priority=priority, Conditions=conditions,
                                    Actions=[action])["Rules"][0]["RuleArn"]

    def health(self, group_arn: str) -> list[tuple[int, str, str | None]]:
        found = self.elb.describe_target_health(TargetGroupArn=group_arn)["TargetHealthDescriptions"]
        return sorted((d["Target"].get("Port", 0), d["TargetHealth"]["State"], d["TargetHealth"].get("Reason"))
                      for d in found)


def forward(group_arn: str) -> dict[str, Any]:
    return {"Type": "forward", "TargetGroupArn": group_arn}


def path(*patterns: str) -> dict[str, Any]:
    return {"Field": "path-pattern", "PathPatternConfig": {"Values": list(patterns)}}


@pytest.fixture()
def shop(lab: Any) -> Shop:
    return Shop(lab)


@pytest.fixture()
def storefront(shop: Shop) -> dict[str, Any]:
    """The shop: ``/`` to the web group, ``/api/*`` to the api group (one target each)."""
    web, api = app_server("web"), app_server("api")
    lb = shop.balancer()
    tg_web, tg_api = shop.group("web"), shop.group("api")
    shop.register(tg_web, web)
    shop.register(tg_api, api)
    listener = shop.listener(lb, forward(tg_web))
    shop.rule(listener, 10, [path("/api/*")], forward(tg_api))
    return {"lb": lb, "listener": listener, "web": tg_web, "api": tg_api, "url": "http://" + lb["DNSName"],
            "servers": (web, api)}


def served_by(response: requests.Response) -> str:
    return response.json()["server"]


# ---- routing ------------------------------------------------------------------------------

def test_the_dns_name_reaches_the_listener_and_path_rules_route(storefront):
    base = storefront["url"]
    assert served_by(requests.get(base + "/", timeout=5)) == "web"
    assert served_by(requests.get(base + "/api/cart", timeout=5)) == "api"
    assert served_by(requests.get(base + "/apiary", timeout=5)) == "web"  # "/api/*" needs the slash


def test_a_traced_request_says_which_rule_and_target_routed_it(storefront):
    """lab.elb.routed: the decision for a request that carried an X-Amzn-Trace-Id header."""
    base = storefront["url"]
    root = "1-00000001-aaaaaaaaaaaaaaaaaaaaaaaa"
    requests.get(base + "/api/cart", headers={"X-Amzn-Trace-Id": f"Root={root}"}, timeout=5)
    route = local.routed(f"Root={root}")
    assert (route["rule"], route["action"], route["target_group"], route["target"], route["status"]) == \
        (10, "forward", "api", "127.0.0.1", 200)
    assert route["target_port"] == storefront["servers"][1].port
    assert route["conditions"][0]["Field"] == "path-pattern"
    requests.get(base + "/", headers={"X-Amzn-Trace-Id": "Root=1-00000002-bbbbbbbbbbbbbbbbbbbbbbbb"}, timeout=5)
    assert local.routed("1-00000002-bbbbbbbbbbbbbbbbbbbbbbbb")["rule"] == "default"
    requests.get(base + "/", timeout=5)  # no header: nothing remembered
    assert local.routed("1-00000003-cccccccccccccccccccccccc") is None
    storefront_lb = storefront["lb"]["LoadBalancerArn"]
    for n in range(300):  # only the latest are kept
        local.handle(storefront_lb, 80, HttpRequest("GET", "/", headers=[("X-Amzn-Trace-Id", f"Root=1-x-{n}")]))
    assert local.routed(root) is None and local.routed("1-x-299")["status"] == 200


def test_the_target_sees_forwarded_headers_and_the_host_untouched(storefront):
    seen = requests.get(storefront["url"] + "/api/cart?x=1", headers={"X-Forwarded-For": "203.0.113.7"},
                        timeout=5).json()
    headers = {k.lower(): v for k, v in seen["headers"].items()}
    assert headers["x-forwarded-for"] == "203.0.113.7, 127.0.0.1"  # appended, as AWS does by default
    assert headers["x-forwarded-proto"] == "http"
    assert headers["x-forwarded-port"] == "80"
    assert headers["x-amzn-trace-id"].startswith("Root=1-")
    assert headers["host"] == storefront["lb"]["DNSName"]
    assert seen["path"] == "/api/cart" and seen["query"] == "x=1"  # the path is not rewritten


def test_rules_are_evaluated_from_the_lowest_priority_number(shop, storefront):
    other = app_server("other")
    tg_other = shop.group("other")
    shop.register(tg_other, other)
    broad = shop.rule(storefront["listener"], 20, [path("/api/*")], forward(tg_other))
    base = storefront["url"]
    assert served_by(requests.get(base + "/api/cart", timeout=5)) == "api"  # priority 10 wins over 20
    rules = shop.elb.describe_rules(ListenerArn=storefront["listener"])["Rules"]
    narrow = next(r["RuleArn"] for r in rules if r["Priority"] == "10")
    shop.elb.set_rule_priorities(RulePriorities=[{"RuleArn": narrow, "Priority": 30},
                                                 {"RuleArn": broad, "Priority": 5}])
    assert served_by(requests.get(base + "/api/cart", timeout=5)) == "other"


@pytest.mark.parametrize(("condition", "matching", "other"), [
    ({"Field": "path-pattern", "PathPatternConfig": {"Values": ["/img/*/pics", "/x?"]}},
     {"path": "/img/a/pics"}, {"path": "/IMG/a/pics"}),  # case-sensitive
    ({"Field": "host-header", "HostHeaderConfig": {"Values": ["*.example.com"]}},
     {"headers": [("Host", "Shop.Example.com:8080")]}, {"headers": [("Host", "example.com")]}),
    ({"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": "User-Agent", "Values": ["*mobile*"]}},
     {"headers": [("user-agent", "Acme MOBILE 1.0")]}, {"headers": [("User-Agent", "desktop")]}),
    ({"Field": "query-string", "QueryStringConfig": {"Values": [{"Key": "version", "Value": "v?"}]}},
     {"query": "a=1&VERSION=V2"}, {"query": "version=v10"}),
    ({"Field": "query-string", "QueryStringConfig": {"Values": [{"Value": "*beta*"}]}},
     {"query": "channel=the-beta-one"}, {"query": "beta"}),
    ({"Field": "http-request-method", "HttpRequestMethodConfig": {"Values": ["POST", "PUT"]}},
     {"method": "PUT"}, {"method": "put"}),  # exact, case-sensitive
    ({"Field": "source-ip", "SourceIpConfig": {"Values": ["192.0.2.0/24", "2001:db8::/32"]}},
     {"client": ("192.0.2.77", 5000)}, {"client": ("127.0.0.1", 5000),
                                         "headers": [("X-Forwarded-For", "192.0.2.77")]}),  # never XFF
])
def test_each_condition_type(shop, storefront, condition, matching, other):
    shop.rule(storefront["listener"], 1, [condition],
              {"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "299", "MessageBody": "matched"}})
    lb_arn = storefront["lb"]["LoadBalancerArn"]

    def status(**fields: Any) -> int:
        request = HttpRequest(method=fields.get("method", "GET"), path=fields.get("path", "/"),
                              query=fields.get("query", ""), headers=fields.get("headers", [("Host", "shop")]),
                              client=fields.get("client", ("127.0.0.1", 5000)))
        return local.handle(lb_arn, 80, request).status

    assert status(**matching) == 299
    assert status(**other) == 200  # the default rule's target answered


def test_all_conditions_of_a_rule_must_hold(shop, storefront):
    shop.rule(storefront["listener"], 1,
              [path("/api/*"), {"Field": "http-request-method", "HttpRequestMethodConfig": {"Values": ["DELETE"]}}],
              {"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "403", "MessageBody": "no"}})
    base = storefront["url"]
    assert requests.delete(base + "/api/cart", timeout=5).status_code == 403
    assert served_by(requests.get(base + "/api/cart", timeout=5)) == "api"
    assert served_by(requests.delete(base + "/", timeout=5)) == "web"


def test_fixed_response_and_redirect_actions(shop, storefront):
    shop.rule(storefront["listener"], 1, [path("/health")],
              {"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "200", "ContentType": "text/plain",
                                                                 "MessageBody": "ok"}})
    shop.rule(storefront["listener"], 2, [path("/old/*")],
              {"Type": "redirect", "RedirectConfig": {"Protocol": "HTTPS", "Port": "443", "Path": "/new/#{path}",
                                                      "StatusCode": "HTTP_301"}})
    base = storefront["url"]
    fixed = requests.get(base + "/health", timeout=5)
    assert (fixed.status_code, fixed.text, fixed.headers["Content-Type"]) == (200, "ok", "text/plain")
    moved = requests.get(base + "/old/shoes?size=42", allow_redirects=False, timeout=5)
    assert moved.status_code == 301
    assert moved.headers["Location"] == f"https://{storefront['lb']['DNSName']}/new/old/shoes?size=42"


def quick_server(name: str) -> LoopbackServer:
    """A keep-alive HTTP target that writes each answer in one piece (fast: for counting many requests)."""
    body = json.dumps({"server": name}).encode()
    answer = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)

    def serve(sock: socket.socket) -> None:
        pending = b""
        while True:
            data = sock.recv(65536)
            if not data:
                return
            pending += data
            while b"\r\n\r\n" in pending:
                _, pending = pending.split(b"\r\n\r\n", 1)
                sock.sendall(answer)

    return raw_server(serve)


def test_weighted_forward_follows_the_weights(shop, storefront):
    main, canary = quick_server("main"), quick_server("canary")
    tg_main, tg_canary = shop.group("main"), shop.group("canary")
    shop.register(tg_main, main)
    shop.register(tg_canary, canary)
    shop.rule(storefront["listener"], 1, [path("/w")],
              {"Type": "forward", "ForwardConfig": {"TargetGroups": [
                  {"TargetGroupArn": tg_main, "Weight": 3},
                  {"TargetGroupArn": tg_canary, "Weight": 1}]}})
    random.seed(7)
    lb_arn = storefront["lb"]["LoadBalancerArn"]
    counts = Counter(json.loads(local.handle(lb_arn, 80, HttpRequest("GET", "/w", headers=[("Host", "shop")])).body)
                     ["server"] for _ in range(400))
    assert 70 <= counts["canary"] <= 130, counts  # a quarter of 400, give or take 3.5 standard deviations
    assert counts["main"] + counts["canary"] == 400
    with requests.Session() as session:  # and through the name, the same routing
        assert {served_by(session.get(storefront["url"] + "/w", timeout=5)) for _ in range(12)} <= {"main", "canary"}


def test_group_stickiness_keeps_a_client_on_its_target_group(shop, storefront):
    canary = app_server("canary")
    tg_canary = shop.group("canary")
    shop.register(tg_canary, canary)
    shop.rule(storefront["listener"], 1, [path("/w")],
              {"Type": "forward", "ForwardConfig": {
                  "TargetGroups": [{"TargetGroupArn": storefront["web"], "Weight": 1},
                                   {"TargetGroupArn": tg_canary, "Weight": 1}],
                  "TargetGroupStickinessConfig": {"Enabled": True, "DurationSeconds": 600}}})
    with requests.Session() as session:
        first = session.get(storefront["url"] + "/w", timeout=5)
        assert "AWSALBTG" in session.cookies
        assert {served_by(session.get(storefront["url"] + "/w", timeout=5)) for _ in range(20)} == {served_by(first)}


def test_target_stickiness_with_the_lb_cookie(shop, storefront):
    second = app_server("web-2")
    shop.register(storefront["web"], second)
    shop.lab.elb.run_health_checks()
    with requests.Session() as plain:
        assert len({served_by(plain.get(storefront["url"] + "/", timeout=5)) for _ in range(6)}) == 2  # round robin
    shop.elb.modify_target_group_attributes(TargetGroupArn=storefront["web"], Attributes=[
        {"Key": "stickiness.enabled", "Value": "true"}, {"Key": "stickiness.type", "Value": "lb_cookie"}])
    with requests.Session() as session:
        first = served_by(session.get(storefront["url"] + "/", timeout=5))
        assert "AWSALB" in session.cookies
        assert {served_by(session.get(storefront["url"] + "/", timeout=5)) for _ in range(10)} == {first}


def test_same_ip_on_two_ports_is_two_targets(shop, storefront):
    shop.register(storefront["web"], app_server("web-2"))
    assert [state for _, state, _ in shop.health(storefront["web"])] == ["healthy", "healthy"]


# ---- health checks ----------------------------------------------------------------------

def test_a_target_group_no_listener_uses_has_unused_targets(shop):
    tg = shop.group("lonely")
    shop.register(tg, app_server("lonely"))
    assert [(s, r) for _, s, r in shop.health(tg)] == [("unused", "Target.NotInUse")]


def test_health_goes_initial_unhealthy_healthy_with_the_clock(lab, shop):
    server = app_server("web", health_status=404)
    lb = shop.balancer()
    tg = shop.group("web", HealthCheckPath="/health", HealthCheckIntervalSeconds=10, HealthyThresholdCount=3,
                    UnhealthyThresholdCount=2)
    shop.register(tg, server)
    shop.listener(lb, forward(tg))
    assert [(s, r) for _, s, r in shop.health(tg)] == [("initial", "Elb.InitialHealthChecking")]  # 1 failure of 2
    lab.clock.advance(10)
    found = shop.elb.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"][0]["TargetHealth"]
    assert found == {"State": "unhealthy", "Reason": "Target.ResponseCodeMismatch",
                     "Description": "Health checks failed with these codes: [404]"}
    server.health_status = 200  # type: ignore[attr-defined]
    lab.clock.advance(20)
    assert [s for _, s, _ in shop.health(tg)] == ["unhealthy"]  # 2 passes of the 3 needed
    lab.clock.advance(10)
    assert [s for _, s, _ in shop.health(tg)] == ["healthy"]


def test_matcher_ranges_and_lists(lab, shop):
    server = app_server("web", health_status=302)
    lb = shop.balancer()
    tg = shop.group("web", HealthCheckPath="/health", Matcher={"HttpCode": "200,300-399"})
    shop.register(tg, server)
    shop.listener(lb, forward(tg))
    assert [s for _, s, _ in shop.health(tg)] == ["healthy"]


def test_timeouts_and_refused_connections_have_their_reasons(lab, shop):
    slow = raw_server(hang)
    gone = app_server("gone")
    gone_port = gone.port
    gone.stop()
    lb = shop.balancer()
    tg = shop.group("web", HealthCheckTimeoutSeconds=2, HealthCheckIntervalSeconds=5)
    shop.elb.register_targets(TargetGroupArn=tg, Targets=[{"Id": "127.0.0.1", "Port": slow.port},
                                                          {"Id": "127.0.0.1", "Port": gone_port}])
    shop.listener(lb, forward(tg))
    lab.clock.advance(5)
    reasons = {port: reason for port, _, reason in shop.health(tg)}
    assert reasons == {slow.port: "Target.Timeout", gone_port: "Target.FailedHealthChecks"}


def test_no_traffic_to_an_unhealthy_target_and_fail_open_when_all_are(lab, shop):
    good, bad = app_server("good"), app_server("bad", health_status=500)
    lb = shop.balancer()
    tg = shop.group("web", HealthCheckPath="/health", HealthCheckIntervalSeconds=5)
    shop.register(tg, good, bad)
    shop.listener(lb, forward(tg))
    lab.clock.advance(5)
    base = "http://" + lb["DNSName"]
    with requests.Session() as session:
        assert {served_by(session.get(base + "/", timeout=5)) for _ in range(10)} == {"good"}
        good.health_status = 500  # type: ignore[attr-defined]
        lab.clock.advance(10)
        assert [s for _, s, _ in shop.health(tg)] == ["unhealthy", "unhealthy"]
        assert {served_by(session.get(base + "/", timeout=5)) for _ in range(10)} == {"good", "bad"}  # fails open


def test_deregistered_targets_drain_then_go(lab, shop, storefront):
    second = app_server("web-2")
    shop.register(storefront["web"], second)
    shop.elb.modify_target_group_attributes(TargetGroupArn=storefront["web"], Attributes=[
        {"Key": "deregistration_delay.timeout_seconds", "Value": "30"}])
    shop.elb.deregister_targets(TargetGroupArn=storefront["web"], Targets=[{"Id": "127.0.0.1", "Port": second.port}])
    assert (second.port, "draining", "Target.DeregistrationInProgress") in shop.health(storefront["web"])
    with requests.Session() as session:
        assert {served_by(session.get(storefront["url"] + "/", timeout=5)) for _ in range(6)} == {"web"}
    lab.clock.advance(31)
    assert [s for _, s, _ in shop.health(storefront["web"])] == ["healthy"]


def test_instance_targets_reach_the_instance_app_and_follow_its_state(lab, shop):
    ec2 = shop.ec2
    instance = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1, InstanceType="t3.micro",
                                 SubnetId=shop.subnets[0])["Instances"][0]
    iid = instance["InstanceId"]
    ec2.get_waiter("instance_running").wait(InstanceIds=[iid])

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [f"{iid} {environ['PATH_INFO']} {environ.get('HTTP_X_FORWARDED_PROTO')}".encode()]

    lab.ec2.serve(iid, app)
    lb = shop.balancer()
    tg = shop.group("fleet", target_type="instance")
    shop.elb.register_targets(TargetGroupArn=tg, Targets=[{"Id": iid}])
    shop.listener(lb, forward(tg))
    assert requests.get("http://" + lb["DNSName"] + "/cart", timeout=5).text == f"{iid} /cart http"
    ec2.stop_instances(InstanceIds=[iid])
    ec2.get_waiter("instance_stopped").wait(InstanceIds=[iid])  # stopping, then stopped, as on AWS
    assert [(s, r) for _, s, r in shop.health(tg)] == [("unused", "Target.InvalidState")]
    assert requests.get("http://" + lb["DNSName"] + "/", timeout=5).status_code == 503
    ec2.start_instances(InstanceIds=[iid])
    ec2.get_waiter("instance_running").wait(InstanceIds=[iid])
    lab.clock.advance(30)  # a health check interval: the restarted target passes its checks again
    assert [s for _, s, _ in shop.health(tg)] == ["healthy"]
    ec2.terminate_instances(InstanceIds=[iid])
    assert [s for _, s, _ in shop.health(tg)] == ["draining"]


# ---- the load balancer's own answers ----------------------------------------------------

def test_503_when_the_target_group_has_no_registered_targets(shop):
    lb = shop.balancer()
    tg = shop.group("empty")
    shop.listener(lb, forward(tg))
    answer = requests.get("http://" + lb["DNSName"] + "/", timeout=5)
    assert answer.status_code == 503 and answer.headers["Server"] == "awselb/2.0"


@pytest.mark.parametrize("behaviour", [close_at_once, garbage])
def test_502_when_the_target_closes_or_answers_garbage(shop, behaviour):
    target = raw_server(behaviour)
    lb = shop.balancer()
    tg = shop.group("web", HealthCheckEnabled=False)  # no health checks: the target still gets traffic
    shop.elb.register_targets(TargetGroupArn=tg, Targets=[{"Id": "127.0.0.1", "Port": target.port}])
    shop.listener(lb, forward(tg))
    assert requests.get("http://" + lb["DNSName"] + "/", timeout=5).status_code == 502


def test_504_after_the_idle_timeout_when_the_target_hangs(shop):
    target = raw_server(hang)
    lb = shop.balancer()
    shop.elb.modify_load_balancer_attributes(LoadBalancerArn=lb["LoadBalancerArn"],
                                             Attributes=[{"Key": "idle_timeout.timeout_seconds", "Value": "1"}])
    tg = shop.group("web", HealthCheckEnabled=False)
    shop.elb.register_targets(TargetGroupArn=tg, Targets=[{"Id": "127.0.0.1", "Port": target.port}])
    shop.listener(lb, forward(tg))
    assert requests.get("http://" + lb["DNSName"] + "/", timeout=10).status_code == 504


def test_garbage_on_the_port_gets_400_and_the_listener_keeps_serving(storefront):
    address = storefront["lb"]["DNSName"]
    with socket.create_connection((address, 80), timeout=5) as raw:
        raw.sendall(b"\x16\x03\x01 nonsense that is not a request\r\n\r\n")
        assert raw.recv(4096).startswith(b"HTTP/1.1 400")
    assert served_by(requests.get(storefront["url"] + "/", timeout=5)) == "web"


def test_a_port_without_a_listener_refuses_the_connection(storefront):
    with pytest.raises(requests.ConnectionError):
        requests.get(storefront["url"] + ":8080/", timeout=5)


def test_https_listener_verifies_with_the_sandbox_authority(shop, storefront):
    shop.listener(storefront["lb"], forward(storefront["web"]), port=443, protocol="HTTPS")
    seen = requests.get("https://" + storefront["lb"]["DNSName"] + "/", timeout=5).json()  # verify=True
    headers = {k.lower(): v for k, v in seen["headers"].items()}
    assert (headers["x-forwarded-proto"], headers["x-forwarded-port"]) == ("https", "443")
    assert local.url(storefront["lb"]["LoadBalancerArn"], "/a", port=443) == \
        f"https://{storefront['lb']['DNSName']}/a"


# ---- Lambda targets -------------------------------------------------------------------------

LAMBDA_TARGET = """
import json

def handler(event, context):
    return {"statusCode": 201, "statusDescription": "201 Created", "isBase64Encoded": False,
            "headers": {"Content-Type": "application/json", "X-From": "lambda"},
            "body": json.dumps(event)}
"""


def test_lambda_target_gets_the_alb_event_and_answers_in_its_format(lab, shop, lambda_role):
    lam = lab.client("lambda")
    fn = lam.create_function(FunctionName="cart", Runtime="python3.12", Role=lambda_role, Handler="app.handler",
                             Code={"ZipFile": lab.lambda_.zip_code(LAMBDA_TARGET)})["FunctionArn"]
    lb = shop.balancer()
    tg = shop.group("cart", target_type="lambda")
    shop.elb.register_targets(TargetGroupArn=tg, Targets=[{"Id": fn}])
    shop.listener(lb, forward(tg))
    answer = requests.post("http://" + lb["DNSName"] + "/api/cart?item=42&item=43", json={"qty": 2}, timeout=10)
    assert answer.status_code == 201 and answer.headers["X-From"] == "lambda"
    event = answer.json()
    assert event["requestContext"] == {"elb": {"targetGroupArn": tg}}
    assert (event["httpMethod"], event["path"], event["isBase64Encoded"]) == ("POST", "/api/cart", False)
    assert event["queryStringParameters"] == {"item": "43"}  # the last value, as AWS sends it
    assert json.loads(event["body"]) == {"qty": 2}
    assert event["headers"]["x-forwarded-port"] == "80" and event["headers"]["host"] == lb["DNSName"]
    assert [s for _, s, _ in shop.health(tg)] == ["unavailable"]  # health checks are off for Lambda by default


def test_a_lambda_target_that_fails_is_a_502(lab, shop, lambda_role):
    lam = lab.client("lambda")
    fn = lam.create_function(FunctionName="broken", Runtime="python3.12", Role=lambda_role, Handler="app.handler",
                             Code={"ZipFile": lab.lambda_.zip_code("def handler(e, c):\n    raise ValueError('x')\n")})
    lb = shop.balancer()
    tg = shop.group("broken", target_type="lambda")
    shop.elb.register_targets(TargetGroupArn=tg, Targets=[{"Id": fn["FunctionArn"]}])
    shop.listener(lb, forward(tg))
    assert requests.get("http://" + lb["DNSName"] + "/", timeout=10).status_code == 502


# ---- Network Load Balancer -----------------------------------------------------------------

def test_nlb_arn_says_net_and_so_do_its_listeners(shop):
    nlb = shop.balancer("tcp-shop", kind="network")
    assert ":loadbalancer/net/tcp-shop/" in nlb["LoadBalancerArn"]
    tg = shop.group("tcp", protocol="TCP")
    listener = shop.listener(nlb, forward(tg), protocol="TCP")
    assert ":listener/net/tcp-shop/" in listener
    assert shop.elb.describe_load_balancers(LoadBalancerArns=[nlb["LoadBalancerArn"]])["LoadBalancers"][0]["Type"] \
        == "network"


def test_nlb_proxies_raw_bytes_and_cannot_route_by_path(shop):
    target = raw_server(echo)
    nlb = shop.balancer("tcp-shop", kind="network")
    tg = shop.group("tcp", protocol="TCP")
    shop.elb.register_targets(TargetGroupArn=tg, Targets=[{"Id": "127.0.0.1", "Port": target.port}])
    shop.listener(nlb, forward(tg), port=7000, protocol="TCP")
    assert [s for _, s, _ in shop.health(tg)] == ["healthy"]  # a TCP health check: the connection opens
    with socket.create_connection((nlb["DNSName"], 7000), timeout=5) as raw:
        raw.sendall(b"\x00\x01 not http \xff")
        assert raw.recv(100) == b"\x00\x01 not http \xff"
    with socket.create_connection((nlb["DNSName"], 7000), timeout=5) as raw:
        raw.sendall(b"GET /api/cart HTTP/1.1\r\nHost: x\r\n\r\n")
        assert raw.recv(100).startswith(b"GET /api/cart")  # no rule read it: the target got the bytes as sent


def test_nlb_sends_proxy_protocol_v2_when_the_group_asks(shop):
    received: list[bytes] = []

    def record(sock: socket.socket) -> None:
        received.append(sock.recv(65536))
        sock.sendall(b"ok")

    target = raw_server(record)
    nlb = shop.balancer("tcp-shop", kind="network")
    tg = shop.group("tcp", protocol="TCP", HealthCheckEnabled=False)
    shop.elb.modify_target_group_attributes(TargetGroupArn=tg, Attributes=[
        {"Key": "proxy_protocol_v2.enabled", "Value": "true"}])
    shop.elb.register_targets(TargetGroupArn=tg, Targets=[{"Id": "127.0.0.1", "Port": target.port}])
    shop.listener(nlb, forward(tg), port=7000, protocol="TCP")
    with socket.create_connection((nlb["DNSName"], 7000), timeout=5) as raw:
        raw.sendall(b"hello")
        assert raw.recv(10) == b"ok"
        client = raw.getsockname()
    assert local.parse_proxy_v2(b"GET / HTTP/1.1\r\n\r\n") is None
    parsed = local.parse_proxy_v2(received[0])
    assert parsed is not None
    source, destination, rest = parsed
    assert source == (client[0], client[1])
    assert destination == (local.address(nlb["LoadBalancerArn"]), 7000)
    assert rest in (b"", b"hello")


def test_nlb_with_no_routable_target_closes_the_connection(shop):
    nlb = shop.balancer("tcp-shop", kind="network")
    tg = shop.group("tcp", protocol="TCP")
    shop.listener(nlb, forward(tg), port=7000, protocol="TCP")
    with socket.create_connection((nlb["DNSName"], 7000), timeout=5) as raw:
        raw.sendall(b"hello")
        try:
            assert raw.recv(10) == b""
        except ConnectionResetError:
            pass


# ---- metrics -------------------------------------------------------------------------------

def metric_sum(cw: Any, name: str, dimensions: list[dict[str, str]]) -> float:
    now = datetime.now(timezone.utc)
    points = cw.get_metric_statistics(Namespace="AWS/ApplicationELB", MetricName=name, Dimensions=dimensions,
                                      StartTime=now - timedelta(minutes=10), EndTime=now + timedelta(minutes=10),
                                      Period=60, Statistics=["Sum"])["Datapoints"]
    return sum(p["Sum"] for p in points)


def test_requests_and_errors_become_application_elb_metrics(lab, shop, storefront):
    broken_server = raw_server(close_at_once)
    tg_broken = shop.group("broken", HealthCheckEnabled=False)
    shop.elb.register_targets(TargetGroupArn=tg_broken, Targets=[{"Id": "127.0.0.1", "Port": broken_server.port}])
    shop.rule(storefront["listener"], 1, [path("/broken")], forward(tg_broken))
    for _ in range(3):
        requests.get(storefront["url"] + "/", timeout=5)
    requests.get(storefront["url"] + "/broken", timeout=5)
    cw = lab.client("cloudwatch")
    lb_dim = [{"Name": "LoadBalancer", "Value": "app/shop/" + storefront["lb"]["LoadBalancerArn"].rsplit("/", 1)[1]}]
    tg_dim = [{"Name": "TargetGroup", "Value": "targetgroup/web/" + storefront["web"].rsplit("/", 1)[1]}, *lb_dim]
    assert metric_sum(cw, "RequestCount", lb_dim) == 3
    assert metric_sum(cw, "HTTPCode_Target_2XX_Count", tg_dim) == 3
    assert metric_sum(cw, "HTTPCode_ELB_5XX_Count", lb_dim) == 1
    assert metric_sum(cw, "HTTPCode_ELB_502_Count", lb_dim) == 1
    assert metric_sum(cw, "TargetResponseTime", tg_dim) > 0
    assert metric_sum(cw, "HealthyHostCount", tg_dim) >= 1
    names = {m["MetricName"] for m in cw.list_metrics(Namespace="AWS/ApplicationELB")["Metrics"]}
    assert {"RequestCount", "HealthyHostCount", "UnHealthyHostCount", "TargetResponseTime"} <= names


def test_target_5xx_are_target_metrics_not_elb_ones(lab, shop):
    def failing(request: HttpRequest) -> HttpResponse:
        return HttpResponse.text(500, "boom")

    target = HttpFront(failing, name="failing")
    lb = shop.balancer()
    tg = shop.group("web", HealthCheckEnabled=False)
    shop.elb.register_targets(TargetGroupArn=tg, Targets=[{"Id": "127.0.0.1", "Port": target.port}])
    shop.listener(lb, forward(tg))
    assert requests.get("http://" + lb["DNSName"] + "/", timeout=5).status_code == 500
    cw = lab.client("cloudwatch")
    lb_dim = [{"Name": "LoadBalancer", "Value": "app/shop/" + lb["LoadBalancerArn"].rsplit("/", 1)[1]}]
    assert metric_sum(cw, "HTTPCode_Target_5XX_Count", lb_dim) == 1
    assert metric_sum(cw, "HTTPCode_ELB_5XX_Count", lb_dim) == 0


def test_metrics_carry_the_sandbox_time_so_an_alarm_sees_them_after_the_clock_moved(lab, shop):
    """A 5XX answered two sandbox hours ahead of real time is counted in that minute, and an alarm on it fires."""
    def failing(request: HttpRequest) -> HttpResponse:
        return HttpResponse.text(500, "boom")

    target = HttpFront(failing, name="failing")
    lb = shop.balancer()
    tg = shop.group("web", HealthCheckEnabled=False)
    shop.elb.register_targets(TargetGroupArn=tg, Targets=[{"Id": "127.0.0.1", "Port": target.port}])
    shop.listener(lb, forward(tg))
    cw = lab.client("cloudwatch")
    lb_dim = [{"Name": "LoadBalancer", "Value": "app/shop/" + lb["LoadBalancerArn"].rsplit("/", 1)[1]}]
    cw.put_metric_alarm(AlarmName="web-5xx", Namespace="AWS/ApplicationELB", MetricName="HTTPCode_Target_5XX_Count",
                        Dimensions=lb_dim, Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=3,
                        ComparisonOperator="GreaterThanOrEqualToThreshold", TreatMissingData="notBreaching")
    lab.clock.advance(7200)
    with lab.clock.frozen():
        for _ in range(4):
            requests.get("http://" + lb["DNSName"] + "/", timeout=5)
        then = datetime.fromtimestamp(lab.clock.now(), timezone.utc)
        lab.clock.advance(60)
    points = cw.get_metric_statistics(Namespace="AWS/ApplicationELB", MetricName="HTTPCode_Target_5XX_Count",
                                      Dimensions=lb_dim, StartTime=then - timedelta(minutes=1),
                                      EndTime=then + timedelta(minutes=1), Period=60, Statistics=["Sum"])["Datapoints"]
    assert sum(p["Sum"] for p in points) == 4
    assert cw.describe_alarms(AlarmNames=["web-5xx"])["MetricAlarms"][0]["StateValue"] == "ALARM"


# ---- seams and lifecycle ---------------------------------------------------------------------

def test_every_seam_is_where_the_service_expects_it(lab):
    lab.elb  # noqa: B018  (installs the service, which checks its seams)
    assert seams.check(local.SEAMS) == []
    assert {s.qualname for s in local.SEAMS if s.patched} == {
        "ELBv2Backend.describe_target_health", "FakeTargetGroup.register", "FakeTargetGroup.deregister",
        "ELBv2Backend.create_load_balancer"}


def test_instance_attributes_named_in_seams_exist_on_real_objects(shop, storefront):
    from moto.elbv2.models import FakeAction, elbv2_backends

    backend = elbv2_backends[shop.lab.account_id][shop.lab.region]
    lb = backend.load_balancers[storefront["lb"]["LoadBalancerArn"]]
    listener = next(iter(lb.listeners.values()))
    rules = list(listener.rules.values())
    objects = {
        "ELBv2Backend": backend,
        "FakeLoadBalancer": lb,
        "FakeListener": listener,
        "FakeListenerRule": next(r for r in rules if not r.is_default),
        "FakeRule": next(r for r in rules if r.is_default),
        "FakeAction": rules[0].actions[0],
        "FakeTargetGroup": backend.target_groups[storefront["web"]],
    }
    assert isinstance(objects["FakeAction"], FakeAction)
    instance_seams = [seam for seam in local.SEAMS if seam.instance]
    assert instance_seams
    for seam in instance_seams:
        owner, attribute = seam.qualname.rsplit(".", 1)
        assert owner in objects, f"add a real {owner} to this test for {seam.path}"
        assert hasattr(objects[owner], attribute), seam.path


def test_deleting_a_listener_or_balancer_stops_its_server(shop, storefront):
    address = storefront["lb"]["DNSName"]
    shop.elb.delete_listener(ListenerArn=storefront["listener"])
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://{address}/", timeout=5)
    shop.elb.delete_load_balancer(LoadBalancerArn=storefront["lb"]["LoadBalancerArn"])
    with pytest.raises(Exception):  # noqa: B017,PT011  (an unknown AWS name: the offline guard refuses it)
        requests.get(f"http://{address}/", timeout=5)


def test_reset_stops_every_server(lab, shop, storefront):
    nlb = shop.balancer("tcp-shop", kind="network")
    shop.listener(nlb, forward(shop.group("tcp", protocol="TCP")), port=7000, protocol="TCP")
    requests.get(storefront["url"] + "/", timeout=5)
    assert len(local.fronts.fronts()) == 2
    lab.reset()
    assert_nothing_left_running()
    assert local.fronts.fronts() == {} and health._RECORDS == {}


def test_importing_the_service_installs_nothing():
    code = ("import labkit.services.elb, labkit.core.hooks as h, labkit.core.loopback as l; "
            "print(sorted({k[1] for k, v in h._SUBSCRIBERS.items() if v}), len(l.live_servers()))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[] 0"


def test_install_subscribes_once(lab):
    lab.elb.install()
    lab.elb.install()
    subscribers = [fn for fn, _ in hooks._SUBSCRIBERS.get(("after", "elbv2", "*"), [])]
    assert subscribers.count(local.after_call) == 1


def test_unknown_target_group_is_still_an_aws_error(shop):
    with pytest.raises(ClientError) as error:
        shop.elb.describe_target_health(
            TargetGroupArn="arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/none/0123456789abcdef")
    assert error.value.response["Error"]["Code"] == "TargetGroupNotFound"


def test_health_checks_never_wait_more_than_the_probe_cap():
    assert local.PROBE_WAIT <= 1.0
    assert threading.active_count() >= 1


# ---- the browser edition: no sockets; targets reached and checked in-process ----------------

@pytest.fixture()
def browser(lab, monkeypatch):
    """Browser mode on, and no socket can connect or bind (as in a browser tab)."""
    monkeypatch.setenv(platform.VARIABLE, "1")
    lab.reset()  # servers started locally by an earlier test come back in-process
    inprocess.install()
    take_sockets_away(monkeypatch)
    yield lab
    monkeypatch.undo()
    lab.reset()


def test_in_the_browser_the_alb_checks_and_reaches_its_targets_in_process(browser, shop):
    good, bad = app_server("good"), app_server("bad", health_status=500)
    assert good._server.in_process
    gone = app_server("gone")
    gone_port = gone.port
    gone.stop()
    lb = shop.balancer()
    tg = shop.group("web", HealthCheckPath="/health", HealthCheckIntervalSeconds=5)
    shop.elb.register_targets(TargetGroupArn=tg, Targets=[{"Id": "127.0.0.1", "Port": port}
                                                          for port in (good.port, bad.port, gone_port)])
    listener = shop.listener(lb, forward(tg))
    browser.clock.advance(5)
    assert {port: (state, reason) for port, state, reason in shop.health(tg)} == {
        good.port: ("healthy", None), bad.port: ("unhealthy", "Target.ResponseCodeMismatch"),
        gone_port: ("unhealthy", "Target.FailedHealthChecks")}
    base = "http://" + lb["DNSName"]
    answers = [requests.post(base + "/cart?n=1", data=b"mug", timeout=5) for _ in range(6)]
    assert {served_by(answer) for answer in answers} == {"good"}  # only the healthy target
    seen = answers[0].json()
    assert (seen["path"], seen["query"], seen["method"], seen["body"]) == ("/cart", "n=1", "POST", "mug")
    assert seen["headers"]["X-Forwarded-Proto"] == "http" and seen["headers"]["Host"] == lb["DNSName"]
    lonely = shop.group("lonely", HealthCheckIntervalSeconds=5)  # its only target is gone: fails open, then 502
    shop.elb.register_targets(TargetGroupArn=lonely, Targets=[{"Id": "127.0.0.1", "Port": gone_port}])
    shop.rule(listener, 10, [path("/lonely")], forward(lonely))
    browser.clock.advance(10)
    assert requests.get(base + "/lonely", timeout=5).status_code == 502


def test_in_the_browser_a_tcp_health_check_passes_where_an_in_process_server_is(browser, shop):
    up = app_server("up")
    down = app_server("down")
    down_port = down.port
    down.stop()
    nlb = shop.balancer("tcp-shop", kind="network")
    tg = shop.group("tcp", protocol="TCP")
    shop.elb.register_targets(TargetGroupArn=tg, Targets=[{"Id": "127.0.0.1", "Port": up.port},
                                                          {"Id": "127.0.0.1", "Port": down_port}])
    shop.listener(nlb, forward(tg), port=7000, protocol="TCP")
    browser.clock.advance(30)
    states = {port: state for port, state, _ in shop.health(tg)}
    assert states == {up.port: "healthy", down_port: "unhealthy"}
