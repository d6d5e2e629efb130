"""os.environ with per-thread views (labkit.core.threadenv)."""

from __future__ import annotations

import os
import threading

import pytest

from labkit.core import threadenv


def in_thread(view: dict, body) -> list:
    """Run ``body()`` in a new thread that sees ``view``; return what it returned (or raised)."""
    environ = threadenv.install()
    out: list = []

    def main() -> None:
        environ.enter(view)
        try:
            out.append(body())
        except Exception as error:  # noqa: BLE001  (handed back to the test)
            out.append(error)
        finally:
            environ.leave()

    thread = threading.Thread(target=main)
    thread.start()
    thread.join(10)
    return out


def test_a_view_is_its_threads_alone():
    threadenv.install()
    view = {"ONLY_IN_VIEW": "1", "PATH": None}

    def body():
        os.environ["SET_IN_VIEW"] = "2"
        del os.environ["HOME"]
        return (os.environ.get("ONLY_IN_VIEW"), "PATH" in os.environ, "HOME" in os.environ,
                os.getenv("SET_IN_VIEW"), "ONLY_IN_VIEW" in dict(os.environ), len(os.environ) == len(list(os.environ)))

    assert in_thread(view, body) == [("1", False, False, "2", True, True)]
    assert "ONLY_IN_VIEW" not in os.environ and "SET_IN_VIEW" not in os.environ
    assert "PATH" in os.environ and "HOME" in os.environ
    assert view == {"ONLY_IN_VIEW": "1", "PATH": None, "SET_IN_VIEW": "2", "HOME": None}


def test_a_view_refuses_what_os_environ_refuses():
    def set_number():
        os.environ["N"] = 1

    def delete_missing():
        del os.environ["NO_SUCH_VARIABLE_AT_ALL"]

    assert isinstance(in_thread({}, set_number)[0], TypeError)
    assert isinstance(in_thread({}, delete_missing)[0], KeyError)


def test_what_the_sandbox_sets_for_the_process_reaches_every_thread_even_from_a_view():
    def body():
        threadenv.process()["LABKIT_TEST_PROCESS_WIDE"] = "yes"
        return os.environ.get("LABKIT_TEST_PROCESS_WIDE")

    try:
        assert in_thread({}, body) == ["yes"]
        assert os.environ["LABKIT_TEST_PROCESS_WIDE"] == "yes"
    finally:
        os.environ.pop("LABKIT_TEST_PROCESS_WIDE", None)


def test_other_threads_write_the_process_as_before():
    threadenv.install()
    os.environ["LABKIT_TEST_PLAIN"] = "1"
    try:
        assert os.environ.copy()["LABKIT_TEST_PLAIN"] == "1" and (os.environ | {"X": "y"})["X"] == "y"
        assert threadenv.process()["LABKIT_TEST_PLAIN"] == "1"
    finally:
        del os.environ["LABKIT_TEST_PLAIN"]
    with pytest.raises(KeyError):
        os.environ["LABKIT_TEST_PLAIN"]  # noqa: B018
