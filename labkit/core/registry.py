"""The service registry: which simulated planes exist, and their lifecycle.

A service is declared by name, without importing it (:func:`declare`, done in
:mod:`labkit.services`). Its package is imported and installed on first use:
the first boto3 call of one of its botocore services, the first
``lab.<service>`` attribute, or :func:`ensure` from another service's public
function. Installing checks its moto seams (:mod:`labkit.core.seams`), patches
them, and calls the package's ``install()``.

Each service package provides the same furniture:

``SEAMS``     the moto attributes it patches or calls (may be empty)
``install()`` subscribe to hooks, start what the plane needs
``reset()``   forget every resource and stop every server or thread (``lab.reset()``)
``close()``   release everything at exit (default: ``reset()``)
"""

from __future__ import annotations

import atexit
import importlib
import threading
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from labkit.core import hooks, seams


@dataclass(frozen=True)
class Service:
    """A declared service."""

    name: str  # the handle attribute: lab.<name>
    module: str  # its package: labkit.services.<name>
    botocore: tuple[str, ...] = ()  # botocore services whose first call installs it
    moto_config: dict[str, Any] = field(default_factory=dict)  # merged into mock_aws(config=...)
    summary: str = ""
    #: Installed before the sandbox's first boto3 call of *any* service: for a
    #: plane that watches every call (a trail records them all from the start).
    every_call: bool = False
    #: Installed when the sandbox starts in the browser edition: for a service that
    #: puts a stand-in in place before moto imports its models from anywhere (moto's
    #: CloudFormation imports many services' models).
    browser_first: bool = False


class UnknownService(AttributeError):
    """``lab.<name>`` for a name that is not a labkit service."""


_LOCK = threading.RLock()
_DECLARED: dict[str, Service] = {}
_BY_BOTOCORE: dict[str, str] = {}
_INSTALLED: dict[str, ModuleType] = {}


def declare(service: Service) -> Service:
    """Make a service known (cheap: nothing is imported)."""
    with _LOCK:
        _DECLARED[service.name] = service
        for name in service.botocore:
            _BY_BOTOCORE[name] = service.name
    return service


def declared() -> dict[str, Service]:
    """Every declared service, by name."""
    return dict(_DECLARED)


def moto_config() -> dict[str, Any]:
    """The moto configuration every declared service asks for, merged."""
    merged: dict[str, Any] = {}
    for service in _DECLARED.values():
        for section, values in service.moto_config.items():
            merged.setdefault(section, {}).update(values)
    return merged


def ensure(name: str) -> ModuleType:
    """The service's package, installed (seams checked and patched, ``install()``
    called) if it was not yet. Raises :class:`UnknownService` or
    :class:`labkit.core.seams.SeamMoved`."""
    module = _INSTALLED.get(name)
    if module is not None:
        return module
    with _LOCK:
        module = _INSTALLED.get(name)
        if module is not None:
            return module
        service = _DECLARED.get(name)
        if service is None:
            known = ", ".join(sorted(_DECLARED))
            raise UnknownService(f"labkit has no service {name!r}; the services are: {known}")
        module = importlib.import_module(service.module)
        seams.install(getattr(module, "SEAMS", ()), owner=service.module)
        install = getattr(module, "install", None)
        if install is not None:
            install()
        _INSTALLED[name] = module
        return module


def ensure_browser_first() -> None:
    """Install every service declared ``browser_first`` (the sandbox calls this in the browser edition)."""
    for service in list(_DECLARED.values()):
        if service.browser_first:
            ensure(service.name)


def ensure_for_botocore(botocore_service: str) -> None:
    """Install the service that owns a botocore service, if any, and every
    service that watches all calls (hooks call this before the first call of
    each botocore service)."""
    for service in _DECLARED.values():
        if service.every_call and service.name not in _INSTALLED:
            ensure(service.name)
    name = _BY_BOTOCORE.get(botocore_service)
    if name is not None:
        ensure(name)


def installed() -> list[str]:
    """The names of the services installed so far."""
    return list(_INSTALLED)


def reset_all() -> None:
    """Every installed service forgets its resources and stops its servers."""
    for module in list(_INSTALLED.values()):
        reset = getattr(module, "reset", None)
        if reset is not None:
            reset()


def close_all() -> None:
    """Release everything (at exit)."""
    for module in list(_INSTALLED.values()):
        close = getattr(module, "close", None) or getattr(module, "reset", None)
        if close is not None:
            try:
                close()
            except Exception:  # noqa: BLE001  (at exit, one plane's failure must not hide the others)
                pass


hooks.on_first_use(ensure_for_botocore)
atexit.register(close_all)
