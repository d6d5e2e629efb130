"""The browser edition's stand-in for ``cryptography`` (labkit.core.nocrypto).

It must cover exactly what the tested moto imports (a moto that imports
something else fails here, naming it), let moto import where the real package
is absent, and raise a clear error, never a value, where moto would use it.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import moto
import pytest

from labkit.core import nocrypto, platform

ROOT = Path(__file__).resolve().parents[2]


def moto_cryptography_imports() -> dict[str, tuple[str, ...]]:
    """Every ``import cryptography...`` and ``from cryptography... import ...`` in moto's source."""
    found: dict[str, set[str]] = defaultdict(set)
    for path in Path(moto.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] == "cryptography":
                found[node.module].update(alias.name for alias in node.names)  # type: ignore[index]
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.split(".")[0] == "cryptography":
                        found[alias.name]  # noqa: B018  (the module itself)
    return {module: tuple(sorted(names)) for module, names in found.items()}


def test_the_stand_in_covers_exactly_what_moto_imports():
    expected = {module: tuple(sorted(names)) for module, names in nocrypto.IMPORTS.items()}
    found = moto_cryptography_imports()
    assert found == expected, (
        f"the installed moto {moto.__version__} imports from cryptography what labkit.core.nocrypto.IMPORTS "
        f"(tested with {nocrypto.VERSION}) does not list, or no longer imports what it lists: "
        f"moto has {sorted(set(found.items()) - set(expected.items()))}, the stand-in "
        f"{sorted(set(expected.items()) - set(found.items()))}. Update IMPORTS and VERSION for this moto.")
    assert nocrypto.VERSION.endswith(f"moto{moto.__version__}")


def test_install_changes_nothing_where_cryptography_is_installed():
    assert nocrypto.install() is False
    assert not nocrypto.installed()
    import cryptography

    assert not getattr(cryptography, "__labkit_stand_in__", False)


# Runs in a process of its own: the real cryptography is made unimportable first, as in the browser.
SCRIPT = r'''
import json, sys

class Absent:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "cryptography":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)

sys.meta_path.insert(0, Absent())
report = {}
try:
    import moto.iam.models
    report["without"] = "imported"
except ImportError as error:
    report["without"] = str(error)

from labkit.core import nocrypto, platform
report["installed"] = nocrypto.install()
import moto.iam.models, moto.sns.models, moto.ec2.utils
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.exceptions import InvalidSignature
report["version"] = __import__("cryptography").__version__
errors = []
for call in (lambda: x509.load_pem_x509_certificate(b"", None),
             lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048),
             lambda: moto.ec2.utils.random_rsa_key_pair()):
    try:
        call()
        errors.append(None)
    except platform.BrowserGap as error:
        errors.append(str(error))
report["errors"] = errors
report["exception_is_real"] = issubclass(InvalidSignature, Exception)
report["isinstance"] = isinstance(object(), rsa.RSAPublicKey)
print(json.dumps(report))
'''


def test_moto_imports_with_the_stand_in_and_each_use_says_what_is_missing():
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    report = __import__("json").loads(done.stdout.strip().splitlines()[-1])
    assert "cryptography" in report["without"], "without the stand-in, moto's IAM models do not import"
    assert report["installed"] is True and "labkit.nocrypto" in report["version"]
    assert all(report["errors"]), "every use raised BrowserGap"
    for message in report["errors"]:
        assert "browser edition" in message and "local edition" in message and "cryptography" in message
    assert "load_pem_x509_certificate" in report["errors"][0] and "generate_private_key" in report["errors"][1]
    assert report["exception_is_real"] is True and report["isinstance"] is False


def test_a_browser_gap_is_a_not_emulated_error():
    import labkit

    with pytest.raises(labkit.NotEmulated, match="browser edition"):
        raise nocrypto._unavailable("cryptography.x509.CertificateBuilder")
    assert issubclass(platform.BrowserGap, labkit.NotEmulated)
