"""An in-process Lambda runtime: your Python function really runs when it is invoked.

Without a Docker engine, moto stores Lambda functions but never runs them (an
invoke just echoes the payload back). This module gives the sandbox a small
Lambda runtime of its own. After ``labkit.start()``, a function created with
plain boto3 (``Runtime="python3.12"``, ``Handler="app.handler"``,
``Code={"ZipFile": ...}``) runs for real, whatever invokes it: ``invoke``,
an SQS queue, an SNS topic, an EventBridge rule, a Step Functions task or a
DynamoDB stream (see :mod:`labkit.moto_seams` for how each trigger reaches it).

What a learner can observe, as on AWS:

* the handler gets the event and a context object (``aws_request_id``,
  ``function_name``, ``get_remaining_time_in_millis()``, ...);
* the function's environment variables are in ``os.environ`` during its
  initialisation and its invocations, and only then;
* module-level code runs once per *execution environment*: warm invocations
  reuse it (a module-level counter keeps counting) until the code or the
  configuration changes, or an invocation times out;
* ``print`` and ``logging`` output, with ``START``/``END``/``REPORT`` lines,
  lands in the CloudWatch Logs group ``/aws/lambda/<name>``, one log stream
  per execution environment;
* an exception becomes ``FunctionError: Unhandled`` with the same JSON payload
  the AWS Python runtime sends; running past ``Timeout`` ends the invocation
  with ``Task timed out after N.NN seconds``;
* reserved concurrency 0 throttles; the ``AWS/Lambda`` metrics ``Invocations``,
  ``Errors``, ``Duration`` and ``Throttles`` appear in CloudWatch.

In-process, not a worker process
--------------------------------
AWS runs each execution environment in its own micro-VM. We could imitate that
with one worker *process* per environment. We run the handler in a *thread of
this process* instead, because then:

* boto3 calls inside the handler reach the same emulated account with no
  server, no ports and no copying of state (moto lives in this process);
* an invocation costs about as much as any other boto3 call (see
  ``bench/bench_lambda.py``), so labs can invoke a function thousands of times;
* the notebook's Python is the function's Python: nothing to install twice.

The price is isolation, and the module documents each place where it shows:

* Environment variables, ``sys.modules`` and the root logger's level are
  process-wide. The runtime swaps them in for the duration of an invocation
  and swaps them back after. Invocations therefore run one at a time (a lock);
  an invocation that invokes another function directly, or through a queue,
  is allowed through (it belongs to the same chain).
* A timeout is enforced by raising an exception inside the handler's thread
  (``PyThreadState_SetAsyncExc``). That stops any Python code, an endless
  ``while True`` loop included, but not a thread blocked inside one C call
  (a long ``time.sleep``, a socket read): the invocation still ends on time for
  the caller, and the abandoned thread stops when the call returns.
* "Max Memory Used" is an estimate: a typical Python runtime's footprint plus
  the growth of this process's resident memory during the invocation.
* Files in the zip are extracted once into a temporary folder (``LAMBDA_TASK_ROOT``
  points at it); error stack traces show it as ``/var/task`` as AWS does. The
  current directory is not changed, and ``/tmp`` is the machine's.
* Don't name a module in the zip after a standard-library module (``json.py``):
  in-process, the standard library wins.
"""

from __future__ import annotations

import base64
import ctypes
import decimal
import importlib
import io
import json
import logging
import math
import os
import shutil
import sys
import tempfile
import threading
import time
import traceback
import uuid
import weakref
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from types import ModuleType
from typing import Any

__all__ = [
    "InvocationResult",
    "LambdaContext",
    "invoke",
    "poll_event_sources",
    "zip_code",
    "zip_source",
]

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


