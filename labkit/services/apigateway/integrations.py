"""Integrations: what a method does once a request is let in.

=============  ================================================================
type           what labkit does
=============  ================================================================
``MOCK``       renders the request template (``{"statusCode": 200}``), picks
               the integration response whose ``selectionPattern`` matches that
               status (or the default one) and renders its template
``HTTP``       calls the URI (mapping templates and ``requestParameters`` on
               the way in, integration responses selected by the backend's
               status on the way out)
``HTTP_PROXY`` forwards the request as it came (method, headers, query string,
               body; ``{proxy}`` filled in) and returns the backend's answer
``AWS_PROXY``  invokes the Lambda function with the proxy event (format 1.0)
               and turns its ``{"statusCode", "headers", "body"}`` into the
               response; anything else is 502 ``Internal server error``
``AWS``        Lambda only: the request template builds the event, the
               function's ``errorMessage`` selects the integration response
=============  ================================================================

HTTP backends are reached only on loopback or at a name the sandbox claims
(a load balancer's ``DNSName``, another API's invoke URL): a lab never sends
traffic anywhere else. A backend that does not answer within the
integration's ``timeoutInMillis`` (29 s by default) gets 504
``{"message": "Endpoint request timed out"}``; one that cannot be reached gets
504 (the ``INTEGRATION_FAILURE`` gateway response).

In the browser edition (no sockets) an HTTP backend gets the same request
in-process, from its HTTP front (:mod:`labkit.core.inprocess`): the same names,
addresses and answers; a backend then runs to its end, so it cannot time out.
"""

from __future__ import annotations

import http.client as httpclient
import json
import re
import socket
import ssl
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from labkit.core import inprocess, names, platform
from labkit.core.httpfront import HttpRequest
from labkit.core.offline import is_loopback

from .authorizers import function_arn
from .model import IntegrationResponseSpec, IntegrationSpec
from .templates import TemplateError, render

INTERNAL_ERROR = {"message": "Internal server error"}
TIMED_OUT = {"message": "Endpoint request timed out"}

#: Headers API Gateway does not forward to an HTTP_PROXY backend (hop-by-hop ones and its own).
_NOT_FORWARDED = {"host", "connection", "content-length", "transfer-encoding", "keep-alive", "upgrade",
                  "proxy-connection", "te", "trailer"}
#: The top-level fields a Lambda proxy response may have (REST APIs, format 1.0).
PROXY_RESPONSE_FIELDS = {"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"}


