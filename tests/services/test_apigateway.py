"""The API Gateway service (lab.apigateway): REST API stages served at their invoke
URLs over verified HTTPS, driven by the configuration stored through boto3;
its seams; its lifecycle."""

from __future__ import annotations

import json
import socket
import ssl
import threading
import urllib.request
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from botocore.exceptions import ClientError

from labkit.core import inprocess, loopback, names, platform, registry, seams, tls
from labkit.core.httpfront import HttpFront, HttpResponse
from labkit.services import apigateway as local
from labkit.services.apigateway import browser as apigw_browser
from labkit.services.apigateway import templates
from tests.support.lifecycle import assert_nothing_left_running

# ---------------------------------------------------------------- helpers (shared with the chapter's tests)

ECHO = '''
import json
def handler(event, context):
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": json.dumps(event)}
'''


def make_function(lab, role, name, source=ECHO):
    lam = lab.client("lambda")
    return lam.create_function(FunctionName=name, Runtime="python3.12", Role=role, Handler="app.handler",
                               Code={"ZipFile": lab.lambda_.zip_code(source)})["FunctionArn"]


class Api:
    """A REST API built with plain boto3 calls, for tests."""

    def __init__(self, lab, name="shop"):
        self.lab = lab
        self.client = lab.client("apigateway")
        self.id = self.client.create_rest_api(name=name)["id"]
        self.root = next(r["id"] for r in self.client.get_resources(restApiId=self.id)["items"] if r["path"] == "/")
        self.paths = {"/": self.root}

    def resource(self, path):
        if path in self.paths:
            return self.paths[path]
        parent, _, part = path.rstrip("/").rpartition("/")
        parent_id = self.resource(parent or "/")
        self.paths[path] = self.client.create_resource(restApiId=self.id, parentId=parent_id, pathPart=part)["id"]
        return self.paths[path]

    def method(self, path, verb="GET", *, integration="MOCK", uri=None, auth="NONE", authorizer=None,
               key=False, params=None, validator=None, templates_in=None, responses=None, integration_method=None,
               request_parameters=None):
        rid = self.resource(path)
        kwargs = {"authorizationType": auth, "apiKeyRequired": key}
        if authorizer:
            kwargs["authorizerId"] = authorizer
        if params:
            kwargs["requestParameters"] = params
        if validator:
            kwargs["requestValidatorId"] = validator
        self.client.put_method(restApiId=self.id, resourceId=rid, httpMethod=verb, **kwargs)
        integ = {"type": integration}
        if uri:
            integ["uri"] = uri
        if integration in ("AWS", "AWS_PROXY"):
            integ["integrationHttpMethod"] = "POST"
        elif integration in ("HTTP", "HTTP_PROXY"):
            integ["integrationHttpMethod"] = integration_method or verb
        if templates_in is not None:
            integ["requestTemplates"] = templates_in
        elif integration == "MOCK":
            integ["requestTemplates"] = {"application/json": '{"statusCode": 200}'}
        if request_parameters:
            integ["requestParameters"] = request_parameters
        self.client.put_integration(restApiId=self.id, resourceId=rid, httpMethod=verb, **integ)
        if responses is None:
            responses = [("200", None, None)] if integration in ("MOCK", "HTTP", "AWS") else []
        for code, pattern, template in responses:
            self.client.put_method_response(restApiId=self.id, resourceId=rid, httpMethod=verb, statusCode=code)
            extra = {"selectionPattern": pattern} if pattern else {}
            if template is not None:
                extra["responseTemplates"] = {"application/json": template}
            self.client.put_integration_response(restApiId=self.id, resourceId=rid, httpMethod=verb, statusCode=code,
                                                 **extra)
        return rid

    def deploy(self, stage="prod"):
        self.client.create_deployment(restApiId=self.id, stageName=stage)
        return self.url(stage)

    def url(self, stage="prod"):
        return f"https://{self.id}.execute-api.us-east-1.amazonaws.com/{stage}"

    def stage_settings(self, stage, **settings):
        ops = [{"op": "replace", "path": f"/{path}", "value": str(value)} for path, value in settings.items()]
        self.client.update_stage(restApiId=self.id, stageName=stage, patchOperations=ops)


@pytest.fixture()
def api(lab):
    return Api(lab)


@pytest.fixture()
def echo(lab, lambda_role):
    return make_function(lab, lambda_role, "echo")


class Backend:
    """A loopback HTTP server that records what it receives."""

    def __init__(self, status=200, body=b'{"ok": true}', delay=0.0):
        self.seen = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _any(self):
                length = int(self.headers.get("Content-Length") or 0)
                outer.seen.append((self.command, self.path, dict(self.headers), self.rfile.read(length)))
                if delay:
                    threading.Event().wait(delay)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("X-Backend", "shop")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_DELETE = _any

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture()
def backend():
    server = Backend()
    yield server
    server.close()


# ---------------------------------------------------------------- traffic through the invoke URL