# --------------------------------------------------------------------------
# What an invocation returns
# --------------------------------------------------------------------------


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
    Python runtime's context (its values are strings where AWS's are)."""

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
        self._deadline = deadline

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the function times out."""
        return max(0, int((self._deadline - time.time()) * 1000))

    def __repr__(self) -> str:
        return (f"LambdaContext(aws_request_id={self.aws_request_id}, function_name={self.function_name}, "
                f"function_version={self.function_version}, invoked_function_arn={self.invoked_function_arn})")


# --------------------------------------------------------------------------
# The function as the runtime sees it
# --------------------------------------------------------------------------


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


# --------------------------------------------------------------------------
# Execution environments
# --------------------------------------------------------------------------


class _Timeout(BaseException):
    """Raised inside a handler's thread when its time is up. A BaseException,
    so that ``except Exception`` in the learner's code does not swallow it."""


class _FaultError(Exception):
    """A runtime error with an AWS ``Runtime.*`` error type."""

    def __init__(self, error_type: str, message: str, trace: list[str] | None = None) -> None:
        super().__init__(message)
        self.error_type, self.message, self.trace = error_type, message, trace or []


@dataclass(eq=False)
class _Environment:
    """One execution environment: the loaded handler and its modules."""

    spec: FunctionSpec
    code_dir: str
    log_stream: str
    module_names: frozenset[str]
    modules: dict[str, ModuleType] = field(default_factory=dict)
    known_names: set[str] | None = None  # every module name the code dir provides or shadows
    handler: Callable[[Any, Any], Any] | None = None
    root_level: int = logging.WARNING
    broken: bool = False  # reset after a timeout, an init error or an exit


# One pool of idle environments per moto function object ($LATEST and each
# published version are separate objects). Weak keys: a reset sandbox drops them.
_POOLS: weakref.WeakKeyDictionary[Any, tuple[FunctionSpec, list[_Environment]]] = weakref.WeakKeyDictionary()
_IN_FLIGHT: dict[str, int] = {}  # function ARN -> invocations running now
_CODE_ROOT: str | None = None


def _code_dir(spec: FunctionSpec, code: bytes) -> str:
    """Extract a deployment package once per code hash; return its folder."""
    global _CODE_ROOT
    if _CODE_ROOT is None:
        _CODE_ROOT = tempfile.mkdtemp(prefix="labkit-lambda-")
        import atexit

        atexit.register(shutil.rmtree, _CODE_ROOT, True)
    folder = os.path.join(_CODE_ROOT, spec.code_sha256.replace("/", "_").replace("+", "-").rstrip("="))
    if not os.path.isdir(folder):
        partial = folder + ".part"
        shutil.rmtree(partial, ignore_errors=True)
        with zipfile.ZipFile(io.BytesIO(code)) as archive:
            archive.extractall(partial)
        os.replace(partial, folder)
    return folder


def _top_level_names(code_dir: str) -> frozenset[str]:
    """Modules and packages at the top of the package (not shadowing stdlib)."""
    names = set()
    for entry in os.listdir(code_dir):
        stem, ext = os.path.splitext(entry)
        if ext in (".py", ".pyc") or (not ext and os.path.isdir(os.path.join(code_dir, entry))):
            if stem.isidentifier() and stem not in sys.stdlib_module_names:
                names.add(stem)
    return frozenset(names)


def _new_environment(spec: FunctionSpec, code: bytes) -> _Environment:
    folder = _code_dir(spec, code)
    now = datetime.now(timezone.utc)
    stream = f"{now:%Y/%m/%d}/[{spec.version}]{uuid.uuid4().hex}"
    return _Environment(spec=spec, code_dir=folder, log_stream=stream, module_names=_top_level_names(folder))


def _acquire(fn: Any, spec: FunctionSpec, code: Callable[[], bytes]) -> tuple[_Environment, bool]:
    """An idle environment for this exact spec, or a new one (a cold start)."""
    pooled = _POOLS.get(fn)
    if pooled is None or pooled[0] != spec:  # code or configuration changed
        pooled = (spec, [])
        _POOLS[fn] = pooled
    if pooled[1]:
        return pooled[1].pop(), False
    return _new_environment(spec, code()), True


