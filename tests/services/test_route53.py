"""Route 53: answers from the hosted zones, over a real name server and in
process; routing policies; health checks that probe; its seams; its lifecycle."""

from __future__ import annotations

import socket
import struct
import threading
from collections import Counter

import dns.edns
import dns.exception
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.resolver
import pytest
import requests

from labkit.core import inprocess, loopback, names, platform, seams
from labkit.core.httpfront import HttpFront, HttpResponse
from labkit.core.platform import BrowserGap
from labkit.services import route53 as local
from labkit.services.route53 import browser as route53_browser
from labkit.services.route53 import healthchecks as health_module
from labkit.services.route53 import server as server_module
from tests.support.nosockets import take_sockets_away

REGION = "us-east-1"


# ---- helpers -----------------------------------------------------------------------

@pytest.fixture()
def r53(lab):
    return lab.client("route53", region_name=REGION)


@pytest.fixture()
def zone(r53):
    """The shop's public hosted zone: its id."""
    return r53.create_hosted_zone(Name="example.com", CallerReference="shop-zone")["HostedZone"]["Id"]


def upsert(r53, zone_id, *record_sets):
    r53.change_resource_record_sets(
        HostedZoneId=zone_id,
        ChangeBatch={"Changes": [{"Action": "UPSERT", "ResourceRecordSet": rs} for rs in record_sets]})


def a_record(name, *values, ttl=300, **extra):
    return {"Name": name, "Type": "A", "TTL": ttl, "ResourceRecords": [{"Value": v} for v in values], **extra}


def web(text="ok", status=200):
    """An HTTP server on loopback answering every path with ``text`` (``/health``
    with ``status``), stopped by lab.reset()."""
    def handler(request):
        if request.path == "/health":
            return HttpResponse.text(status, "healthy" if status < 400 else "broken")
        if request.path != "/":
            return HttpResponse.text(404, "no such page")
        return HttpResponse.text(200, f"{text} host={request.host}")
    return HttpFront(handler, name="route53-test-web")


def health_check(r53, port, *, kind="HTTP", path="/health", interval=10, threshold=3, **extra):
    config = {"Type": kind, "IPAddress": "127.0.0.1", "Port": port, "RequestInterval": interval,
              "FailureThreshold": threshold, **extra}
    if path is not None and kind != "TCP":
        config["ResourcePath"] = path
    return r53.create_health_check(CallerReference=f"hc-{port}-{kind}-{path}-{len(extra)}",
                                   HealthCheckConfig=config)["HealthCheck"]["Id"]


def dig(lab, name, rtype="A", **kwargs):
    """A query to the name server over UDP: the dnspython reply."""
    host, port = lab.route53.nameserver
    return dns.query.udp(dns.message.make_query(name, rtype, **kwargs), host, port=port, timeout=2)


# ---- simple answers, over the wire and in process ----------------------------------

def test_a_record_answers_over_udp_and_tcp_with_its_ttl(lab, r53, zone):
    upsert(r53, zone, a_record("shop.example.com", "192.0.2.10", ttl=120))
    resolver = lab.route53.dns_resolver()
    answer = resolver.resolve("shop.example.com", "A")
    assert [r.address for r in answer] == ["192.0.2.10"]
    assert answer.rrset.ttl == 120
    assert answer.response.flags & dns.flags.AA  # Route 53 answers authoritatively

    host, port = lab.route53.nameserver
    reply = dns.query.tcp(dns.message.make_query("shop.example.com", "A"), host, port=port, timeout=2)
    assert reply.rcode() == dns.rcode.NOERROR
    assert [rd.address for rd in reply.answer[0]] == ["192.0.2.10"]
    assert lab.route53.query("shop.example.com").addresses == ["192.0.2.10"]


def test_record_types_and_names_are_case_insensitive(lab, r53, zone):
    upsert(r53, zone,
           {"Name": "example.com", "Type": "MX", "TTL": 300, "ResourceRecords": [{"Value": "10 mail.example.com"}]},
           {"Name": "example.com", "Type": "TXT", "TTL": 300, "ResourceRecords": [{"Value": '"v=spf1 -all"'}]},
           {"Name": "Shop.example.com", "Type": "AAAA", "TTL": 60, "ResourceRecords": [{"Value": "2001:db8::10"}]})
    resolver = lab.route53.dns_resolver()
    assert [str(r.exchange) for r in resolver.resolve("example.com", "MX")] == ["mail.example.com."]
    assert [r.strings for r in resolver.resolve("example.com", "TXT")] == [(b"v=spf1 -all",)]
    assert [r.address for r in resolver.resolve("SHOP.example.COM", "AAAA")] == ["2001:db8::10"]
    # the zone's own SOA and NS records answer too
    assert resolver.resolve("example.com", "SOA")[0].minimum == 86400
    assert len(resolver.resolve("example.com", "NS")) == 4


def test_nxdomain_and_nodata_carry_the_soa_in_authority(lab, r53, zone):
    upsert(r53, zone, a_record("shop.example.com", "192.0.2.10"))
    missing = dig(lab, "nothing.example.com")
    assert missing.rcode() == dns.rcode.NXDOMAIN
    assert missing.answer == []
    assert [dns.rdatatype.to_text(r.rdtype) for r in missing.authority] == ["SOA"]
    assert missing.authority[0].ttl == 900  # the lesser of the SOA's TTL (900) and its minimum (86400)

    empty = dig(lab, "shop.example.com", "AAAA")  # the name exists, not this type
    assert empty.rcode() == dns.rcode.NOERROR
    assert empty.answer == []
    assert [dns.rdatatype.to_text(r.rdtype) for r in empty.authority] == ["SOA"]

    resolver = lab.route53.dns_resolver()
    with pytest.raises(dns.resolver.NXDOMAIN):
        resolver.resolve("nothing.example.com", "A")
    with pytest.raises(dns.resolver.NoAnswer):
        resolver.resolve("shop.example.com", "AAAA")
    assert lab.route53.query("nothing.example.com").rcode == "NXDOMAIN"
    assert lab.route53.query("shop.example.com", "AAAA").nodata


