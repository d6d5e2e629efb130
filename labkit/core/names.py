"""Names that AWS returns, reached from the notebook.

A load balancer's ``DNSName``, an API Gateway invoke URL, a record in one of
the sandbox's hosted zones: on AWS each is a name the internet resolves. In
the sandbox, the service that owns a name *claims* it, and this module makes
``requests`` and ``urllib`` (anything that calls ``socket.getaddrinfo``) reach
the local plane behind it, with the ``Host`` header and the URL untouched.

Three pieces:

- **claims**: a service registers ``resolver(host) -> addresses | None`` with
  :func:`claim`; the first resolver that answers owns the name (it answers
  :data:`NO_SUCH_NAME` for a name of its own that does not exist);
- **virtual addresses**: :func:`allocate_address` hands out addresses from
  198.18.0.0/15, a block reserved for network testing that the internet never
  routes, so an address in an answer can never reach anybody;
- **bindings**: :func:`bind` says that a connection to (virtual address, port)
  goes to a loopback port where a plane's server listens.

:func:`install` (called by ``import labkit``) puts :func:`getaddrinfo` in
place of :func:`socket.getaddrinfo`. It answers claimed names and bound
addresses, refuses any other AWS name (``*.amazonaws.com``) with
:class:`~labkit.core.offline.OfflineError` before any DNS look-up, and hands
every other host to the system resolver unchanged.

It also keeps moto from answering claimed names itself: moto intercepts
``requests`` calls to AWS host names, and answers an API Gateway invoke URL or
a load balancer name with "not implemented". A seam on moto's response
registry lets those requests through to the socket, where the claim applies.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from labkit.core.offline import OfflineError, is_loopback
from labkit.core.seams import Seam

Resolver = Callable[[str], "list[str] | None"]


class NoSuchName(list):  # type: ignore[type-arg]
    """What a resolver returns for a name it owns that does not exist (DNS's
    NXDOMAIN): an empty answer that is still a claim. Use :data:`NO_SUCH_NAME`."""

    def __repr__(self) -> str:
        return "NO_SUCH_NAME"


#: A resolver's answer for "this name is mine, and it does not exist".
NO_SUCH_NAME = NoSuchName()

#: The block virtual addresses come from (RFC 2544, benchmarking: never routed).
VIRTUAL_NETWORK = ipaddress.ip_network("198.18.0.0/15")

#: Host name suffixes that belong to AWS; unclaimed ones are refused.
AWS_SUFFIXES = (".amazonaws.com", ".amazonaws.com.cn", ".api.aws", ".on.aws")

_system_getaddrinfo = socket.getaddrinfo
_lock = threading.RLock()
_claims: dict[str, Resolver] = {}
_bindings: dict[tuple[str, int], int] = {}
_owners: dict[str, str] = {}
_next_host = 1


def is_aws_name(host: str) -> bool:
    """True for a host name under one of AWS's domains."""
    host = host.rstrip(".").lower()
    return any(host.endswith(suffix) or host == suffix[1:] for suffix in AWS_SUFFIXES)


def _normal(host: str | bytes | None) -> str:
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    return (host or "").rstrip(".").lower()


# --- claims ------------------------------------------------------------------
def claim(key: str, resolver: Resolver) -> None:
    """Let ``resolver`` answer host names: it returns the virtual addresses of a
    name it owns, or ``None``. ``key`` names the claim (a service's name); a
    second claim with the same key replaces the first."""
    with _lock:
        _claims[key] = resolver


def unclaim(key: str) -> None:
    """Withdraw the claim made under ``key``."""
    with _lock:
        _claims.pop(key, None)


def resolve(host: str) -> list[str] | None:
    """The virtual addresses of a claimed name, or ``None`` when no service claims
    it (:data:`NO_SUCH_NAME` when its owner says it does not exist)."""
    name = _normal(host)
    with _lock:
        resolvers = list(_claims.values())
    for resolver in resolvers:
        answer = resolver(name)
        if answer is not None:
            return answer if isinstance(answer, NoSuchName) else list(answer)
    return None


# --- virtual addresses and bindings -------------------------------------------
def allocate_address(owner: str = "") -> str:
    """A fresh virtual IPv4 address (198.18.0.0/15), remembered with its ``owner``."""
    global _next_host
    with _lock:
        if _next_host >= VIRTUAL_NETWORK.num_addresses - 1:
            raise RuntimeError("The sandbox ran out of virtual addresses; run lab.reset().")
        address = str(VIRTUAL_NETWORK[_next_host])
        _next_host += 1
        _owners[address] = owner
        return address


def owner_of(address: str) -> str | None:
    """Who allocated a virtual address, or ``None``."""
    with _lock:
        return _owners.get(address)


def bind(address: str, port: int, local_port: int) -> None:
    """Send connections for ``(address, port)`` to ``127.0.0.1:local_port``.

    ``address`` is a virtual address, or any address a simulated resource
    reports (an instance's private IP)."""
    with _lock:
        _bindings[(str(address), int(port))] = int(local_port)