def _release(fn: Any, env: _Environment) -> None:
    pooled = _POOLS.get(fn)
    if not env.broken and pooled is not None and pooled[0] == env.spec:
        pooled[1].append(env)


def discard_environments() -> None:
    """Forget every warm environment: the next invocation of each function is a
    cold start (what AWS does after a while without invocations)."""
    _POOLS.clear()


# --------------------------------------------------------------------------
# Process-wide state swapped in for an invocation
# --------------------------------------------------------------------------

_CHAIN_LOCK = threading.Lock()
_CHAIN_THREADS: set[int] = set()  # the thread holding the lock and its handler threads
_SINKS: dict[int, _LogSink] = {}  # handler thread -> where its output goes


@contextmanager
def _invocation_chain() -> Iterator[None]:
    """Run invocations one at a time; a handler's own nested invocations pass."""
    me = threading.get_ident()
    if me in _CHAIN_THREADS:
        yield
        return
    with _CHAIN_LOCK:
        _CHAIN_THREADS.add(me)
        saved = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = _RoutedStream(saved[0]), _RoutedStream(saved[1])
        root = logging.getLogger()
        root.addHandler(_LOG_HANDLER)
        try:
            yield
        finally:
            root.removeHandler(_LOG_HANDLER)
            sys.stdout, sys.stderr = saved
            _CHAIN_THREADS.discard(me)


@contextmanager
def _swapped_in(env: _Environment, env_vars: dict[str, str]) -> Iterator[None]:
    """Give the environment its variables, modules, code path and log level."""
    saved_vars = {name: os.environ.get(name) for name in env_vars}
    os.environ.update(env_vars)
    first = env.known_names is None
    if first:  # look through every loaded module once, for names the code shadows
        saved_modules = {name: mod for name, mod in sys.modules.items() if _is_env_module(env, name)}
    else:
        saved_modules = {name: sys.modules[name] for name in env.known_names if name in sys.modules}
    for name in saved_modules:
        del sys.modules[name]
    sys.modules.update(env.modules)
    loaded = len(sys.modules)
    sys.path.insert(0, env.code_dir)
    root = logging.getLogger()
    saved_level = root.level
    if env.root_level != saved_level:
        root.setLevel(env.root_level)  # setLevel, not .level: it clears the loggers' caches
    try:
        yield
    finally:
        env.root_level = root.level
        if root.level != saved_level:
            root.setLevel(saved_level)
        try:
            sys.path.remove(env.code_dir)
        except ValueError:
            pass
        if first or len(sys.modules) != loaded:  # the code imported (or dropped) modules
            env.modules = {name: mod for name, mod in list(sys.modules.items()) if _is_env_module(env, name)}
            env.known_names = (env.known_names or set()) | set(env.modules) | set(saved_modules)
        for name in env.modules:
            sys.modules.pop(name, None)
        sys.modules.update(saved_modules)
        for name, value in saved_vars.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _is_env_module(env: _Environment, name: str) -> bool:
    return name.partition(".")[0] in env.module_names


# --------------------------------------------------------------------------
# Logs: print and logging output of a handler thread
# --------------------------------------------------------------------------


class _LogSink:
    """Collects one invocation's log events as (epoch ms, message)."""

    def __init__(self, request_id: str) -> None:
        self.request_id = request_id
        self.events: list[tuple[int, str]] = []
        self._partial = ""

    def line(self, message: str) -> None:
        self.events.append((int(time.time() * 1000), message))

    def write(self, text: str) -> None:
        """stdout/stderr: each completed line is one log event, as on AWS."""
        text = self._partial + text
        *lines, self._partial = text.split("\n")
        for line in lines:
            self.line(line + "\n")

    def flush(self) -> None:
        if self._partial:
            self.line(self._partial)
            self._partial = ""

    def text(self) -> str:
        return "".join(m if m.endswith("\n") else m + "\n" for _, m in self.events)


