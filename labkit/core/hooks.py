"""One botocore hook dispatcher for every simulated plane.

botocore emits events around every API call. labkit registers three handlers,
once, among botocore's built-in handlers (so every client gets them), and
hands each call to the planes that subscribed to its service and operation:

``params``  before the request is built: the learner's parameters, which a
            subscriber may change (SNS FIFO adds a deduplication id).
``before``  just before moto is asked: a subscriber may answer instead, by
            returning ``(status, parsed)`` (a throttled DynamoDB write).
``after``   after moto answered: a subscriber may read or amend the parsed
            answer (ElastiCache fills in the endpoints of its local servers).

Every subscriber receives one :class:`Call`: service, operation, region, the
parameters captured once, whether labkit itself made the call
(:attr:`Call.internal`), and a ``state`` dict to carry data from ``before`` to
``after``. The first event of a service also installs that service's plane
(see :mod:`labkit.core.registry`), so a service costs nothing until it is used.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.handlers import BUILTIN_HANDLERS, REGISTER_FIRST, REGISTER_LAST

from labkit.core import aws

_CONTEXT_KEY = "labkit_call"


@dataclass
class Call:
    """One boto3 API call as the planes see it."""

    service: str  # botocore's service name: "dynamodb", "lambda", "stepfunctions"
    operation: str  # "PutItem"
    region: str
    params: dict[str, Any]  # the learner's parameters (a copy; changes here do not reach the request)
    internal: bool  # made by labkit itself (labkit.core.aws.internal_client, or inside hooks.internal())
    state: dict[str, Any] = field(default_factory=dict)  # what a before-subscriber leaves for after
    access_key: str | None = None  # the access key id that signs the call (known from the before stage on)
    user_agent: str = ""  # the client's User-Agent header (known from the before stage on)
    answered: bool = field(default=False, repr=False)  # the after stage has run (it is registered twice)


Subscriber = Callable[..., Any]

_LOCK = threading.RLock()
_SUBSCRIBERS: dict[tuple[str, str, str], list[tuple[Subscriber, bool]]] = {}
_ON_FIRST_USE: list[Callable[[str], None]] = []
_SEEN_SERVICES: set[str] = set()
_THREAD = threading.local()


def subscribe(stage: str, service: str, operation: str, fn: Subscriber, *, internal: bool = True) -> None:
    """Call ``fn`` at ``stage`` ("params", "before" or "after") of every call of
    ``service``'s ``operation`` (``"*"``: every operation; ``"*", "*"``: every
    call of every service, for a plane that watches them all). With
    ``internal=False`` labkit's own calls are skipped. Idempotent.

    Signatures: ``params: fn(call, params)``; ``before: fn(call) -> None |
    (status, parsed)``; ``after: fn(call, parsed, status)``.
    """
    if stage not in ("params", "before", "after"):
        raise ValueError(f"stage must be 'params', 'before' or 'after', not {stage!r}")
    with _LOCK:
        entries = _SUBSCRIBERS.setdefault((stage, service, operation), [])
        if not any(existing is fn for existing, _ in entries):
            entries.append((fn, internal))


def unsubscribe(fn: Subscriber) -> None:
    """Remove ``fn`` from every stage, service and operation."""
    with _LOCK:
        for entries in _SUBSCRIBERS.values():
            entries[:] = [(f, i) for f, i in entries if f is not fn]


def on_first_use(fn: Callable[[str], None]) -> None:
    """Call ``fn(service)`` before the first call of each botocore service
    (the registry installs the service's plane there)."""
    if fn not in _ON_FIRST_USE:
        _ON_FIRST_USE.append(fn)


def _subscribers(stage: str, service: str, operation: str) -> list[tuple[Subscriber, bool]]:
    return (_SUBSCRIBERS.get((stage, service, operation), []) + _SUBSCRIBERS.get((stage, service, "*"), [])
            + _SUBSCRIBERS.get((stage, "*", "*"), []))


# --------------------------------------------------------------------------
# Internal calls
# --------------------------------------------------------------------------


@contextmanager
def internal() -> Iterator[None]:
    """Mark every boto3 call made in this thread inside the block as labkit's own."""
    depth = getattr(_THREAD, "internal", 0)
    _THREAD.internal = depth + 1
    try:
        yield
    finally:
        _THREAD.internal = depth


def is_internal() -> bool:
    """True inside :func:`internal` (in this thread)."""
    return getattr(_THREAD, "internal", 0) > 0


mark_client_internal = aws.mark_client_internal  # labkit's own clients are made in labkit.core.aws


# --------------------------------------------------------------------------
# The three botocore handlers
# --------------------------------------------------------------------------


def _service_of(model: Any) -> str:
    return str(model.service_model.service_name)


def _first_use(service: str) -> None:
    if service in _SEEN_SERVICES:
        return
    with _LOCK:
        if service in _SEEN_SERVICES:
            return
        for fn in list(_ON_FIRST_USE):
            fn(service)
        _SEEN_SERVICES.add(service)


def _on_params(params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
    service = _service_of(model)
    _first_use(service)
    call = Call(service, model.name, aws.region_of(context), dict(params),
                bool(context.get(aws.INTERNAL_CONTEXT_KEY)) or is_internal())
    context[_CONTEXT_KEY] = call
    for fn, with_internal in _subscribers("params", service, model.name):
        if with_internal or not call.internal:
            fn(call, params)
    if call.params != params:
        call.params = dict(params)


def _call_of(context: dict[str, Any] | None) -> Call | None:
    return context.get(_CONTEXT_KEY) if context else None


def _signer_key(request_signer: Any) -> str | None:
    credentials = getattr(request_signer, "_credentials", None)
    if credentials is None:
        return None
    try:
        return credentials.get_frozen_credentials().access_key
    except Exception:  # noqa: BLE001  (no credentials: an unsigned call)
        return getattr(credentials, "access_key", None)


def _on_before_call(model: Any, context: dict[str, Any], params: Any = None, request_signer: Any = None,
                    **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
    call = _call_of(context)
    if call is None:
        return None
    call.access_key = _signer_key(request_signer)
    headers = (params or {}).get("headers") or {}
    agent = headers.get("User-Agent", "")
    call.user_agent = agent.decode() if isinstance(agent, bytes) else str(agent)
    for fn, with_internal in _subscribers("before", call.service, call.operation):
        if with_internal or not call.internal:
            answer = fn(call)
            if answer is not None:
                status, parsed = answer
                return AWSResponse(None, status, {}, None), parsed
    return None


def _on_after_call(http_response: Any, parsed: dict[str, Any], model: Any, context: dict[str, Any],
                   **_: Any) -> None:
    call = _call_of(context)
    if call is None or call.answered:
        return
    call.answered = True
    status = getattr(http_response, "status_code", 200)
    for fn, with_internal in _subscribers("after", call.service, call.operation):
        if with_internal or not call.internal:
            fn(call, parsed, status)


def error_answer(code: str, message: str, status: int = 400) -> tuple[int, dict[str, Any]]:
    """What a ``before`` subscriber returns to answer with an AWS error."""
    return status, {"Error": {"Code": code, "Message": message},
                    "ResponseMetadata": {"HTTPStatusCode": status}}


_HANDLERS = (
    # Last among the parameter builders: after boto3's resource layer has turned
    # plain Python values into DynamoDB's typed ones, so every subscriber sees the
    # parameters as the API takes them, whichever kind of client made the call.
    ("before-parameter-build", _on_params, REGISTER_LAST),
    ("before-call", _on_before_call),
    ("after-call", _on_after_call),
    # DynamoDB's answers also go first, before boto3's resource layer (which
    # listens on this more specific event) turns their typed values into plain
    # Python ones; the call is dispatched once (see _on_after_call).
    ("after-call.dynamodb", _on_after_call, REGISTER_FIRST),
)


def install() -> None:
    """Register the dispatcher for every client made from now on. Idempotent."""
    added = False
    for entry in _HANDLERS:
        if entry not in BUILTIN_HANDLERS:
            BUILTIN_HANDLERS.append(entry)
            added = True
    if added:
        import boto3

        boto3.DEFAULT_SESSION = None


def installed() -> bool:
    return all(entry in BUILTIN_HANDLERS for entry in _HANDLERS)