def test_a_name_in_no_hosted_zone_is_refused(lab, zone):
    reply = dig(lab, "shop.example.org")
    assert reply.rcode() == dns.rcode.REFUSED
    assert not reply.flags & dns.flags.AA
    assert lab.route53.query("shop.example.org").rcode == "REFUSED"


def test_cname_chains_are_followed_and_each_step_keeps_its_ttl(lab, r53, zone):
    upsert(r53, zone, a_record("origin.example.com", "192.0.2.20", ttl=300),
           {"Name": "www.example.com", "Type": "CNAME", "TTL": 120, "ResourceRecords": [{"Value": "cdn.example.com"}]},
           {"Name": "cdn.example.com", "Type": "CNAME", "TTL": 60, "ResourceRecords": [{"Value": "origin.example.com"}]})
    reply = dig(lab, "www.example.com")
    chain = [(str(r.name), dns.rdatatype.to_text(r.rdtype), r.ttl) for r in reply.answer]
    assert chain == [("www.example.com.", "CNAME", 120), ("cdn.example.com.", "CNAME", 60),
                     ("origin.example.com.", "A", 300)]
    assert lab.route53.query("www.example.com").ttl == 60  # a resolver caches the chain for its smallest TTL


def test_a_cname_loop_is_a_server_failure(lab, r53, zone):
    upsert(r53, zone,
           {"Name": "a.example.com", "Type": "CNAME", "TTL": 60, "ResourceRecords": [{"Value": "b.example.com"}]},
           {"Name": "b.example.com", "Type": "CNAME", "TTL": 60, "ResourceRecords": [{"Value": "a.example.com"}]})
    assert lab.route53.query("a.example.com").rcode == "SERVFAIL"
    assert dig(lab, "a.example.com").rcode() == dns.rcode.SERVFAIL


def test_wildcard_records_cover_names_that_do_not_exist_but_not_existing_ones(lab, r53, zone):
    upsert(r53, zone, a_record("*.example.com", "192.0.2.30"), a_record("www.example.com", "192.0.2.31"))
    assert lab.route53.query("anything.example.com").addresses == ["192.0.2.30"]
    reply = dig(lab, "anything.example.com")
    assert str(reply.answer[0].name) == "anything.example.com."  # the answer is for the name asked
    assert lab.route53.query("www.example.com").addresses == ["192.0.2.31"]
    assert lab.route53.query("deep.www.example.com").rcode == "NXDOMAIN"  # www exists: no wildcard below it


def test_large_answers_are_truncated_over_udp_and_complete_over_tcp(lab, r53, zone):
    values = [f"192.0.2.{i}" for i in range(1, 60)]
    upsert(r53, zone, a_record("many.example.com", *values))
    reply = dig(lab, "many.example.com")  # no EDNS: 512 bytes at most
    assert reply.flags & dns.flags.TC
    answer = lab.route53.dns_resolver().resolve("many.example.com", "A")  # dnspython retries over TCP
    assert sorted(r.address for r in answer) == sorted(values)


# ---- alias records -----------------------------------------------------------------

def test_alias_at_the_apex_answers_with_the_target_values_and_ttl(lab, r53, zone):
    upsert(r53, zone, a_record("www.example.com", "192.0.2.40", ttl=42),
           {"Name": "example.com", "Type": "A",
            "AliasTarget": {"HostedZoneId": zone, "DNSName": "www.example.com", "EvaluateTargetHealth": False}})
    reply = dig(lab, "example.com")
    assert [(str(r.name), dns.rdatatype.to_text(r.rdtype), r.ttl) for r in reply.answer] == [("example.com.", "A", 42)]
    assert [rd.address for rd in reply.answer[0]] == ["192.0.2.40"]  # an A record, not a CNAME


@pytest.fixture()
def fake_load_balancer(lab):
    """A name claimed the way the load balancer service claims its DNS names:
    a virtual address bound to a loopback web server."""
    front = web("from the load balancer")
    address = names.allocate_address("test-lb")
    names.bind(address, 80, front.port)
    dns_name = "shop-alb-123456789.us-east-1.elb.amazonaws.com"
    state = {"up": True}
    names.claim("test-lb", lambda host: ([address] if state["up"] else []) if host == dns_name else None)
    yield dns_name, address, state
    names.unclaim("test-lb")


def test_alias_to_a_load_balancer_resolves_its_name_with_a_60_second_ttl(lab, r53, zone, fake_load_balancer):
    dns_name, address, _state = fake_load_balancer
    upsert(r53, zone, {"Name": "shop.example.com", "Type": "A",
                       "AliasTarget": {"HostedZoneId": "Z35SXDOTRQ7X7K", "DNSName": dns_name,
                                       "EvaluateTargetHealth": True}})
    reply = dig(lab, "shop.example.com")
    assert [rd.address for rd in reply.answer[0]] == [address]
    assert reply.answer[0].ttl == local.ALIAS_RESOURCE_TTL == 60
    # requests reaches the load balancer's server through the record name, Host header intact
    response = requests.get("http://shop.example.com/", timeout=5)
    assert response.text == "from the load balancer host=shop.example.com"