class _RoutedStream(io.TextIOBase):
    """``sys.stdout`` during invocations: a handler thread's writes go to its
    invocation's log, every other thread's to the original stream."""

    def __init__(self, original: Any) -> None:
        self._original = original

    def write(self, text: str) -> int:
        sink = _SINKS.get(threading.get_ident())
        if sink is None:
            return self._original.write(text)  # type: ignore[no-any-return]
        sink.write(text)
        return len(text)

    def flush(self) -> None:
        if threading.get_ident() not in _SINKS:
            self._original.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._original, name)


class _LambdaLogHandler(logging.Handler):
    """The root-logger handler the AWS Python runtime installs: one log event
    per record, ``[LEVEL]\\t<UTC time>\\t<request id>\\t<message>``."""

    def __init__(self) -> None:
        super().__init__()
        formatter = logging.Formatter(
            "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n",
            "%Y-%m-%dT%H:%M:%S",
        )
        formatter.converter = time.gmtime
        self.setFormatter(formatter)

    def emit(self, record: logging.LogRecord) -> None:
        sink = _SINKS.get(threading.get_ident())
        if sink is None:
            return
        record.aws_request_id = sink.request_id
        try:
            sink.line(self.format(record))
        except Exception:  # a broken log call must not break the invocation
            self.handleError(record)


_LOG_HANDLER = _LambdaLogHandler()


# --------------------------------------------------------------------------
# Running the handler
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


def _load_handler(env: _Environment) -> Callable[[Any, Any], Any]:
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
        return getattr(module, function_name)  # type: ignore[no-any-return]
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


def _error_document(error: BaseException, request_id: str, env: _Environment) -> dict[str, Any]:
    """The JSON document the AWS Python runtime reports for an exception."""
    if isinstance(error, _FaultError):
        return {"errorMessage": error.message, "errorType": error.error_type,
                "requestId": request_id, "stackTrace": [_task_path(env, t) for t in error.trace]}
    frames = traceback.extract_tb(error.__traceback__)
    frames = [f for f in frames if f.filename != __file__] or frames
    trace = [_task_path(env, line) for line in traceback.format_list(frames)]
    return {"errorMessage": str(error), "errorType": type(error).__name__,
            "requestId": request_id, "stackTrace": trace}


def _task_path(env: _Environment, text: str) -> str:
    return text.replace(env.code_dir, TASK_ROOT)


#: What the AWS Python runtime logs before an error during initialisation.
_UNHANDLED_INIT_WARNING = (
    "LAMBDA_WARNING: Unhandled exception. The most likely cause is an issue in the function code. "
    "However, in rare cases, a Lambda runtime update can cause unexpected function behavior. "
    "For functions using managed runtimes, runtime updates can be triggered by a function change, "
    "or can be applied automatically. To determine if the runtime has been updated, check the runtime "
    "version in the INIT_START log entry. If this error correlates with a change in the runtime version, "
    "you may be able to mitigate this error by temporarily rolling back to the previous runtime version. "
    "For more information, see https://docs.aws.amazon.com/lambda/latest/dg/runtimes-update.html\n"
)


def _error_log_line(document: dict[str, Any]) -> str:
    """The runtime's ``[ERROR]`` log event for an unhandled exception."""
    head = "[ERROR]"
    if document["errorType"]:
        head += " " + document["errorType"]
    if document["errorMessage"]:
        head += (":" if document["errorType"] else "") + " " + document["errorMessage"]
    lines = [head, "Traceback (most recent call last):"]
    for element in document["stackTrace"]:
        for line in element.splitlines():
            stripped = line.lstrip(" ")
            lines.append("\u00a0" * (len(line) - len(stripped)) + stripped)
    return "\n".join(lines)


def _thread_main(*args: Any) -> None:
    try:
        _run_in_thread(*args)
    except _Timeout:  # arrived while the thread was already finishing
        pass


