"""Running one invocation: load the handler, call it in a thread, enforce the
time limits, and report as AWS does.

What a learner can observe, as on AWS:

* the handler gets the event and a context object (``aws_request_id``,
  ``function_name``, ``get_remaining_time_in_millis()``, ...);
* the function's environment variables are in ``os.environ`` for its code,
  during its initialisation and its invocations, and for nothing else: the
  notebook's own thread never sees them, even while a handler runs;
* module-level code runs once per execution environment
  (:mod:`.environments`): warm invocations reuse it;
* ``print`` and ``logging`` output, with ``START``/``END``/``REPORT`` lines,
  lands in the CloudWatch Logs group ``/aws/lambda/<name>``, one log stream
  per execution environment (:mod:`.logs`);
* an exception becomes ``FunctionError: Unhandled`` with the same JSON payload
  the AWS Python runtime sends; running past ``Timeout`` ends the invocation
  with ``Task timed out after N.NN seconds``;
* reserved concurrency 0 throttles; the ``AWS/Lambda`` metrics ``Invocations``,
  ``Errors``, ``Duration`` and ``Throttles`` appear in CloudWatch.

Where running in-process shows:

* A timeout is enforced by raising an exception inside the handler's thread
  (``PyThreadState_SetAsyncExc``). That stops any Python code, an endless
  ``while True`` loop included, but not a thread blocked inside one C call
  (a long ``time.sleep``, a socket read): the invocation still ends on time for
  the caller, and the abandoned thread stops when the call returns.
* "Max Memory Used" is an estimate: a typical Python runtime's footprint plus
  the growth of this process's resident memory during the invocation.
* Durations and timeouts are real time (the code really runs); advancing
  ``lab.clock`` does not make a handler time out.

In the browser edition (no threads: :mod:`labkit.core.platform`) the handler
runs in the caller's thread, to its end (:func:`_execute_inline`). What a
learner observes is the same, except that nothing can stop a handler at its
timeout: one that ran longer is reported as timed out afterwards, with the
same error, log line and cold start next, but what it did after its time was
up has happened, and a handler that never returns never returns. The
function's variables are still its own: the notebook's thread sees them only
while the handler runs (a nested invocation gives the outer one its own back),
and "Max Memory Used" is the runtime's base footprint (there is no ``/proc``).
"""

from __future__ import annotations

import decimal
import importlib
import json
import math
import os
import sys
import threading
import time
import traceback
import uuid
from dataclasses import dataclass, field
from typing import Any

from labkit.core import platform
from labkit.core.aws import iso_timestamp

from . import functions
from .environments import CHAIN, POOLS, Environment, lambda_env_vars, swapped_in, variables_of
from .logs import UNHANDLED_INIT_WARNING, LogSink, error_log_line, wall_ms
from .model import (
    INIT_LIMIT_SECONDS,
    RUNTIME_BASE_MEMORY_MB,
    TASK_ROOT,
    THROTTLE_MESSAGE,
    THROTTLE_REASON,
    InvocationResult,
    LambdaContext,
)


class _Timeout(BaseException):
    """Raised inside a handler's thread when its time is up. A BaseException,
    so that ``except Exception`` in the learner's code does not swallow it."""


class _FaultError(Exception):
    """A runtime error with an AWS ``Runtime.*`` error type."""

    def __init__(self, error_type: str, message: str, trace: list[str] | None = None) -> None:
        super().__init__(message)
        self.error_type, self.message, self.trace = error_type, message, trace or []


# --------------------------------------------------------------------------
# Reserved concurrency
# --------------------------------------------------------------------------


class InFlight:
    """Invocations running now, per function (unqualified ARN): what reserved
    concurrency is compared with. :meth:`clear` is ``lab.reset()``'s."""

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()

    def try_enter(self, arn: str, reserved: int | None) -> bool:
        """Count one more invocation, unless ``reserved`` are already running."""
        with self._lock:
            running = self._counts.get(arn, 0)
            if reserved is not None and running >= reserved:
                return False
            self._counts[arn] = running + 1
            return True

    def leave(self, arn: str) -> None:
        with self._lock:
            left = self._counts.get(arn, 0) - 1
            if left > 0:
                self._counts[arn] = left
            else:
                self._counts.pop(arn, None)

    def count(self, arn: str) -> int:
        return self._counts.get(arn, 0)

    def total(self) -> int:
        return sum(self._counts.values())

    def clear(self) -> None:
        with self._lock:
            self._counts.clear()


#: Invocations in flight, per function (``lab.reset()`` clears them).
IN_FLIGHT = InFlight()


