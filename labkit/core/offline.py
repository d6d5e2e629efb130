"""The offline guarantee: no botocore request ever leaves this machine.

``import labkit`` alone puts :func:`guarded_send` among botocore's
``before-send`` handlers, so every client made from then on is guarded, even a
client made before ``labkit.start()`` (a cell run out of order). The guard
costs nothing at import: it does not import moto.

For each request the guard

1. asks moto for its answer, when moto is running (``labkit.start()`` started
   it); moto answers every service it emulates;
2. otherwise lets a request to this machine (loopback) through, for a local
   server a lab started;
3. and refuses everything else with :class:`OfflineError`, before any
   connection or DNS look-up is made.

moto registers its own ``before-send`` handler when it is imported;
:func:`adopt_moto` (called by the sandbox) removes it, because botocore stops at
the first handler that answers and the guard already asks moto.
"""

from __future__ import annotations

import ipaddress
import sys
from typing import Any
from urllib.parse import urlsplit

from botocore.handlers import BUILTIN_HANDLERS


class OfflineError(RuntimeError):
    """A boto3 call would have left the machine; labkit stopped it."""


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and addresses in 127.0.0.0/8 or ``::1``."""
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


#: Set by the sandbox once moto runs: moto's ``botocore_stubber``.
_MOTO_STUBBER: Any = None


def _moto_answer(request: Any, event_name: str, **kwargs: Any) -> Any:
    stubber = _MOTO_STUBBER
    if stubber is None:
        # moto imported without labkit (a plain ``mock_aws`` block): ask it too.
        models = sys.modules.get("moto.core.models")
        stubber = getattr(models, "botocore_stubber", None)
        if stubber is None:
            return None
    return stubber(event_name=event_name, request=request, **kwargs)


def guarded_send(request: Any, event_name: str = "", **kwargs: Any) -> Any:
    """botocore ``before-send`` handler: moto's answer, or a refusal.

    Returns moto's response when moto has one, ``None`` (send it) for a
    loopback address, and raises :class:`OfflineError` for anything else.
    """
    response = _moto_answer(request, event_name, **kwargs)
    if response is not None:
        return response
    url = getattr(request, "url", "")
    host = urlsplit(url).hostname or ""
    if is_loopback(host):
        return None
    operation = event_name.split(".", 1)[-1] if event_name else "a request"
    if _MOTO_STUBBER is None:
        raise OfflineError(
            f"labkit stopped {operation} to {host or url}: the lab sandbox is not running yet, "
            "and labs never send requests to real AWS. Run `lab = labkit.start()` first "
            "(the lab's first cell), then run this cell again."
        )
    raise OfflineError(
        f"labkit stopped {operation} to {host or url}: the local AWS emulation has no "
        "answer for it, and labs never send requests to real AWS. "
        "Check the service name and region (us-east-1), remove any endpoint_url, "
        "and make sure labkit.start() ran in this kernel. If the service is not "
        "emulated, the chapter says so and shows what to use instead."
    )


_ENTRY = ("before-send", guarded_send)


def install() -> None:
    """Put the guard first among botocore's ``before-send`` handlers, for every
    client made from now on. Idempotent; called by ``import labkit``."""
    if _ENTRY not in BUILTIN_HANDLERS:
        BUILTIN_HANDLERS.insert(0, _ENTRY)
    boto3 = sys.modules.get("boto3")
    if boto3 is not None:
        # A default session made earlier copied the handler list before the guard.
        boto3.DEFAULT_SESSION = None


def adopt_moto() -> None:
    """Route the guard's first question to moto, and take moto's own handler out
    of the list (the guard already asks it). Called by the sandbox after it
    imported moto."""
    global _MOTO_STUBBER
    from moto.core.models import botocore_stubber

    _MOTO_STUBBER = botocore_stubber
    moto_entry = ("before-send", botocore_stubber)
    while moto_entry in BUILTIN_HANDLERS:
        BUILTIN_HANDLERS.remove(moto_entry)
    install()


def installed() -> bool:
    """True when the guard is registered."""
    return _ENTRY in BUILTIN_HANDLERS


def moto_adopted() -> bool:
    """True once the guard asks moto first."""
    return _MOTO_STUBBER is not None