def test_lambda_proxy_over_verified_https_with_the_proxy_event(lab, api, echo):
    api.method("/items/{id}", integration="AWS_PROXY", uri=local.lambda_uri(echo))
    url = api.deploy()
    response = requests.get(url + "/items/42?colour=red&colour=blue", headers={"X-Shop": "yes"})
    assert response.status_code == 200 and response.headers["x-amzn-RequestId"]
    event = response.json()
    assert set(event) == {"resource", "path", "httpMethod", "headers", "multiValueHeaders", "queryStringParameters",
                          "multiValueQueryStringParameters", "pathParameters", "stageVariables", "requestContext",
                          "body", "isBase64Encoded"}
    assert (event["resource"], event["path"], event["httpMethod"]) == ("/items/{id}", "/items/42", "GET")
    assert event["pathParameters"] == {"id": "42"}
    assert event["queryStringParameters"] == {"colour": "blue"}
    assert event["multiValueQueryStringParameters"] == {"colour": ["red", "blue"]}
    assert event["headers"]["X-Shop"] == "yes" and event["body"] is None and event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert (context["stage"], context["path"], context["apiId"]) == ("prod", "/prod/items/42", api.id)
    assert context["identity"]["sourceIp"] == "127.0.0.1" and context["resourcePath"] == "/items/{id}"
    assert context["domainName"] == f"{api.id}.execute-api.us-east-1.amazonaws.com"


def test_urllib_reaches_the_same_stage_and_the_certificate_names_the_host(lab, api):
    api.method("/ping", responses=[("200", None, '{"pong": true}')])
    url = api.deploy()
    with urllib.request.urlopen(url + "/ping") as answer:
        assert json.loads(answer.read()) == {"pong": True}
    host = f"{api.id}.execute-api.us-east-1.amazonaws.com"
    context = ssl.create_default_context(cafile=tls.ca_bundle())
    with socket.create_connection((host, 443)) as raw, context.wrap_socket(raw, server_hostname=host) as secure:
        names_in_cert = [value for kind, value in secure.getpeercert()["subjectAltName"] if kind == "DNS"]
    assert names_in_cert == [host]


def test_post_body_reaches_lambda_and_binary_is_base64(lab, api, echo):
    api.method("/cart", "POST", integration="AWS_PROXY", uri=local.lambda_uri(echo))
    url = api.deploy()
    event = requests.post(url + "/cart", json={"sku": "mug"}).json()
    assert json.loads(event["body"]) == {"sku": "mug"} and event["httpMethod"] == "POST"
    event = requests.post(url + "/cart", data=b"\xff\xfe").json()
    assert event["isBase64Encoded"] is True and event["body"] == "//4="


def test_greedy_proxy_any_method_and_literal_beats_parameter(lab, api, echo):
    api.method("/{proxy+}", "ANY", integration="AWS_PROXY", uri=local.lambda_uri(echo))
    api.method("/items/{id}", integration="AWS_PROXY", uri=local.lambda_uri(echo))
    api.method("/items/special", responses=[("200", None, '{"special": true}')])
    url = api.deploy()
    event = requests.delete(url + "/cart/lines/3").json()
    assert event["resource"] == "/{proxy+}" and event["pathParameters"] == {"proxy": "cart/lines/3"}
    assert event["httpMethod"] == "DELETE"
    assert requests.get(url + "/items/7").json()["pathParameters"] == {"id": "7"}
    assert requests.get(url + "/items/special").json() == {"special": True}
    # /items/{id} has only GET: a PUT there is not sent to the greedy resource
    assert requests.put(url + "/items/7").status_code == 403


def test_a_stage_serves_its_deployment_until_the_next_one(lab, api):
    rid = api.method("/catalogue", responses=[("200", None, '{"version": 1}')])
    url = api.deploy()
    api.client.put_integration_response(restApiId=api.id, resourceId=rid, httpMethod="GET", statusCode="200",
                                        responseTemplates={"application/json": '{"version": 2}'})
    api.method("/new")
    assert requests.get(url + "/catalogue").json() == {"version": 1}  # not deployed yet
    assert requests.get(url + "/new").status_code == 403
    test = api.client.test_invoke_method(restApiId=api.id, resourceId=rid, httpMethod="GET")
    assert json.loads(test["body"]) == {"version": 2}  # test_invoke_method tests the current configuration
    api.deploy()
    assert requests.get(url + "/catalogue").json() == {"version": 2}
    assert requests.get(url + "/new").status_code == 200


def test_a_stage_pointed_at_an_older_deployment_serves_it(lab, api):
    rid = api.method("/v", responses=[("200", None, '{"v": 1}')])
    first = api.client.create_deployment(restApiId=api.id, stageName="prod")["id"]
    api.client.put_integration_response(restApiId=api.id, resourceId=rid, httpMethod="GET", statusCode="200",
                                        responseTemplates={"application/json": '{"v": 2}'})
    api.client.create_deployment(restApiId=api.id, stageName="prod")
    assert requests.get(api.url() + "/v").json() == {"v": 2}
    api.client.update_stage(restApiId=api.id, stageName="prod",
                            patchOperations=[{"op": "replace", "path": "/deploymentId", "value": first}])
    assert requests.get(api.url() + "/v").json() == {"v": 1}  # a rollback


