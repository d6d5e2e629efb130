"""What every service's reset test checks: ``lab.reset()`` leaves nothing running."""

from __future__ import annotations

import threading
import time

from labkit.core import loopback, names


def wait_for_threads(count: int, timeout: float = 10.0) -> int:
    """The number of live threads, once it is down to ``count`` (or the timeout passed):
    connection threads end a moment after their server closed them."""
    deadline = time.monotonic() + timeout
    while threading.active_count() > count and time.monotonic() < deadline:
        time.sleep(0.05)
    return threading.active_count()


def assert_nothing_left_running(threads_before: int | None = None) -> None:
    """No loopback server listens and no virtual address is bound; given the
    thread count from before the test started its servers, no labkit thread
    is left either."""
    assert loopback.live_servers() == []
    assert names.bindings() == {}
    if threads_before is not None:
        assert wait_for_threads(threads_before) == threads_before
        assert not [t.name for t in threading.enumerate() if t.name.startswith("labkit-")]