def test_cname_to_a_load_balancer_name_resolves_in_process(lab, r53, zone, fake_load_balancer):
    dns_name, address, _state = fake_load_balancer
    upsert(r53, zone, {"Name": "www.example.com", "Type": "CNAME", "TTL": 300, "ResourceRecords": [{"Value": dns_name}]})
    assert names.resolve("www.example.com") == [address]
    assert requests.get("http://www.example.com/", timeout=5).text.startswith("from the load balancer")
    # over the wire, the name server answers the CNAME only: the load balancer's name is not in its zones
    reply = dig(lab, "www.example.com")
    assert [dns.rdatatype.to_text(r.rdtype) for r in reply.answer] == ["CNAME"]


def test_evaluate_target_health_fails_over_from_an_alias_whose_target_has_no_address(
        lab, r53, zone, fake_load_balancer):
    dns_name, address, state = fake_load_balancer
    upsert(r53, zone,
           {"Name": "shop.example.com", "Type": "A", "SetIdentifier": "primary", "Failover": "PRIMARY",
            "AliasTarget": {"HostedZoneId": "Z35SXDOTRQ7X7K", "DNSName": dns_name, "EvaluateTargetHealth": True}},
           a_record("shop.example.com", "192.0.2.99", ttl=60, SetIdentifier="secondary", Failover="SECONDARY"))
    assert lab.route53.query("shop.example.com").addresses == [address]
    state["up"] = False
    assert lab.route53.query("shop.example.com").addresses == ["192.0.2.99"]


# ---- in-process resolution -----------------------------------------------------------

def test_requests_reaches_a_loopback_server_through_a_record_name(lab, r53, zone):
    front = web("shop home")
    upsert(r53, zone, a_record("shop.example.com", "127.0.0.1"),
           {"Name": "www.example.com", "Type": "CNAME", "TTL": 60, "ResourceRecords": [{"Value": "shop.example.com"}]})
    response = requests.get(f"http://www.example.com:{front.port}/", timeout=5)
    assert response.text == "shop home host=www.example.com"
    assert socket.getaddrinfo("shop.example.com", 80)[0][4] == ("127.0.0.1", 80)


def test_a_name_without_address_in_a_zone_is_not_sent_anywhere(lab, r53, zone):
    upsert(r53, zone, a_record("shop.example.com", "127.0.0.1"))
    assert names.resolve("missing.example.com") == []  # the zone's name: no address
    with pytest.raises(requests.ConnectionError):
        requests.get("http://missing.example.com/", timeout=5)
    assert names.resolve("shop.example.org") is None  # not a zone of the sandbox: left to the system


# ---- weighted ------------------------------------------------------------------------

def weighted(name, identifier, weight, value, **extra):
    return a_record(name, value, ttl=60, SetIdentifier=identifier, Weight=weight, **extra)


def test_weighted_answers_hold_the_configured_ratio(lab, r53, zone):
    upsert(r53, zone, weighted("api.example.com", "blue", 90, "192.0.2.1"),
           weighted("api.example.com", "green", 10, "192.0.2.2"))
    lab.route53.seed(7)
    counts = Counter(lab.route53.query("api.example.com").addresses[0] for _ in range(2000))
    assert counts["192.0.2.2"] / 2000 == pytest.approx(0.10, abs=0.02)
    assert counts["192.0.2.1"] + counts["192.0.2.2"] == 2000


def test_weighted_answers_over_the_wire_follow_the_ratio_too(lab, r53, zone):
    upsert(r53, zone, weighted("api.example.com", "blue", 3, "192.0.2.1"),
           weighted("api.example.com", "green", 1, "192.0.2.2"))
    lab.route53.seed(11)
    resolver = lab.route53.dns_resolver()
    counts = Counter(resolver.resolve("api.example.com", "A")[0].address for _ in range(400))
    assert counts["192.0.2.2"] / 400 == pytest.approx(0.25, abs=0.06)


def test_seeded_answers_repeat(lab, r53, zone):
    upsert(r53, zone, weighted("api.example.com", "blue", 1, "192.0.2.1"),
           weighted("api.example.com", "green", 1, "192.0.2.2"))
    lab.route53.seed(3)
    first = [lab.route53.query("api.example.com").addresses[0] for _ in range(50)]
    lab.route53.seed(3)
    assert [lab.route53.query("api.example.com").addresses[0] for _ in range(50)] == first
    assert len(set(first)) == 2


def test_weight_zero_is_answered_only_when_every_positive_weight_is_unhealthy(lab, r53, zone):
    front = web()
    dead = web()
    dead_port = dead.port
    dead.stop()
    live_check = health_check(r53, front.port, threshold=1)
    dead_check = health_check(r53, dead_port, threshold=1)
    upsert(r53, zone, weighted("api.example.com", "main", 5, "192.0.2.1", HealthCheckId=live_check),
           weighted("api.example.com", "standby", 0, "192.0.2.9"))
    assert {lab.route53.query("api.example.com").addresses[0] for _ in range(200)} == {"192.0.2.1"}
    upsert(r53, zone, weighted("api.example.com", "main", 5, "192.0.2.1", HealthCheckId=dead_check))
    assert {lab.route53.query("api.example.com").addresses[0] for _ in range(50)} == {"192.0.2.9"}


