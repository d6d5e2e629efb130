"""Sending one request to one target, and reading its answer.

``instance`` and ``ip`` targets get the request over HTTP/1.1 on a loopback
connection (an instance's app through its bound address, an ``ip`` target
directly when it is a loopback address or through a binding); idle
connections are kept for the next request, as a load balancer keeps its
connections to targets open. ``lambda`` targets are invoked through the
sandbox's Lambda runtime with the event AWS sends and their answer is read in
AWS's response format.

What goes wrong becomes the load balancer's own error, as AWS documents it:

* connection refused, a connection closed before the answer, a malformed
  answer: **502 Bad Gateway**;
* no answer within the load balancer's idle timeout
  (``idle_timeout.timeout_seconds``): **504 Gateway Timeout**;
* a Lambda function that raises, times out, or returns something that is not
  a response: **502**.

In the browser edition (no sockets) the request goes to the target's HTTP
front in-process (:mod:`labkit.core.inprocess`), with the same errors, except
that a target answers to its end in the same thread, so it cannot time out.
"""

from __future__ import annotations

import base64
import http.client
import json
import threading
from dataclasses import dataclass
from typing import Any

from labkit.core import inprocess, platform
from labkit.core.httpfront import HttpRequest, HttpResponse

#: Headers that concern one connection only; never passed on (RFC 9110).
HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization",
                        "te", "trailer", "transfer-encoding", "upgrade"})

#: The user agent of AWS's health checks.
USER_AGENT = "ELB-HealthChecker/2.0"

#: Content types whose body AWS passes to a Lambda function as text (others are base64).
TEXT_TYPES = ("text/", "application/json", "application/javascript", "application/xml")


@dataclass
class TargetAnswer:
    """What came back from a target: a response, or the error the load balancer makes of it."""

    response: HttpResponse | None = None
    elb_status: int | None = None  # 502 or 504 when the load balancer answers instead
    why: str = ""
    seconds: float = 0.0  # target response time


class TargetError(Exception):
    def __init__(self, status: int, why: str) -> None:
        super().__init__(why)
        self.status = status
        self.why = why


# --------------------------------------------------------------------------
# Connections to targets, kept alive between requests
# --------------------------------------------------------------------------

_POOL_LOCK = threading.Lock()
_POOL: dict[tuple[str, int], list[http.client.HTTPConnection]] = {}
_POOL_SIZE = 8


def _take(where: tuple[str, int], timeout: float) -> tuple[http.client.HTTPConnection, bool]:
    with _POOL_LOCK:
        idle = _POOL.get(where)
        if idle:
            connection = idle.pop()
            connection.timeout = timeout
            if connection.sock is not None:
                connection.sock.settimeout(timeout)
            return connection, True
    return http.client.HTTPConnection(where[0], where[1], timeout=timeout), False


def _give_back(where: tuple[str, int], connection: http.client.HTTPConnection) -> None:
    with _POOL_LOCK:
        idle = _POOL.setdefault(where, [])
        if len(idle) < _POOL_SIZE:
            idle.append(connection)
            return
    connection.close()


def close_connections() -> None:
    """Close every idle connection to a target."""
    with _POOL_LOCK:
        for idle in _POOL.values():
            for connection in idle:
                connection.close()
        _POOL.clear()


def send_http(where: tuple[str, int], method: str, target: str, headers: list[tuple[str, str]], body: bytes,
              timeout: float) -> HttpResponse:
    """One HTTP/1.1 exchange with a target. Raises :class:`TargetError` (502 or 504)."""
    if platform.in_browser():
        return _send_in_process(where, method, target, headers, body)
    for attempt in (0, 1):
        connection, reused = _take(where, timeout)
        try:
            connection.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
            for key, value in headers:
                connection.putheader(key, value)
            if body or method in ("POST", "PUT", "PATCH"):
                connection.putheader("Content-Length", str(len(body)))
            connection.endheaders(body or None)
            answer = connection.getresponse()
            data = answer.read()
        except TimeoutError as error:
            connection.close()
            raise TargetError(504, "the target did not answer within the idle timeout") from error
        except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as error:
            connection.close()
            if reused and attempt == 0:
                continue  # a kept connection the target had closed meanwhile: open a fresh one
            raise TargetError(502, f"the target closed the connection ({type(error).__name__})") from error
        except ConnectionRefusedError as error:
            connection.close()
            raise TargetError(502, "the target refused the connection") from error
        except (http.client.HTTPException, OSError, ValueError) as error:
            connection.close()
            raise TargetError(502, f"the target's answer is malformed ({type(error).__name__})") from error
        if answer.will_close:
            connection.close()
        else:
            _give_back(where, connection)
        response_headers = [(k, v) for k, v in answer.getheaders() if k.lower() not in HOP_BY_HOP]
        return HttpResponse(answer.status, response_headers, data)
    raise TargetError(502, "the target closed the connection")  # not reached


