"""Seams: the moto internals a service patches or calls, checked before use.

moto emulates AWS's control planes; where it stores a setting but does nothing
with it, a service replaces one of moto's methods (a *patched* seam) or calls
one of moto's internals (a *called* seam). moto's internals change between
releases, so every seam names the parameters it was written against, and
:func:`install` checks a service's seams when the service is first used and
refuses, naming what moved, before patching anything. The tests check every
service's seams too, so an upgrade of moto that moves a seam fails loudly.
"""

from __future__ import annotations

import importlib
import inspect
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

#: The moto releases every service's seams were tested with (pyproject.toml pins the same).
TESTED_MOTO = (">=5.2.5", "<5.3")


class SeamMoved(RuntimeError):
    """A moto internal that labkit patches or calls is gone or has changed."""


@dataclass(frozen=True)
class Seam:
    """One moto attribute a service depends on.

    ``replacement`` is ``None`` for a seam labkit only calls; otherwise the
    function that takes its place, called as ``replacement(original, self,
    *args, **kwargs)``. ``instance`` marks an attribute set on instances: only
    its class is checked here, and the service's tests check real objects.
    """

    module: str
    qualname: str
    params: tuple[str, ...] | None  # expected parameter names; None: only existence
    replacement: Callable[..., Any] | None = None
    instance: bool = False

    @property
    def path(self) -> str:
        return f"{self.module}.{self.qualname}"

    @property
    def patched(self) -> bool:
        return self.replacement is not None


def _resolve(seam: Seam) -> Any:
    target: Any = importlib.import_module(seam.module)
    parts = seam.qualname.split(".")
    for part in parts[:-1] if seam.instance else parts:
        target = getattr(target, part)
    return target


def check(seams: Iterable[Seam]) -> list[str]:
    """Every way the installed moto differs from ``seams`` (empty: none)."""
    problems = []
    for seam in seams:
        try:
            target = _resolve(seam)
        except (ImportError, AttributeError) as error:
            problems.append(f"{seam.path} is gone ({error})")
            continue
        if seam.params is not None:
            if isinstance(target, property):
                target = target.fget
            original = getattr(target, "__labkit_original__", target)
            found = tuple(inspect.signature(original).parameters)
            if found != seam.params:
                problems.append(f"{seam.path} takes {found}, labkit expects {seam.params}")
    return problems


def moto_version() -> str:
    from importlib.metadata import version

    return version("moto")


_LOCK = threading.Lock()
_ORIGINALS: dict[str, tuple[Any, str, Any]] = {}  # path -> (owner class, attribute, original)


def install(seams: Iterable[Seam], owner: str = "labkit") -> None:
    """Check ``seams``, then patch those with a replacement. Idempotent per seam.
    Raises :class:`SeamMoved` (patching nothing) if any seam moved."""
    seams = tuple(seams)
    if not seams:
        return
    with _LOCK:
        problems = check(seams)
        if problems:
            raise SeamMoved(
                f"{owner} was tested with moto {TESTED_MOTO[0]},{TESTED_MOTO[1]}; moto {moto_version()} "
                "is installed and differs: " + "; ".join(problems)
                + ". Install a tested moto (pip install 'moto" + ",".join(TESTED_MOTO) + "') "
                f"or update the seams of {owner}."
            )
        for seam in seams:
            if seam.replacement is None or seam.path in _ORIGINALS:
                continue
            module_name, attribute = seam.path.rsplit(".", 1)
            class_path, _, _ = seam.qualname.rpartition(".")
            cls = importlib.import_module(seam.module)
            for part in class_path.split("."):
                cls = getattr(cls, part)
            original = cls.__dict__[attribute]
            _ORIGINALS[seam.path] = (cls, attribute, original)
            if isinstance(original, property):  # a property: its getter is replaced
                setattr(cls, attribute, property(_wrap(seam.replacement, original.fget, owner)))
            else:
                setattr(cls, attribute, _wrap(seam.replacement, original, owner))


def _wrap(replacement: Callable[..., Any], original: Callable[..., Any], owner: str) -> Callable[..., Any]:
    def patched(self: Any, *args: Any, **kwargs: Any) -> Any:
        return replacement(original, self, *args, **kwargs)

    patched.__name__ = getattr(original, "__name__", "patched")
    patched.__doc__ = f"Patched by {owner}: {replacement.__doc__}"
    patched.__labkit_original__ = original  # type: ignore[attr-defined]
    patched.__wrapped__ = original  # type: ignore[attr-defined]
    return patched


def uninstall(seams: Iterable[Seam] | None = None) -> None:
    """Put moto's own methods back (all, or those of ``seams``); for tests."""
    with _LOCK:
        paths = list(_ORIGINALS) if seams is None else [s.path for s in seams if s.path in _ORIGINALS]
        for path in paths:
            cls, attribute, original = _ORIGINALS.pop(path)
            setattr(cls, attribute, original)


def patched() -> list[str]:
    """The paths of every seam patched now."""
    return list(_ORIGINALS)