def test_bad_input_gets_aws_answers_and_the_server_keeps_serving(lab, api):
    api.method("/ping", responses=[("200", None, '{"pong": true}')])
    url = api.deploy()
    missing = requests.get(url + "/nowhere")
    assert (missing.status_code, missing.json()) == (403, {"message": "Missing Authentication Token"})
    assert missing.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
    assert requests.post(url + "/ping").json() == {"message": "Missing Authentication Token"}  # no POST method
    wrong_stage = requests.get(api.url("dev") + "/ping")
    assert (wrong_stage.status_code, wrong_stage.json()) == (403, {"message": "Forbidden"})
    assert wrong_stage.headers["x-amzn-ErrorType"] == "ForbiddenException"
    no_api = requests.get("https://abcdefghij.execute-api.us-east-1.amazonaws.com/prod/ping")
    assert (no_api.status_code, no_api.json()) == (403, {"message": "Forbidden"})
    host = f"{api.id}.execute-api.us-east-1.amazonaws.com"
    context = ssl.create_default_context()
    with socket.create_connection((host, 443)) as raw, context.wrap_socket(raw, server_hostname=host) as secure:
        secure.sendall(b"THIS IS NOT HTTP\r\n\r\n")
        assert secure.recv(100).startswith(b"HTTP/1.1 400")
    with socket.create_connection((host, 443)) as raw:
        raw.sendall(b"\x16\x03\x01garbage that is no TLS handshake")  # and a broken handshake
        raw.settimeout(5)
        try:
            raw.recv(100)
        except OSError:
            pass
    assert requests.get(url + "/ping").json() == {"pong": True}


def test_required_parameters_are_validated_when_a_validator_says_so(lab, api):
    validator = api.client.create_request_validator(restApiId=api.id, name="params",
                                                    validateRequestParameters=True)["id"]
    params = {"method.request.querystring.page": True, "method.request.header.X-Shop-Id": True,
              "method.request.querystring.sort": False}
    api.method("/items", params=params, validator=validator)
    api.method("/orders", params={"method.request.querystring.page": True})  # no validator: not checked
    url = api.deploy()
    bad = requests.get(url + "/items")
    assert bad.status_code == 400
    assert bad.json() == {"message": "Missing required request parameters: [page, X-Shop-Id]"}
    assert requests.get(url + "/items?page=1", headers={"x-shop-id": "7"}).status_code == 200
    assert requests.get(url + "/orders").status_code == 200


def test_mock_selects_the_integration_response_by_status(lab, api):
    template = '{"statusCode": $input.params("code")}'
    api.method("/health", templates_in={"application/json": template.replace('"code"', "'code'")},
               responses=[("200", None, '{"healthy": true, "stage": "$context.stage"}'),
                          ("503", "5\\d\\d", '{"healthy": false}')])
    api.method("/broken", templates_in={"application/json": '{"statusCode": 200}'}, responses=[])
    url = api.deploy()
    assert requests.get(url + "/health?code=200").json() == {"healthy": True, "stage": "prod"}
    down = requests.get(url + "/health?code=503")
    assert (down.status_code, down.json()) == (503, {"healthy": False})
    broken = requests.get(url + "/broken")  # no integration response at all: a configuration error
    assert (broken.status_code, broken.json()) == (500, {"message": "Internal server error"})


def test_http_proxy_forwards_the_request_to_a_loopback_backend(lab, api, backend):
    api.method("/legacy/{proxy+}", "ANY", integration="HTTP_PROXY", integration_method="ANY",
               uri=f"http://127.0.0.1:{backend.port}/v1/{{proxy}}",
               request_parameters={"integration.request.path.proxy": "method.request.path.proxy"})
    url = api.deploy()
    answer = requests.post(url + "/legacy/cart/items?sku=mug", data=b'{"qty": 2}', headers={"X-Client": "web"})
    assert answer.status_code == 200 and answer.json() == {"ok": True} and answer.headers["X-Backend"] == "shop"
    method, path, headers, body = backend.seen[-1]
    assert (method, path, body) == ("POST", "/v1/cart/items?sku=mug", b'{"qty": 2}')
    assert headers["X-Client"] == "web" and headers["Host"] == f"127.0.0.1:{backend.port}"


def test_http_integration_maps_parameters_and_templates(lab, api, backend):
    api.method("/stock/{sku}", integration="HTTP", uri=f"http://127.0.0.1:{backend.port}/inventory/{{item}}",
               request_parameters={"integration.request.path.item": "method.request.path.sku",
                                   "integration.request.querystring.warehouse": "'north'"},
               templates_in={"application/json": '{"asked": "$input.params(\'sku\')"}'},
               responses=[("200", None, '{"backend_said": $input.json(\'$.ok\')}')])
    url = api.deploy()
    assert requests.get(url + "/stock/mug").json() == {"backend_said": True}
    method, path, _headers, body = backend.seen[-1]
    assert (method, path) == ("GET", "/inventory/mug?warehouse=north")
    assert json.loads(body) == {"asked": "mug"}