def test_all_weights_zero_share_the_answers_equally(lab, r53, zone):
    upsert(r53, zone, weighted("api.example.com", "a", 0, "192.0.2.1"), weighted("api.example.com", "b", 0, "192.0.2.2"))
    lab.route53.seed(5)
    counts = Counter(lab.route53.query("api.example.com").addresses[0] for _ in range(1000))
    assert counts["192.0.2.1"] / 1000 == pytest.approx(0.5, abs=0.06)


# ---- health checks and failover -------------------------------------------------------

def test_failover_flips_after_the_failure_threshold_and_back_after_recovery(lab, r53, zone):
    primary = web("primary")
    port = primary.port
    check = health_check(r53, port, interval=10, threshold=3)
    upsert(r53, zone, a_record("shop.example.com", "192.0.2.1", ttl=60, SetIdentifier="primary", Failover="PRIMARY",
                               HealthCheckId=check),
           a_record("shop.example.com", "192.0.2.2", ttl=60, SetIdentifier="secondary", Failover="SECONDARY"))
    assert lab.route53.query("shop.example.com").addresses == ["192.0.2.1"]
    assert lab.route53.health(check)["Healthy"] is True

    primary.stop()
    lab.clock.advance(20)  # two failed probes: below the threshold of 3
    assert lab.route53.query("shop.example.com").addresses == ["192.0.2.1"]
    assert lab.route53.health(check)["ConsecutiveFailures"] == 2
    lab.clock.advance(10)  # the third
    assert lab.route53.health(check)["Healthy"] is False
    assert lab.route53.query("shop.example.com").addresses == ["192.0.2.2"]
    assert [r.address for r in lab.route53.dns_resolver().resolve("shop.example.com", "A")] == ["192.0.2.2"]

    status = r53.get_health_check_status(HealthCheckId=check)["HealthCheckObservations"]
    assert status[0]["StatusReport"]["Status"].startswith("Failure")

    restarted = HttpFront(lambda request: HttpResponse.text(200, "back"), name="route53-test-web", port=port)
    assert restarted.port == port
    lab.clock.advance(20)
    assert lab.route53.query("shop.example.com").addresses == ["192.0.2.2"]  # two successes: not yet
    lab.clock.advance(10)
    assert lab.route53.query("shop.example.com").addresses == ["192.0.2.1"]
    status = r53.get_health_check_status(HealthCheckId=check)["HealthCheckObservations"]
    assert status[0]["StatusReport"]["Status"].startswith("Success: HTTP Status Code 200")


def test_a_primary_without_a_health_check_never_fails_over(lab, r53, zone):
    primary = web()
    primary.stop()
    upsert(r53, zone, a_record("shop.example.com", "192.0.2.1", ttl=60, SetIdentifier="primary", Failover="PRIMARY"),
           a_record("shop.example.com", "192.0.2.2", ttl=60, SetIdentifier="secondary", Failover="SECONDARY"))
    lab.clock.advance(300)
    assert lab.route53.query("shop.example.com").addresses == ["192.0.2.1"]


def test_when_both_failover_records_are_unhealthy_the_primary_answers(lab, r53, zone):
    dead = web()
    port = dead.port
    dead.stop()
    check = health_check(r53, port, threshold=1)
    upsert(r53, zone, a_record("shop.example.com", "192.0.2.1", SetIdentifier="p", Failover="PRIMARY", HealthCheckId=check),
           a_record("shop.example.com", "192.0.2.2", SetIdentifier="s", Failover="SECONDARY", HealthCheckId=check))
    assert lab.route53.query("shop.example.com").addresses == ["192.0.2.1"]
    assert lab.route53.health(check)["Healthy"] is False


def test_get_health_check_status_tells_the_truth(lab, r53):
    healthy = web()
    check = health_check(r53, healthy.port, threshold=1)
    report = r53.get_health_check_status(HealthCheckId=check)["HealthCheckObservations"][0]
    assert report["StatusReport"]["Status"] == f"Success: HTTP Status Code 200, OK (127.0.0.1:{healthy.port}/health)."
    assert report["Region"] == "us-east-1"
    wrong_path = health_check(r53, healthy.port, path="/nothing-here", threshold=1)
    report = r53.get_health_check_status(HealthCheckId=wrong_path)["HealthCheckObservations"][0]
    assert report["StatusReport"]["Status"].startswith("Failure: HTTP Status Code 404, Not Found")
    with pytest.raises(r53.exceptions.NoSuchHealthCheck):
        r53.get_health_check_status(HealthCheckId="00000000-0000-0000-0000-000000000000")


def test_the_path_the_status_and_the_interval_are_the_ones_configured(lab, r53):
    seen = []

    def handler(request):
        seen.append((request.path, request.header("Host")))
        return HttpResponse.text(503 if request.path == "/broken" else 200, "ok")

    front = HttpFront(handler, name="route53-test-web")
    good = health_check(r53, front.port, path="/ok", interval=30, threshold=2)
    bad = health_check(r53, front.port, path="/broken", interval=30, threshold=2)
    assert lab.route53.health(good)["Probes"] == 1
    lab.clock.advance(29)
    assert lab.route53.health(good)["Probes"] == 1  # the next probe is 30 s after the first
    lab.clock.advance(1)
    assert lab.route53.health(good)["Probes"] == 2
    assert lab.route53.health(good)["Healthy"] is True
    assert lab.route53.health(bad)["Healthy"] is False  # 503 twice
    assert ("/ok", f"127.0.0.1:{front.port}") in seen