# --------------------------------------------------------------------------
# The handler thread
# --------------------------------------------------------------------------


@dataclass
class _Outcome:
    payload: bytes = b""
    error: dict[str, Any] | None = None
    init_seconds: float | None = None
    handler_started: float | None = None  # perf_counter
    finished: float | None = None
    init_done: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)


def _load_handler(env: Environment) -> Any:
    """Import the handler module, as the AWS Python runtime's bootstrap does."""
    try:
        module_name, function_name = env.spec.handler.rsplit(".", 1)
    except ValueError as error:
        raise _FaultError("Runtime.MalformedHandlerName", f"Bad handler '{env.spec.handler}': {error}") from None
    if module_name.split(".")[0] in sys.builtin_module_names:
        raise _FaultError("Runtime.BuiltInModuleConflict",
                          f"Cannot use built-in module {module_name} as a handler module")
    importlib.invalidate_caches()
    try:
        module = importlib.import_module(module_name.replace("/", "."))
    except ImportError as error:
        raise _FaultError("Runtime.ImportModuleError", f"Unable to import module '{module_name}': {error}") from None
    except SyntaxError as error:
        trace = [f'  File "{error.filename}" Line {error.lineno}\n    {error.text}']
        raise _FaultError("Runtime.UserCodeSyntaxError",
                          f"Syntax error in module '{module_name}': {error}", trace) from None
    try:
        return getattr(module, function_name)
    except AttributeError:
        raise _FaultError("Runtime.HandlerNotFound",
                          f"Handler '{function_name}' missing on module '{module_name}'") from None


def _marshal(result: Any, runtime: str) -> bytes:
    """The handler's return value as the response payload (AWS: simplejson with
    Decimal support; python3.12 keeps non-ASCII characters)."""
    if isinstance(result, bytes):
        return result

    def default(obj: Any) -> Any:
        if isinstance(obj, decimal.Decimal):
            if obj.is_nan():
                return math.nan
            return int(obj) if obj == obj.to_integral_value() else float(obj)
        raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")

    try:
        text = json.dumps(result, default=default, ensure_ascii=runtime != "python3.12")
    except (TypeError, ValueError) as error:
        raise _FaultError("Runtime.MarshalError", f"Unable to marshal response: {error}") from None
    return text.encode("utf-8")


def _error_document(error: BaseException, request_id: str, env: Environment) -> dict[str, Any]:
    """The JSON document the AWS Python runtime reports for an exception
    (frames of this module left out, as the runtime's own are on AWS)."""
    if isinstance(error, _FaultError):
        return {"errorMessage": error.message, "errorType": error.error_type,
                "requestId": request_id, "stackTrace": [_task_path(env, t) for t in error.trace]}
    frames = traceback.extract_tb(error.__traceback__)
    frames = [f for f in frames if f.filename != __file__] or frames
    trace = [_task_path(env, line) for line in traceback.format_list(frames)]
    return {"errorMessage": str(error), "errorType": type(error).__name__,
            "requestId": request_id, "stackTrace": trace}


def _task_path(env: Environment, text: str) -> str:
    return text.replace(env.code_dir, TASK_ROOT)


def _thread_main(*args: Any) -> None:
    try:
        _run_in_thread(*args)
    except _Timeout:  # arrived while the thread was already finishing
        pass


def _run_in_thread(env: Environment, event: Any, request_id: str, invoked_arn: str,
                   sink: LogSink, outcome: _Outcome) -> None:
    """Body of the handler thread: init on a cold start, then the handler."""
    CHAIN.enter_handler_thread(sink)
    try:
        with variables_of(env, lambda_env_vars(env.spec, env)):
            _init_and_handle(env, event, request_id, invoked_arn, sink, outcome)
    except _Timeout:
        pass
    finally:
        outcome.finished = time.perf_counter()
        CHAIN.leave_handler_thread()
        outcome.init_done.set()
        outcome.done.set()


