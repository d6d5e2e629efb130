"""labkit.core.registry: services declared without importing them, installed at
their first call or first ``lab.<name>``, reset by ``lab.reset()``.

The tests declare a fake service (a module made here) so that they hold
whatever the real services do.
"""

from __future__ import annotations

import sys
import types

import pytest

from labkit.core import hooks, registry, seams
from labkit.core.registry import Service

MODULE = "tests_fake_labkit_service"


@pytest.fixture()
def fake(monkeypatch, lab):
    """A service ``fake`` that owns botocore's ``sts``; the registry and the
    dispatcher's memory of used services are put back afterwards."""
    module = types.ModuleType(MODULE)
    module.calls = []
    module.SEAMS = ()
    module.install = lambda: module.calls.append("install")
    module.reset = lambda: module.calls.append("reset")
    module.greet = lambda name: f"hello, {name}"
    monkeypatch.setitem(sys.modules, MODULE, module)
    for name in ("_DECLARED", "_BY_BOTOCORE", "_INSTALLED"):
        monkeypatch.setattr(registry, name, dict(getattr(registry, name)))
    monkeypatch.setattr(hooks, "_SEEN_SERVICES", set())
    registry.declare(Service("fake", MODULE, botocore=("sts",), moto_config={"fake": {"flag": True}},
                             summary="a service made by a test"))
    return module


def test_declaring_imports_nothing(fake, monkeypatch):
    monkeypatch.delitem(sys.modules, MODULE)
    registry.declare(Service("other", "tests_module_that_does_not_exist"))
    assert "other" in registry.declared() and "other" not in registry.installed()


def test_a_service_installs_at_the_first_call_of_its_botocore_service(fake, lab):
    assert fake.calls == [] and "fake" not in registry.installed()
    lab.client("sqs").list_queues()  # not its service
    assert fake.calls == []
    lab.client("sts").get_caller_identity()
    assert fake.calls == ["install"] and "fake" in registry.installed()
    lab.client("sts").get_caller_identity()
    assert fake.calls == ["install"]


def test_a_service_is_an_attribute_of_the_handle(fake, lab):
    assert lab.fake is fake and lab.fake.greet("ada") == "hello, ada"
    assert fake.calls == ["install"]
    assert "fake" in dir(lab) and lab.services()["fake"] == "a service made by a test"


def test_reset_resets_every_installed_service(fake, lab):
    lab.fake  # noqa: B018  (installs it)
    lab.reset()
    assert fake.calls == ["install", "reset"]


def test_an_unknown_service_is_an_attribute_error_naming_the_known_ones(fake, lab):
    with pytest.raises(registry.UnknownService, match=r"no service 'nope'.*fake") as error:
        lab.nope  # noqa: B018
    assert isinstance(error.value, AttributeError)
    assert not hasattr(lab, "nope")


def test_a_moved_seam_stops_the_install(fake, lab):
    fake.SEAMS = (seams.Seam(MODULE, "greet", ("who",)),)  # greet takes (name)
    with pytest.raises(seams.SeamMoved, match=rf"{MODULE}.greet takes \('name',\)"):
        lab.fake  # noqa: B018
    assert fake.calls == [] and "fake" not in registry.installed()


def test_moto_configuration_is_merged_from_every_service(fake):
    config = registry.moto_config()
    assert config["fake"] == {"flag": True}
    assert config["lambda"] == {"use_docker": False}  # declared by labkit.services


def test_a_service_that_watches_every_call_installs_before_the_first_call_of_any_service(fake, lab, monkeypatch):
    watcher = types.ModuleType("tests_fake_watcher")
    watcher.SEAMS = ()
    watcher.seen = []
    def record(call, parsed, status):
        watcher.seen.append(call.operation)

    watcher.install = lambda: hooks.subscribe("after", "*", "*", record)
    monkeypatch.setitem(sys.modules, "tests_fake_watcher", watcher)
    registry.declare(Service("watcher", "tests_fake_watcher", every_call=True))
    try:
        lab.client("sqs").list_queues()  # a service the watcher does not own
        assert "watcher" in registry.installed() and watcher.seen == ["ListQueues"]  # the very first call is seen
    finally:
        hooks.unsubscribe(record)