def test_health_check_types_tcp_string_match_inverted_disabled_calculated(lab, r53):
    front = HttpFront(lambda request: HttpResponse.text(200, "status: all systems go"), name="route53-test-web")
    dead = web()
    dead_port = dead.port
    dead.stop()
    tcp_up = health_check(r53, front.port, kind="TCP", threshold=1)
    tcp_down = health_check(r53, dead_port, kind="TCP", threshold=1)
    match = health_check(r53, front.port, kind="HTTP_STR_MATCH", path="/", SearchString="all systems go", threshold=1)
    no_match = health_check(r53, front.port, kind="HTTP_STR_MATCH", path="/", SearchString="degraded", threshold=1)
    inverted = health_check(r53, front.port, kind="TCP", Inverted=True, threshold=1)
    disabled = health_check(r53, dead_port, kind="TCP", Disabled=True, threshold=1)
    calculated = r53.create_health_check(CallerReference="calc", HealthCheckConfig={
        "Type": "CALCULATED", "ChildHealthChecks": [tcp_up, tcp_down, match], "HealthThreshold": 2})["HealthCheck"]["Id"]
    strict = r53.create_health_check(CallerReference="calc-3", HealthCheckConfig={
        "Type": "CALCULATED", "ChildHealthChecks": [tcp_up, tcp_down, match], "HealthThreshold": 3})["HealthCheck"]["Id"]
    results = {name: lab.route53.health(check)["Healthy"] for name, check in [
        ("tcp_up", tcp_up), ("tcp_down", tcp_down), ("match", match), ("no_match", no_match),
        ("inverted", inverted), ("disabled", disabled), ("calculated", calculated), ("strict", strict)]}
    assert results == {"tcp_up": True, "tcp_down": False, "match": True, "no_match": False, "inverted": False,
                       "disabled": True, "calculated": True, "strict": False}


def test_https_health_check_does_not_validate_the_certificate(lab, r53):
    front = HttpFront(lambda request: HttpResponse.text(200, "secure"), name="route53-test-web", tls=True)
    check = health_check(r53, front.port, kind="HTTPS", path="/", threshold=1)
    assert lab.route53.health(check)["Healthy"] is True


def test_a_health_check_by_domain_name_probes_what_the_name_resolves_to(lab, r53, zone):
    seen = []

    def handler(request):
        seen.append(request.header("Host"))
        return HttpResponse.text(200, "ok")

    front = HttpFront(handler, name="route53-test-web")
    upsert(r53, zone, a_record("origin.example.com", "127.0.0.1"))
    check = r53.create_health_check(CallerReference="by-name", HealthCheckConfig={
        "Type": "HTTP", "FullyQualifiedDomainName": "origin.example.com", "Port": front.port,
        "ResourcePath": "/health", "FailureThreshold": 1})["HealthCheck"]["Id"]
    assert lab.route53.health(check)["Healthy"] is True
    assert seen == [f"origin.example.com:{front.port}"]


def test_the_checker_never_probes_outside_the_sandbox(lab, r53):
    check = r53.create_health_check(CallerReference="outside", HealthCheckConfig={
        "Type": "TCP", "IPAddress": "192.0.2.55", "Port": 80, "FailureThreshold": 1})["HealthCheck"]["Id"]
    summary = lab.route53.health(check)
    assert summary["Healthy"] is False
    assert "outside the lab sandbox" in summary["LastReport"]


def test_probes_are_due_on_the_clock_and_run_when_a_status_is_needed(lab, r53):
    front = web()
    check = health_check(r53, front.port, interval=10, threshold=3)
    assert lab.route53.health(check)["Probes"] == 1  # the first probe, at creation
    lab.clock.advance(100)  # ten probes fall due: counted by the clock, no I/O in it
    state = health_module.state_of(check)
    assert state is not None and state.due == 10
    assert not any("health" in t.name for t in threading.enumerate())  # no thread waits for them
    assert lab.route53.health(check)["Probes"] == 1 + 3  # at most FailureThreshold of them run


# ---- multivalue, latency, geolocation ---------------------------------------------

def test_multivalue_answers_up_to_eight_healthy_records(lab, r53, zone):
    dead = web()
    dead_port = dead.port
    dead.stop()
    bad = health_check(r53, dead_port, threshold=1)
    record_sets = [a_record("www.example.com", f"192.0.2.{i}", ttl=60, SetIdentifier=f"web-{i}", MultiValueAnswer=True)
                   for i in range(1, 11)]
    record_sets.append(a_record("www.example.com", "192.0.2.66", ttl=60, SetIdentifier="web-sick", MultiValueAnswer=True,
                                HealthCheckId=bad))
    upsert(r53, zone, *record_sets)
    lab.route53.seed(2)
    seen = set()
    for _ in range(30):
        reply = dig(lab, "www.example.com")
        addresses = [rd.address for rd in reply.answer[0]]
        assert len(addresses) == local.MULTIVALUE_MAX == 8
        assert "192.0.2.66" not in addresses
        seen.update(addresses)
    assert seen == {f"192.0.2.{i}" for i in range(1, 11)}  # different answers to different queries