@dataclass
class Outcome:
    """What an integration answered."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    integration_ms: float = 0.0
    log: list[str] = field(default_factory=list)

    @classmethod
    def error(cls, status: int, document: dict[str, Any], log: str = "") -> Outcome:
        return cls(status, [("Content-Type", "application/json")], json.dumps(document).encode(), log=[log] if log else [])


@dataclass
class Call:
    """One request as the integration sees it (built by the plane)."""

    event: dict[str, Any]  # the Lambda proxy event (format 1.0)
    body: bytes
    content_type: str
    stage_variables: dict[str, str]
    context: dict[str, Any]  # $context for templates
    params: dict[str, dict[str, str]]  # path / querystring / header, for templates and mappings


# --------------------------------------------------------------------------
# Templates and parameter mappings
# --------------------------------------------------------------------------


def _render(template: str, call: Call, body: bytes | None = None) -> str:
    return render(template, body=call.body if body is None else body, params=call.params, context=call.context,
                  stage_variables=call.stage_variables)


def _request_body(spec: IntegrationSpec, call: Call) -> bytes | None:
    """The integration request body (None: 415, no template for this content type)."""
    templates = spec.request_templates
    content_type = (call.content_type or "application/json").split(";")[0].strip().lower()
    template = templates.get(content_type)
    if template is None and content_type not in templates:
        if spec.passthrough == "NEVER" or (spec.passthrough == "WHEN_NO_TEMPLATES" and templates):
            return None
        return call.body
    return _render(template or "", call).encode()


def _source_value(source: str, call: Call, response_headers: dict[str, str] | None = None) -> str | None:
    """The value of a mapping source: ``'static'``, ``method.request.path.id``,
    ``integration.response.header.X``, ``stageVariables.x``, ``context.x``."""
    if len(source) >= 2 and source[0] == source[-1] == "'":
        return source[1:-1]
    parts = source.split(".")
    if source.startswith("method.request.") and len(parts) >= 4:
        where, name = parts[2], ".".join(parts[3:])
        table = call.params.get({"path": "path", "querystring": "querystring", "header": "header"}.get(where, ""), {})
        if where == "header":
            return next((v for k, v in table.items() if k.lower() == name.lower()), None)
        return table.get(name)
    if source.startswith("integration.response.header.") and response_headers is not None:
        return next((v for k, v in response_headers.items() if k.lower() == parts[-1].lower()), None)
    if source.startswith("stageVariables."):
        return call.stage_variables.get(parts[-1])
    if source.startswith("context."):
        value: Any = call.context
        for part in parts[1:]:
            value = value.get(part) if isinstance(value, dict) else None
        return None if value is None else str(value)
    return None


def _mapped(spec: IntegrationSpec, call: Call, where: str) -> dict[str, str]:
    prefix = f"integration.request.{where}."
    out = {}
    for target, source in spec.request_parameters.items():
        if target.startswith(prefix):
            value = _source_value(str(source), call)
            if value is not None:
                out[target[len(prefix):]] = value
    return out


def _fill_uri(uri: str, spec: IntegrationSpec, call: Call) -> str:
    mapped = _mapped(spec, call, "path")
    path_params = call.event.get("pathParameters") or {}
    for name, value in call.stage_variables.items():
        uri = uri.replace("${stageVariables." + name + "}", value)

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        greedy = name.endswith("+")
        name = name.rstrip("+")
        value = mapped.get(name, path_params.get(name, path_params.get(name + "+")))
        if value is None:
            return match.group(0)
        return quote(value, safe="/" if greedy or name == "proxy" else "")

    return re.sub(r"\{([A-Za-z0-9_.+-]+)\}", fill, uri)


def _select_response(spec: IntegrationSpec, selector: str) -> IntegrationResponseSpec | None:
    default = None
    for response in spec.responses:
        if not response.selection_pattern:
            default = default or response
            continue
        try:
            if re.fullmatch(response.selection_pattern, selector, flags=re.DOTALL):
                return response
        except re.error:
            continue
    return default


def _integration_response(spec: IntegrationSpec, selector: str, call: Call, payload: bytes,
                          backend_headers: dict[str, str] | None = None) -> Outcome:
    chosen = _select_response(spec, selector)
    if chosen is None:
        return Outcome.error(500, INTERNAL_ERROR, "Execution failed due to configuration error: "
                             "No match for output mapping and no default output mapping configured")
    templates = chosen.templates or {}
    template = templates.get("application/json") if "application/json" in templates else next(iter(templates.values()), None)
    body = payload if template is None else _render(template, call, body=payload).encode()
    headers = [("Content-Type", "application/json")]
    for target, source in (chosen.parameters or {}).items():
        if target.startswith("method.response.header."):
            value = _source_value(str(source), call, backend_headers or {})
            if value is not None:
                headers.append((target.rsplit(".", 1)[-1], value))
    try:
        status = int(chosen.status_code)
    except ValueError:
        return Outcome.error(500, INTERNAL_ERROR, f"invalid integration response status {chosen.status_code!r}")
    return Outcome(status, headers, body)


# --------------------------------------------------------------------------
# MOCK
# --------------------------------------------------------------------------


def mock(spec: IntegrationSpec, call: Call) -> Outcome:
    rendered = _request_body(spec, call)
    status = 200
    if rendered:
        try:
            document = json.loads(rendered.decode("utf-8", "replace"))
        except ValueError:
            return Outcome.error(500, INTERNAL_ERROR, "the MOCK request template did not render JSON")
        if isinstance(document, dict) and "statusCode" in document:
            try:
                status = int(document["statusCode"])
            except (TypeError, ValueError):
                return Outcome.error(500, INTERNAL_ERROR, "statusCode in the MOCK request template is not a number")
    return _integration_response(spec, str(status), call, b"")


# --------------------------------------------------------------------------
# HTTP and HTTP_PROXY
# --------------------------------------------------------------------------


class Unreachable(OSError):
    """An HTTP backend the sandbox cannot (or may not) reach."""


def send_http(method: str, url: str, headers: list[tuple[str, str]], body: bytes,
              timeout: float) -> tuple[int, list[tuple[str, str]], bytes]:
    """One HTTP request to a loopback or sandbox-claimed backend."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    secure = parts.scheme == "https"
    port = parts.port or (443 if secure else 80)
    if not is_loopback(host):
        try:
            targets = names.connect_targets(host, port)
        except ConnectionRefusedError as error:
            raise Unreachable(str(error)) from error
        if targets is None:
            raise Unreachable(f"{host} is neither loopback nor a name in the lab sandbox; labs send no traffic elsewhere")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if platform.in_browser():
        return _send_in_process(method, host, port, parts.netloc, target, headers, body)
    connection: httpclient.HTTPConnection
    if secure:
        connection = httpclient.HTTPSConnection(host, port, timeout=timeout, context=ssl.create_default_context())
    else:
        connection = httpclient.HTTPConnection(host, port, timeout=timeout)
    try:
        connection.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
        connection.putheader("Host", parts.netloc)
        for key, value in headers:
            connection.putheader(key, value)
        connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        response = connection.getresponse()
        payload = response.read()
        return response.status, list(response.getheaders()), payload
    except TimeoutError:
        raise
    except (OSError, httpclient.HTTPException) as error:
        if isinstance(error, socket.timeout):
            raise TimeoutError(str(error)) from error
        raise Unreachable(str(error)) from error
    finally:
        connection.close()


