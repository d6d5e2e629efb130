"""Execution environments: warm ones reused, and the process-wide state an
invocation borrows.

On AWS each execution environment is a micro-VM holding the function's
loaded code. Module-level code runs once per environment (a cold start);
warm invocations reuse it until the code or the configuration changes, or an
invocation times out. Here an environment is a folder with the extracted
code plus the modules its code imported, kept in :data:`POOLS` between
invocations.

In-process, not a worker process
--------------------------------
The handler runs in a thread of this process, so that boto3 calls inside it
reach the same emulated account with no server and no copying of state, and
an invocation costs about as much as any boto3 call (``bench/bench_lambda.py``).
The price is isolation.

* Environment variables are per thread: :mod:`labkit.core.threadenv` stands
  in for ``os.environ``, and the handler's thread sees its environment's variables
  over the process's own, while every other thread (the notebook's, a load
  balancer's) sees the process's, untouched. Changing ``os.environ`` from
  another thread during an invocation is therefore safe. A variable the
  handler sets stays in its environment for the next warm invocation, as on
  AWS. Threads the handler starts itself, and subprocesses, see the
  process's variables only.
* ``sys.modules`` and the root logger's level are process-wide:
  :func:`swapped_in` gives them to the environment for the duration of an
  invocation and takes them back after. Invocations therefore run one at a
  time (:data:`CHAIN`); an invocation that invokes another function directly,
  or through a queue, is let through (it belongs to the same chain).

* Files in the zip are extracted once per code hash into a temporary folder
  (``LAMBDA_TASK_ROOT``); the current directory is not changed, and ``/tmp``
  is the machine's.
* Don't name a module in the zip after a standard-library module
  (``json.py``): in-process, the standard library wins.
"""

from __future__ import annotations

import atexit
import io
import logging
import os
import shutil
import sys
import tempfile
import threading
import time
import uuid
import weakref
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from labkit.core import threadenv

from .logs import LambdaLogHandler, LogSink, RoutedStream
from .model import FunctionSpec


@dataclass(eq=False)
class Environment:
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
    variables: dict[str, str | None] = field(default_factory=dict)  # its os.environ over the process's (None: deleted)


# --------------------------------------------------------------------------
# Warm environments
# --------------------------------------------------------------------------


class WarmPools:
    """Idle environments, one pool per moto function object ($LATEST and each
    published version are separate objects), keyed weakly: a function that
    moto forgets takes its pool with it. :meth:`clear` is ``lab.reset()``'s."""

    def __init__(self) -> None:
        self._pools: weakref.WeakKeyDictionary[Any, tuple[FunctionSpec, list[Environment]]] = (
            weakref.WeakKeyDictionary())
        self._lock = threading.Lock()
        self._code_root: str | None = None  # extracted packages, by code hash; kept for the process

    def acquire(self, fn: Any, spec: FunctionSpec, code: Callable[[], bytes]) -> tuple[Environment, bool]:
        """An idle environment for this exact spec, or a new one (a cold start: True)."""
        with self._lock:
            pooled = self._pools.get(fn)
            if pooled is None or pooled[0] != spec:  # code or configuration changed
                pooled = (spec, [])
                self._pools[fn] = pooled
            if pooled[1]:
                return pooled[1].pop(), False
        return self._new_environment(spec, code()), True

    def release(self, fn: Any, env: Environment) -> None:
        """Keep ``env`` warm for the next invocation, unless it broke or went stale."""
        with self._lock:
            pooled = self._pools.get(fn)
            if not env.broken and pooled is not None and pooled[0] == env.spec:
                pooled[1].append(env)

    def warm(self) -> int:
        """How many idle environments are kept, over every function."""
        with self._lock:
            return sum(len(envs) for _, envs in self._pools.values())

    def clear(self) -> None:
        """Forget every warm environment: the next invocation of each function
        is a cold start."""
        with self._lock:
            self._pools.clear()

    def _new_environment(self, spec: FunctionSpec, code: bytes) -> Environment:
        folder = self._code_dir(spec, code)
        stream = f"{time.strftime('%Y/%m/%d', time.gmtime())}/[{spec.version}]{uuid.uuid4().hex}"
        return Environment(spec=spec, code_dir=folder, log_stream=stream, module_names=_top_level_names(folder))

    def _code_dir(self, spec: FunctionSpec, code: bytes) -> str:
        """Extract a deployment package once per code hash; return its folder.
        (Kept across resets: the folder is named by the code's hash, and an
        invocation still running may be using it.)"""
        with self._lock:
            if self._code_root is None:
                self._code_root = tempfile.mkdtemp(prefix="labkit-lambda-")
                atexit.register(shutil.rmtree, self._code_root, True)
            root = self._code_root
        folder = os.path.join(root, spec.code_sha256.replace("/", "_").replace("+", "-").rstrip("="))
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
        is_module = ext in (".py", ".pyc") or (not ext and os.path.isdir(os.path.join(code_dir, entry)))
        if is_module and stem.isidentifier() and stem not in sys.stdlib_module_names:
            names.add(stem)
    return frozenset(names)


