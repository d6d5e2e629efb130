"""The servers behind load balancer names: one per listener.

Every load balancer gets a virtual address (:func:`labkit.core.names.allocate_address`)
and its ``DNSName`` resolves to it in this process (a name claim), so
``requests.get("http://" + lb["DNSName"] + "/api")`` works. Each listener is
a server on 127.0.0.1 bound to (virtual address, listener port):

- an ALB's ``HTTP`` listener: an :class:`~labkit.core.httpfront.HttpFront` over
  :func:`.alb.handle`; ``HTTPS``: the same over TLS, with certificates from the
  sandbox's authority for whatever name the client asks (the listener's
  ``Certificates`` are not read);
- an NLB's ``TCP`` or ``TLS`` listener: a :class:`.nlb.NlbListener`.

:func:`sync` makes the servers match moto's listeners; the hooks call it after
every call that changes load balancers or listeners.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from labkit.core import names
from labkit.core.httpfront import HttpFront, HttpRequest, HttpResponse
from labkit.services.elb import alb, nlb, state

#: The domain of load balancer names.
DOMAIN = ".elb.amazonaws.com"


@dataclass
class Front:
    lb_arn: str
    port: int
    protocol: str
    server: Any  # HttpFront or NlbListener

    @property
    def local_port(self) -> int:
        return self.server.port if isinstance(self.server, HttpFront) else self.server.local_port


_LOCK = threading.RLock()
_ADDRESSES: dict[str, str] = {}  # load balancer ARN -> virtual address
_FRONTS: dict[tuple[str, int], Front] = {}


def address_of(lb_arn: str) -> str:
    """The virtual address a load balancer's name resolves to (made on first use)."""
    with _LOCK:
        address = _ADDRESSES.get(lb_arn)
        if address is None:
            address = _ADDRESSES[lb_arn] = names.allocate_address(owner=lb_arn)
        return address


def resolve(host: str) -> list[str] | None:
    """The name claim: the virtual address of a load balancer named ``host``."""
    if not host.endswith(DOMAIN):
        return None
    for lb in state.all_balancers():
        if lb.dns_name.lower() == host:
            sync()
            return [address_of(lb.arn)]
    return None


def _handler(lb_arn: str, port: int) -> Any:
    def handle(request: HttpRequest) -> HttpResponse:
        return alb.handle(lb_arn, port, request)

    return handle


def _start(lb: Any, listener: Any) -> Front | None:
    port, protocol = int(listener.port), (listener.protocol or "").upper()
    address = address_of(lb.arn)
    if lb.type == "application" and protocol in ("HTTP", "HTTPS"):
        idle = state.idle_timeout(lb)
        server: Any = HttpFront(_handler(lb.arn, port), name=f"alb-{lb.name}-{port}", tls=protocol == "HTTPS",
                                timeout=max(idle, 1.0))
        local = server.port
    elif lb.type == "network" and protocol in ("TCP", "TLS"):
        idle = float(listener.attributes.get("tcp.idle_timeout.seconds", 350) or 350)
        server = nlb.NlbListener(lb.arn, port, address, tls=protocol == "TLS", idle=idle)
        local = server.local_port
    else:
        return None  # UDP and gateway listeners carry no traffic here
    names.bind(address, port, local)
    return Front(lb.arn, port, protocol, server)


def sync() -> None:
    """Start a server for every listener that has none, stop those whose
    listener (or load balancer) is gone or changed protocol."""
    with _LOCK:
        wanted: dict[tuple[str, int], tuple[Any, Any]] = {}
        for lb in state.all_balancers():
            for listener in list(lb.listeners.values()):
                wanted[(lb.arn, int(listener.port))] = (lb, listener)
        for key, front in list(_FRONTS.items()):
            entry = wanted.get(key)
            if entry is None or (entry[1].protocol or "").upper() != front.protocol:
                _stop(front)
                del _FRONTS[key]
        for key, (lb, listener) in wanted.items():
            if key not in _FRONTS:
                front = _start(lb, listener)
                if front is not None:
                    _FRONTS[key] = front
        live = {lb.arn for lb in state.all_balancers()}
        for arn in [arn for arn in _ADDRESSES if arn not in live]:
            names.unbind(_ADDRESSES.pop(arn))


def _stop(front: Front) -> None:
    address = _ADDRESSES.get(front.lb_arn)
    if address is not None:
        names.unbind(address, front.port)
    front.server.stop()


def fronts() -> dict[tuple[str, int], Front]:
    """Every running listener server: ``{(load balancer ARN, port): Front}``."""
    with _LOCK:
        return dict(_FRONTS)


def reset() -> None:
    with _LOCK:
        for front in _FRONTS.values():
            _stop(front)
        _FRONTS.clear()
        _ADDRESSES.clear()