def test_latency_records_answer_the_nearest_region(lab, r53, zone):
    upsert(r53, zone, *[a_record("api.example.com", value, ttl=60, SetIdentifier=region, Region=region)
                        for region, value in (("us-east-1", "192.0.2.1"), ("eu-west-1", "192.0.2.2"),
                                              ("ap-southeast-2", "192.0.2.3"))])
    assert lab.route53.query("api.example.com", client_region="eu-west-1").addresses == ["192.0.2.2"]
    assert lab.route53.query("api.example.com", client_region="eu-central-1").addresses == ["192.0.2.2"]
    assert lab.route53.query("api.example.com", client_region="ap-northeast-1").addresses == ["192.0.2.3"]
    assert lab.route53.query("api.example.com", client_country="BR").addresses == ["192.0.2.1"]
    assert lab.route53.query("api.example.com").addresses == ["192.0.2.1"]  # the sandbox's region
    lab.route53.set_client_location("ap-southeast-2")
    assert lab.route53.query("api.example.com").addresses == ["192.0.2.3"]
    assert lab.route53.dns_resolver().resolve("api.example.com", "A")[0].address == "192.0.2.3"


def test_the_name_server_reads_the_client_subnet_option(lab, r53, zone):
    upsert(r53, zone, *[a_record("api.example.com", value, ttl=60, SetIdentifier=region, Region=region)
                        for region, value in (("us-east-1", "192.0.2.1"), ("eu-west-1", "192.0.2.2"))])
    subnet = lab.route53.client_subnet(region="eu-west-1")
    assert subnet == lab.route53.client_subnet(region="eu-west-1")
    address = subnet.split("/")[0]
    message = dns.message.make_query("api.example.com", "A")
    message.use_edns(0, options=[dns.edns.ECSOption(address, 24)])
    host, port = lab.route53.nameserver
    reply = dns.query.udp(message, host, port=port, timeout=2)
    assert [rd.address for rd in reply.answer[0]] == ["192.0.2.2"]
    echoed = [o for o in reply.options if isinstance(o, dns.edns.ECSOption)]
    assert echoed and echoed[0].address == address and echoed[0].scopelen == 24
    assert dig(lab, "api.example.com").answer[0][0].address == "192.0.2.1"  # no option: the default location


def test_geolocation_uses_the_most_specific_match_and_the_default(lab, r53, zone):
    upsert(r53, zone,
           a_record("shop.example.com", "192.0.2.1", SetIdentifier="europe", GeoLocation={"ContinentCode": "EU"}),
           a_record("shop.example.com", "192.0.2.2", SetIdentifier="germany", GeoLocation={"CountryCode": "DE"}),
           a_record("shop.example.com", "192.0.2.3", SetIdentifier="washington",
                    GeoLocation={"CountryCode": "US", "SubdivisionCode": "WA"}),
           a_record("shop.example.com", "192.0.2.4", SetIdentifier="default", GeoLocation={"CountryCode": "*"}))
    assert lab.route53.query("shop.example.com", client_country="DE").addresses == ["192.0.2.2"]
    assert lab.route53.query("shop.example.com", client_country="FR").addresses == ["192.0.2.1"]
    assert lab.route53.query("shop.example.com", client_country="US", client_subdivision="WA").addresses == ["192.0.2.3"]
    assert lab.route53.query("shop.example.com", client_country="US", client_subdivision="OR").addresses == ["192.0.2.4"]
    assert lab.route53.query("shop.example.com", client_region="ap-northeast-1").addresses == ["192.0.2.4"]


def test_geolocation_without_a_default_gives_no_answer_to_other_locations(lab, r53, zone):
    upsert(r53, zone, a_record("shop.example.com", "192.0.2.2", SetIdentifier="germany", GeoLocation={"CountryCode": "DE"}))
    result = lab.route53.query("shop.example.com", client_country="JP")
    assert result.rcode == "NOERROR" and result.nodata
    assert lab.route53.query("shop.example.com", client_country="DE").addresses == ["192.0.2.2"]


def test_unknown_locations_are_refused_with_a_clear_error(lab):
    with pytest.raises(local.LocationError, match="unknown AWS Region"):
        lab.route53.query("shop.example.com", client_region="mars-north-1")
    with pytest.raises(local.LocationError, match="country code"):
        lab.route53.query("shop.example.com", client_country="XX")


# ---- test_dns_answer ----------------------------------------------------------------

def test_test_dns_answer_answers_from_the_same_plane(lab, r53, zone):
    upsert(r53, zone, *[a_record("api.example.com", value, ttl=60, SetIdentifier=region, Region=region)
                        for region, value in (("us-east-1", "192.0.2.1"), ("eu-west-1", "192.0.2.2"))])
    answer = r53.test_dns_answer(HostedZoneId=zone, RecordName="api.example.com", RecordType="A")
    assert answer["RecordData"] == ["192.0.2.1"]  # no client subnet: a resolver in us-east-1
    assert answer["ResponseCode"] == "NOERROR" and answer["Protocol"] == "UDP"
    subnet = lab.route53.client_subnet(region="eu-west-1").split("/")[0]
    answer = r53.test_dns_answer(HostedZoneId=zone, RecordName="api.example.com", RecordType="A",
                                 EDNS0ClientSubnetIP=subnet)
    assert answer["RecordData"] == ["192.0.2.2"]
    missing = r53.test_dns_answer(HostedZoneId=zone, RecordName="nothing.example.com", RecordType="A")
    assert missing["ResponseCode"] == "NXDOMAIN" and missing["RecordData"] == []
    with pytest.raises(r53.exceptions.ClientError) as error:
        r53.test_dns_answer(HostedZoneId="ZNOTAZONE", RecordName="api.example.com", RecordType="A")
    assert error.value.response["Error"]["Code"] == "NoSuchHostedZone"


