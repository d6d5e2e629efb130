"""Lambda: your Python function really runs when it is invoked.

Without a Docker engine, moto stores Lambda functions but never runs them.
This service gives the sandbox a small Lambda runtime of its own. A function
created with plain boto3 (``Runtime="python3.12"``, ``Handler="app.handler"``,
``Code={"ZipFile": lab.lambda_.zip_code(source)}``) runs for real, whatever
invokes it: ``invoke``, an SQS queue, an SNS topic, an EventBridge rule, a
Step Functions task, an S3 notification or a DynamoDB stream.

For a learner (``lab.lambda_``):

- :func:`zip_code`, :func:`zip_source` - a deployment package from source text;
- :func:`poll_event_sources` - let SQS event source mappings poll now;
- :func:`invoke` - invoke a function from Python, without boto3;
- :func:`discard_environments` - the next invocation of every function is a cold start.

For other services (SNS, EventBridge... deliver through these):
:func:`resolve_function`, :func:`invoke_async`, :func:`run_function`,
:class:`InvocationResult`, :class:`FunctionSpec`, :func:`function_spec`.

The rooms of the service:

- :mod:`.model`        - FunctionSpec, InvocationResult, LambdaContext
- :mod:`.functions`    - reading moto's functions; aliases; logs and metrics written back
- :mod:`.environments` - execution environments, warm pools, what an invocation swaps in
- :mod:`.logs`         - print and logging output of a handler, as log events
- :mod:`.runtime`      - running one invocation; reserved concurrency
- :mod:`.asynchronous` - async invocations, retries, destinations
- :mod:`.event_sources` - SQS and DynamoDB stream mappings
- :mod:`.seams`        - the moto internals patched or called

Time: a handler's duration and timeout are real time (the code runs);
destination records are stamped on the sandbox clock; log events on real time
(moto's CloudWatch Logs refuses events from its future). Asynchronous retries
happen at once (see :mod:`.asynchronous`).
"""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

from . import event_sources
from .asynchronous import invoke_async
from .environments import POOLS
from .functions import function_spec, resolve_function
from .model import FunctionSpec, InvocationResult, LambdaContext
from .runtime import IN_FLIGHT, run_function
from .seams import SEAMS

__all__ = [
    "SEAMS",
    "FunctionSpec",
    "InvocationResult",
    "LambdaContext",
    "discard_environments",
    "function_spec",
    "install",
    "invoke",
    "invoke_async",
    "poll_event_sources",
    "reset",
    "resolve_function",
    "run_function",
    "zip_code",
    "zip_source",
]


# --------------------------------------------------------------------------
# Helpers for labs
# --------------------------------------------------------------------------


def zip_source(files: dict[str, str]) -> bytes:
    """A deployment package (zip bytes) holding ``files`` (name -> source text).

    >>> code = zip_source({"app.py": "def handler(event, context):\\n    return 1\\n"})
    >>> lam.create_function(..., Handler="app.handler", Code={"ZipFile": code})
    """
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def zip_code(source: str, filename: str = "app.py") -> bytes:
    """A deployment package with one file, ``app.py`` unless told otherwise."""
    return zip_source({filename: source})


def poll_event_sources() -> int:
    """Let the SQS event source mappings poll now; return how many messages
    were delivered to functions.

    Sending a message to a mapped queue delivers it at once. What no send
    triggers, call this for: messages that became visible again after a
    failed batch (each call is one more retry, so a poisoned message reaches
    the DLQ after ``maxReceiveCount`` calls once the visibility timeout has
    passed), messages sent before the mapping was enabled, and delayed
    messages whose delay is over. There is no background poller thread on
    purpose: a notebook should only change when a cell runs.
    """
    return event_sources.poll_all_sqs_mappings()


def invoke(function_name_or_arn: str, event: Any = None, qualifier: str | None = None, *,
           invocation_type: str = "RequestResponse", region: str | None = None) -> InvocationResult:
    """Invoke a function directly, without an HTTP round trip through boto3.

    This is the entry point for integrations written in labkit (an API Gateway
    proxy integration, for example). ``event`` is any JSON-serialisable value
    (or JSON text as ``str``/``bytes``). Asynchronous (``Event``) invocations
    are retried and sent to their destinations as in :func:`invoke_async`.
    """
    from labkit.core import registry, sandbox

    if not sandbox.running():
        raise RuntimeError("The sandbox is not running: call labkit.start() first.")
    registry.ensure("lambda_")
    fn, invoked_arn, resource = resolve_function(function_name_or_arn, qualifier, region)
    payload = event if isinstance(event, (bytes, str)) else json.dumps({} if event is None else event)
    if invocation_type == "Event":
        return invoke_async(fn, payload, invoked_arn=invoked_arn, resource=resource)
    return run_function(fn, payload, invoked_arn=invoked_arn, invocation_type=invocation_type, resource=resource)


def discard_environments() -> None:
    """Forget every warm execution environment: the next invocation of each
    function is a cold start (what AWS does after a while without invocations)."""
    POOLS.clear()


# --------------------------------------------------------------------------
# Lifecycle (called by labkit.core.registry)
# --------------------------------------------------------------------------


def install() -> None:
    """Nothing to subscribe: the seams (patched by the registry before this
    call) are how every invocation reaches the runtime."""


def reset() -> None:
    """Forget every warm environment and in-flight count, and where pollers
    stand. (No asynchronous retry is ever pending: they run at once.)"""
    POOLS.clear()
    IN_FLIGHT.clear()
    event_sources.reset()