def unbind(address: str, port: int | None = None) -> None:
    """Forget one binding of ``address``, or every binding of it when ``port`` is ``None``."""
    with _lock:
        for key in [key for key in _bindings if key[0] == address and (port is None or key[1] == port)]:
            del _bindings[key]


def bound(address: str, port: int) -> int | None:
    """The loopback port bound to ``(address, port)``, or ``None``."""
    with _lock:
        return _bindings.get((address, int(port)))


def bindings() -> dict[tuple[str, int], int]:
    """A copy of every binding: ``{(address, port): loopback port}``."""
    with _lock:
        return dict(_bindings)


class NoListener(ConnectionRefusedError):
    """A sandbox name or address resolved, but nothing listens on that port."""


def connect_targets(host: str, port: int) -> list[tuple[str, int]] | None:
    """Where a connection to ``host:port`` goes in the sandbox.

    Returns loopback ``(ip, port)`` pairs for a claimed name or a bound
    address, ``None`` when the sandbox has nothing to say about ``host``, and
    raises :class:`NoListener` (a ``ConnectionRefusedError``) when the name is
    the sandbox's but no server listens on that port.
    """
    name = _normal(host)
    port = int(port or 0)
    addresses = resolve(name)
    if addresses is None:
        if bound(name, port) is not None:
            return [("127.0.0.1", bound(name, port) or 0)]
        with _lock:
            known = any(key[0] == name for key in _bindings)
        if not known:
            return None
        addresses = [name]
    if isinstance(addresses, NoSuchName):
        raise socket.gaierror(socket.EAI_NONAME, f"{host}: no such name in the lab sandbox (NXDOMAIN)")
    targets = []
    for address in addresses:
        local = bound(address, port)
        if local is not None:
            targets.append(("127.0.0.1", local))
        elif is_loopback(address):
            targets.append((address, port))
    if not targets:
        raise NoListener(
            errno.ECONNREFUSED,
            f"{host} is a name in the lab sandbox ({', '.join(addresses) or 'no address'}), "
            f"but nothing there listens on port {port}. Check the port (a listener, a stage, "
            f"a running instance) and that the resource still exists.")
    return targets


# --- the socket-level front ---------------------------------------------------
def getaddrinfo(host: Any, port: Any, family: int = 0, type: int = 0, proto: int = 0, flags: int = 0) -> list[Any]:  # noqa: A002
    """:func:`socket.getaddrinfo`, with the sandbox's names answered first."""
    name = _normal(host)
    if name and not is_loopback(name):
        try:
            numeric_port = int(port) if port is not None else 0
        except (TypeError, ValueError):
            numeric_port = socket.getservbyname(str(port)) if port else 0
        targets = connect_targets(name, numeric_port)
        if targets is not None:
            kind = type or socket.SOCK_STREAM
            return [(socket.AF_INET, kind, proto or (socket.IPPROTO_TCP if kind == socket.SOCK_STREAM else 0), "", target)
                    for target in targets]
        if is_aws_name(name):
            raise OfflineError(
                f"labkit stopped a connection to {host}: nothing in the lab sandbox answers that AWS name, "
                "and labs never send requests to real AWS. Use the names the sandbox gives you "
                "(a load balancer's DNSName, an API's invoke URL, a record in a hosted zone), "
                "and use boto3 for AWS APIs.")
    return _system_getaddrinfo(host, port, family, type, proto, flags)


def _registry_find(original: Callable[..., Any], registry: Any, request: Any) -> Any:
    """moto's response registry, minus the names the sandbox claims: a request to
    one of them falls through to the socket, where :func:`getaddrinfo` sends it
    to the local plane."""
    host = urlsplit(getattr(request, "url", "") or "").hostname or ""
    if host and resolve(host) is not None:
        return None, []
    match, reasons = original(registry, request)
    if match is not None and getattr(match, "callback", None) is _not_implemented():
        # moto has no answer for this AWS URL: let it reach the socket, where
        # getaddrinfo refuses it with the offline guard's error.
        return None, reasons
    return match, reasons


def _not_implemented() -> Any:
    from moto.core.custom_responses_mock import not_implemented_callback

    return not_implemented_callback


SEAMS = (
    Seam("moto.core.responses_custom_registry", "CustomRegistry.find", ("self", "request"), _registry_find),
)


def install() -> None:
    """Answer the sandbox's names in :func:`socket.getaddrinfo`. Idempotent; cheap
    (imports nothing). moto's registry seam is installed by :func:`adopt_moto`."""
    socket.getaddrinfo = getaddrinfo  # type: ignore[assignment]


def adopt_moto() -> None:
    """Keep moto's ``requests`` interception away from claimed names (called once moto runs)."""
    from labkit.core import seams

    seams.install(SEAMS, owner="labkit.core.names")


def installed() -> bool:
    return socket.getaddrinfo is getaddrinfo


def reset() -> None:
    """Forget every binding and virtual address (claims stay: they belong to
    installed services, whose own reset empties what they answer)."""
    global _next_host
    with _lock:
        _bindings.clear()
        _owners.clear()
        _next_host = 1
