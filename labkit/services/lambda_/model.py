"""What the Lambda runtime works with: a function's spec, a handler's context,
and the result of one invocation.

Plain data, no behaviour: every other module of :mod:`labkit.services.lambda_`
reads or builds these.
"""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass
from typing import Any

#: Seconds AWS allows the Init phase of an on-demand function.
INIT_LIMIT_SECONDS = 10.0
#: What the AWS Python runtime's own process typically occupies, in MB.
RUNTIME_BASE_MEMORY_MB = 40
#: ``LogResult`` carries the last 4 KB of the invocation's log.
LOG_TAIL_BYTES = 4096
#: The folder AWS puts the function code in; stack traces show this path.
TASK_ROOT = "/var/task"
#: Error text when a throttled request is refused (``TooManyRequestsException``).
THROTTLE_MESSAGE = "Rate Exceeded."
THROTTLE_REASON = "ReservedFunctionConcurrentInvocationLimitExceeded"


@dataclass(frozen=True)
class FunctionSpec:
    """Everything about a function that shapes how it runs, read from the
    configuration that was stored through boto3. Two invocations whose specs
    differ never share an execution environment."""

    name: str
    arn: str  # unqualified
    version: str  # "$LATEST" or "1", "2", ...
    region: str
    account_id: str
    handler: str
    runtime: str
    code_sha256: str
    timeout: float
    memory_mb: int
    environment: tuple[tuple[str, str], ...]
    other_config: str  # the rest of the configuration, for change detection

    @property
    def log_group(self) -> str:
        return f"/aws/lambda/{self.name}"


@dataclass
class InvocationResult:
    """The outcome of one invocation, as the Lambda ``Invoke`` API reports it.

    Attributes:
        status_code: 200 (RequestResponse), 202 (Event), 204 (DryRun) or 429
            (throttled: the function did not run).
        payload: the response bytes: the handler's return value as JSON, or
            the error document when ``function_error`` is set.
        function_error: ``"Unhandled"`` when the function failed, else None.
        executed_version: ``"$LATEST"`` or the published version that ran.
        request_id: the invocation's ``aws_request_id``.
        logs: the invocation's log lines (START ... REPORT) as text.
        duration_ms, billed_duration_ms, init_duration_ms: the REPORT figures;
            ``init_duration_ms`` is None on a warm start.
    """

    status_code: int
    payload: bytes = b""
    function_error: str | None = None
    executed_version: str = "$LATEST"
    request_id: str = ""
    logs: str = ""
    duration_ms: float = 0.0
    billed_duration_ms: int = 0
    init_duration_ms: float | None = None

    @property
    def throttled(self) -> bool:
        return self.status_code == 429

    @property
    def cold_start(self) -> bool:
        return self.init_duration_ms is not None

    @property
    def log_result(self) -> str:
        """The ``LogResult`` header: base64 of the last 4 KB of the log."""
        tail = self.logs.encode("utf-8")[-LOG_TAIL_BYTES:]
        return base64.b64encode(tail).decode("ascii")

    def json(self) -> Any:
        """The payload parsed as JSON (None for an empty payload)."""
        return json.loads(self.payload) if self.payload else None


class LambdaContext:
    """The ``context`` argument of a handler, with the attributes of the AWS
    Python runtime's context (its values are strings where AWS's are).

    The remaining time counts down in real time, not on the sandbox clock:
    the handler really runs, and its timeout is enforced in real seconds.
    """

    def __init__(self, *, request_id: str, function: FunctionSpec, invoked_arn: str,
                 log_stream_name: str, deadline: float) -> None:
        self.aws_request_id = request_id
        self.function_name = function.name
        self.function_version = function.version
        self.invoked_function_arn = invoked_arn
        self.memory_limit_in_mb = str(function.memory_mb)
        self.log_group_name = function.log_group
        self.log_stream_name = log_stream_name
        self.identity = None
        self.client_context = None
        self._deadline = deadline  # time.monotonic() when the function times out

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the function times out."""
        return max(0, int((self._deadline - time.monotonic()) * 1000))

    def __repr__(self) -> str:
        return (f"LambdaContext(aws_request_id={self.aws_request_id}, function_name={self.function_name}, "
                f"function_version={self.function_version}, invoked_function_arn={self.invoked_function_arn})")
