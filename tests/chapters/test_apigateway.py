"""The API Gateway chapter: its lab's checks lose the points that name a plausible
wrong answer, and the behaviours the chapter states hold through plain boto3 and
requests.

The lab's code cells run in this process (the quiz and the clean-up left out),
with one answer cell replaced by a wrong answer; each check's report is read
from what :func:`labkit.check.exercise` prints outside a kernel.
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import nbformat
import pytest
import requests

from labkit.check import RESULT_MIME
from labkit.grading.release import parse_lab

LAB = Path(__file__).resolve().parents[2] / "labs" / "apigateway.ipynb"


def run_lab(exercise: str, answer: str) -> dict[str, bool]:
    """Run the lab up to and including ``exercise``'s checks with ``answer`` as its
    solution cell; return {check name: passed} for that exercise (hidden checks too)."""
    nb = nbformat.read(LAB, as_version=4)
    lab = parse_lab(nb, str(LAB))
    namespace: dict = {"__name__": "__lab__"}
    out = io.StringIO()
    last = max(i for i, info in enumerate(lab.cells) if info.exercise == exercise)
    for index, (cell, info) in enumerate(zip(nb.cells, lab.cells, strict=True)):
        if index > last:
            break
        if cell.cell_type != "code" or "remove-input" in cell.metadata.get("tags", []):
            continue
        if info.role == "solution" and info.exercise != exercise:
            source = cell.source  # other exercises keep their solutions
        elif info.role == "solution":
            source = answer
        elif info.role == "check" and info.exercise != exercise:
            continue
        else:
            source = cell.source
        with contextlib.redirect_stdout(out):
            exec(compile(source, f"<lab cell {index}>", "exec"), namespace)  # noqa: S102
    results: dict[str, bool] = {}
    for line in out.getvalue().splitlines():
        if line.startswith("{") and RESULT_MIME in line:
            for check in json.loads(line)[RESULT_MIME]["checks"]:
                if check["exercise"] == exercise:
                    results[check["name"]] = check["passed"]
    return results


@pytest.fixture()
def fresh(lab, monkeypatch):
    monkeypatch.delenv("LABKIT_STRICT", raising=False)  # failed checks report instead of raising
    return lab


# ---------------------------------------------------------------- Exercise 1: build


ITEMS_NOT_DEPLOYED = '''
def build_items_api(api_name, function_arn):
    api, root_id = fresh_api(api_name)
    items = apigw.create_resource(restApiId=api, parentId=root_id, pathPart="items")["id"]
    item = apigw.create_resource(restApiId=api, parentId=items, pathPart="{id}")["id"]
    apigw.put_method(restApiId=api, resourceId=item, httpMethod="GET", authorizationType="NONE")
    apigw.put_integration(restApiId=api, resourceId=item, httpMethod="GET", type="AWS_PROXY",
                          integrationHttpMethod="POST", uri=lambda_uri(function_arn))
    return stage_url(api, "prod")  # forgot create_deployment: the stage does not exist
'''

ITEMS_ANY_METHOD = '''
def build_items_api(api_name, function_arn):
    api, root_id = fresh_api(api_name)
    items = apigw.create_resource(restApiId=api, parentId=root_id, pathPart="items")["id"]
    item = apigw.create_resource(restApiId=api, parentId=items, pathPart="{id}")["id"]
    apigw.put_method(restApiId=api, resourceId=item, httpMethod="ANY", authorizationType="NONE")
    apigw.put_integration(restApiId=api, resourceId=item, httpMethod="ANY", type="AWS_PROXY",
                          integrationHttpMethod="POST", uri=lambda_uri(function_arn))
    apigw.create_deployment(restApiId=api, stageName="prod")
    return stage_url(api, "prod")
'''


def test_exercise_1_wrong_answers_lose_their_checks(fresh):
    not_deployed = run_lab("items", ITEMS_NOT_DEPLOYED)
    assert not not_deployed["GET /items/42 answers the item"]
    assert not not_deployed["works for another API name and function"]
    any_method = run_lab("items", ITEMS_ANY_METHOD)
    assert any_method["GET /items/42 answers the item"]
    assert not any_method["POST /items/42 is not a method of the API"]


# ---------------------------------------------------------------- Exercise 2: diagnose and fix

CART_STR_BODY = '''
def fix_cart(function_name):
    fixed = """
import json, os