def _run_in_thread(env: _Environment, event: Any, request_id: str, invoked_arn: str,
                   sink: _LogSink, outcome: _Outcome) -> None:
    """Body of the handler thread: init on a cold start, then the handler."""
    me = threading.get_ident()
    _CHAIN_THREADS.add(me)
    _SINKS[me] = sink
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
                                    log_stream_name=env.log_stream, deadline=time.time() + env.spec.timeout)
            outcome.payload = _marshal(env.handler(event, context), env.spec.runtime)
        except _Timeout:
            return
        except SystemExit as error:
            env.broken = True
            code = error.code if isinstance(error.code, int) else 1
            outcome.error = {"errorType": "Runtime.ExitError",
                             "errorMessage": f"RequestId: {request_id} Error: Runtime exited with error: exit status {code}"}
        except BaseException as error:  # the learner's code may raise anything
            if env.handler is None:
                env.broken = True
                sink.line(_UNHANDLED_INIT_WARNING)
            outcome.error = _error_document(error, request_id, env)
            sink.line(_error_log_line(outcome.error))
        finally:
            sink.flush()
    except _Timeout:
        pass
    finally:
        outcome.finished = time.perf_counter()
        _SINKS.pop(me, None)
        _CHAIN_THREADS.discard(me)
        outcome.init_done.set()
        outcome.done.set()


def _stop_thread(thread: threading.Thread, grace: float = 0.2) -> None:
    """Raise :class:`_Timeout` in ``thread`` until it ends or ``grace`` runs out.

    Python code stops at its next bytecode, however it loops (a bare
    ``except:`` that swallows the exception gets it again). A thread inside one
    blocking C call (``time.sleep(60)``) is abandoned with the exception still
    pending: it stops as soon as the call returns, before running any more of
    the handler."""
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
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _lambda_env_vars(spec: FunctionSpec, env: _Environment) -> dict[str, str]:
    """The variables the Lambda service sets, then the function's own."""
    variables = {
        "AWS_LAMBDA_FUNCTION_NAME": spec.name,
        "AWS_LAMBDA_FUNCTION_VERSION": spec.version,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
        "AWS_LAMBDA_LOG_GROUP_NAME": spec.log_group,
        "AWS_LAMBDA_LOG_STREAM_NAME": env.log_stream,
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime}",
        "AWS_REGION": spec.region,
        "AWS_DEFAULT_REGION": spec.region,
        "LAMBDA_TASK_ROOT": env.code_dir,
        "_HANDLER": spec.handler,
    }
    variables.update(dict(spec.environment))
    return variables


@dataclass
class _Run:
    """What one execution of the handler produced."""

    payload: bytes
    error: dict[str, Any] | None
    timed_out: bool
    duration_ms: float
    init_ms: float | None
    memory_used_mb: int
    sink: _LogSink
    env: _Environment


def _execute(env: _Environment, event: Any, request_id: str, invoked_arn: str) -> _Run:
    """Run init (if cold) and the handler in a thread; enforce the time limits."""
    spec = env.spec
    sink = _LogSink(request_id)
    sink.line(f"START RequestId: {request_id} Version: {spec.version}\n")
    outcome = _Outcome()
    cold = env.handler is None
    thread = threading.Thread(target=_thread_main, name=f"lambda:{spec.name}", daemon=True,
                              args=(env, event, request_id, invoked_arn, sink, outcome))
    rss_before = peak = _rss_mb()
    with _swapped_in(env, _lambda_env_vars(spec, env)):
        thread.start()
        limit = spec.timeout
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
            env.broken = True  # AWS resets the environment after a timeout
    peak = max(peak, _rss_mb())
    ended = outcome.finished if not timed_out and outcome.finished else time.perf_counter()
    started = outcome.handler_started or ended
    duration_ms = (ended - started) * 1000
    if timed_out:
        duration_ms = min(duration_ms, limit * 1000) if outcome.handler_started else limit * 1000
        stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
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