def test_http_backends_that_fail_or_are_elsewhere_get_504(lab, api):
    slow = Backend(delay=1.0)
    try:
        rid = api.method("/slow", integration="HTTP_PROXY", uri=f"http://127.0.0.1:{slow.port}/")
        api.client.put_integration(restApiId=api.id, resourceId=rid, httpMethod="GET", type="HTTP_PROXY",
                                   integrationHttpMethod="GET", uri=f"http://127.0.0.1:{slow.port}/", timeoutInMillis=100)
        api.method("/gone", integration="HTTP_PROXY", uri="http://127.0.0.1:9/")
        api.method("/outside", integration="HTTP_PROXY", uri="http://example.com/")
        url = api.deploy()
        timed_out = requests.get(url + "/slow")
        assert (timed_out.status_code, timed_out.json()) == (504, {"message": "Endpoint request timed out"})
        assert requests.get(url + "/gone").status_code == 504
        assert requests.get(url + "/outside").status_code == 504  # never leaves the machine
    finally:
        slow.close()


def test_malformed_lambda_proxy_answers_are_502(lab, api, lambda_role):
    sources = {
        "dict-body": 'def handler(e, c):\n    return {"statusCode": 200, "body": {"id": 1}}\n',
        "no-envelope": 'def handler(e, c):\n    return {"id": 1}\n',
        "raises": 'def handler(e, c):\n    raise ValueError("boom")\n',
        "string-status": 'def handler(e, c):\n    return {"statusCode": "200", "body": "x"}\n',
        "good": 'def handler(e, c):\n    return {"statusCode": 201, "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},'
                ' "body": "made"}\n',
    }
    for name, source in sources.items():
        api.method(f"/{name}", integration="AWS_PROXY", uri=local.lambda_uri(make_function(lab, lambda_role, name, source)))
    url = api.deploy()
    for name in ("dict-body", "no-envelope", "raises", "string-status"):
        answer = requests.get(f"{url}/{name}")
        assert (answer.status_code, answer.json()) == (502, {"message": "Internal server error"}), name
    good = requests.get(url + "/good")
    assert (good.status_code, good.text) == (201, "made")
    assert good.raw.headers.getlist("Set-Cookie") == ["a=1", "b=2"]


def test_aws_integration_with_mapping_templates_and_error_patterns(lab, api, lambda_role):
    source = ('def handler(event, context):\n'
              '    if event["sku"] == "none":\n'
              '        raise LookupError("NotFound: no such item")\n'
              '    return {"sku": event["sku"], "price": 12}\n')
    fn = make_function(lab, lambda_role, "price", source)
    api.method("/price/{sku}", integration="AWS", uri=local.lambda_uri(fn),
               templates_in={"application/json": '{"sku": "$input.params(\'sku\')"}'},
               responses=[("200", None, '{"price": $input.path(\'$.price\')}'),
                          ("404", "NotFound:.*", '{"error": "unknown item"}')])
    url = api.deploy()
    assert requests.get(url + "/price/mug").json() == {"price": 12}
    missing = requests.get(url + "/price/none")
    assert (missing.status_code, missing.json()) == (404, {"error": "unknown item"})


# ---------------------------------------------------------------- throttling, keys and usage plans


def burst(url, count, headers=None):
    return [requests.get(url, headers=headers or {}).status_code for _ in range(count)]


def test_stage_throttle_is_a_token_bucket_on_the_sandbox_clock(lab, api):
    api.method("/items")
    url = api.deploy() + "/items"
    api.stage_settings("prod", **{"*/*/throttling/rateLimit": 2, "*/*/throttling/burstLimit": 5})
    with lab.clock.frozen():
        codes = burst(url, 8)
        assert codes == [200] * 5 + [429] * 3
        throttled = requests.get(url)
        assert throttled.json() == {"message": "Too Many Requests"}
        lab.clock.advance(1.0)
        assert burst(url, 3) == [200, 200, 429]  # two tokens a second
        lab.clock.advance(10)
        served = 0
        for _ in range(40):  # 20 seconds at 2 attempts a second... measured, not assumed
            for _ in range(5):
                served += requests.get(url).status_code == 200
            lab.clock.advance(0.5)
    assert served == 5 + 2 * 20 - 1  # the burst, then the rate: 2 per second over 19.5 s


def test_a_method_setting_overrides_the_stage_default_and_each_method_has_its_bucket(lab, api):
    api.method("/items")
    api.method("/cart")
    url = api.deploy()
    api.stage_settings("prod", **{"*/*/throttling/rateLimit": 1, "*/*/throttling/burstLimit": 2,
                                  "~1cart/GET/throttling/rateLimit": 1, "~1cart/GET/throttling/burstLimit": 4})
    with lab.clock.frozen():
        assert burst(url + "/items", 3) == [200, 200, 429]
        assert burst(url + "/cart", 5) == [200, 200, 200, 200, 429]


def usage_plan(api, *, stage="prod", throttle=None, quota=None, name="basic"):
    payload = {"name": name, "apiStages": [{"apiId": api.id, "stage": stage}]}
    if throttle:
        payload["throttle"] = throttle
    if quota:
        payload["quota"] = quota
    return api.client.create_usage_plan(**payload)["id"]


def api_key(api, plan_id, name, value=None):
    created = api.client.create_api_key(name=name, enabled=True, **({"value": value} if value else {}))
    api.client.create_usage_plan_key(usagePlanId=plan_id, keyId=created["id"], keyType="API_KEY")
    return created["id"], created["value"]


