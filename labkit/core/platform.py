"""Where labkit runs: a local Python, or a browser tab (the browser edition).

The browser edition runs the labs in JupyterLite, on Pyodide: Python compiled
to WebAssembly, in the page. There a process has no threads (starting one
raises ``RuntimeError``), no listening or connecting sockets, no subprocesses,
no Graphviz, and no ``cryptography`` package (it has no WebAssembly build).
labkit notices by itself (:func:`in_browser`) and changes how it works, not
what a lab sees:

- work a local sandbox does in a thread runs inline, or on the sandbox clock;
- a plane that a local lab reaches through a loopback server is called
  in-process; what has no in-process form (a DNS server, a load balancer's
  front door...) raises :class:`BrowserGap`, which names the gap and says to use
  the local edition;
- ``cryptography`` is replaced by a stand-in (:mod:`labkit.core.nocrypto`,
  put in place by the sandbox before it imports moto) that lets moto import,
  and raises :class:`BrowserGap` where moto would really use it.

Services ask this module (``platform.in_browser()``, ``platform.require_local``);
it knows no service.

Tests turn browser mode on in an ordinary CPython with ``LABKIT_BROWSER_MODE=1``
(``tests/lite/pyodide_like.py`` also takes threads, sockets and subprocesses
away, as Pyodide does).
"""

from __future__ import annotations

import concurrent.futures
import importlib.abc
import importlib.machinery
import os
import sys
import threading
import types
from collections.abc import Callable, Container
from typing import Any

from labkit.core.errors import NotEmulated

#: The environment variable that turns browser mode on outside a browser (tests).
VARIABLE = "LABKIT_BROWSER_MODE"

#: Where a learner finds the local edition, for the errors below.
LOCAL_EDITION = ("run this lab in the local edition (the course's repository on your machine, "
                 "Binder, or your class's JupyterHub), where it works")


class BrowserGap(NotEmulated):
    """Something a lab asked for that the browser edition cannot do (a server
    listening on a port, a thread, a subprocess, a certificate). The local
    edition does it."""


def in_browser() -> bool:
    """True under Pyodide (``sys.platform == "emscripten"``), or when
    ``LABKIT_BROWSER_MODE`` is set to ``1`` (tests)."""
    if sys.platform == "emscripten":
        return True
    return os.environ.get(VARIABLE, "").strip().lower() in ("1", "true", "yes", "on")


def edition() -> str:
    """``"browser"`` or ``"local"``."""
    return "browser" if in_browser() else "local"


def gap(what: str, why: str = "") -> BrowserGap:
    """The error for ``what`` in the browser edition (returned, for ``raise``)."""
    because = why or "a browser tab cannot run servers, threads or other programs"
    return BrowserGap(f"{what} is not available in the browser edition of this course: {because}. "
                      f"To do this, {LOCAL_EDITION}.")


def require_local(what: str, why: str = "") -> None:
    """Raise :class:`BrowserGap` for ``what`` in the browser edition; nothing locally."""
    if in_browser():
        raise gap(what, why)



class InlineThread:
    """What a ``threading.Thread`` becomes in the browser edition, where no
    thread can start: :meth:`start` runs the target to its end in the calling
    thread. A caller that then joins with a timeout finds it finished, so
    nothing it ran is ever cut short at a time limit (say so where a limit
    matters). An exception in the target goes to ``threading.excepthook``, as a
    thread's would."""

    def __init__(self, group: Any = None, target: Callable[..., Any] | None = None, name: str | None = None,
                 args: tuple[Any, ...] = (), kwargs: dict[str, Any] | None = None, *, daemon: bool | None = None) -> None:
        self._target, self._args, self._kwargs = target, args, kwargs or {}
        self.name = name or "inline"
        self.daemon = bool(daemon)
        self.ident: int | None = None
        self._started = False

    def start(self) -> None:
        if self._started:
            raise RuntimeError("threads can only be started once")
        self._started = True
        self.ident = threading.get_ident()
        try:
            self.run()
        except Exception:  # noqa: BLE001  (a thread's exception is reported, not raised to whoever started it)
            threading.excepthook(threading.ExceptHookArgs((*sys.exc_info(), self)))  # type: ignore[arg-type,call-arg]

    def run(self) -> None:
        if self._target is not None:
            self._target(*self._args, **self._kwargs)

    def join(self, timeout: float | None = None) -> None:
        return None

    def is_alive(self) -> bool:
        return False

    @property
    def native_id(self) -> int | None:
        return self.ident


def inline_threading() -> types.ModuleType:
    """A stand-in for the ``threading`` module, for one library's module globals:
    everything is ``threading``'s, except ``Thread``, which is :class:`InlineThread`."""

    class Threading(types.ModuleType):
        Thread = InlineThread

        def __getattr__(self, name: str) -> Any:
            return getattr(threading, name)

    return Threading("threading", "threading, with threads run inline (labkit's browser edition)")


class InlineExecutor(concurrent.futures.Executor):
    """What a thread pool becomes in the browser edition: :meth:`submit` runs
    the call to its end at once, in the caller's thread, and returns its
    finished future (``map`` therefore runs the calls one after another)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> concurrent.futures.Future[Any]:
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as error:  # noqa: BLE001  (the future carries it, as a pool's would)
            future.set_exception(error)
        return future


def thread_pool(max_workers: int, thread_name_prefix: str = "") -> concurrent.futures.Executor:
    """A ``ThreadPoolExecutor`` locally; an :class:`InlineExecutor` in the browser edition."""
    if in_browser():
        return InlineExecutor()
    return concurrent.futures.ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix=thread_name_prefix)


class StandInFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """An import hook for the browser edition's stand-ins of compiled packages:
    ``import`` of a name in ``names`` gets the package ``make(name)`` returns
    (made a package, so its submodules come through this finder too). Put it
    first in ``sys.meta_path`` to use it."""

    def __init__(self, names: Container[str], make: Callable[[str], types.ModuleType]) -> None:
        self.names, self.make = names, make

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if fullname in self.names:
            return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
        return None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        module = self.make(spec.name)
        module.__path__ = []  # type: ignore[attr-defined]
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        return None