def _init_and_handle(env: Environment, event: Any, request_id: str, invoked_arn: str,
                     sink: LogSink, outcome: _Outcome) -> None:
    try:
        try:
            if env.handler is None:
                started = time.perf_counter()
                try:
                    env.handler = _load_handler(env)
                finally:
                    outcome.init_seconds = time.perf_counter() - started
            outcome.init_done.set()
            outcome.handler_started = time.perf_counter()
            context = LambdaContext(request_id=request_id, function=env.spec, invoked_arn=invoked_arn,
                                    log_stream_name=env.log_stream,
                                    deadline=time.monotonic() + env.spec.timeout)
            outcome.payload = _marshal(env.handler(event, context), env.spec.runtime)
        except _Timeout:
            return
        except SystemExit as error:
            env.broken = True
            code = error.code if isinstance(error.code, int) else 1
            outcome.error = {"errorType": "Runtime.ExitError",
                             "errorMessage": f"RequestId: {request_id} Error: Runtime exited with error: exit status {code}"}
        except BaseException as error:  # noqa: BLE001  (the learner's code may raise anything)
            if env.handler is None:
                env.broken = True
                sink.line(UNHANDLED_INIT_WARNING)
            outcome.error = _error_document(error, request_id, env)
            sink.line(error_log_line(outcome.error))
        finally:
            sink.flush()
    except _Timeout:
        pass


def _stop_thread(thread: threading.Thread, grace: float = 0.2) -> None:
    """Raise :class:`_Timeout` in ``thread`` until it ends or ``grace`` runs out.

    Python code stops at its next bytecode, however it loops (a bare
    ``except:`` that swallows the exception gets it again). A thread inside one
    blocking C call (``time.sleep(60)``) is abandoned with the exception still
    pending: it stops as soon as the call returns, before running any more of
    the handler."""
    import ctypes  # only here: the browser edition never stops a thread (it starts none)

    ident = thread.ident
    if ident is None:
        return
    end = time.perf_counter() + grace
    while thread.is_alive() and time.perf_counter() < end:
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(ident), ctypes.py_object(_Timeout))
        thread.join(0.02)


def _rss_mb() -> float:
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        try:
            import resource

            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        except (ImportError, AttributeError):  # Pyodide has no /proc, and its resource module no getrusage
            return 0.0


# --------------------------------------------------------------------------
# One execution, and its REPORT line
# --------------------------------------------------------------------------


@dataclass
class _Run:
    """What one execution of the handler produced."""

    payload: bytes
    error: dict[str, Any] | None
    timed_out: bool
    duration_ms: float
    init_ms: float | None
    memory_used_mb: int
    sink: LogSink
    env: Environment


def _execute_inline(env: Environment, event: Any, request_id: str, invoked_arn: str, sink: LogSink,
                    outcome: _Outcome, cold: bool) -> bool:
    """The browser edition's invocation: init and handler run in the caller's
    thread (a browser tab has no other), to the end. Nothing can stop them at
    the function's timeout: a handler that ran longer is reported as timed out
    afterwards (its result discarded, as on AWS), but what it did after its
    time was up is done. Returns whether it timed out."""
    with CHAIN.inline():
        _thread_main(env, event, request_id, invoked_arn, sink, outcome)
    if cold and (outcome.init_seconds or 0.0) > INIT_LIMIT_SECONDS:
        return True
    ended = outcome.finished or time.perf_counter()
    return ended - (outcome.handler_started or ended) > env.spec.timeout


def _execute(env: Environment, event: Any, request_id: str, invoked_arn: str) -> _Run:
    """Run init (if cold) and the handler in a thread; enforce the time limits."""
    spec = env.spec
    sink = LogSink(request_id)
    sink.line(f"START RequestId: {request_id} Version: {spec.version}\n")
    outcome = _Outcome()
    cold = env.handler is None
    rss_before = peak = _rss_mb()
    limit = spec.timeout
    with swapped_in(env):
        if platform.in_browser():
            timed_out = _execute_inline(env, event, request_id, invoked_arn, sink, outcome, cold)
        else:
            thread = threading.Thread(target=_thread_main, name=f"lambda:{spec.name}", daemon=True,
                                      args=(env, event, request_id, invoked_arn, sink, outcome))
            thread.start()
            if cold and not outcome.init_done.wait(INIT_LIMIT_SECONDS):
                # AWS gives up the Init phase after 10 s, retries it in the Invoke
                # phase and reports the function's own timeout; we stop at 10 s.
                timed_out = True
            else:
                started = outcome.handler_started or time.perf_counter()
                timed_out = False
                while not outcome.done.is_set():
                    left = started + spec.timeout - time.perf_counter()
                    if left <= 0:
                        timed_out = not outcome.done.is_set()
                        break
                    if not outcome.done.wait(min(left, 0.05)):
                        peak = max(peak, _rss_mb())  # sampled while a slow handler runs
            if timed_out:
                _stop_thread(thread)
        if timed_out:
            env.broken = True  # AWS resets the environment after a timeout
    peak = max(peak, _rss_mb())
    ended = outcome.finished if not timed_out and outcome.finished else time.perf_counter()
    started = outcome.handler_started or ended
    duration_ms = (ended - started) * 1000
    if timed_out:
        duration_ms = min(duration_ms, limit * 1000) if outcome.handler_started else limit * 1000
        stamp = iso_timestamp(wall_ms() / 1000)  # real time, as every log event (see .logs)
        sink.line(f"{stamp} {request_id} Task timed out after {limit:.2f} seconds\n")
    if outcome.error is not None and cold and env.handler is None:
        env.broken = True
    init_ms = outcome.init_seconds * 1000 if cold and outcome.init_seconds is not None else None
    used = int(min(spec.memory_mb, RUNTIME_BASE_MEMORY_MB + max(0.0, peak - rss_before)))
    error = outcome.error
    if timed_out:
        error = {"errorType": "Sandbox.Timedout",
                 "errorMessage": f"RequestId: {request_id} Error: Task timed out after {limit:.2f} seconds"}
    return _Run(payload=outcome.payload, error=error, timed_out=timed_out, duration_ms=duration_ms,
                init_ms=init_ms, memory_used_mb=used, sink=sink, env=env)