# ---- bad input --------------------------------------------------------------------

def test_garbage_gets_formerr_or_is_dropped_and_the_server_keeps_serving(lab, r53, zone):
    upsert(r53, zone, a_record("shop.example.com", "192.0.2.10"))
    host, port = lab.route53.nameserver
    # a header that promises a question, then garbage
    reply = server_module.query_socket((host, port), b"\xbe\xef\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\xff\xff\xff")
    assert reply[:2] == b"\xbe\xef"
    assert reply[3] & 0x0F == dns.rcode.FORMERR and reply[2] & 0x80
    # shorter than a header: no reply at all
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(0.3)
        sock.sendto(b"\x00\x01garbage", (host, port))
        with pytest.raises(TimeoutError):
            sock.recvfrom(512)
    # two questions: FORMERR; an UPDATE: NOTIMP; class CH: REFUSED
    two = dns.message.make_query("shop.example.com", "A")
    two.question.append(dns.message.make_query("www.example.com", "A").question[0])
    assert dns.message.from_wire(server_module.query_socket((host, port), two.to_wire())).rcode() == dns.rcode.FORMERR
    update = bytearray(dns.message.make_query("shop.example.com", "A").to_wire())
    update[2] = (update[2] & 0x87) | (5 << 3)
    assert server_module.query_socket((host, port), bytes(update))[3] & 0x0F == dns.rcode.NOTIMP
    chaos = dns.message.make_query("version.bind", "TXT", "CH")
    assert dns.message.from_wire(server_module.query_socket((host, port), chaos.to_wire())).rcode() == dns.rcode.REFUSED
    # TCP garbage: FORMERR, then the connection still answers a real query
    with socket.create_connection((host, port), timeout=2) as conn:
        junk = b"\xab\xcd\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00" + b"\xff" * 5
        conn.sendall(struct.pack("!H", len(junk)) + junk)
        length = struct.unpack("!H", conn.recv(2))[0]
        assert conn.recv(length)[3] & 0x0F == dns.rcode.FORMERR
        good = dns.message.make_query("shop.example.com", "A").to_wire()
        conn.sendall(struct.pack("!H", len(good)) + good)
        length = struct.unpack("!H", conn.recv(2))[0]
        assert dns.message.from_wire(conn.recv(length)).answer[0][0].address == "192.0.2.10"
    # and the server still answers over UDP
    assert lab.route53.dns_resolver().resolve("shop.example.com", "A")[0].address == "192.0.2.10"


def test_respond_is_a_function_callable_without_a_socket(lab, r53, zone):
    upsert(r53, zone, a_record("shop.example.com", "192.0.2.10"))
    reply = dns.message.from_wire(server_module.respond(dns.message.make_query("shop.example.com", "A").to_wire()))
    assert reply.answer[0][0].address == "192.0.2.10"
    assert server_module.respond(b"short") is None
    assert server_module.respond(reply.to_wire()) is None  # a response is never answered


# ---- seams and lifecycle -----------------------------------------------------------

def test_seams_match_the_installed_moto(lab):
    lab.route53  # noqa: B018  (installs the service, which checks its seams)
    assert seams.check(local.SEAMS) == []
    assert [seam.qualname for seam in local.SEAMS if seam.patched] == ["Route53.get_health_check_status"]
    assert "moto.route53.responses.Route53.get_health_check_status" in seams.patched()


def test_instance_attributes_named_in_seams_exist_on_real_objects(lab, r53, zone):
    from moto.route53.models import route53_backends

    upsert(r53, zone, a_record("shop.example.com", "192.0.2.10"))
    health_check(r53, 8080)
    backend = route53_backends[lab.account_id]["aws"]
    objects = {"Route53Backend": backend, "FakeZone": next(iter(backend.zones.values())),
               "RecordSet": next(iter(backend.zones.values())).rrsets[0],
               "HealthCheck": next(iter(backend.health_checks.values()))}
    instance_seams = [seam for seam in local.SEAMS if seam.instance]
    assert instance_seams
    for seam in instance_seams:
        owner, attribute = seam.qualname.split(".")
        assert hasattr(objects[owner], attribute), seam.path


def test_reset_stops_the_name_server_and_forgets_health_checks(lab, r53, zone):
    front = web()
    health_check(r53, front.port)
    lab.route53.set_client_location("eu-west-1")
    host, port = lab.route53.nameserver
    assert any(server.port == port for server in loopback.live_servers())
    threads = {t.name for t in threading.enumerate()}
    assert any(name.startswith("labkit-route53-dns-udp") for name in threads)
    lab.reset()
    assert not any(server.port == port for server in loopback.live_servers())
    assert not any(t.name.startswith("labkit-route53-dns") for t in threading.enumerate())
    assert not health_module._STATES
    assert local.query("shop.example.com").rcode == "REFUSED"  # no zone after the reset
    assert local.set_client_location().region == lab.region
    # a new name server starts on demand
    assert lab.route53.dns_resolver().port == lab.route53.nameserver[1]


# ---- the browser edition: no sockets; dnspython's queries and the probes in-process --


@pytest.fixture()
def browser(lab, monkeypatch):
    """Browser mode on, the DNS seam in place, and no socket can connect or send (as in a browser tab)."""
    monkeypatch.setenv(platform.VARIABLE, "1")
    lab.reset()  # a name server started locally by an earlier test comes back in-process
    route53_browser.install()
    inprocess.install()
    take_sockets_away(monkeypatch, ("connect", "connect_ex", "sendto", "bind"))
    yield lab
    monkeypatch.undo()
    lab.reset()
    route53_browser.uninstall()


