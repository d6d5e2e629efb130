"""API Gateway in the browser edition: what changes there, and why.

The invoke URL works as locally: its front is in-process
(:mod:`labkit.core.loopback`), ``requests`` reaches it through
:mod:`labkit.core.inprocess`, and an HTTP integration reaches its backend the
same way (:func:`.integrations.send_http`). Lambda integrations and
authorizers run in the caller's thread, as every Lambda function does there.

One thing moto needs does not exist in the browser: moto's API Gateway imports
``openapi_spec_validator``, which validates an OpenAPI document when a REST
API is imported from one with ``failOnWarnings=True`` (``import_rest_api``,
``put_rest_api``; without it moto does not validate). Its
dependencies are compiled code with no pure-Python build (``rpds-py``,
``pydantic-core``), so the browser edition does not ship it. :func:`install`
(browser mode only, before moto's API Gateway is imported) gives moto's API
Gateway a stand-in under that name, for its import only: the names moto
imports (:data:`IMPORTS`, read from the tested moto) exist, so moto imports;
nothing else in the process sees the stand-in. *Validating* a document raises
:class:`~labkit.core.platform.BrowserGap`, which says to use the local
edition. Nothing is ever accepted unvalidated.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any

from labkit.core import nocrypto, platform

#: Every ``from openapi_spec_validator... import ...`` in moto 5.2.5's API Gateway (moto/apigateway/models.py).
IMPORTS: dict[str, tuple[str, ...]] = {
    "openapi_spec_validator": ("validate", "validate_spec"),
    "openapi_spec_validator.validation": (),
    "openapi_spec_validator.validation.exceptions": ("OpenAPIValidationError",),
}

PACKAGE = "openapi_spec_validator"
#: The moto module that imports it.
MOTO_MODULE = "moto.apigateway.models"


class OpenAPIValidationError(Exception):
    """The stand-in's exception class, for moto's ``except`` clauses (never raised)."""


def validate(*args: Any, **kwargs: Any) -> None:
    """What moto calls to validate an OpenAPI document: not available here."""
    raise platform.gap("Validating an OpenAPI document (import_rest_api or put_rest_api with failOnWarnings=True)",
                       "moto validates the document with openapi-spec-validator, whose dependencies "
                       "(rpds-py, pydantic-core) are compiled code with no build for the browser")


def _stand_in(name: str) -> types.ModuleType:
    """One module of the stand-in, with the names moto imports from it."""
    module = types.ModuleType(name, f"labkit's browser-edition stand-in for {name}")
    module.__labkit_stand_in__ = True  # type: ignore[attr-defined]
    for imported in IMPORTS[name]:
        setattr(module, imported, OpenAPIValidationError if imported == "OpenAPIValidationError" else validate)
    return module


_FINDER = platform.StandInFinder(IMPORTS, _stand_in)


def install() -> bool:
    """In the browser edition, import moto's API Gateway with the stand-in in
    place of ``openapi_spec_validator``; then take the stand-in away again, so
    that only moto's API Gateway holds it. Returns True when moto's API Gateway
    has the stand-in's :func:`validate`.

    In browser mode the stand-in is used even when the real package would
    import (the Pyodide-like test harness has it): the browser site does not
    ship it, and the harness must see what the site has. Once moto's API
    Gateway is imported, it keeps what it imported (locally, the real validator)."""
    if not platform.in_browser() or MOTO_MODULE in sys.modules:
        return installed()
    nocrypto.install()  # moto imports cryptography (a no-op when the sandbox did this already)
    saved = {name: sys.modules.pop(name) for name in _ours(stand_ins=False)}
    sys.meta_path.insert(0, _FINDER)
    try:
        importlib.import_module(MOTO_MODULE)
    finally:
        sys.meta_path.remove(_FINDER)
        for name in _ours(stand_ins=True):
            del sys.modules[name]
        sys.modules.update(saved)
    return installed()


def _ours(*, stand_ins: bool) -> list[str]:
    """The names of ``openapi_spec_validator``'s modules now imported (the stand-in's, or the others)."""
    return [name for name in sys.modules if (name == PACKAGE or name.startswith(PACKAGE + "."))
            and bool(getattr(sys.modules[name], "__labkit_stand_in__", False)) == stand_ins]


def installed() -> bool:
    """True when moto's API Gateway validates OpenAPI documents with the stand-in."""
    module = sys.modules.get(MOTO_MODULE)
    return module is not None and getattr(module, "validate", None) is validate