#: The warm environments of every function (``lab.reset()`` clears them).
POOLS = WarmPools()


# --------------------------------------------------------------------------
# One invocation at a time, and the process-wide state it borrows
# --------------------------------------------------------------------------


class InvocationChain:
    """The lock that runs invocations one at a time, the threads allowed
    through it (the one holding it and the handler threads it started), and
    where each handler thread's output goes.

    Output is routed by thread, once and for all: the first invocation puts a
    :class:`RoutedStream` in front of ``sys.stdout`` and ``sys.stderr`` and
    a handler on the root logger, and they stay (every thread that is not a
    handler's writes through them unchanged). Swapping them in and out around
    each invocation raced with other threads: a stream saved by one was put
    back over another's.

    This is plumbing for the invocation running now, not sandbox state:
    ``lab.reset()`` leaves it alone (a reset made from inside a handler must
    not pull the floor from under it)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._member = threading.local()  # .inside: this thread holds the chain or is one of its handlers
        self.sinks: dict[int, LogSink] = {}  # handler thread -> where its output goes
        self._log_handler = LambdaLogHandler(self.sinks)

    @contextmanager
    def held(self) -> Iterator[None]:
        """Run invocations one at a time; a handler's own nested invocations pass."""
        if getattr(self._member, "inside", False):
            yield
            return
        with self._lock:
            self._member.inside = True
            self._route_output()
            try:
                yield
            finally:
                self._member.inside = False

    def _route_output(self) -> None:
        for name in ("stdout", "stderr"):
            stream = getattr(sys, name)
            if not (isinstance(stream, RoutedStream) and stream.routes_to(self.sinks)):
                setattr(sys, name, RoutedStream(stream, self.sinks))
        root = logging.getLogger()
        if self._log_handler not in root.handlers:
            root.addHandler(self._log_handler)

    def enter_handler_thread(self, sink: LogSink) -> None:
        """Called by a handler thread as it starts: it belongs to the chain, and
        its output goes to ``sink``."""
        self._member.inside = True
        self.sinks[threading.get_ident()] = sink

    def leave_handler_thread(self) -> None:
        self.sinks.pop(threading.get_ident(), None)
        self._member.inside = False

    @contextmanager
    def inline(self) -> Iterator[None]:
        """Around a handler run in the calling thread (the browser edition has no
        threads): what that thread had before (an outer handler's sink and its
        place in the chain) is given back after, so invocations nest."""
        ident = threading.get_ident()
        sink, inside = self.sinks.get(ident), getattr(self._member, "inside", False)
        try:
            yield
        finally:
            if sink is None:
                self.sinks.pop(ident, None)
            else:
                self.sinks[ident] = sink
            self._member.inside = inside


#: The one chain of invocations of this process.
CHAIN = InvocationChain()


def lambda_env_vars(spec: FunctionSpec, env: Environment) -> dict[str, str]:
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


@contextmanager
def variables_of(env: Environment, env_vars: dict[str, str]) -> Iterator[None]:
    """This thread (the handler's) sees the environment's variables: the
    ones the handler set on earlier invocations, then ``env_vars`` (the
    service's and the function's, which win)."""
    environ = threadenv.install()
    env.variables.update(env_vars)
    outer = environ.view()  # a handler run inline in its caller's thread (browser edition) nests
    environ.enter(env.variables)
    try:
        yield
    finally:
        if outer is None:
            environ.leave()
        else:
            environ.enter(outer)


@contextmanager
def swapped_in(env: Environment) -> Iterator[None]:
    """Give the environment its modules, code path and log level; take them
    back after. (Its variables are given to its handler's thread alone:
    :func:`variables_of`.)"""
    first = env.known_names is None
    if first:  # look through every loaded module once, for names the code shadows
        saved_modules = {name: mod for name, mod in sys.modules.items() if _is_env_module(env, name)}
    else:
        saved_modules = {name: sys.modules[name] for name in env.known_names or () if name in sys.modules}
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


def _is_env_module(env: Environment, name: str) -> bool:
    return name.partition(".")[0] in env.module_names