def _send_in_process(where: tuple[str, int], method: str, target: str, headers: list[tuple[str, str]],
                     body: bytes) -> HttpResponse:
    """The browser edition's :func:`send_http`: the same request, handed to the
    target's HTTP front in-process (:func:`labkit.core.inprocess.http_exchange`).
    The target answers to its end in this thread, so it cannot time out (no 504)."""
    path, _, query = target.partition("?")
    if body or method in ("POST", "PUT", "PATCH"):
        headers = [*headers, ("Content-Length", str(len(body)))]
    request = HttpRequest(method=method, path=path, query=query, headers=list(headers), body=body)
    try:
        answer = inprocess.http_exchange(where[0], where[1], request)
    except OSError as error:  # nothing there, or not an HTTP server: what a refused connection is locally
        raise TargetError(502, "the target refused the connection") from error
    return HttpResponse(answer.status, [(k, v) for k, v in answer.headers if k.lower() not in HOP_BY_HOP], answer.body)


# --------------------------------------------------------------------------
# Lambda targets
# --------------------------------------------------------------------------


def lambda_event(request: HttpRequest, group_arn: str, headers: list[tuple[str, str]], *,
                 multi_value: bool = False) -> dict[str, Any]:
    """The event an Application Load Balancer sends a Lambda function."""
    content_type = (request.header("content-type") or "").lower()
    text = not request.body or content_type.startswith(TEXT_TYPES)
    body = request.body.decode("utf-8", "replace") if text else base64.b64encode(request.body).decode("ascii")
    event: dict[str, Any] = {
        "requestContext": {"elb": {"targetGroupArn": group_arn}},
        "httpMethod": request.method,
        "path": request.path,
    }
    pairs = _raw_query_pairs(request.query)
    if multi_value:
        query: dict[str, list[str]] = {}
        for key, value in pairs:
            query.setdefault(key, []).append(value)
        multi_headers: dict[str, list[str]] = {}
        for key, value in headers:
            multi_headers.setdefault(key.lower(), []).append(value)
        event["multiValueQueryStringParameters"] = query
        event["multiValueHeaders"] = multi_headers
    else:
        event["queryStringParameters"] = dict(pairs)  # the last value wins
        event["headers"] = {key.lower(): value for key, value in headers}
    event["body"] = body
    event["isBase64Encoded"] = not text
    return event


def _raw_query_pairs(query: str) -> list[tuple[str, str]]:
    """Query parameters as sent: AWS does not URL-decode them for a Lambda function."""
    pairs = []
    for part in query.split("&"):
        if not part:
            continue
        key, _, value = part.partition("=")
        pairs.append((key, value))
    return pairs


def lambda_response(payload: Any) -> HttpResponse:
    """A Lambda function's answer, read in the ALB response format. Raises
    :class:`TargetError` (502) when it is not one."""
    if not isinstance(payload, dict) or "statusCode" not in payload:
        raise TargetError(502, "the Lambda function's answer has no statusCode")
    try:
        status = int(payload["statusCode"])
    except (TypeError, ValueError) as error:
        raise TargetError(502, "the Lambda function's statusCode is not a number") from error
    headers: list[tuple[str, str]] = []
    for key, value in (payload.get("headers") or {}).items():
        headers.append((str(key), str(value)))
    for key, values in (payload.get("multiValueHeaders") or {}).items():
        headers.extend((str(key), str(v)) for v in values)
    headers = [(k, v) for k, v in headers if k.lower() not in HOP_BY_HOP and k.lower() != "content-length"]
    body = payload.get("body") or ""
    if payload.get("isBase64Encoded"):
        try:
            data = base64.b64decode(body)
        except ValueError as error:
            raise TargetError(502, "the Lambda function's base64 body does not decode") from error
    else:
        data = body.encode("utf-8") if isinstance(body, str) else json.dumps(body).encode()
    return HttpResponse(status, headers, data)


def invoke_lambda(function_arn: str, event: dict[str, Any]) -> HttpResponse:
    """Invoke a Lambda target and read its answer (502 on any failure)."""
    from labkit.services import lambda_

    try:
        result = lambda_.invoke(function_arn, event)
    except Exception as error:  # noqa: BLE001  (a missing function is the target's failure)
        raise TargetError(502, f"the Lambda function could not be invoked ({error})") from error
    if result.throttled:
        raise TargetError(502, "the Lambda function was throttled")
    if result.function_error:
        raise TargetError(502, "the Lambda function failed (FunctionError)")
    try:
        payload = result.json()
    except ValueError as error:
        raise TargetError(502, "the Lambda function's answer is not JSON") from error
    return lambda_response(payload)


def lambda_health_status(tg: Any, function_arn: str) -> int | None:
    """A health check of a Lambda target: the status code it answered, or ``None``."""
    event = {
        "requestContext": {"elb": {"targetGroupArn": tg.arn}},
        "httpMethod": "GET",
        "path": tg.health_check_path or "/",
        "queryStringParameters": {},
        "headers": {"user-agent": USER_AGENT},
        "body": "",
        "isBase64Encoded": False,
    }
    try:
        return invoke_lambda(function_arn, event).status
    except TargetError:
        return None
