"""Imports that cost seconds at start-up, put off until they are used.

``jsonschema`` (which ``nbformat``, ``jupyter_events`` and moto's API Gateway,
through ``openapi_spec_validator``, all import) reads the names of
``rfc3987_syntax`` when it is imported, and ``rfc3987_syntax`` builds about
forty Earley parsers of RFC 3987's grammar as *it* is imported: some 2.5
seconds of CPU, paid by every kernel whose lab touches API Gateway and by
every grader, whether or not an IRI is ever checked (jsonschema checks the
``iri`` format only when a schema asks for format checking).

:func:`install` puts a stand-in under that name in ``sys.modules``. It has the
one function jsonschema takes from it, ``is_valid_syntax``, which imports the
real module at its first call and hands over to it; any other name read from
the stand-in imports the real module too. Nothing is patched in either
library, and once the real module is imported, the stand-in is gone from
``sys.modules``.

The stand-in forwards every call and every other name to the real module, so
a new release of either library can only make it stop paying, never make it
answer differently: ``tests/core/test_lazy.py`` checks that the stand-in
answers as the real function does, that importing jsonschema with it in place
leaves the real module unimported (the saving), and that it is in place in a
process that imported labkit.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
import types
from typing import Any

#: The module put off.
MODULE = "rfc3987_syntax"

_LOCK = threading.RLock()


class Deferred(types.ModuleType):
    """Stands in for a module until one of its names is read."""

    def __init__(self, name: str) -> None:
        super().__init__(name, f"Stand-in for {name}, imported at first use (labkit.core.lazy).")
        self.__labkit_deferred__ = True

    def __getattr__(self, attribute: str) -> Any:
        if attribute.startswith("__") and attribute.endswith("__") and attribute not in _REAL_DUNDERS:
            raise AttributeError(attribute)  # copy, pickle, inspect: the stand-in's own answers
        return getattr(load(self.__name__), attribute)


#: Dunder names read from the real module (``from a import *`` reads ``__all__``). ``__path__`` and
#: ``__file__`` are the stand-in's own, the real package's: ``from a import b`` reads ``__path__``
#: before it reads ``b``, and tools that walk ``sys.modules`` (``inspect.getmodule``) read ``__file__``.
_REAL_DUNDERS = frozenset({"__all__", "__version__"})


def load(name: str = MODULE) -> types.ModuleType:
    """The real module ``name``, imported now if only its stand-in was."""
    with _LOCK:
        module = sys.modules.get(name)
        if module is not None and not getattr(module, "__labkit_deferred__", False):
            return module
        sys.modules.pop(name, None)
        try:
            return importlib.import_module(name)
        except BaseException:
            if module is not None:
                sys.modules[name] = module
            raise


def is_valid_syntax(term: str, value: str) -> bool:
    """``rfc3987_syntax.is_valid_syntax``, from the real module."""
    return bool(load(MODULE).is_valid_syntax(term, value))


def installed() -> bool:
    """True while the stand-in is in ``sys.modules``."""
    return bool(getattr(sys.modules.get(MODULE), "__labkit_deferred__", False))


def install() -> bool:
    """Put the stand-in in place, unless the module is imported already or is
    not installed. Returns True if the stand-in is (now) in place."""
    with _LOCK:
        if MODULE in sys.modules:
            return installed()
        spec = importlib.util.find_spec(MODULE)
        if spec is None or spec.submodule_search_locations is None:
            return False
        stand_in = Deferred(MODULE)
        stand_in.__path__ = list(spec.submodule_search_locations)
        stand_in.__file__ = spec.origin
        stand_in.is_valid_syntax = is_valid_syntax  # type: ignore[attr-defined]
        sys.modules[MODULE] = stand_in
        return True