def _report_line(spec: Any, run: _Run, request_id: str) -> tuple[str, int]:
    billed = math.ceil(run.duration_ms + (run.init_ms or 0.0))
    line = (f"REPORT RequestId: {request_id}\tDuration: {run.duration_ms:.2f} ms\t"
            f"Billed Duration: {billed} ms\tMemory Size: {spec.memory_mb} MB\t"
            f"Max Memory Used: {run.memory_used_mb} MB\t")
    if run.init_ms is not None:
        line += f"Init Duration: {run.init_ms:.2f} ms\t"
    if run.timed_out:
        line += "Status: timeout\t"
    return line + "\n", billed


# --------------------------------------------------------------------------
# The one path every trigger takes
# --------------------------------------------------------------------------


def run_function(fn: Any, payload: bytes | str | None, *, invoked_arn: str,
                 invocation_type: str = "RequestResponse", resource: str | None = None) -> InvocationResult:
    """Invoke a moto function object: the one path every trigger takes.

    Args:
        fn: moto's ``LambdaFunction`` ($LATEST or a published version), as
            :func:`labkit.services.lambda_.resolve_function` returns it.
        payload: the event as JSON text (``None`` or empty means ``{}``).
        invoked_arn: the ARN the caller used (becomes ``invoked_function_arn``).
        invocation_type: ``RequestResponse``, ``Event`` or ``DryRun``.
        resource: ``name:qualifier`` when invoked through a qualifier, for the
            metrics' ``Resource`` dimension.

    Returns:
        An :class:`InvocationResult`. A throttled request returns status 429
        without running; ``DryRun`` returns 204 without running.
    """
    spec = functions.function_spec(fn)
    if invocation_type == "DryRun":
        return InvocationResult(status_code=204, executed_version=spec.version)
    event = json.loads(payload) if payload else {}
    request_id = str(uuid.uuid4())
    if not IN_FLIGHT.try_enter(spec.arn, functions.reserved_concurrency(fn)):
        functions.put_metrics(spec, resource, {"Throttles": (1, "Count")})
        body = json.dumps({"Reason": THROTTLE_REASON, "Type": "User", "message": THROTTLE_MESSAGE})
        return InvocationResult(status_code=429, payload=body.encode(), executed_version=spec.version,
                                request_id=request_id)
    try:
        with CHAIN.held():
            env, _cold = POOLS.acquire(fn, spec, lambda: functions.function_code(fn))
            try:
                run = _execute(env, event, request_id, invoked_arn)
            finally:
                POOLS.release(fn, env)
    finally:
        IN_FLIGHT.leave(spec.arn)
    run.sink.line(f"END RequestId: {request_id}\n")
    report, billed = _report_line(spec, run, request_id)
    run.sink.line(report)
    functions.write_log_events(spec, env.log_stream, run.sink.events)
    functions.put_metrics(spec, resource, {"Invocations": (1, "Count"), "Errors": (1 if run.error else 0, "Count"),
                                           "Duration": (run.duration_ms, "Milliseconds")})
    failed = run.error is not None
    body = json.dumps(run.error).encode("utf-8") if failed else run.payload
    return InvocationResult(
        status_code=202 if invocation_type == "Event" else 200,
        payload=b"" if invocation_type == "Event" else body,
        function_error="Unhandled" if failed else None,
        executed_version=spec.version,
        request_id=request_id,
        logs=run.sink.text(),
        duration_ms=run.duration_ms,
        billed_duration_ms=billed,
        init_duration_ms=run.init_ms,
    )
