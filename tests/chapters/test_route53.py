"""The Route 53 chapter: its lab's checks tell right from plausibly wrong.

Each wrong answer below is one a learner could write; the lab's cells run in
process with that answer in place of the solution, and the check that names
the mistake must fail while the solution passes everything. The service's own
behaviour is in tests/services/test_route53.py."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from labkit import check
from labkit.grading.release import parse_lab

LAB = Path(__file__).resolve().parents[2] / "labs" / "route53.ipynb"


def run_lab(monkeypatch, answers: dict[str, str]) -> dict[tuple[str, bool], dict[str, bool]]:
    """Run the lab's code cells in one namespace, with ``answers[exercise]`` in
    place of that exercise's solution cell; return every check's result by
    (exercise, hidden) and check name."""
    monkeypatch.delenv("LABKIT_STRICT", raising=False)
    reports: list[dict] = []
    monkeypatch.setattr(check, "_display", lambda report: reports.append(report.to_json()))
    nb = nbformat.read(LAB, as_version=4)
    lab = parse_lab(nb, str(LAB))
    namespace: dict = {}
    for cell, info in zip(nb.cells, lab.cells, strict=True):
        if cell.cell_type != "code" or "remove-input" in cell.metadata.get("tags", []):
            continue
        source = answers.get(info.exercise, cell.source) if info.role == "solution" else cell.source
        exec(compile(source, f"<{info.role or 'cell'} {info.exercise or ''}>", "exec"), namespace)  # noqa: S102
    results: dict[tuple[str, bool], dict[str, bool]] = {}
    for report in reports:
        hidden = any(c["hidden"] for c in report["checks"])
        results.setdefault((report["exercise"], hidden), {}).update({c["name"]: c["passed"] for c in report["checks"]})
    return results




def test_the_solution_passes_every_check(lab, monkeypatch):
    results = run_lab(monkeypatch, {})
    failed = [f"{ex}: {name}" for (ex, _hidden), checks in results.items() for name, ok in checks.items() if not ok]
    assert not failed
    assert {ex for ex, _ in results} == {"canary", "failover", "geo"}


# ---- Exercise 1: the canary ----------------------------------------------------------

ONE_RECORD_TWO_VALUES = '''
def create_canary(zone_id, name, stable_ip, canary_ip, percent):
    upsert(zone_id, {"Name": name, "Type": "A", "TTL": 60,
                     "ResourceRecords": [{"Value": stable_ip}, {"Value": canary_ip}]})
'''

WEIGHTS_SWAPPED = '''
def create_canary(zone_id, name, stable_ip, canary_ip, percent):
    upsert(zone_id,
           {"Name": name, "Type": "A", "TTL": 60, "SetIdentifier": f"{name}-s", "Weight": percent,
            "ResourceRecords": [{"Value": stable_ip}]},
           {"Name": name, "Type": "A", "TTL": 60, "SetIdentifier": f"{name}-c", "Weight": 100 - percent,
            "ResourceRecords": [{"Value": canary_ip}]})
'''

PERCENT_OF_THE_REST = '''
def create_canary(zone_id, name, stable_ip, canary_ip, percent):
    upsert(zone_id,
           {"Name": name, "Type": "A", "TTL": 60, "SetIdentifier": f"{name}-s", "Weight": 100,
            "ResourceRecords": [{"Value": stable_ip}]},
           {"Name": name, "Type": "A", "TTL": 60, "SetIdentifier": f"{name}-c", "Weight": percent,
            "ResourceRecords": [{"Value": canary_ip}]})
'''

LONG_TTL = '''
def create_canary(zone_id, name, stable_ip, canary_ip, percent):
    upsert(zone_id,
           {"Name": name, "Type": "A", "TTL": 3600, "SetIdentifier": f"{name}-s", "Weight": 100 - percent,
            "ResourceRecords": [{"Value": stable_ip}]},
           {"Name": name, "Type": "A", "TTL": 3600, "SetIdentifier": f"{name}-c", "Weight": percent,
            "ResourceRecords": [{"Value": canary_ip}]})
'''

SHARE = "about 10% of the answers are the canary alone, the rest the stable server alone"
TTL = "the answers' TTL is at most 60 seconds"
FOLLOWS = "the share follows the percentage asked (25%)"

# ---- Exercise 2: the failover ------------------------------------------------------

ATTACH_ONLY = '''
def fix_failover(zone_id, name):
    fqdn = name.rstrip(".") + "."
    records = route53.list_resource_record_sets(HostedZoneId=zone_id, StartRecordName=fqdn, StartRecordType="A")
    primary = next(r for r in records["ResourceRecordSets"] if r["Name"] == fqdn and r.get("Failover") == "PRIMARY")
    ip = primary["ResourceRecords"][0]["Value"]
    checks = route53.list_health_checks()["HealthChecks"]
    check = next(c for c in checks if c["HealthCheckConfig"].get("IPAddress") == ip)
    upsert(zone_id, {**primary, "HealthCheckId": check["Id"]})
'''

PATH_ONLY = '''
def fix_failover(zone_id, name):
    for check in route53.list_health_checks()["HealthChecks"]:
        if check["HealthCheckConfig"].get("ResourcePath") == "/status":
            route53.update_health_check(HealthCheckId=check["Id"], ResourcePath="/health")
'''

ATTACHED_TO_THE_SECONDARY = '''
def fix_failover(zone_id, name):
    fqdn = name.rstrip(".") + "."
    records = route53.list_resource_record_sets(HostedZoneId=zone_id, StartRecordName=fqdn, StartRecordType="A")
    pair = [r for r in records["ResourceRecordSets"] if r["Name"] == fqdn and r.get("Failover")]
    primary = next(r for r in pair if r["Failover"] == "PRIMARY")
    secondary = next(r for r in pair if r["Failover"] == "SECONDARY")
    ip = primary["ResourceRecords"][0]["Value"]
    check = next(c for c in route53.list_health_checks()["HealthChecks"] if c["HealthCheckConfig"].get("IPAddress") == ip)
    route53.update_health_check(HealthCheckId=check["Id"], ResourcePath="/health")
    upsert(zone_id, {**secondary, "HealthCheckId": check["Id"]})
'''

DOWN = "when the primary's web server stops, visitors get the secondary"
STATUS = "the primary's health check reports Success while its web server answers"
STORY = "visitors get the primary while it answers, the secondary while it is down, the primary when it is back"

# ---- Exercise 3: a shop for Germany -------------------------------------------------

LATENCY = '''
def route_by_country(zone_id, name, de_ip, intl_ip):
    upsert(zone_id,
           {"Name": name, "Type": "A", "TTL": 300, "SetIdentifier": f"{name}-de", "Region": "eu-central-1",
            "ResourceRecords": [{"Value": de_ip}]},
           {"Name": name, "Type": "A", "TTL": 300, "SetIdentifier": f"{name}-us", "Region": "us-east-1",
            "ResourceRecords": [{"Value": intl_ip}]})
'''

GEO_WITHOUT_DEFAULT = '''
def route_by_country(zone_id, name, de_ip, intl_ip):
    upsert(zone_id,
           {"Name": name, "Type": "A", "TTL": 300, "SetIdentifier": f"{name}-de", "GeoLocation": {"CountryCode": "DE"},
            "ResourceRecords": [{"Value": de_ip}]},
           {"Name": name, "Type": "A", "TTL": 300, "SetIdentifier": f"{name}-na", "GeoLocation": {"ContinentCode": "NA"},
            "ResourceRecords": [{"Value": intl_ip}]})
'''

GEO_BY_CONTINENT = '''
def route_by_country(zone_id, name, de_ip, intl_ip):
    upsert(zone_id,
           {"Name": name, "Type": "A", "TTL": 300, "SetIdentifier": f"{name}-eu", "GeoLocation": {"ContinentCode": "EU"},
            "ResourceRecords": [{"Value": de_ip}]},
           {"Name": name, "Type": "A", "TTL": 300, "SetIdentifier": f"{name}-any", "GeoLocation": {"CountryCode": "*"},
            "ResourceRecords": [{"Value": intl_ip}]})
'''

WEIGHTED_HALF = '''
def route_by_country(zone_id, name, de_ip, intl_ip):
    upsert(zone_id,
           {"Name": name, "Type": "A", "TTL": 300, "SetIdentifier": f"{name}-de", "Weight": 1,
            "ResourceRecords": [{"Value": de_ip}]},
           {"Name": name, "Type": "A", "TTL": 300, "SetIdentifier": f"{name}-intl", "Weight": 1,
            "ResourceRecords": [{"Value": intl_ip}]})
'''

FRANCE = "a visitor from France gets the international site"
JAPAN = "a visitor from Japan gets the international site"
USA = "a visitor from the United States gets the international site"
GERMANY = "a visitor from Germany gets the german site"


@pytest.mark.parametrize("exercise, answer, must_fail, hidden_must_fail", [
    ("canary", ONE_RECORD_TWO_VALUES, [SHARE], True),
    ("canary", WEIGHTS_SWAPPED, [SHARE], True),
    ("canary", PERCENT_OF_THE_REST, [], True),  # 10/110 looks right at 10%; the hidden 25% check catches it
    ("canary", LONG_TTL, [TTL], False),
    ("failover", ATTACH_ONLY, [STATUS, STORY], True),
    ("failover", PATH_ONLY, [DOWN, STORY], True),
    ("failover", ATTACHED_TO_THE_SECONDARY, [DOWN, STORY], True),
    ("geo", LATENCY, [FRANCE, JAPAN], True),
    ("geo", GEO_WITHOUT_DEFAULT, [FRANCE, JAPAN], True),
    ("geo", GEO_BY_CONTINENT, [FRANCE], True),
    ("geo", WEIGHTED_HALF, [GERMANY, FRANCE, USA, JAPAN], True),
], ids=["two-values", "swapped", "percent-of-rest", "long-ttl", "attach-only", "path-only", "secondary",
        "latency", "geo-no-default", "geo-continent", "weighted"])
def test_a_plausible_wrong_answer_loses_the_check_that_names_its_mistake(lab, monkeypatch, exercise, answer,
                                                                         must_fail, hidden_must_fail):
    results = run_lab(monkeypatch, {exercise: answer})
    visible = results[(exercise, False)]
    for name in must_fail:
        assert visible[name] is False, f"{name!r} passed a wrong answer"
    assert not all(visible.values()) or hidden_must_fail
    if hidden_must_fail:
        assert not all(results[(exercise, True)].values()), "the hidden check passed a wrong answer"
    others = {ex for ex, _ in results if ex != exercise}
    for other in others:  # the other exercises are untouched by this answer
        assert all(results[(other, False)].values())