def test_api_keys_are_required_and_checked_against_usage_plans(lab, api):
    api.method("/orders", key=True)
    url = api.deploy() + "/orders"
    plan = usage_plan(api)
    _, good = api_key(api, plan, "web")
    stray = api.client.create_api_key(name="stray", enabled=True)["value"]  # in no plan
    disabled_id, disabled = api_key(api, plan, "old")
    api.client.update_api_key(apiKey=disabled_id, patchOperations=[{"op": "replace", "path": "/enabled", "value": "false"}])
    assert requests.get(url).json() == {"message": "Forbidden"}
    for value in ("not-a-key-at-all-1234567", stray, disabled):
        answer = requests.get(url, headers={"x-api-key": value})
        assert (answer.status_code, answer.json()) == (403, {"message": "Forbidden"})
    assert requests.get(url, headers={"x-api-key": good}).status_code == 200


def test_one_clients_burst_is_throttled_and_the_others_are_not(lab, api):
    api.method("/catalogue", key=True)
    url = api.deploy() + "/catalogue"
    plan = usage_plan(api, throttle={"rateLimit": 1.0, "burstLimit": 3})
    _, greedy = api_key(api, plan, "greedy")
    _, polite = api_key(api, plan, "polite")
    with lab.clock.frozen():
        assert burst(url, 6, {"x-api-key": greedy}) == [200] * 3 + [429] * 3
        assert burst(url, 3, {"x-api-key": polite}) == [200] * 3
        lab.clock.advance(1)
        assert burst(url, 2, {"x-api-key": greedy}) == [200, 429]


def test_quota_answers_limit_exceeded_until_the_period_turns_and_get_usage_counts(lab, api):
    api.method("/search", key=True)
    url = api.deploy() + "/search"
    plan = usage_plan(api, quota={"limit": 3, "period": "DAY"})
    key_id, key = api_key(api, plan, "partner")
    with lab.clock.frozen():
        codes = burst(url, 5, {"x-api-key": key})
        assert codes == [200, 200, 200, 429, 429]
        assert requests.get(url, headers={"x-api-key": key}).json() == {"message": "Limit Exceeded"}
        now = datetime.fromtimestamp(lab.clock.now(), timezone.utc)
        today = now.strftime("%Y-%m-%d")
        usage = api.client.get_usage(usagePlanId=plan, startDate=today, endDate=today)
        assert usage["items"] == {key_id: [[3, 0]]}
        midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=1, microsecond=0)
        lab.clock.advance(midnight.timestamp() - lab.clock.now())
        assert burst(url, 4, {"x-api-key": key}) == [200, 200, 200, 429]
        tomorrow = midnight.strftime("%Y-%m-%d")
        usage = api.client.get_usage(usagePlanId=plan, startDate=today, endDate=tomorrow, keyId=key_id)
        assert usage["items"] == {key_id: [[3, 0], [3, 0]]}
    with pytest.raises(ClientError) as error:
        api.client.get_usage(usagePlanId="nope", startDate=today, endDate=today)
    assert error.value.response["Error"]["Code"] == "NotFoundException"


# ---------------------------------------------------------------- Lambda authorizers

TOKEN_AUTHORIZER = '''
def handler(event, context):
    token = event["authorizationToken"]
    if token == "bad":
        raise Exception("Unauthorized")
    effect = "Deny" if token == "Bearer deny" else "Allow"
    return {"principalId": "customer-" + token[-2:],
            "policyDocument": {"Version": "2012-10-17", "Statement": [
                {"Action": "execute-api:Invoke", "Effect": effect, "Resource": event["methodArn"]}]},
            "context": {"tier": "gold", "discount": 10}}
'''


def authorizer(api, fn, *, kind="TOKEN", source="method.request.header.Authorization", ttl=300, expression=None):
    kwargs = {"identityValidationExpression": expression} if expression else {}
    return api.client.create_authorizer(restApiId=api.id, name=f"auth-{kind}", type=kind,
                                        authorizerUri=local.lambda_uri(fn), identitySource=source,
                                        authorizerResultTtlInSeconds=ttl, **kwargs)["id"]


def test_token_authorizer_answers_401_403_and_passes_its_context(lab, api, echo, lambda_role):
    auth = authorizer(api, make_function(lab, lambda_role, "auth", TOKEN_AUTHORIZER), ttl=0)
    api.method("/account", auth="CUSTOM", authorizer=auth, integration="AWS_PROXY", uri=local.lambda_uri(echo))
    url = api.deploy() + "/account"
    missing = requests.get(url)
    assert (missing.status_code, missing.json()) == (401, {"message": "Unauthorized"})
    assert requests.get(url, headers={"Authorization": "bad"}).status_code == 401
    denied = requests.get(url, headers={"Authorization": "Bearer deny"})
    assert denied.status_code == 403
    assert denied.json() == {"Message": "User is not authorized to access this resource with an explicit deny"}
    assert local.authorizer_invocations(auth) == 2  # a missing token never invokes the function
    event = requests.get(url, headers={"Authorization": "Bearer 42"}).json()
    assert event["requestContext"]["authorizer"] == {"principalId": "customer-42", "tier": "gold", "discount": 10}


