"""labkit.core.clock: real time plus an offset that only moves forward; work
scheduled at a moment runs when the clock is next read at or after it."""

from __future__ import annotations

import pytest

from labkit.core import clock as clock_module
from labkit.core.clock import Clock, clock


class FakeTime:
    """Stands in for the ``time`` module inside labkit.core.clock: real time stands still."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def time(self) -> float:
        return self.now

    def monotonic(self) -> float:
        return self.now - 999_000.0


@pytest.fixture()
def real(monkeypatch) -> FakeTime:
    fake = FakeTime()
    monkeypatch.setattr(clock_module, "time", fake)
    return fake


def test_the_clock_follows_real_time_until_advanced(real):
    c = Clock()
    assert c.now() == 1_000_000.0 and c.monotonic() == 1_000.0 and c() == 1_000.0
    real.now += 5
    assert c.now() == 1_000_005.0
    assert c.advance(3600) == 1_003_605.0
    assert (c.offset, c.now(), c.monotonic()) == (3600.0, 1_003_605.0, 4_605.0)
    c.sleep(10)
    assert c.offset == 3610.0


def test_the_clock_never_moves_back(real):
    c = Clock()
    with pytest.raises(ValueError, match="only moves forward"):
        c.advance(-1)
    assert c.offset == 0.0


def test_call_at_runs_once_when_the_clock_reaches_the_moment(real):
    c = Clock()
    ran = []
    c.call_at(1_000_060.0, lambda: ran.append(("at", c.offset)))
    c.call_later(30, lambda: ran.append(("later", c.offset)))
    assert c.pending() == 2
    c.now()
    assert ran == []
    real.now += 30  # real time passing counts too
    c.monotonic()
    assert ran == [("later", 0.0)]
    c.advance(45)  # passes the other moment
    assert ran == [("later", 0.0), ("at", 45.0)]
    c.advance(1000)
    assert len(ran) == 2 and c.pending() == 0


def test_due_actions_run_in_time_order_each_at_its_own_moment(real):
    c = Clock()
    ran = []
    c.call_at(1_000_020.0, lambda: ran.append(("second", c.now())))
    c.call_at(1_000_010.0, lambda: ran.append(("first", c.now())))
    c.advance(60)
    assert ran == [("first", 1_000_010.0), ("second", 1_000_020.0)]
    assert c.now() == 1_000_060.0


def test_a_cancelled_action_does_not_run(real):
    c = Clock()
    ran = []
    entry = c.call_later(5, lambda: ran.append("cancelled"))
    c.cancel(entry)
    assert c.pending() == 0
    c.advance(10)
    assert ran == []


def test_reset_goes_back_to_real_time_with_nothing_scheduled(real):
    c = Clock()
    ran = []
    c.advance(100)
    c.call_later(50, lambda: ran.append("dropped"))
    c.reset()
    assert (c.offset, c.now(), c.pending()) == (0.0, 1_000_000.0, 0)
    c.advance(1000)
    assert ran == []


def test_the_sandbox_has_one_clock_and_lab_reset_resets_it(lab):
    assert lab.clock is clock
    clock.advance(120)
    assert clock.offset >= 120
    lab.reset()
    assert clock.offset == 0.0


def test_peek_reads_the_time_without_running_what_falls_due(real):
    c = Clock()
    ran = []
    c.call_later(10, lambda: ran.append(c.peek()))
    real.now += 20
    assert c.peek() == 1_000_020.0 and ran == [] and c.pending() == 1
    c.now()
    assert ran == [1_000_010.0] and c.pending() == 0  # it ran at the moment it was due


def test_frozen_holds_time_still_until_advanced_and_thaws_after(real):
    c = Clock()
    with c.frozen():
        real.now += 50  # real time passes inside the block...
        assert c.now() == 1_000_000.0  # ...but the sandbox does not see it
        c.advance(5)
        assert c.now() == 1_000_005.0
        with c.frozen():  # nested blocks keep it frozen
            real.now += 50
        assert c.now() == 1_000_005.0
    assert c.now() >= 1_000_005.0  # thawed: real time again, never back
    real.now += 1
    assert c.now() > 1_000_005.0


def test_an_action_runs_at_its_own_moment_and_schedules_from_there():
    from labkit.core.clock import Clock

    clock = Clock()
    with clock.frozen():
        start = clock.now()
        seen = []

        def check():
            seen.append(round(clock.now() - start))
            if len(seen) < 3:
                clock.call_later(10, check)

        clock.call_later(10, check)
        clock.advance(3600)
        assert seen == [10, 20, 30]  # not [3600, 3610, 3620]
        assert round(clock.now() - start) == 3600


def test_another_thread_reading_the_clock_does_not_wait_for_a_running_action():
    import threading

    from labkit.core.clock import Clock

    clock = Clock()
    answers = []

    def action():  # like a health check calling a local server whose handler reads the clock
        reader = threading.Thread(target=lambda: answers.append(clock.now()))
        reader.start()
        reader.join(timeout=5)
        assert not reader.is_alive()

    clock.call_later(1, action)
    clock.advance(5)
    assert len(answers) == 1


def test_every_period_runs_just_before_each_minute_ends_while_it_has_work(real):
    """EveryPeriod: one run per minute at end - early, whatever the number of ensure() calls;
    it stops when keep_going says no, and ensure() starts it again."""
    c = Clock()
    runs: list[float] = []
    work = {"left": True}
    job = clock_module.EveryPeriod(runs.append, period=60, early=0.5, keep_going=lambda: work["left"], on=c)
    start = c.now()
    first_end = (int(start) // 60 + 1) * 60
    job.ensure()
    job.ensure()  # idempotent
    assert job.due == first_end and runs == []
    c.advance(first_end - start - 1)  # 1 s before the period ends: 0.5 s before the run
    assert runs == []
    c.advance(150)  # through the first run and two more minutes
    assert runs == [first_end, first_end + 60, first_end + 120]
    work["left"] = False
    c.advance(60)
    assert runs[-1] == first_end + 180 and job.due is None  # ran once more, scheduled nothing
    c.advance(600)
    assert len(runs) == 4
    job.ensure()
    c.advance(60)
    assert len(runs) == 5
    job.reset()
    assert job.due is None


def test_every_period_without_keep_going_keeps_going(real):
    c = Clock()
    runs: list[float] = []
    job = clock_module.EveryPeriod(runs.append, period=60, on=c)
    job.ensure()
    c.advance(300)
    assert len(runs) == 5 and all(b - a == 60 for a, b in zip(runs, runs[1:], strict=False))
