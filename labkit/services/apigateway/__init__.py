"""API Gateway (REST APIs): the invoke URL serves traffic.

What AWS does
    A REST API is a tree of resources (``/items/{id}``) with methods (``GET``,
    ``ANY``), each wired to an integration (a Lambda function, an HTTP
    backend, a mock). A *deployment* snapshots the API and a *stage* (``prod``)
    serves one deployment at ``https://{api-id}.execute-api.{region}.amazonaws.com/{stage}``.
    On the way in, API Gateway throttles (per stage and method, per API key in
    a usage plan), checks API keys and Lambda authorizers, validates required
    parameters, and publishes ``AWS/ApiGateway`` metrics.

What moto does
    It stores all of that, and routes no request: the invoke URL answers only
    ``HTTP`` and DynamoDB integrations through ``requests``, without path
    parameters, ``{proxy+}``, throttling, keys or authorizers;
    ``TestInvokeMethod`` and ``GetUsage`` are not implemented.

What this service adds (``lab.apigateway``)
    - :mod:`.plane`: :func:`handle`, the data plane as a function (request in,
      response out), in AWS's order: stage, route, throttles, authorizer, API
      key and usage plan, validation, integration, metrics;
    - :mod:`.routing`, :mod:`.model`: path parameters, ``{proxy+}``, ``ANY``;
      each deployment's snapshot (a stage serves what was deployed);
    - :mod:`.integrations`, :mod:`.templates`: MOCK, HTTP, HTTP_PROXY,
      AWS_PROXY and AWS (Lambda) integrations; a subset of mapping templates;
    - :mod:`.throttling`: token buckets, usage plans, quotas, ``get_usage``;
    - :mod:`.authorizers`: TOKEN and REQUEST Lambda authorizers with caching;
    - :mod:`.server`: the HTTPS front behind every invoke URL (verified TLS);
    - :mod:`.api`: ``CreateDeployment`` snapshots, ``TestInvokeMethod`` and
      ``GetUsage`` answered by the plane;
    - :mod:`.browser`: what changes in the browser edition (an in-process
      front; importing an OpenAPI document is not available there).

Time: throttles refill, quotas reset and authorizer results expire on the
sandbox clock (``lab.clock``); Lambda functions and HTTP backends run in real time.

Limits (said in the chapter where a learner could notice)
    * Mapping templates: references only (no ``#if``, ``#set``, ``#foreach``).
    * Not emulated: IAM authorization and resource policies, Cognito
      authorizers, request body validation against models, caching, custom
      domain names, canary settings, access logs, HTTP APIs and WebSocket APIs.
    * Lambda's resource policy (``add_permission``) is not checked.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from labkit.core.httpfront import HttpRequest, HttpResponse

from . import browser as _browser

_browser.install()  # browser edition: before moto's API Gateway is imported (its seams below import it)

from . import api as _api  # noqa: E402
from . import authorizers as _authorizers  # noqa: E402
from . import model as _model  # noqa: E402
from . import server as _server  # noqa: E402
from . import throttling as _throttling  # noqa: E402
from .plane import handle, invoke_url, parse_host  # noqa: E402
from .seams import SEAMS  # noqa: E402

__all__ = [
    "SEAMS",
    "HttpRequest",
    "HttpResponse",
    "authorizer_invocations",
    "handle",
    "install",
    "invoke",
    "invoke_url",
    "lambda_uri",
    "parse_host",
    "reset",
    "server_port",
]


def lambda_uri(function_arn: str, region: str | None = None) -> str:
    """The integration (or authorizer) URI that invokes a Lambda function:
    ``arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{arn}/invocations``."""
    region = region or function_arn.split(":")[3]
    return f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{function_arn}/invocations"


def invoke(method: str, url: str, *, headers: dict[str, str] | None = None, body: bytes | str = b"") -> HttpResponse:
    """Send one request to an invoke URL in-process (no socket, no TLS): what
    :func:`handle` answers. For benchmarks and tests; labs use ``requests``."""
    parts = urlsplit(url)
    data = body.encode() if isinstance(body, str) else body
    pairs = [("Host", parts.netloc)] + list((headers or {}).items())
    return handle(HttpRequest(method=method.upper(), path=parts.path or "/", query=parts.query, headers=pairs,
                              body=data, scheme="https"))


def authorizer_invocations(authorizer_id: str | None = None) -> int:
    """How many times an authorizer's Lambda function ran (all authorizers when
    ``None``): a cached answer does not run it."""
    return _authorizers.invocations(authorizer_id)


def server_port() -> int | None:
    """The loopback port of the HTTPS front, once an invoke URL was resolved."""
    front = _server.front()
    return None if front is None else front.port


# --------------------------------------------------------------------------
# Lifecycle (called by labkit.core.registry)
# --------------------------------------------------------------------------


def install() -> None:
    """Claim the invoke URL names and subscribe to the calls the plane answers. Idempotent."""
    _server.install()
    _api.subscribe()


def reset() -> None:
    """Stop the front, forget snapshots, throttles, quotas and cached authorizer answers."""
    _server.stop()
    _model.forget()
    _throttling.reset()
    _authorizers.reset()