def test_authorizer_results_are_cached_for_their_ttl(lab, api, lambda_role):
    auth = authorizer(api, make_function(lab, lambda_role, "auth", TOKEN_AUTHORIZER), ttl=60)
    api.method("/a", auth="CUSTOM", authorizer=auth)
    api.method("/b", auth="CUSTOM", authorizer=auth)
    url = api.deploy()
    with lab.clock.frozen():
        for _ in range(5):
            assert requests.get(url + "/a", headers={"Authorization": "Bearer 01"}).status_code == 200
        assert local.authorizer_invocations(auth) == 1
        # the cached policy names /a's method ARN only: /b is refused without a new invocation
        other = requests.get(url + "/b", headers={"Authorization": "Bearer 01"})
        assert other.json() == {"Message": "User is not authorized to access this resource"}
        assert requests.get(url + "/a", headers={"Authorization": "Bearer 02"}).status_code == 200
        assert local.authorizer_invocations(auth) == 2  # another token, another invocation
        lab.clock.advance(61)
        requests.get(url + "/a", headers={"Authorization": "Bearer 01"})
        assert local.authorizer_invocations(auth) == 3


def test_request_authorizer_and_identity_validation_expression(lab, api, echo, lambda_role):
    source = ('def handler(event, context):\n'
              '    shop = event["queryStringParameters"]["shop"]\n'
              '    return {"principalId": shop, "policyDocument": {"Statement": [{"Action": "execute-api:*",'
              ' "Effect": "Allow", "Resource": "arn:aws:execute-api:*:*:*/prod/GET/*"}]}}\n')
    request_auth = authorizer(api, make_function(lab, lambda_role, "req", source), kind="REQUEST",
                              source="method.request.querystring.shop", ttl=0)
    token_auth = authorizer(api, make_function(lab, lambda_role, "tok", TOKEN_AUTHORIZER), ttl=0,
                            expression="Bearer [0-9]+")
    api.method("/r", auth="CUSTOM", authorizer=request_auth, integration="AWS_PROXY", uri=local.lambda_uri(echo))
    api.method("/t", auth="CUSTOM", authorizer=token_auth)
    url = api.deploy()
    assert requests.get(url + "/r").status_code == 401
    assert requests.get(url + "/r?shop=north").json()["requestContext"]["authorizer"]["principalId"] == "north"
    assert requests.get(url + "/t", headers={"Authorization": "Bearer abc"}).status_code == 401
    assert local.authorizer_invocations(token_auth) == 0  # refused by the expression, before any invocation
    assert requests.get(url + "/t", headers={"Authorization": "Bearer 12"}).status_code == 200


# ---------------------------------------------------------------- test_invoke_method, metrics


def test_test_invoke_method_runs_the_integration_without_deploying(lab, api, echo):
    rid = api.method("/items/{id}", integration="AWS_PROXY", uri=local.lambda_uri(echo), key=True)
    answer = api.client.test_invoke_method(restApiId=api.id, resourceId=rid, httpMethod="GET",
                                           pathWithQueryString="/items/5?x=1", headers={"X-Test": "1"})
    assert answer["status"] == 200 and "Method completed with status: 200" in answer["log"]
    event = json.loads(answer["body"])
    assert event["pathParameters"] == {"id": "5"} and event["queryStringParameters"] == {"x": "1"}
    assert event["headers"]["X-Test"] == "1"
    with pytest.raises(ClientError) as error:
        api.client.test_invoke_method(restApiId=api.id, resourceId=rid, httpMethod="POST")
    assert error.value.response["Error"]["Code"] == "NotFoundException"


def test_requests_publish_aws_apigateway_metrics(lab, api):
    api.method("/ok")
    url = api.deploy()
    requests.get(url + "/ok")
    requests.get(url + "/ok")
    requests.get(url + "/missing")
    cw = lab.client("cloudwatch")
    start = datetime.now(timezone.utc) - timedelta(hours=1)
    end = datetime.now(timezone.utc) + timedelta(hours=1)

    def total(metric, dimensions):
        points = cw.get_metric_statistics(Namespace="AWS/ApiGateway", MetricName=metric, Dimensions=dimensions,
                                          StartTime=start, EndTime=end, Period=3600, Statistics=["Sum"])["Datapoints"]
        return sum(p["Sum"] for p in points)

    stage = [{"Name": "ApiName", "Value": "shop"}, {"Name": "Stage", "Value": "prod"}]
    assert total("Count", stage) == 3 and total("4XXError", stage) == 1 and total("5XXError", stage) == 0
    listed = cw.list_metrics(Namespace="AWS/ApiGateway")["Metrics"]
    assert {"Count", "4XXError", "5XXError", "Latency", "IntegrationLatency"} <= {m["MetricName"] for m in listed}
    dimension_sets = {tuple(sorted(d["Name"] for d in m["Dimensions"])) for m in listed if m["MetricName"] == "Count"}
    assert dimension_sets == {("ApiName",), ("ApiName", "Stage")}


# ---------------------------------------------------------------- in-process plane and templates


