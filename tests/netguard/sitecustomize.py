"""Test-only network guard, loaded into every Python process the test suite starts.

The test suite puts this folder on PYTHONPATH, so every kernel, book build and
grader subprocess imports it at start-up. It patches the socket module so that
any attempt to resolve a non-local name or connect to a non-loopback address is
refused *before* a packet is sent, and is written to the file named by
LABKIT_NETGUARD_LOG. The suite fails if that file is not empty at the end.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import traceback

_LOG = os.environ.get("LABKIT_NETGUARD_LOG", "")
_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_sendto = socket.socket.sendto
_real_getaddrinfo = socket.getaddrinfo


def _local(host: object) -> bool:
    if host is None:
        return True
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    text = str(host).strip("[]").lower()
    if text in ("", "localhost", "ip6-localhost", "ip6-loopback") or text.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(text.split("%")[0]).is_loopback
    except ValueError:
        return False


def _refuse(what: str) -> None:
    if _LOG:
        with open(_LOG, "a", encoding="utf-8") as log:
            log.write(f"pid {os.getpid()}: {what}\n{''.join(traceback.format_stack(limit=8))}\n")
    raise ConnectionRefusedError(f"network guard: {what} refused (tests run offline, loopback only)")


def _check_address(sock: socket.socket, address: object) -> None:
    if sock.family not in (socket.AF_INET, socket.AF_INET6) or not isinstance(address, tuple):
        return  # Unix sockets and the like
    if not _local(address[0]):
        _refuse(f"connection to {address[0]}:{address[1]}")


def connect(self: socket.socket, address: object) -> None:  # type: ignore[override]
    _check_address(self, address)
    return _real_connect(self, address)


def connect_ex(self: socket.socket, address: object) -> int:  # type: ignore[override]
    _check_address(self, address)
    return _real_connect_ex(self, address)


def sendto(self: socket.socket, data: bytes, *args: object) -> int:  # type: ignore[override]
    _check_address(self, args[-1])
    return _real_sendto(self, data, *args)  # type: ignore[arg-type]


def getaddrinfo(host: object, *args: object, **kwargs: object) -> list:  # type: ignore[type-arg]
    if not _local(host):
        _refuse(f"name lookup of {host!r}")
    return _real_getaddrinfo(host, *args, **kwargs)  # type: ignore[arg-type]


socket.socket.connect = connect  # type: ignore[method-assign]
socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]
socket.socket.sendto = sendto  # type: ignore[method-assign]
socket.getaddrinfo = getaddrinfo
socket.NETGUARD_ACTIVE = True  # type: ignore[attr-defined]
