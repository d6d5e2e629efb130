"""labkit.core.seams: check every seam, then patch; a moved seam is refused by name.

The seams here point at a fake "moto" module made by the test, so that the
tests hold whatever moto does.
"""

from __future__ import annotations

import sys
import types

import pytest

from labkit.core import seams
from labkit.core.seams import Seam, SeamMoved

MODULE = "tests_fake_moto_backend"


class Backend:
    def create(self, name, size=1):
        return ("moto", name, size)

    def delete(self, name):
        return ("moto deleted", name)


def louder(original, self, name, size=1):
    """Creates it, then shouts."""
    kind, made, size = original(self, name, size)
    return (kind.upper(), made, size)


@pytest.fixture()
def backend(monkeypatch):
    """A fresh fake module holding a fresh ``Backend`` class; patches undone afterwards."""
    module = types.ModuleType(MODULE)
    module.Backend = type("Backend", (), {"create": Backend.create, "delete": Backend.delete})
    monkeypatch.setitem(sys.modules, MODULE, module)
    yield module.Backend
    seams.uninstall([Seam(MODULE, "Backend.create", None), Seam(MODULE, "Backend.delete", None)])


CREATE = Seam(MODULE, "Backend.create", ("self", "name", "size"), replacement=louder)


def test_a_seam_that_matches_is_checked_patched_and_put_back(backend):
    assert seams.check([CREATE]) == []
    seams.install([CREATE], owner="labkit.services.fake")
    assert backend().create("orders") == ("MOTO", "orders", 1)
    assert f"{MODULE}.Backend.create" in seams.patched()
    assert "Patched by labkit.services.fake: Creates it" in backend.create.__doc__
    seams.install([CREATE], owner="labkit.services.fake")  # idempotent: not wrapped twice
    assert backend().create("orders") == ("MOTO", "orders", 1)
    seams.uninstall([CREATE])
    assert backend().create("orders") == ("moto", "orders", 1)


def test_a_seam_whose_parameters_changed_is_refused_by_name_and_nothing_is_patched(backend, monkeypatch):
    monkeypatch.setattr(backend, "create", lambda self, name, size, tags=None: ("moto", name, size))
    delete = Seam(MODULE, "Backend.delete", ("self", "name"), replacement=lambda original, self, name: "patched")
    problems = seams.check([CREATE, delete])
    assert problems == [f"{MODULE}.Backend.create takes ('self', 'name', 'size', 'tags'), "
                        "labkit expects ('self', 'name', 'size')"]
    with pytest.raises(SeamMoved, match=rf"labkit.services.fake .*{MODULE}.Backend.create takes") as error:
        seams.install([delete, CREATE], owner="labkit.services.fake")
    assert "update the seams of labkit.services.fake" in str(error.value)
    assert backend().delete("x") == ("moto deleted", "x"), "checked first: the good seam was not patched either"
    assert not [path for path in seams.patched() if path.startswith(MODULE)]


def test_a_seam_that_is_gone_is_named(backend):
    assert seams.check([Seam(MODULE, "Backend.describe", None)])[0].startswith(f"{MODULE}.Backend.describe is gone")
    assert seams.check([Seam("tests_no_such_moto_module", "Backend.create", None)])[0].startswith(
        "tests_no_such_moto_module.Backend.create is gone")


def test_an_instance_seam_checks_its_class_only(backend):
    on_instances = Seam(MODULE, "Backend.tables", None, instance=True)
    assert seams.check([on_instances]) == []  # set on instances, checked on real objects by the service's tests
    assert seams.check([Seam(MODULE, "Table.tables", None, instance=True)])[0].endswith("has no attribute 'Table')")


def test_a_called_seam_is_checked_but_not_patched(backend):
    called = Seam(MODULE, "Backend.delete", ("self", "name"))
    seams.install([called])
    assert not called.patched and backend.delete is Backend.delete