def test_the_plane_is_a_function(lab, api):
    api.method("/ping", responses=[("200", None, '{"pong": "$context.httpMethod"}')])
    url = api.deploy()
    answer = local.invoke("GET", url + "/ping")
    assert answer.status == 200 and json.loads(answer.body) == {"pong": "GET"}
    assert local.handle(local.HttpRequest("GET", "/prod/ping", headers=[("Host", "localhost")])).status == 403
    assert local.server_port() is None  # no socket was needed


def test_templates_render_references_and_refuse_directives():
    params = {"path": {"id": "7"}, "querystring": {"q": "mug"}, "header": {"X-A": "b"}}
    body = b'{"items": [{"sku": "a"}, {"sku": "b"}], "note": "say \\"hi\\""}'
    out = templates.render('{"id": "$input.params(\'id\')", "q": "$input.params(\'q\')", "h": "$input.params(\'x-a\')",'
                           ' "first": "$input.path(\'$.items[0].sku\')", "all": $input.json(\'$.items\'),'
                           ' "note": "$util.escapeJavaScript($input.path(\'$.note\'))", "stage": "${context.stage}",'
                           ' "v": "$stageVariables.colour", "quiet": "$!context.nothing", "cost": "\\$5"}',
                           body=body, params=params, context={"stage": "prod"}, stage_variables={"colour": "red"})
    assert json.loads(out) == {"id": "7", "q": "mug", "h": "b", "first": "a", "all": [{"sku": "a"}, {"sku": "b"}],
                               "note": 'say "hi"', "stage": "prod", "v": "red", "quiet": "", "cost": "$5"}
    with pytest.raises(templates.TemplateError):
        templates.render('#set($x = 1)\n{"x": $x}')


# ---------------------------------------------------------------- names, seams and lifecycle


def test_only_execute_api_names_are_claimed(lab):
    lab.apigateway  # noqa: B018
    assert names.resolve("abc123defg.execute-api.us-east-1.amazonaws.com")
    assert names.resolve("apigateway.us-east-1.amazonaws.com") is None
    assert names.resolve("example.com") is None


def test_every_seam_is_where_the_service_expects_it(lab):
    lab.client("apigateway").get_rest_apis()
    assert "apigateway" in registry.installed()
    assert seams.check(local.SEAMS) == []
    assert not [seam for seam in local.SEAMS if seam.patched]


def test_instance_attributes_named_in_seams_exist_on_real_objects(lab, api):
    from moto.apigateway.models import apigateway_backends

    rid = api.method("/x")
    api.deploy()
    plan = usage_plan(api)
    api_key(api, plan, "k")
    backend = apigateway_backends[lab.account_id][lab.region]
    rest = backend.apis[api.id]
    authorizer_id = api.client.create_authorizer(restApiId=api.id, name="a", type="TOKEN", authorizerUri="arn:x",
                                                 identitySource="method.request.header.Authorization")["id"]
    resource = rest.resources[rid]
    method = resource.resource_methods["GET"]
    objects = {"APIGatewayBackend": backend, "RestAPI": rest, "Resource": resource, "Method": method,
               "Integration": method.method_integration, "Stage": rest.stages["prod"],
               "UsagePlan": backend.usage_plans[plan], "Authorizer": rest.authorizers[authorizer_id]}
    instance_seams = [seam for seam in local.SEAMS if seam.instance]
    for seam in instance_seams:
        owner, attribute = seam.qualname.rsplit(".", 1)
        assert owner in objects, f"add a real {owner} to this test for {seam.path}"
        assert hasattr(objects[owner], attribute), seam.path


def test_reset_stops_the_front_and_forgets_everything(lab, api, lambda_role):
    auth = authorizer(api, make_function(lab, lambda_role, "auth", TOKEN_AUTHORIZER))
    api.method("/a", auth="CUSTOM", authorizer=auth, key=True)
    url = api.deploy() + "/a"
    plan = usage_plan(api, quota={"limit": 1, "period": "DAY"})
    _, key = api_key(api, plan, "k")
    assert requests.get(url, headers={"Authorization": "Bearer 01", "x-api-key": key}).status_code == 200
    port = local.server_port()
    assert port is not None and any(server.port == port for server in loopback.live_servers())
    lab.reset()
    assert local.server_port() is None
    assert_nothing_left_running()
    assert local.authorizer_invocations() == 0
    assert local.throttling._DAILY == {} and local.model._DEPLOYMENTS == {}
    fresh = Api(lab)  # and the plane works again after the reset
    fresh.method("/ping", responses=[("200", None, '{"pong": true}')])
    assert requests.get(fresh.deploy() + "/ping").json() == {"pong": True}


# ---------------------------------------------------------------- the browser edition (no sockets: in-process)


@pytest.fixture()
def browser(lab, monkeypatch):
    """Browser mode on: servers become in-process, ``requests`` reaches them through labkit.core.inprocess."""
    monkeypatch.setenv(platform.VARIABLE, "1")
    lab.reset()  # a front started locally by an earlier test comes back in-process
    inprocess.install()
    yield lab
    lab.reset()


