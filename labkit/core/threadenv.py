"""Environment variables per thread: ``os.environ`` with views.

A service that runs learners' code in a thread of this process (Lambda) gives
that thread its own variables without touching the process's:
:func:`install` puts a :class:`ThreadEnviron` in place of ``os.environ``, and
:meth:`ThreadEnviron.enter` gives the calling thread a view (its variables
over the process's). Every other thread reads and writes the process's
variables as before, so no thread ever sees another's variables appear or
vanish (iterating ``os.environ`` while another thread deleted from it raised
``KeyError``; C code reading the environment while Python called ``unsetenv``
could crash the process).

What the sandbox sets for the whole process is written through
:func:`process`.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, MutableMapping
from typing import Any


class ThreadEnviron(MutableMapping[str, str]):
    """``os.environ`` as each thread should see it.

    A thread that :meth:`enter` gave a view (a handler's thread) reads and
    writes its view first, then the process's variables; a name set to None
    in the view is deleted for that thread alone. Every other thread reads and
    writes the process's variables (``os.environ`` as it was), so an
    invocation never changes, adds or removes a variable under another
    thread's feet."""

    def __init__(self, process: MutableMapping[str, str]) -> None:
        self.process = process
        self._views: dict[int, dict[str, str | None]] = {}

    def enter(self, view: dict[str, str | None]) -> None:
        """From now on, this thread sees ``view`` over the process's variables."""
        self._views[threading.get_ident()] = view

    def leave(self) -> None:
        self._views.pop(threading.get_ident(), None)

    def view(self) -> dict[str, str | None] | None:
        """The view this thread was given, if any (to give it back after a nested one)."""
        return self._view()

    def _view(self) -> dict[str, str | None] | None:
        return self._views.get(threading.get_ident())

    def __getitem__(self, name: str) -> str:
        view = self._view()
        if view is not None and name in view:
            value = view[name]
            if value is None:
                raise KeyError(name)
            return value
        return self.process[name]

    def __setitem__(self, name: str, value: str) -> None:
        view = self._view()
        if view is None:
            self.process[name] = value
            return
        for item in (name, value):
            if not isinstance(item, str):
                raise TypeError(f"str expected, not {type(item).__name__}")
        view[name] = value

    def __delitem__(self, name: str) -> None:
        view = self._view()
        if view is None:
            del self.process[name]
            return
        self[name]  # noqa: B018  (KeyError if the thread has no such variable)
        view[name] = None

    def __iter__(self) -> Iterator[str]:
        view = self._view()
        if view is None:
            return iter(list(self.process))
        names = [name for name in list(self.process) if view.get(name, "") is not None]
        return iter(names + [name for name, value in view.items() if value is not None and name not in self.process])

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def copy(self) -> dict[str, str]:
        return dict(self)

    def __or__(self, other: Any) -> dict[str, str]:
        return {**self, **other}

    def __ror__(self, other: Any) -> dict[str, str]:
        return {**other, **self}

    def __repr__(self) -> str:
        return f"environ({dict(self)!r})"


def install() -> ThreadEnviron:
    """The per-thread ``os.environ``, put in place the first time it is asked for."""
    if not isinstance(os.environ, ThreadEnviron):
        os.environ = ThreadEnviron(os.environ)  # type: ignore[assignment]  # noqa: B003  (os.getenv reads it too)
    return os.environ


def process() -> MutableMapping[str, str]:
    """The process's own variables, whichever thread asks: what the sandbox
    sets for everyone (credentials, the trusted certificates) goes here, not
    into a view a handler's thread may be holding."""
    environ = os.environ
    return environ.process if isinstance(environ, ThreadEnviron) else environ
