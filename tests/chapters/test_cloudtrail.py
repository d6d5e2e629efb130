"""The CloudTrail chapter's lab tells right from plausibly wrong: each exercise's
checks are run on answers a learner could well write, and each loses the points of
the check that names its mistake (the solutions pass under nbval; the stubs fail in
tests/notebooks/test_labs.py).

The CloudTrail service's own behaviour is in tests/services/test_cloudtrail.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
import pytest

LAB = Path(__file__).resolve().parents[2] / "labs" / "cloudtrail.ipynb"


def _tags(cell: Any) -> set[str]:
    return set(cell.metadata.get("tags", []))


def run_exercise(monkeypatch, exercise: str, answer: str) -> dict[str, bool]:
    """Run the lab in this process up to ``exercise``, with ``answer`` in place of its
    solution; return {check name: passed} for its checks, hidden ones included."""
    import labkit
    import labkit.check

    labkit.start(reset=True)
    monkeypatch.delenv("LABKIT_STRICT", raising=False)
    reports: list[Any] = []
    monkeypatch.setattr(labkit.check, "_display", reports.append)
    namespace: dict[str, Any] = {"__name__": "__lab__"}
    nb = nbformat.read(LAB, as_version=4)
    started = False
    for cell in nb.cells:
        if cell.cell_type != "code" or "remove-input" in _tags(cell):
            continue
        tags = _tags(cell)
        mine = f"ex:{exercise}" in tags
        if "check" in tags and not mine:
            continue  # other exercises' checks: not needed here
        if "solution" in tags and mine:
            exec(compile(answer, "<answer>", "exec"), namespace)  # noqa: S102  (the answer under test)
            started = True
            continue
        if started and not mine:
            break
        exec(compile(cell.source, "<lab cell>", "exec"), namespace)  # noqa: S102  (the lab's own cells)
    return {f"{'hidden: ' if r.ex.hidden else ''}{c.name}": c.passed for r in reports for c in r.ex.results}


def failed(results: dict[str, bool]) -> set[str]:
    return {name for name, passed in results.items() if not passed}


# ---------------------------------------------------------------- Exercise 1: a trail for one bucket

TRAIL = '''
def create_catalogue_trail(trail_name, log_bucket, watched_bucket):
    {policy}
    arn = cloudtrail.create_trail(Name=trail_name, S3BucketName=log_bucket)["TrailARN"]
    cloudtrail.put_event_selectors(TrailName=trail_name, EventSelectors=[{{
        "ReadWriteType": "{rw}", "IncludeManagementEvents": {management},
        "DataResources": [{{"Type": "AWS::S3::Object", "Values": [{value}]}}]}}])
    {start}
    return arn
'''
POLICY = "s3.put_bucket_policy(Bucket=log_bucket, Policy=cloudtrail_bucket_policy(log_bucket))"
ONE_BUCKET = 'f"arn:aws:s3:::{watched_bucket}/"'


def trail_answer(policy=POLICY, rw="All", management=True, value=ONE_BUCKET,
                 start="cloudtrail.start_logging(Name=trail_name)") -> str:
    return TRAIL.format(policy=policy, rw=rw, management=management, value=value, start=start)


@pytest.mark.parametrize(("answer", "mistake"), [
    (trail_answer(), None),
    (trail_answer(value='"arn:aws:s3"'), "objects of other buckets are not logged"),  # every bucket's objects
    (trail_answer(rw="WriteOnly"), "a read of a catalogue object is in the log files"),
    (trail_answer(management=False), "management events are still logged"),
    (trail_answer(start="pass"), "the trail exists and is logging"),  # never started
    (trail_answer(policy="pass"), "the trail exists and is logging"),  # CreateTrail refuses the bucket
], ids=["solution", "all-buckets", "writes-only", "no-management", "not-started", "no-bucket-policy"])
def test_trail_exercise_names_each_mistake(monkeypatch, answer, mistake):
    results = run_exercise(monkeypatch, "trail", answer)
    assert results
    if mistake is None:
        assert failed(results) == set()
    else:
        assert mistake in failed(results) and "hidden: works for other bucket names" in failed(results)


# ---------------------------------------------------------------- Exercise 2: the lookup that finds nothing

LOOKUP = '''
def find_table_deletions(table_name, since):
    client = boto3.client("cloudtrail", region_name="{region}")
    kwargs = dict(LookupAttributes=[{{"AttributeKey": "{key}", "AttributeValue": {value}}}], {window})
    {fetch}
    return [e for e in events if {keep}]
'''
PAGED = 'events = [e for p in client.get_paginator("lookup_events").paginate(**kwargs) for e in p["Events"]]'


def lookup_answer(region="us-east-1", key="ResourceName", value="table_name", window="StartTime=since",
                  fetch=PAGED, keep='e["EventName"] == "DeleteTable"') -> str:
    return LOOKUP.format(region=region, key=key, value=value, window=window, fetch=fetch, keep=keep)


@pytest.mark.parametrize(("answer", "mistake"), [
    (lookup_answer(), None),
    (lookup_answer(region="us-west-2"), "finds deletions of ex2-orders at all"),
    (lookup_answer(fetch='events = client.lookup_events(**kwargs)["Events"]'),  # the first page only
     "finds all 30 deletions since `since`"),
    (lookup_answer(window="StartTime=since, EndTime=since + timedelta(minutes=2)"),
     "finds all 30 deletions since `since`"),
    (lookup_answer(key="EventName", value='"DeleteTable"', keep="True"), "returns only calls on ex2-orders"),
    (lookup_answer(keep="True"), "returns only DeleteTable calls"),
    (lookup_answer(window="MaxResults=50"), "returns nothing from before `since` or from another Region"),
], ids=["solution", "wrong-region", "one-page", "short-window", "every-table", "every-call", "no-start"])
def test_lookup_exercise_names_each_mistake(monkeypatch, answer, mistake):
    results = run_exercise(monkeypatch, "lookup", answer)
    assert results
    if mistake is None:
        assert failed(results) == set()
    else:
        assert mistake in failed(results)


# ---------------------------------------------------------------- Exercise 3: who deleted the table?

CULPRIT = '''
def who_deleted(table_name):
    pages = cloudtrail.get_paginator("lookup_events").paginate(
        LookupAttributes=[{{"AttributeKey": "{key}", "AttributeValue": {value}}}])
    records = [json.loads(e["CloudTrailEvent"]) for p in pages for e in p["Events"]]
    records = [r for r in records if {keep}]
    chosen = records[{index}]
    return {{"arn": {who}, "time": chosen["eventTime"]}}
'''


def culprit_answer(key="ResourceName", value="table_name",
                   keep='r["eventName"] == "DeleteTable" and "errorCode" not in r', index=0,
                   who='chosen["userIdentity"]["arn"]') -> str:
    return CULPRIT.format(key=key, value=value, keep=keep, index=index, who=who)


NAMES_THE_ARN = "names the principal that deleted ex3-orders (its ARN)"


@pytest.mark.parametrize(("answer", "mistakes"), [
    (culprit_answer(), set()),
    (culprit_answer(keep='r["eventName"] == "DeleteTable"'), {NAMES_THE_ARN}),  # a failed attempt, later
    (culprit_answer(key="EventName", value='"DeleteTable"', keep="True"), {NAMES_THE_ARN}),  # the staging table
    (culprit_answer(index=-1), {NAMES_THE_ARN}),  # the oldest deletion: last week's migration
    (culprit_answer(who='chosen["userIdentity"].get("userName")'), {NAMES_THE_ARN}),  # a user name, not an ARN
    ('def who_deleted(table_name):\n    return {"arn": f"arn:aws:iam::{ACCOUNT}:user/ex3-bob", '
     '"time": the_deletion(table_name)["eventTime"]}\n', {"hidden: finds a role session as well as a user"}),
], ids=["solution", "failed-attempt", "any-table", "oldest", "user-name", "hard-coded"])
def test_culprit_exercise_names_each_mistake(monkeypatch, answer, mistakes):
    results = run_exercise(monkeypatch, "culprit", answer)
    assert results
    assert mistakes <= failed(results)
    if not mistakes:
        assert failed(results) == set()
    else:
        assert "hidden: finds a role session as well as a user" in failed(results)