def test_in_the_browser_an_http_proxy_backend_is_reached_in_process(browser, api):
    seen = []

    def handle(request):
        seen.append((request.method, request.target, request.header("host"), request.header("x-client"), request.body,
                     threading.get_ident()))
        return HttpResponse(200, [("Content-Type", "application/json"), ("X-Backend", "shop")], b'{"ok": true}')

    backend = HttpFront(handle, name="browser-backend")
    assert backend._server.in_process  # no socket: a connection to its port would be refused
    api.method("/legacy/{proxy+}", "ANY", integration="HTTP_PROXY", integration_method="ANY",
               uri=f"http://127.0.0.1:{backend.port}/v1/{{proxy}}",
               request_parameters={"integration.request.path.proxy": "method.request.path.proxy"})
    api.method("/gone", integration="HTTP_PROXY", uri="http://127.0.0.1:9/")  # nothing serves there
    url = api.deploy()
    answer = requests.post(url + "/legacy/cart/items?sku=mug", data=b'{"qty": 2}', headers={"X-Client": "web"})
    assert (answer.status_code, answer.json(), answer.headers["X-Backend"]) == (200, {"ok": True}, "shop")
    assert seen == [("POST", "/v1/cart/items?sku=mug", f"127.0.0.1:{backend.port}", "web", b'{"qty": 2}',
                     threading.get_ident())]  # the caller's thread: no socket, no server thread
    gone = requests.get(url + "/gone")
    assert (gone.status_code, gone.json()) == (504, {"message": "Internal server error"})


def test_in_the_browser_an_http_integration_can_call_another_api_by_its_invoke_url(browser, lab):
    inner = Api(lab, name="inner")
    inner.method("/price/{sku}", responses=[("200", None, '{"sku": "$input.params(\'sku\')", "price": 12}')])
    inner_url = inner.deploy()
    outer = Api(lab, name="outer")
    outer.method("/quote/{sku}", integration="HTTP", uri=inner_url + "/price/{sku}",
                 request_parameters={"integration.request.path.sku": "method.request.path.sku"},
                 responses=[("200", None, '{"quoted": $input.json(\'$.price\')}')])
    assert requests.get(outer.deploy() + "/quote/mug").json() == {"quoted": 12}
    assert local.server_port() is not None and loopback.in_process(local.server_port()) is not None


OPENAPI_PROBE = r'''
import json, sys
import labkit
from labkit.core.platform import BrowserGap
lab = labkit.start()
apigw = lab.client("apigateway")
apigw.get_rest_apis()  # the service is installed before moto's API Gateway is imported
import moto.apigateway.models as models
document = json.dumps({"openapi": "3.0.0", "info": {"title": "shop", "description": "d", "version": "1"}, "paths": {}})
print("imported", apigw.import_rest_api(body=document)["name"])
try:
    apigw.import_rest_api(body=document, failOnWarnings=True)
except BrowserGap as error:
    print("gap", "failOnWarnings=True" in str(error) and "local edition" in str(error))
print("module", models.validate.__module__, "openapi_spec_validator" in sys.modules)
'''


@pytest.mark.parametrize("mode", ["1", "0"])
def test_in_the_browser_moto_validates_no_openapi_document_and_says_so(mode):
    import os
    import subprocess
    import sys

    env = {**os.environ, platform.VARIABLE: mode}
    done = subprocess.run([sys.executable, "-c", OPENAPI_PROBE], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    if mode == "1":  # the stand-in, seen by moto's API Gateway alone
        assert done.stdout.split("\n")[:3] == ["imported shop", "gap True",
                                               "module labkit.services.apigateway.browser False"]
    else:  # locally moto validates with the real package (this document is valid)
        assert "gap" not in done.stdout and "module openapi_spec_validator" in done.stdout


def test_the_openapi_stand_in_has_every_name_moto_imports():
    import re
    from pathlib import Path

    import moto.apigateway

    source = (Path(moto.apigateway.__file__).parent / "models.py").read_text()
    imports = re.findall(r"from (openapi_spec_validator[\w.]*) import (\w+)", source)
    assert imports, "moto's API Gateway no longer imports openapi_spec_validator: drop the stand-in"
    for module, name in imports:
        assert name in apigw_browser.IMPORTS.get(module, ()), f"the stand-in lacks {module}.{name}"


CLOUDFORMATION_FIRST = """
import json, sys, boto3, labkit
lab = labkit.start()
print("stand-in", "moto.apigateway.models" in sys.modules and sys.modules["moto.apigateway.models"].validate.__module__)
cf = boto3.client("cloudformation", region_name="us-east-1")
cf.create_stack(StackName="first", TemplateBody=json.dumps({"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}}))
print("stack", cf.describe_stacks(StackName="first")["Stacks"][0]["StackStatus"])
"""


def test_in_the_browser_the_stand_in_is_in_place_before_any_service_imports_moto_s_api_gateway():
    """moto's CloudFormation imports moto's API Gateway: a notebook whose first call is CloudFormation's
    must find the stand-in already there (the sandbox installs API Gateway first in the browser edition)."""
    import os
    import subprocess
    import sys

    env = {**os.environ, platform.VARIABLE: "1"}
    done = subprocess.run([sys.executable, "-c", CLOUDFORMATION_FIRST], capture_output=True, text=True, env=env,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split("\n")[:2] == ["stand-in labkit.services.apigateway.browser", "stack CREATE_COMPLETE"]