def test_in_the_browser_dnspython_is_answered_by_the_servers_own_function(browser, r53, zone, monkeypatch):
    upsert(r53, zone, a_record("shop.example.com", "192.0.2.10", ttl=120))
    host, port = browser.route53.nameserver
    assert loopback.in_process(port) is not None
    calls = []
    original = server_module.serve_message
    monkeypatch.setattr(server_module, "serve_message", lambda data, tcp=False: calls.append(tcp) or original(data, tcp=tcp))
    answer = browser.route53.dns_resolver().resolve("shop.example.com", "A")  # dnspython's Resolver, unchanged
    assert [r.address for r in answer] == ["192.0.2.10"] and answer.rrset.ttl == 120
    assert dig(browser, "nothing.example.com").rcode() == dns.rcode.NXDOMAIN
    over_tcp = dns.query.tcp(dns.message.make_query("shop.example.com", "A"), host, port=port, timeout=2)
    assert over_tcp.answer[0][0].address == "192.0.2.10"
    assert calls == [False, False, True]  # UDP, UDP, then TCP: each through the function both servers call


def test_in_the_browser_a_truncated_reply_makes_the_resolver_ask_again_over_tcp(browser, r53, zone):
    values = [f"192.0.2.{i}" for i in range(1, 60)]
    upsert(r53, zone, a_record("many.example.com", *values))
    host, port = browser.route53.nameserver
    assert dig(browser, "many.example.com").flags & dns.flags.TC  # no EDNS: 512 bytes at most
    with pytest.raises(dns.message.Truncated):
        dns.query.udp(dns.message.make_query("many.example.com", "A"), host, port=port, raise_on_truncation=True)
    reply, used_tcp = dns.query.udp_with_fallback(dns.message.make_query("many.example.com", "A"), host, port=port)
    assert used_tcp and sorted(r.address for r in reply.answer[0]) == sorted(values)
    answer = browser.route53.dns_resolver().resolve("many.example.com", "A")
    assert sorted(r.address for r in answer) == sorted(values)


def test_in_the_browser_a_query_elsewhere_fails_as_it_would_or_names_the_gap(browser, zone):
    query = dns.message.make_query("shop.example.com", "A")
    with pytest.raises(BrowserGap, match="only the sandbox's own name server"):
        dns.query.udp(query, "8.8.8.8", timeout=1)
    with pytest.raises(dns.exception.Timeout):  # nobody there: a datagram goes unanswered
        dns.query.udp(query, "127.0.0.1", port=9, timeout=1)
    with pytest.raises(ConnectionRefusedError):
        dns.query.tcp(query, "127.0.0.1", port=9, timeout=1)
    front = web()  # an HTTP server answers no DNS
    with pytest.raises(dns.exception.Timeout):
        dns.query.udp(query, "127.0.0.1", port=front.port, timeout=1)


def test_in_the_browser_health_checks_probe_the_in_process_servers(browser, r53):
    front = HttpFront(lambda request: HttpResponse.text(503 if request.path == "/broken" else 200,
                                                        "status: all systems go"), name="route53-test-web")
    assert front._server.in_process
    dead = web()
    dead_port = dead.port
    dead.stop()
    checks = {
        "http_ok": health_check(r53, front.port, path="/", threshold=1),
        "http_503": health_check(r53, front.port, path="/broken", threshold=1),
        "tcp_up": health_check(r53, front.port, kind="TCP", threshold=1),
        "tcp_down": health_check(r53, dead_port, kind="TCP", threshold=1),
        "match": health_check(r53, front.port, kind="HTTP_STR_MATCH", path="/", SearchString="all systems go", threshold=1),
        "no_match": health_check(r53, front.port, kind="HTTP_STR_MATCH", path="/", SearchString="degraded", threshold=1),
    }
    results = {name: browser.route53.health(check)["Healthy"] for name, check in checks.items()}
    assert results == {"http_ok": True, "http_503": False, "tcp_up": True, "tcp_down": False, "match": True,
                       "no_match": False}
    status = r53.get_health_check_status(HealthCheckId=checks["http_ok"])["HealthCheckObservations"][0]
    assert status["StatusReport"]["Status"] == f"Success: HTTP Status Code 200, OK (127.0.0.1:{front.port}/)."
    assert "Connection refused" in browser.route53.health(checks["tcp_down"])["LastReport"]


def test_locally_the_dns_seam_is_dnspython_itself(lab, r53, zone, monkeypatch):
    monkeypatch.delenv(platform.VARIABLE, raising=False)
    route53_browser.install()
    try:
        upsert(r53, zone, a_record("shop.example.com", "192.0.2.10"))
        host, port = lab.route53.nameserver
        assert loopback.in_process(port) is None  # a real server, reached over a real socket
        assert dig(lab, "shop.example.com").answer[0][0].address == "192.0.2.10"
    finally:
        route53_browser.uninstall()


def test_the_dns_seams_are_where_dnspython_has_them_and_a_move_patches_nothing(monkeypatch):
    assert seams.check(route53_browser.SEAMS) == []
    moved = (*route53_browser.SEAMS, seams.Seam("dns.query", "udp", ("q", "where", "timeout")))
    monkeypatch.setattr(route53_browser, "SEAMS", moved)
    before = dns.query.udp
    with pytest.raises(seams.SeamMoved, match="dnspython"):
        route53_browser.install()
    assert dns.query.udp is before
