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

import os
import sys

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

