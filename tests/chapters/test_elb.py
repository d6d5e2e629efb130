"""The load balancing chapter: what its page, walkthrough and lab say, checked
through plain boto3 against the sandbox; and the lab's plausible wrong answers,
each of which must lose the checks that name its mistake.

The service's own behaviour is in tests/services/test_elb.py."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from tests.chapters.test_wrong_answers import run_with
from tests.chapters.wrong_answers import Wrong

ROOT = Path(__file__).resolve().parents[2]
LAB = ROOT / "labs" / "elb.ipynb"


# ---- what the page states -------------------------------------------------------------------

def test_the_defaults_the_chapter_states(lab):
    ec2, elb = lab.client("ec2"), lab.client("elbv2")
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    group = elb.create_target_group(Name="defaults", Protocol="HTTP", Port=80, VpcId=vpc, TargetType="ip")
    group = group["TargetGroups"][0]
    assert (group["HealthCheckIntervalSeconds"], group["HealthCheckTimeoutSeconds"], group["HealthyThresholdCount"],
            group["UnhealthyThresholdCount"], group["Matcher"]["HttpCode"], group["HealthCheckPath"]) == \
        (30, 5, 5, 2, "200", "/")
    attributes = {a["Key"]: a["Value"] for a in
                  elb.describe_target_group_attributes(TargetGroupArn=group["TargetGroupArn"])["Attributes"]}
    assert attributes["deregistration_delay.timeout_seconds"] == "300"
    subnets = [s["SubnetId"] for s in ec2.describe_subnets()["Subnets"]][:2]
    lb = elb.create_load_balancer(Name="defaults", Subnets=subnets)["LoadBalancers"][0]
    from labkit.services.elb import state

    assert state.idle_timeout(state.balancer(lb["LoadBalancerArn"])) == 60


def test_a_broad_rule_with_a_lower_number_shadows_a_narrow_one(lab):
    """The chapter's first common mistake, seen in traffic."""
    ec2, elb = lab.client("ec2"), lab.client("elbv2")
    subnets = [s["SubnetId"] for s in ec2.describe_subnets()["Subnets"]][:2]
    lb = elb.create_load_balancer(Name="shadow", Subnets=subnets)["LoadBalancers"][0]
    fixed = {"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "200", "MessageBody": "default"}}
    listener = elb.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=80,
                                   DefaultActions=[fixed])["Listeners"][0]["ListenerArn"]
    for priority, pattern, body in ((5, "/*", "storefront"), (10, "/api/*", "api")):
        elb.create_rule(ListenerArn=listener, Priority=priority,
                        Conditions=[{"Field": "path-pattern", "PathPatternConfig": {"Values": [pattern]}}],
                        Actions=[{"Type": "fixed-response",
                                  "FixedResponseConfig": {"StatusCode": "200", "MessageBody": body}}])
    assert requests.get("http://" + lb["DNSName"] + "/api/cart", timeout=5).text == "storefront"


# ---- the lab's wrong answers ------------------------------------------------------------------

