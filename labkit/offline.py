"""The offline guarantee: no botocore request ever leaves this machine.

moto answers boto3 calls through a botocore ``before-send`` event handler
(``moto.core.models.botocore_stubber``). When moto has no answer (a service it
does not emulate, a custom ``endpoint_url``), botocore would go on and send the
request over the network. This module puts a guard in the place of moto's
handler: the guard asks moto first, and when moto has no answer it stops the
request unless it is addressed to this machine (loopback), raising
:class:`OfflineError` naming the call and what to do instead.
"""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import urlsplit

import boto3
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


def guarded_send(request: Any, event_name: str = "", **kwargs: Any) -> Any:
    """botocore ``before-send`` handler: moto's answer, or a refusal.

    Returns moto's response when moto has one. Otherwise lets loopback requests
    through (a local server a lab started) and raises :class:`OfflineError`
    for anything else.
    """
    from moto.core.models import botocore_stubber

    response = botocore_stubber(event_name=event_name, request=request, **kwargs)
    if response is not None:
        return response
    url = getattr(request, "url", "")
    host = urlsplit(url).hostname or ""
    if is_loopback(host):
        return None
    operation = event_name.split(".", 1)[-1] if event_name else "a request"
    raise OfflineError(
        f"labkit stopped {operation} to {host or url}: the local AWS emulation has no "
        "answer for it, and labs never send requests to real AWS. "
        "Check the service name and region (us-east-1), remove any endpoint_url, "
        "and make sure labkit.start() ran in this kernel. If the service is not "
        "emulated, the chapter says so and shows what to use instead."
    )


_INSTALLED = False


def install() -> None:
    """Put :func:`guarded_send` in place of moto's handler, for every botocore
    client made from now on. Idempotent.

    botocore calls *every* ``before-send`` handler and uses the first response,
    so a separate "refuse" handler would also fire for requests moto answered;
    hence the guard wraps moto's handler instead of following it.
    """
    global _INSTALLED
    from moto.core.models import botocore_stubber  # importing moto registers its handler

    if not _INSTALLED:
        moto_entry = ("before-send", botocore_stubber)
        if moto_entry in BUILTIN_HANDLERS:
            BUILTIN_HANDLERS[BUILTIN_HANDLERS.index(moto_entry)] = ("before-send", guarded_send)
        else:
            BUILTIN_HANDLERS.append(("before-send", guarded_send))
        _INSTALLED = True
    # A default session created earlier copied the handler list before us.
    boto3.DEFAULT_SESSION = None


def installed() -> bool:
    """True when the guard is registered."""
    return _INSTALLED and ("before-send", guarded_send) in BUILTIN_HANDLERS
