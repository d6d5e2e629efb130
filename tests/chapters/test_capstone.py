"""The capstone: the request tracer and the load generator (labkit/shop/traffic.py), checked
on a small front door built here with boto3 (a hosted zone, an ALB, a target that answers as
the shop's app does), and on the shop itself; and the lab's plausible wrong answers, each of
which must lose the checks that name its mistake (tests/chapters/wrong_answers/capstone.py).

Cheap on purpose: every test here runs in-process, with the sandbox clock."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest

from labkit.core.httpfront import HttpFront, HttpRequest, HttpResponse
from labkit.shop import traffic


def shop_like_app(published: list[str] | None = None) -> Any:
    """A target that answers as the shop's storefront does (X-Shop-* headers), fails on /boom,
    and publishes an SNS message on POST /orders when given a topic."""
    state: dict[str, Any] = {"topic": None}

    def app(request: HttpRequest) -> HttpResponse:
        if request.path == "/boom":
            return HttpResponse(500, [("Content-Type", "text/plain")], b"boom")
        if request.method == "POST" and request.path == "/orders" and state["topic"]:
            import boto3

            boto3.client("sns", region_name="us-east-1").publish(TopicArn=state["topic"], Message=request.body.decode())
            return HttpResponse(201, [("Content-Type", "application/json")], b'{"order": "o-1"}')
        body = json.dumps({"id": 1, "name": "Harbour Breakfast", "cache": "miss", "instance": "i-0abc"}).encode()
        return HttpResponse(200, [("Content-Type", "application/json"), ("X-Shop-Cache", "miss"),
                                  ("X-Shop-Instance", "i-0abc"), ("X-Shop-Db", "shop-db-2"),
                                  ("X-Shop-Query", "SELECT id, name, price FROM products WHERE id = ?")], body)

    app.state = state  # type: ignore[attr-defined]
    return app


@pytest.fixture()
def front(lab: Any) -> dict[str, Any]:
    """shop.example.com (an alias) -> ALB shop-alb -> target group shop-web -> one app on loopback."""
    ec2, elb, route53 = lab.client("ec2"), lab.client("elbv2"), lab.client("route53")
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    subnets = [s["SubnetId"] for s in ec2.describe_subnets()["Subnets"]][:2]
    app = shop_like_app()
    server = HttpFront(app, name="capstone-test")
    lb = elb.create_load_balancer(Name="shop-alb", Subnets=subnets)["LoadBalancers"][0]
    group = elb.create_target_group(Name="shop-web", Protocol="HTTP", Port=80, VpcId=vpc, TargetType="ip",
                                    HealthCheckIntervalSeconds=10)["TargetGroups"][0]["TargetGroupArn"]
    elb.register_targets(TargetGroupArn=group, Targets=[{"Id": "127.0.0.1", "Port": server.port}])
    listener = elb.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=80,
                                   DefaultActions=[{"Type": "forward", "TargetGroupArn": group}])["Listeners"][0]
    zone = route53.create_hosted_zone(Name="shop.example.com", CallerReference=str(time.time()))["HostedZone"]["Id"]
    route53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": [{
        "Action": "UPSERT", "ResourceRecordSet": {
            "Name": "shop.example.com", "Type": "A",
            "AliasTarget": {"HostedZoneId": lb["CanonicalHostedZoneId"], "DNSName": lb["DNSName"],
                            "EvaluateTargetHealth": True}}}]})
    lab.clock.advance(30)
    return {"lb": lb, "group": group, "listener": listener["ListenerArn"], "server": server, "app": app,
            "elb": elb}


# ---- trace ----------------------------------------------------------------------------------

def test_a_trace_names_every_hop_and_what_it_added(front, lab):
    found = traffic.trace("/products/1")
    assert found.status == 200 and found.body["name"] == "Harbour Breakfast"
    assert found.planes == ["DNS", "load balancer", "backend", "cache", "database"]
    dns = found.hop("DNS")
    assert dns.resource == "hosted zone shop.example.com" and dns.detail["addresses"] == [lab.elb.address("shop-alb")]
    route = found.hop("load balancer").detail
    assert (route["load_balancer"], route["rule"], route["target_group"], route["target"], route["status"]) == \
        ("shop-alb", "default", "shop-web", "127.0.0.1", 200)
    assert route["target_port"] == front["server"].port
    assert found.hop("backend").resource == "i-0abc"
    assert found.hop("cache").detail["cache"] == "miss"
    assert found.hop("database").resource == "shop-db-2" and "FROM products" in found.hop("database").added
    text = str(found)
    assert "default rule" in text and "shop-web" in text
    assert "<table>" in found._repr_html_()


def test_a_trace_names_the_listener_rule_that_matched(front):
    front["elb"].create_rule(ListenerArn=front["listener"], Priority=7,
                             Conditions=[{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/closed*"]}}],
                             Actions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "503"}}])
    found = traffic.trace("http://shop.example.com/closed")
    route = found.hop("load balancer")
    assert found.status == 503 and route.detail["rule"] == 7 and route.detail["action"] == "fixed-response"
    assert "rule 7 (path-pattern /closed*)" in route.added
    assert found.hop("backend") is None  # the load balancer answered itself


def test_a_trace_sees_the_events_a_request_publishes(front, lab):
    topic = lab.client("sns").create_topic(Name="shop-order-placed")["TopicArn"]
    front["app"].state["topic"] = topic
    found = traffic.trace("/orders", method="POST", json={"product": 1})
    assert found.status == 201
    calls = [h for h in found.hops if h.plane == "calls made"]
    assert [(h.resource, h.detail["operation"]) for h in calls] == [("shop-order-placed", "Publish")]


def test_a_name_the_zone_does_not_have_is_traced_to_its_nxdomain(front):
    found = traffic.trace("http://nothing.shop.example.com/")
    assert found.status == 0
    assert found.hop("DNS").detail["rcode"] == "NXDOMAIN"
    assert found.hop("connection") is not None


@pytest.mark.parametrize("url", ["http://example.org/", "https://www.amazon.com/x", "ftp://shop.example.com/",
                                 "not a url"])
def test_trace_and_load_send_nothing_off_the_machine(lab, url):
    with pytest.raises(ValueError):
        traffic.trace(url)
    with pytest.raises(ValueError):
        traffic.load(url, rate=1, seconds=1)


# ---- load -----------------------------------------------------------------------------------

def test_a_load_counts_by_status_and_moves_the_sandbox_clock(front, lab):
    before = lab.clock.now()
    result = traffic.load("/products/1", rate=10, seconds=20, tick=5, paths=["/products/1", "/boom"])
    assert result.sent == 200 and result.by_status == {"200": 100, "500": 100}
    assert result.error_rate == 0.5
    assert result.p50_ms is not None and result.p50_ms <= result.p90_ms <= result.p99_ms
    assert [sum(t.by_status.values()) for t in result.timeline] == [50, 50, 50, 50]
    assert lab.clock.now() - before >= 20
    assert sum(sum(c.values()) for _, c in result.per_minute()) == 200
    assert result.summary()["requests"] == 200


def test_a_fractional_rate_is_kept_over_the_ticks(front):
    assert traffic.load("/products/1", rate=0.5, seconds=10, tick=1).sent == 5


def test_an_action_runs_in_the_middle_of_a_load(front, lab):
    """A target deregistered 10 s into the load: the ALB has no target left and answers 503."""
    elb, group, server = front["elb"], front["group"], front["server"]
    leave = lambda: elb.deregister_targets(TargetGroupArn=group,  # noqa: E731
                                           Targets=[{"Id": "127.0.0.1", "Port": server.port}])
    result = traffic.load("/products/1", rate=2, seconds=20, tick=5, at={10: leave})
    per_tick = [dict(t.by_status) for t in result.timeline]
    assert per_tick[:2] == [{"200": 10}, {"200": 10}]
    assert per_tick[-1] == {"503": 10}


@pytest.mark.parametrize(("kwargs", "words"), [
    ({"rate": 1000, "seconds": 1}, "rate"),
    ({"rate": 0, "seconds": 1}, "rate"),
    ({"rate": 10, "seconds": 7200}, "seconds"),
    ({"rate": 200, "seconds": 3600}, "at most"),
    ({"rate": 1, "seconds": 1, "workers": 100}, "workers"),
    ({"rate": 1, "seconds": 1, "tick": 600}, "tick"),
])
def test_a_load_refuses_what_would_run_away(lab, kwargs, words):
    with pytest.raises(ValueError, match=words):
        traffic.load("/products/1", **kwargs)


def test_a_load_stops_at_its_real_time_budget(front, lab):
    gate = threading.Event()
    original = front["app"]

    def slow(request: HttpRequest) -> HttpResponse:
        gate.wait(0.05)
        return original(request)

    front["server"].handler = slow
    result = traffic.load("/products/1", rate=2, seconds=600, tick=10, max_real_seconds=0.3)
    assert result.stopped_early and result.seconds < 600


def test_the_shop_handle_offers_load_and_trace(lab):
    assert lab.shop.load is traffic.load and lab.shop.trace is traffic.trace


def test_a_real_time_load_paces_its_requests_on_the_real_clock(front):
    started = time.monotonic()
    result = traffic.load("/products/1", rate=8, seconds=0.5, tick=0.5, real_time=True)
    assert result.by_status == {"200": 4} and time.monotonic() - started >= 0.45
