"""DNS in the browser edition: dnspython's queries answered by the same function.

Locally a learner asks the sandbox's name server as ``dig`` would::

    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers, resolver.port = [host], port     # lab.route53.nameserver
    dns.query.udp(dns.message.make_query("shop.example.com", "A"), host, port=port)

and the bytes travel over UDP or TCP to a server that answers each message
with :func:`.server.serve_message`. A browser tab has no sockets, and the
server there is in-process (:mod:`labkit.core.loopback`). So, in browser mode,
:func:`install` puts a seam on ``dns.query.udp`` and ``dns.query.tcp`` (the
functions dnspython's ``Resolver`` calls for every query, through
``dns.nameserver.Do53Nameserver.query``; ``dns.query.udp_with_fallback``
calls them too): a query to the address of an in-process name server is
turned into its wire bytes, answered by :func:`.server.serve_message`, and
the reply bytes are parsed exactly as dnspython parses what it receives (a
truncated UDP reply still raises ``dns.message.Truncated`` when the caller
asked for it, so the resolver retries over TCP).

What a query elsewhere gets, as it would over a socket:

- the sandbox's address, but no name server there: UDP times out
  (``dns.exception.Timeout``: nothing answers a datagram), TCP is refused;
- an address outside the sandbox (``8.8.8.8``):
  :class:`~labkit.core.platform.BrowserGap`: only the sandbox's name server
  answers in a browser tab.

Locally the seam calls dnspython's own function: nothing changes. The seams
are checked (:data:`SEAMS`) before anything is patched, so a dnspython that
moved them fails loudly, naming what moved.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable
from typing import Any

from labkit.core import inprocess, platform, seams
from labkit.core.offline import is_loopback
from labkit.core.seams import Seam

#: The dnspython releases these seams were written against.
TESTED_DNSPYTHON = ">=2.9,<2.10"  # as pyproject.toml pins it

_UDP_PARAMS = ("q", "where", "timeout", "port", "source", "source_port", "ignore_unexpected", "one_rr_per_rrset",
               "ignore_trailing", "raise_on_truncation", "sock", "ignore_errors")
_TCP_PARAMS = ("q", "where", "timeout", "port", "source", "source_port", "one_rr_per_rrset", "ignore_trailing", "sock")

#: What the browser edition patches (``dns.query.udp``, ``dns.query.tcp``) and what it relies on.
SEAMS: tuple[Seam, ...] = (
    Seam("dns.query", "udp", _UDP_PARAMS),
    Seam("dns.query", "tcp", _TCP_PARAMS),
    # The resolver's path to them: Do53Nameserver.query calls dns.query.udp / dns.query.tcp by module attribute.
    Seam("dns.nameserver", "Do53Nameserver.query",
         ("self", "request", "timeout", "source", "source_port", "max_size", "one_rr_per_rrset", "ignore_trailing")),
    Seam("dns.query", "BadResponse", None),
    Seam("dns.message", "from_wire", None),
)


def _server_module() -> Any:
    from labkit.services.route53 import server

    return server


def _name_server_at(where: str, port: int) -> Any:
    """The in-process name server a query to ``where:port`` reaches (see the module's docstring for the rest)."""
    import dns.exception

    server_module = _server_module()
    try:
        server = inprocess.server_at(where, port)
    except OSError as error:  # the sandbox's name or address, nobody there
        raise ConnectionRefusedError(f"no name server answers at {where}:{port} in the lab sandbox: {error}") from error
    if server is None and not is_loopback(where):
        raise platform.gap(f"A DNS query to {where}:{port}",
                           "in a browser tab only the sandbox's own name server answers "
                           "(host, port = lab.route53.nameserver)")
    if server is None or server.handler_class not in (server_module._UDPHandler, server_module._TCPHandler):
        raise dns.exception.Timeout(timeout=0.0)  # a datagram nobody answers (TCP: refused, below)
    return server


def _exchange(original: Callable[..., Any], tcp: bool, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """One query answered by :func:`.server.serve_message`, parsed as dnspython parses a reply it receives."""
    import dns.exception
    import dns.message
    import dns.query

    call = inspect.signature(original).bind(*args, **kwargs)
    call.apply_defaults()
    given = call.arguments
    query, where, port = given["q"], str(given["where"]), int(given["port"])
    try:
        _name_server_at(where, port)
    except dns.exception.Timeout:
        if tcp:
            raise ConnectionRefusedError(f"nothing accepts DNS over TCP at {where}:{port} in the lab sandbox") from None
        raise
    begin = time.time()
    reply = _server_module().serve_message(query.to_wire(), tcp=tcp)
    if reply is None:  # the server drops the message: the client waits in vain
        if tcp:
            raise EOFError("the name server closed the connection without a reply")
        raise dns.exception.Timeout(timeout=given["timeout"] or 0.0)
    answer = dns.message.from_wire(reply, keyring=query.keyring, request_mac=query.mac,
                                   one_rr_per_rrset=given["one_rr_per_rrset"], ignore_trailing=given["ignore_trailing"],
                                   raise_on_truncation=bool(not tcp and given["raise_on_truncation"]))
    answer.time = time.time() - begin
    if not query.is_response(answer):
        raise dns.query.BadResponse
    return answer


def _seam(name: str, tcp: bool) -> Callable[..., Any]:
    import dns.query

    original = getattr(dns.query, name)
    original = getattr(original, "__labkit_original__", original)

    def query(*args: Any, **kwargs: Any) -> Any:
        if not platform.in_browser():
            return original(*args, **kwargs)
        return _exchange(original, tcp, args, kwargs)

    query.__name__ = name
    query.__doc__ = (f"Patched by labkit.services.route53.browser: in the browser edition a query to the sandbox's "
                     f"name server is answered in-process.\n\n{original.__doc__ or ''}")
    query.__labkit_original__ = original  # type: ignore[attr-defined]
    query.__wrapped__ = original  # type: ignore[attr-defined]
    return query


def install() -> None:
    """Check the seams, then patch ``dns.query.udp`` and ``dns.query.tcp``. Idempotent.
    Raises :class:`labkit.core.seams.SeamMoved` (patching nothing) if dnspython moved them."""
    import dns.query

    problems = seams.check(SEAMS)
    if problems:
        from importlib.metadata import version

        raise seams.SeamMoved(
            f"labkit.services.route53 was tested with dnspython {TESTED_DNSPYTHON}; dnspython {version('dnspython')} "
            "is installed and differs: " + "; ".join(problems) + ". Install a tested dnspython "
            f"(pip install 'dnspython{TESTED_DNSPYTHON}') or update labkit/services/route53/browser.py.")
    for name, tcp in (("udp", False), ("tcp", True)):
        if not installed(name):
            setattr(dns.query, name, _seam(name, tcp))


def installed(name: str = "udp") -> bool:
    """True when ``dns.query.<name>`` is the seam."""
    import dns.query

    return hasattr(getattr(dns.query, name), "__labkit_original__")


def uninstall() -> None:
    """Put dnspython's own functions back (for tests)."""
    import dns.query

    for name in ("udp", "tcp"):
        function = getattr(dns.query, name)
        setattr(dns.query, name, getattr(function, "__labkit_original__", function))