WRONG = [
    Wrong("routes", "a pattern without the slash, which also takes /apiary",
          source='''
def add_path_rule(listener_arn: str, prefix: str, group_arn: str, priority: int) -> None:
    elb.create_rule(ListenerArn=listener_arn, Priority=priority,
                    Conditions=[{"Field": "path-pattern", "PathPatternConfig": {"Values": [f"{prefix}*"]}}],
                    Actions=[{"Type": "forward", "TargetGroupArn": group_arn}])
''', loses=("only paths under",), hidden_too=True),
    Wrong("routes", "the /api pattern written in, whatever the prefix",
          source='''
def add_path_rule(listener_arn: str, prefix: str, group_arn: str, priority: int) -> None:
    elb.create_rule(ListenerArn=listener_arn, Priority=priority,
                    Conditions=[{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/api/*"]}}],
                    Actions=[{"Type": "forward", "TargetGroupArn": group_arn}])
''', loses=(), hidden_too=True),
    Wrong("health", "a matcher that accepts the 404 instead of checking the right page",
          source='''
def fix_health_check(group_arn: str) -> None:
    elb.modify_target_group(TargetGroupArn=group_arn, Matcher={"HttpCode": "200-499"})
''', loses=("a broken server gets no traffic", "reported unhealthy")),
    Wrong("health", "health checks turned off",
          source='''
def fix_health_check(group_arn: str) -> None:
    elb.modify_target_group(TargetGroupArn=group_arn, HealthCheckEnabled=False)
''', loses=("reported healthy", "a broken server gets no traffic")),
    Wrong("door", "an Application Load Balancer with an HTTP listener",
          source='''
def stock_front_door(name: str, service_port: int) -> str:
    balancer = elb.create_load_balancer(Name=name, Subnets=subnets, Type="application")["LoadBalancers"][0]
    group = elb.create_target_group(Name=name, Protocol="HTTP", Port=service_port, VpcId=vpc_id,
                                    TargetType="ip")["TargetGroups"][0]["TargetGroupArn"]
    elb.register_targets(TargetGroupArn=group, Targets=[{"Id": "127.0.0.1", "Port": service_port}])
    elb.create_listener(LoadBalancerArn=balancer["LoadBalancerArn"], Protocol="HTTP", Port=9000,
                        DefaultActions=[{"Type": "forward", "TargetGroupArn": group}])
    return balancer["DNSName"]
''', loses=("binary stock request", "client's address")),
    Wrong("door", "a Network Load Balancer without proxy protocol v2",
          source='''
def stock_front_door(name: str, service_port: int) -> str:
    balancer = elb.create_load_balancer(Name=name, Subnets=subnets, Type="network")["LoadBalancers"][0]
    group = elb.create_target_group(Name=name, Protocol="TCP", Port=service_port, VpcId=vpc_id,
                                    TargetType="ip")["TargetGroups"][0]["TargetGroupArn"]
    elb.register_targets(TargetGroupArn=group, Targets=[{"Id": "127.0.0.1", "Port": service_port}])
    elb.create_listener(LoadBalancerArn=balancer["LoadBalancerArn"], Protocol="TCP", Port=9000,
                        DefaultActions=[{"Type": "forward", "TargetGroupArn": group}])
    return balancer["DNSName"]
''', loses=("client's address",)),
]


def _rounds() -> list[list[Wrong]]:
    """One wrong answer per exercise per run."""
    by_exercise: dict[str, list[Wrong]] = {}
    for wrong in WRONG:
        by_exercise.setdefault(wrong.exercise, []).append(wrong)
    count = max(len(v) for v in by_exercise.values())
    return [[v[i] for v in by_exercise.values() if i < len(v)] for i in range(count)]


@pytest.mark.notebook
@pytest.mark.parametrize("wrongs", _rounds(), ids=lambda ws: "+".join(w.mistake.split()[1] for w in ws))
def test_wrong_answers_lose_the_checks_that_name_their_mistake(wrongs, monkeypatch):
    monkeypatch.delenv("LABKIT_STRICT", raising=False)
    results = run_with(LAB, wrongs)
    problems = []
    for wrong in wrongs:
        mine = [r for r in results if r["exercise"] == wrong.exercise]
        if sum(r["earned"] for r in mine) >= sum(r["points"] for r in mine):
            problems.append(f"{wrong.exercise} ({wrong.mistake}): full marks")
        for words in wrong.loses:
            named = [r for r in mine if words in r["name"] and not r["hidden"]]
            if not named:
                problems.append(f"{wrong.exercise}: no check named {words!r}")
            problems += [f"{wrong.exercise} ({wrong.mistake}) passed {r['name']!r}" for r in named if r["passed"]]
        if wrong.hidden_too and all(r["passed"] for r in mine if r["hidden"]):
            problems.append(f"{wrong.exercise} ({wrong.mistake}) passed every hidden check")
    assert not problems, "; ".join(problems)


def test_every_exercise_keeps_a_wrong_answer():
    import nbformat

    from labkit.grading.release import parse_lab

    lab = parse_lab(nbformat.read(LAB, as_version=4), str(LAB))
    exercises = {info.exercise for info in lab.cells if info.role == "solution"}
    assert exercises == {w.exercise for w in WRONG}