def handler(event, context):
    cart = json.loads(os.environ["CART"])
    body = {"customer": event["pathParameters"]["customer"], "lines": cart}
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": str(body)}
"""
    lam.update_function_code(FunctionName=function_name, ZipFile=lab.lambda_.zip_code(fixed))
    lam.get_waiter("function_updated_v2").wait(FunctionName=function_name)
'''

CART_HARD_CODED = '''
def fix_cart(function_name):
    fixed = """
import json

def handler(event, context):
    body = {"customer": event["pathParameters"]["customer"], "lines": [{"sku": "lamp", "qty": 1}]}
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": json.dumps(body)}
"""
    lam.update_function_code(FunctionName=function_name, ZipFile=lab.lambda_.zip_code(fixed))
    lam.get_waiter("function_updated_v2").wait(FunctionName=function_name)
'''


def test_exercise_2_wrong_answers_lose_their_checks(fresh):
    repr_body = run_lab("cart", CART_STR_BODY)  # a Python repr is a string, but not JSON
    assert repr_body["the cart answers 200"] and not repr_body["the body is the cart as JSON"]
    hard_coded = run_lab("cart", CART_HARD_CODED)
    assert hard_coded["the body is the cart as JSON"]
    assert not hard_coded["the fix reads the cart from the function's configuration"]


# ---------------------------------------------------------------- Exercise 3: decide

LIMITS_STAGE_THROTTLE = '''
def protect(api_id, stage, partners):
    apigw.update_stage(restApiId=api_id, stageName=stage, patchOperations=[
        {"op": "replace", "path": "/*/*/throttling/rateLimit", "value": "5"},
        {"op": "replace", "path": "/*/*/throttling/burstLimit", "value": "10"}])
    delete_usage_plans(f"partners-{api_id}")
    plan = apigw.create_usage_plan(name=f"partners-{api_id}", apiStages=[{"apiId": api_id, "stage": stage}])["id"]
    keys = {}
    for partner in partners:
        key = apigw.create_api_key(name=f"{api_id}-{partner}", enabled=True)
        apigw.create_usage_plan_key(usagePlanId=plan, keyId=key["id"], keyType="API_KEY")
        keys[partner] = key["value"]
    return keys
'''

LIMITS_SHARED_KEY = '''
def protect(api_id, stage, partners):
    delete_usage_plans(f"partners-{api_id}")
    plan = apigw.create_usage_plan(name=f"partners-{api_id}", apiStages=[{"apiId": api_id, "stage": stage}],
                                   throttle={"rateLimit": 5.0, "burstLimit": 10})["id"]
    key = apigw.create_api_key(name=f"{api_id}-shared", enabled=True)
    apigw.create_usage_plan_key(usagePlanId=plan, keyId=key["id"], keyType="API_KEY")
    return {partner: key["value"] for partner in partners}
'''


def test_exercise_3_wrong_answers_lose_their_checks(fresh):
    for wrong in (LIMITS_STAGE_THROTTLE, LIMITS_SHARED_KEY):
        results = run_lab("limits", wrong)
        assert results["a burst of 15 from one partner: 10 served, then 429"]
        assert not results["meanwhile the other partner gets all 10 requests served"]
        assert not results["holds for other partners and another API"]


# ---------------------------------------------------------------- what the chapter states


def test_the_chapter_refusal_table_holds(lab):
    apigw = lab.client("apigateway")
    api = apigw.create_rest_api(name="chapter")["id"]
    root = next(r["id"] for r in apigw.get_resources(restApiId=api)["items"] if r["path"] == "/")
    res = apigw.create_resource(restApiId=api, parentId=root, pathPart="x")["id"]
    apigw.put_method(restApiId=api, resourceId=res, httpMethod="GET", authorizationType="NONE", apiKeyRequired=True)
    apigw.put_integration(restApiId=api, resourceId=res, httpMethod="GET", type="MOCK",
                          requestTemplates={"application/json": '{"statusCode": 200}'})
    apigw.put_integration_response(restApiId=api, resourceId=res, httpMethod="GET", statusCode="200")
    apigw.create_deployment(restApiId=api, stageName="prod")
    base = f"https://{api}.execute-api.us-east-1.amazonaws.com"
    assert requests.get(base + "/prod/y", timeout=10).json() == {"message": "Missing Authentication Token"}
    assert requests.get(base + "/dev/x", timeout=10).json() == {"message": "Forbidden"}
    assert requests.get(base + "/prod/x", timeout=10).json() == {"message": "Forbidden"}  # no key
