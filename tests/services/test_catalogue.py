"""Every declared service has the same furniture, and its moto seams are where it expects them.

When moto is upgraded and a seam moves, ``test_every_service_s_seams_are_where_it_expects_them``
fails naming the service and what moved: fix that service's ``seams.py``, then widen
``labkit.core.seams.TESTED_MOTO`` and the pin in ``pyproject.toml``.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

from labkit.core import registry, seams
from labkit.services import CATALOGUE

ROOT = Path(__file__).resolve().parents[2]
NAMES = [service.name for service in CATALOGUE]


def test_the_catalogue_is_the_services_folder():
    folders = {p.name for p in (ROOT / "labkit" / "services").iterdir() if (p / "__init__.py").exists()}
    assert folders == set(NAMES)
    assert set(registry.declared()) >= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_every_service_has_the_same_furniture(name):
    module = importlib.import_module(f"labkit.services.{name}")
    assert callable(module.install) and callable(module.reset), name
    assert isinstance(module.SEAMS, tuple) and all(isinstance(s, seams.Seam) for s in module.SEAMS), name
    assert module.__doc__ and len(module.__doc__) > 80, f"{name}: the package docstring says what it adds"


@pytest.mark.parametrize("name", NAMES)
def test_every_service_s_seams_are_where_it_expects_them(name, lab):
    module = registry.ensure(name)
    assert seams.check(module.SEAMS) == [], name
    for seam in module.SEAMS:
        if seam.patched:
            assert seam.path in seams.patched(), f"{name}: {seam.path} is not patched after install"


def test_moto_version_is_a_tested_one_and_the_pin_says_the_same():
    version = tuple(int(part) for part in re.findall(r"\d+", seams.moto_version())[:3])
    low = tuple(int(p) for p in re.findall(r"\d+", seams.TESTED_MOTO[0]))
    high = tuple(int(p) for p in re.findall(r"\d+", seams.TESTED_MOTO[1]))
    assert low <= version < high, f"moto {version} is outside the tested range {seams.TESTED_MOTO}"
    pyproject = (ROOT / "pyproject.toml").read_text()
    requirements = (ROOT / "requirements.txt").read_text()
    for text in (pyproject, requirements):
        [pin] = re.findall(r'^\s*"?(moto\[[^"\n]*)', text, flags=re.M)
        assert pin.endswith("]" + ",".join(seams.TESTED_MOTO)), pin
