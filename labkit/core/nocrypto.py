"""labkit's stand-in for ``cryptography`` in the browser edition.

moto imports ``cryptography`` at the top of modules that every request passes
through (``moto.iam.models``, which authenticates and records each call), but
uses it only for a few features: SNS message signatures, IAM signing
certificates, EC2 key pairs, ACM and ACM PCA certificates, KMS keys, Cognito
one-time passwords and IoT certificates. ``cryptography`` is compiled code
with no WebAssembly build on PyPI, so the browser edition does not have it.

:func:`install` (called by browser mode, and only when ``import cryptography``
fails) puts a stand-in under that name: the modules and names that moto
imports (:data:`IMPORTS`, read from the tested moto) exist, so moto imports;
**calling** any of them raises :class:`~labkit.core.platform.BrowserGap`,
which names what was called and says to use the local edition. It computes
nothing and returns no value: it is never a silent fake. Where a browser lab
needs one of those features, the service that owns it does the work without
``cryptography`` (SNS signs its envelopes itself in browser mode) and says so.

:data:`IMPORTS` is pinned to the moto that labkit's seams were tested with
(:data:`labkit.core.seams.TESTED_MOTO`); ``tests/core/test_nocrypto.py`` reads
every ``cryptography`` import in the installed moto's source and fails,
naming the import, if moto imports anything the stand-in lacks.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any

from labkit.core.platform import StandInFinder, gap

#: The stand-in's version: the tested moto it covers, and its own revision.
VERSION = "1+moto5.2.5"

#: Every ``from <module> import <names>`` (and ``import <module>``) of
#: ``cryptography`` in moto 5.2.5's source.
IMPORTS: dict[str, tuple[str, ...]] = {
    "cryptography": ("x509",),
    "cryptography.exceptions": ("InvalidSignature",),
    "cryptography.hazmat._oid": ("NameOID",),
    "cryptography.hazmat.backends": ("default_backend",),
    "cryptography.hazmat.primitives": ("hashes", "serialization"),
    "cryptography.hazmat.primitives._asymmetric": ("AsymmetricPadding",),
    "cryptography.hazmat.primitives.asymmetric": ("ec", "padding", "rsa"),
    "cryptography.hazmat.primitives.asymmetric.ed25519": ("Ed25519PrivateKey", "Ed25519PublicKey"),
    "cryptography.hazmat.primitives.asymmetric.rsa": ("RSAPublicKey",),
    "cryptography.hazmat.primitives.ciphers": ("Cipher", "algorithms", "modes"),
    "cryptography.hazmat.primitives.hashes": ("SHA1",),
    "cryptography.hazmat.primitives.twofactor": ("InvalidToken",),
    "cryptography.hazmat.primitives.twofactor.totp": ("TOTP",),
    "cryptography.x509": ("DNSName", "IPAddress", "Name", "NameAttribute", "NameOID", "OID_COMMON_NAME"),
    "cryptography.x509.oid": ("NameOID",),
}

#: What moto uses ``cryptography`` for, in the error a call raises.
USED_FOR = ("SNS message signatures, IAM signing certificates, EC2 key pairs, ACM and ACM PCA certificates, "
            "KMS keys, Cognito one-time passwords and IoT certificates")

#: Exceptions moto catches by name: they stay real exception classes, never raised by the stand-in.
EXCEPTIONS = ("InvalidSignature", "InvalidToken")


def _modules() -> set[str]:
    """Every module of the stand-in: the imported ones and their parents."""
    names = set()
    for module in IMPORTS:
        parts = module.split(".")
        names.update(".".join(parts[:n]) for n in range(1, len(parts) + 1))
    for module, attributes in IMPORTS.items():
        names.update(f"{module}.{a}" for a in attributes if f"{module}.{a}" in IMPORTS)
    return names


MODULES = frozenset(_modules())


def _unavailable(qualname: str) -> BaseException:
    return gap(f"{qualname} (from the cryptography package, which moto uses for {USED_FOR})",
               "the browser edition has no cryptography package: it is compiled code with no WebAssembly build")


class _Missing(type):
    """The class of every name in the stand-in: creating, calling or using one
    raises :class:`~labkit.core.platform.BrowserGap`."""

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        raise _unavailable(cls.__qualname__)

    def __getattr__(cls, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return _missing(f"{cls.__qualname__}.{name}")

    def __instancecheck__(cls, instance: Any) -> bool:
        return False  # nothing is ever an instance: nothing was ever made

    def __repr__(cls) -> str:
        return f"<unavailable in the browser edition: {cls.__qualname__}>"


def _missing(qualname: str) -> type:
    name = qualname.rsplit(".", 1)[-1]
    return _Missing(name, (), {"__qualname__": qualname, "__module__": "cryptography"})


class StandIn(types.ModuleType):
    """One module of the stand-in."""

    __labkit_stand_in__ = True

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        full = f"{self.__name__}.{name}"
        if full in MODULES:
            return importlib.import_module(full)
        value = _missing(full)
        setattr(self, name, value)
        return value


def _stand_in(name: str) -> types.ModuleType:
    """One module of the stand-in (a package: its submodules come from the finder too)."""
    module = StandIn(name, f"labkit's browser-edition stand-in for {name}")
    if name == "cryptography":
        module.__version__ = f"0+labkit.nocrypto.{VERSION}"  # type: ignore[attr-defined]
    for exception in EXCEPTIONS:
        if exception in IMPORTS.get(name, ()):
            setattr(module, exception, type(exception, (Exception,), {"__module__": name}))
    return module


_FINDER = StandInFinder(MODULES, _stand_in)


def real_available() -> bool:
    """True when the real ``cryptography`` imports in this process."""
    if installed():
        return False
    try:
        importlib.import_module("cryptography")
    except ImportError:
        return False
    return True


def install() -> bool:
    """Put the stand-in in place if the real ``cryptography`` does not import.
    Returns True when the stand-in is (now) in place. Idempotent."""
    if installed():
        return True
    if real_available():
        return False
    for name in [name for name in sys.modules if name == "cryptography" or name.startswith("cryptography.")]:
        del sys.modules[name]  # a failed import may have left a half-made module
    sys.meta_path.insert(0, _FINDER)
    return True


def installed() -> bool:
    """True when the stand-in answers ``import cryptography``."""
    return _FINDER in sys.meta_path


def uninstall() -> None:
    """Take the stand-in away (for tests)."""
    while _FINDER in sys.meta_path:
        sys.meta_path.remove(_FINDER)
    for name in [name for name in sys.modules if name == "cryptography" or name.startswith("cryptography.")]:
        if getattr(sys.modules[name], "__labkit_stand_in__", False):
            del sys.modules[name]