def _send_in_process(method: str, host: str, port: int, netloc: str, target: str, headers: list[tuple[str, str]],
                     body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
    """The browser edition's :func:`send_http`: the same request, handed to the
    backend's HTTP front in-process (:func:`labkit.core.inprocess.http_exchange`).
    The backend runs to its end in this thread, so it cannot time out."""
    path, _, query = target.partition("?")
    request = HttpRequest(method=method, path=path, query=query, body=body,
                          headers=[("Host", netloc), *headers, ("Content-Length", str(len(body)))])
    try:
        answer = inprocess.http_exchange(host, port, request)
    except OSError as error:  # refused, no such name, or not an HTTP server: as a socket would fail
        raise Unreachable(str(error)) from error
    return answer.status, list(answer.headers), answer.body


def _http_call(method: str, url: str, headers: list[tuple[str, str]], body: bytes, spec: IntegrationSpec) -> tuple[
        Outcome | None, tuple[int, list[tuple[str, str]], bytes] | None, float]:
    started = time.perf_counter()
    try:
        answer = send_http(method, url, headers, body, spec.timeout_ms / 1000.0)
    except TimeoutError:
        return Outcome.error(504, TIMED_OUT, "Execution failed: endpoint request timed out"), None, \
            (time.perf_counter() - started) * 1000
    except Unreachable as error:
        return Outcome.error(504, INTERNAL_ERROR, f"Execution failed due to an integration failure: {error}"), None, \
            (time.perf_counter() - started) * 1000
    return None, answer, (time.perf_counter() - started) * 1000


def http_proxy(spec: IntegrationSpec, call: Call) -> Outcome:
    url = _fill_uri(spec.uri or "", spec, call)
    query = call.event.get("multiValueQueryStringParameters") or {}
    extra = _mapped(spec, call, "querystring")
    pairs = [(k, v) for k, values in query.items() for v in values] + list(extra.items())
    if pairs:
        url += ("&" if "?" in url else "?") + urlencode(pairs)
    headers = [(k, v) for k, values in (call.event.get("multiValueHeaders") or {}).items() for v in values
               if k.lower() not in _NOT_FORWARDED]
    headers += list(_mapped(spec, call, "header").items())
    method = call.event["httpMethod"] if (spec.http_method or "ANY").upper() == "ANY" else spec.http_method
    failed, answer, elapsed = _http_call(str(method), url, headers, call.body, spec)
    if failed is not None:
        failed.integration_ms = elapsed
        return failed
    assert answer is not None
    status, response_headers, payload = answer
    kept = [(k, v) for k, v in response_headers if k.lower() not in ("connection", "content-length", "transfer-encoding",
                                                                      "keep-alive", "date", "server")]
    return Outcome(status, kept, payload, integration_ms=elapsed)


def http_integration(spec: IntegrationSpec, call: Call) -> Outcome:
    body = _request_body(spec, call)
    if body is None:
        return Outcome.error(415, {"message": "Unsupported Media Type"})
    url = _fill_uri(spec.uri or "", spec, call)
    query = _mapped(spec, call, "querystring")
    if query:
        url += ("&" if "?" in url else "?") + urlencode(query)
    headers = list(_mapped(spec, call, "header").items())
    if body and not any(k.lower() == "content-type" for k, _ in headers):
        headers.append(("Content-Type", "application/json"))
    failed, answer, elapsed = _http_call(str(spec.http_method or "GET"), url, headers, body, spec)
    if failed is not None:
        failed.integration_ms = elapsed
        return failed
    assert answer is not None
    status, response_headers, payload = answer
    outcome = _integration_response(spec, str(status), call, payload, dict(response_headers))
    outcome.integration_ms = elapsed
    return outcome


# --------------------------------------------------------------------------
# Lambda: AWS_PROXY and AWS
# --------------------------------------------------------------------------


def _invoke_lambda(spec: IntegrationSpec, call: Call, payload: Any) -> tuple[Outcome | None, Any, float]:
    from labkit.services import lambda_

    arn = function_arn(spec.uri, call.stage_variables)
    if arn is None:
        return Outcome.error(500, INTERNAL_ERROR, f"the integration URI {spec.uri!r} names no Lambda function"), None, 0.0
    started = time.perf_counter()
    try:
        result = lambda_.invoke(arn, payload)
    except Exception as error:  # noqa: BLE001  (moto's ResourceNotFoundException and its kin)
        return Outcome.error(500, INTERNAL_ERROR, f"Execution failed due to configuration error: {error}"), None, \
            (time.perf_counter() - started) * 1000
    elapsed = (time.perf_counter() - started) * 1000
    if result.duration_ms > spec.timeout_ms:
        return Outcome.error(504, TIMED_OUT, "Execution failed: endpoint request timed out"), None, elapsed
    if result.status_code != 200:
        return Outcome.error(500, INTERNAL_ERROR, f"Lambda invocation failed with status: {result.status_code}"), \
            None, elapsed
    return None, result, elapsed


def proxy_response(payload: bytes) -> Outcome | None:
    """The HTTP response a Lambda proxy answer describes, or None when it is malformed."""
    try:
        answer = json.loads(payload) if payload else None
    except ValueError:
        return None
    if not isinstance(answer, dict) or set(answer) - PROXY_RESPONSE_FIELDS:
        return None
    status = answer.get("statusCode", 200)
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        return None
    body = answer.get("body")
    if body is not None and not isinstance(body, str):
        return None
    headers_in = answer.get("headers") or {}
    multi = answer.get("multiValueHeaders") or {}
    if not isinstance(headers_in, dict) or not isinstance(multi, dict):
        return None
    headers: list[tuple[str, str]] = []
    for key, value in headers_in.items():
        if isinstance(value, (dict, list)):
            return None
        headers.append((str(key), "" if value is None else str(value).lower() if isinstance(value, bool) else str(value)))
    for key, values in multi.items():
        if not isinstance(values, list):
            return None
        headers.extend((str(key), str(v)) for v in values)
    encoded = answer.get("isBase64Encoded", False)
    if not isinstance(encoded, bool):
        return None
    data = (body or "").encode("utf-8")
    if encoded:
        import base64
        import binascii

        try:
            data = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            return None
    if not any(k.lower() == "content-type" for k, _ in headers):
        headers.append(("Content-Type", "application/json"))
    return Outcome(status, headers, data)


def aws_proxy(spec: IntegrationSpec, call: Call) -> Outcome:
    failed, result, elapsed = _invoke_lambda(spec, call, call.event)
    if failed is not None:
        failed.integration_ms = elapsed
        return failed
    if result.function_error:
        outcome = Outcome.error(502, INTERNAL_ERROR, "Lambda execution failed with status 200 due to customer function error")
    else:
        parsed = proxy_response(result.payload)
        outcome = parsed or Outcome.error(502, INTERNAL_ERROR, "Execution failed due to configuration error: "
                                          "Malformed Lambda proxy response")
    outcome.integration_ms = elapsed
    return outcome


def aws(spec: IntegrationSpec, call: Call) -> Outcome:
    if ":lambda:path/" not in (spec.uri or ""):
        return Outcome.error(500, INTERNAL_ERROR, f"labkit's AWS integrations call Lambda only, not {spec.uri!r}")
    body = _request_body(spec, call)
    if body is None:
        return Outcome.error(415, {"message": "Unsupported Media Type"})
    failed, result, elapsed = _invoke_lambda(spec, call, body or b"{}")
    if failed is not None:
        failed.integration_ms = elapsed
        return failed
    selector = ""
    if result.function_error:
        try:
            selector = str((result.json() or {}).get("errorMessage", ""))
        except (ValueError, AttributeError):
            selector = ""
    outcome = _integration_response(spec, selector, call, result.payload)
    outcome.integration_ms = elapsed
    return outcome


RUNNERS = {"MOCK": mock, "HTTP": http_integration, "HTTP_PROXY": http_proxy, "AWS_PROXY": aws_proxy, "AWS": aws}


def run(spec: IntegrationSpec, call: Call) -> Outcome:
    """Run the integration (template errors become AWS's configuration error, 500)."""
    runner = RUNNERS.get(spec.type)
    if runner is None:
        return Outcome.error(500, INTERNAL_ERROR, f"integration type {spec.type} is not emulated")
    try:
        return runner(spec, call)
    except TemplateError as error:
        return Outcome.error(500, INTERNAL_ERROR, f"Execution failed due to configuration error: {error}")