def _report_line(spec: FunctionSpec, run: _Run, request_id: str) -> tuple[str, int]:
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
# The entry points
# --------------------------------------------------------------------------


def run_function(fn: Any, payload: bytes | str | None, *, invoked_arn: str,
                 invocation_type: str = "RequestResponse", resource: str | None = None) -> InvocationResult:
    """Invoke a moto function object: the one path every trigger takes.

    Args:
        fn: moto's ``LambdaFunction`` ($LATEST or a published version).
        payload: the event as JSON text (``None`` or empty means ``{}``).
        invoked_arn: the ARN the caller used (becomes ``invoked_function_arn``).
        invocation_type: ``RequestResponse``, ``Event`` or ``DryRun``.
        resource: ``name:qualifier`` when invoked through a qualifier, for the
            metrics' ``Resource`` dimension.

    Returns:
        An :class:`InvocationResult`. A throttled request returns status 429
        without running; ``DryRun`` returns 204 without running.
    """
    from labkit import moto_seams

    spec = moto_seams.function_spec(fn)
    if invocation_type == "DryRun":
        return InvocationResult(status_code=204, executed_version=spec.version)
    event = json.loads(payload) if payload else {}
    request_id = str(uuid.uuid4())
    reserved = moto_seams.reserved_concurrency(fn)
    if reserved is not None and _IN_FLIGHT.get(spec.arn, 0) >= reserved:
        _put_metrics(spec, resource, {"Throttles": (1, "Count")})
        body = json.dumps({"Reason": THROTTLE_REASON, "Type": "User", "message": THROTTLE_MESSAGE})
        return InvocationResult(status_code=429, payload=body.encode(), executed_version=spec.version,
                                request_id=request_id)
    _IN_FLIGHT[spec.arn] = _IN_FLIGHT.get(spec.arn, 0) + 1
    try:
        with _invocation_chain():
            env, _cold = _acquire(fn, spec, lambda: moto_seams.function_code(fn))
            try:
                run = _execute(env, event, request_id, invoked_arn)
            finally:
                _release(fn, env)
    finally:
        _IN_FLIGHT[spec.arn] -= 1
    run.sink.line(f"END RequestId: {request_id}\n")
    report, billed = _report_line(spec, run, request_id)
    run.sink.line(report)
    moto_seams.write_log_events(spec, env.log_stream, run.sink.events)
    _put_metrics(spec, resource, {"Invocations": (1, "Count"), "Errors": (1 if run.error else 0, "Count"),
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


def _put_metrics(spec: FunctionSpec, resource: str | None, values: dict[str, tuple[float, str]]) -> None:
    """Write ``AWS/Lambda`` metrics with the FunctionName dimension (and
    FunctionName + Resource when invoked through a qualifier)."""
    from labkit import moto_seams

    dimension_sets = [[{"Name": "FunctionName", "Value": spec.name}]]
    if resource:
        dimension_sets.append(dimension_sets[0] + [{"Name": "Resource", "Value": resource}])
    data = [{"MetricName": name, "Value": float(value), "Unit": unit, "Dimensions": dims}
            for name, (value, unit) in values.items() for dims in dimension_sets]
    moto_seams.put_metric_data(spec.region, spec.account_id, "AWS/Lambda", data)


def invoke(function_name_or_arn: str, event: Any = None, qualifier: str | None = None, *,
           invocation_type: str = "RequestResponse", region: str | None = None) -> InvocationResult:
    """Invoke a function directly, without an HTTP round trip through boto3.

    This is the entry point for integrations written in labkit (an API Gateway
    proxy integration, for example). ``event`` is any JSON-serialisable value
    (or JSON text as ``str``/``bytes``). Asynchronous (``Event``) invocations
    are retried and sent to their destinations as in :func:`invoke_async`.
    """
    from labkit import moto_seams

    if not moto_seams.installed():
        raise RuntimeError("The sandbox is not running: call labkit.start() first.")
    fn, invoked_arn, resource = moto_seams.resolve_function(function_name_or_arn, qualifier, region)
    payload = event if isinstance(event, (bytes, str)) else json.dumps({} if event is None else event)
    if invocation_type == "Event":
        return invoke_async(fn, payload, invoked_arn=invoked_arn, resource=resource)
    return run_function(fn, payload, invoked_arn=invoked_arn, invocation_type=invocation_type, resource=resource)


def invoke_async(fn: Any, payload: bytes | str, *, invoked_arn: str, resource: str | None = None) -> InvocationResult:
    """An asynchronous invocation, as SNS, EventBridge, S3 and ``InvocationType=Event`` make.

    The event runs at once (a queue and its delay would only make labs wait).
    On a function error Lambda retries it up to ``MaximumRetryAttempts`` times
    (default 2; AWS waits about 1 and 2 minutes, we do not wait), then sends a
    record to the ``OnFailure`` destination, if one is configured; a success
    goes to ``OnSuccess``. A throttled event (reserved concurrency 0) is counted
    in ``Throttles`` and dropped.
    """
    from labkit import moto_seams

    config = moto_seams.event_invoke_config(fn)
    attempts = 1 + int(config.get("MaximumRetryAttempts", 2))
    result = InvocationResult(status_code=202)
    for attempt in range(1, attempts + 1):
        result = run_function(fn, payload, invoked_arn=invoked_arn, invocation_type="RequestResponse",
                              resource=resource)
        if result.throttled or not result.function_error:
            break
    if result.throttled:
        return InvocationResult(status_code=202, request_id=result.request_id, executed_version=result.executed_version)
    condition = "Success" if not result.function_error else "RetriesExhausted"
    destination = config.get("DestinationConfig", {}).get("OnSuccess" if condition == "Success" else "OnFailure", {})
    if destination.get("Destination"):
        record = _destination_record(invoked_arn, result, payload, condition, attempt)
        moto_seams.send_to_destination(destination["Destination"], record, fn)
    return InvocationResult(status_code=202, function_error=result.function_error, request_id=result.request_id,
                            executed_version=result.executed_version, logs=result.logs,
                            duration_ms=result.duration_ms, billed_duration_ms=result.billed_duration_ms,
                            init_duration_ms=result.init_duration_ms)


def _destination_record(invoked_arn: str, result: InvocationResult, payload: bytes | str,
                        condition: str, attempts: int) -> dict[str, Any]:
    """The invocation record Lambda sends to an async destination."""
    function_arn = invoked_arn if invoked_arn.count(":") == 7 else f"{invoked_arn}:{result.executed_version}"
    response: dict[str, Any] = {"statusCode": 200, "executedVersion": result.executed_version}
    if result.function_error:
        response["functionError"] = result.function_error
    try:
        response_payload = result.json()
    except ValueError:
        response_payload = result.payload.decode("utf-8", "replace")
    return {
        "version": "1.0",
        "timestamp": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        "requestContext": {"requestId": result.request_id, "functionArn": function_arn,
                           "condition": condition, "approximateInvokeCount": attempts},
        "requestPayload": json.loads(payload) if payload else {},
        "responseContext": response,
        "responsePayload": response_payload,
    }


def poll_event_sources() -> int:
    """Let the SQS event source mappings poll now; return how many messages
    were delivered to functions.

    Sending a message to a mapped queue delivers it at once (moto's hook, sent
    through this runtime). What no send triggers, call this for: messages that
    became visible again after a failed batch (each call is one more retry,
    so a poisoned message reaches the DLQ after ``maxReceiveCount`` calls once
    the visibility timeout has passed), messages sent before the mapping was
    enabled, and delayed messages whose delay is over. There is no background
    poller thread on purpose: a notebook should only change when a cell runs.
    """
    from labkit import moto_seams

    return moto_seams.poll_all_sqs_mappings()
