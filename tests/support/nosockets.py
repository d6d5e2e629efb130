"""A test's process without sockets, as in a browser tab (the browser edition's unit tests).

:func:`take_sockets_away` makes the named ``socket.socket`` methods raise what
Emscripten answers (``OSError`` 138), so an answer a test then gets can only
have come in-process.
"""

from __future__ import annotations

import socket
from typing import Any

import pytest

#: What a browser tab answers to any socket operation.
NOT_SUPPORTED = (138, "Operation not supported (no sockets in a browser tab)")


def take_sockets_away(monkeypatch: pytest.MonkeyPatch,
                      methods: tuple[str, ...] = ("connect", "connect_ex", "bind")) -> None:
    """Make each of ``methods`` of ``socket.socket`` raise ``OSError(138)`` for the rest of the test."""

    def no_socket(*args: Any, **kwargs: Any) -> None:
        raise OSError(*NOT_SUPPORTED)

    for method in methods:
        monkeypatch.setattr(socket.socket, method, no_socket)
