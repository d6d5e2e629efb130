"""The sandbox clock: one time for every simulated plane.

It runs with real time by default. ``lab.clock.advance(3600)`` moves it an
hour ahead at once, so that a lesson about "after an hour" does not wait an
hour. What labkit simulates reads its time here (TTL sweeps, throttling
refill, SNS FIFO deduplication windows, replica lag, a cache node's downtime);
what moto does on its own (an SQS visibility timeout, a Step Functions ``Wait``
state) keeps real time, and each chapter says which is which.

Work that should happen at a moment (a node that comes back after a
failover) is scheduled with :meth:`Clock.call_at`; it runs the next time the
clock is read at or after that moment, or when :meth:`Clock.advance` passes
it. No thread waits for it. While it runs, the clock reads, in its thread,
the moment it was due: an ``advance`` of an hour runs a health check due at
minute 10 at minute 10, and what it schedules next counts from there. Another
thread that reads the clock meanwhile (a local server the action calls) gets
the current time and does not wait for the action.

``with lab.clock.frozen():`` holds the sandbox time still: inside the block
only :meth:`Clock.advance` moves it, so a replay of "30 writes per second"
gives the same answer on a fast machine and a busy one. When the block ends
the clock runs with real time again (plus every advance).

:class:`EveryPeriod` runs a job just before each sandbox minute ends, while it
has work: how services publish their per-minute CloudWatch metrics.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass(order=True)
class _Scheduled:
    due: float
    order: int
    action: Callable[[], object] = field(compare=False)
    cancelled: bool = field(default=False, compare=False)


class Clock:
    """Real time plus an offset that only moves forward."""

    def __init__(self) -> None:
        self._offset = 0.0
        self._queue: list[_Scheduled] = []
        self._counter = itertools.count()
        self._lock = threading.RLock()
        self._running = False
        self._frozen: tuple[float, float] | None = None  # (time.time(), time.monotonic()) when frozen
        self._freezes = 0
        self._acting = threading.local()  # .due: the moment of the scheduled action running in this thread

    # --- reading ---------------------------------------------------------
    def _real(self) -> tuple[float, float]:
        frozen = self._frozen
        return frozen if frozen is not None else (time.time(), time.monotonic())

    def _acting_due(self) -> float | None:
        return getattr(self._acting, "due", None)

    def now(self) -> float:
        """Seconds since the epoch, as the sandbox sees them (inside a scheduled
        action: the moment it was due)."""
        due = self._acting_due()
        if due is not None:
            return due
        moment = self._real()[0] + self._offset
        if self._queue:
            self._run_due(moment)
        return moment

    def peek(self) -> float:
        """Like :meth:`now`, without running what falls due: for code that reads
        the time while it holds a lock (a cache server's command loop), where a
        scheduled action must not run."""
        due = self._acting_due()
        return due if due is not None else self._real()[0] + self._offset

    def monotonic(self) -> float:
        """A monotonic reading that moves with :meth:`advance` too (for intervals)."""
        wall, mono = self._real()
        due = self._acting_due()
        if due is not None:
            return mono + (due - wall)
        if self._queue:
            self._run_due(wall + self._offset)
        return mono + self._offset

    def __call__(self) -> float:
        return self.monotonic()

    @property
    def offset(self) -> float:
        """How far the clock runs ahead of real time, in seconds."""
        return self._offset

    # --- moving ----------------------------------------------------------
    def advance(self, seconds: float) -> float:
        """Move the clock ``seconds`` ahead (never back); run what falls due.
        Returns the new now."""
        if seconds < 0:
            raise ValueError(f"the sandbox clock only moves forward (asked to move {seconds} s)")
        with self._lock:
            self._offset += float(seconds)
        return self.now()

    def sleep(self, seconds: float) -> None:
        """Let ``seconds`` pass on the sandbox clock without waiting for them."""
        self.advance(seconds)

    @contextmanager
    def frozen(self) -> Iterator[Clock]:
        """Hold the sandbox time still inside the block: only :meth:`advance`
        moves it, whatever time the code in the block takes. Afterwards the
        clock follows real time again (never going back)."""
        with self._lock:
            if self._freezes == 0:
                self._frozen = (time.time(), time.monotonic())
            self._freezes += 1
        try:
            yield self
        finally:
            with self._lock:
                self._freezes = max(0, self._freezes - 1)  # a reset() inside the block already thawed it
                if self._freezes == 0:
                    self._frozen = None

    # --- scheduling ------------------------------------------------------
    def call_at(self, when: float, action: Callable[[], object]) -> _Scheduled:
        """Run ``action`` once the sandbox time reaches ``when`` (epoch seconds).
        Returns a handle for :meth:`cancel`."""
        entry = _Scheduled(float(when), next(self._counter), action)
        with self._lock:
            heapq.heappush(self._queue, entry)
        return entry

    def call_later(self, delay: float, action: Callable[[], object]) -> _Scheduled:
        """Run ``action`` ``delay`` seconds from now, sandbox time."""
        return self.call_at(self.peek() + delay, action)

    def cancel(self, entry: _Scheduled) -> None:
        entry.cancelled = True

    def pending(self) -> int:
        """How many scheduled actions have not run yet."""
        return sum(not e.cancelled for e in self._queue)

    def _run_due(self, moment: float) -> None:
        # Another thread running the due actions is not waited for: it may be
        # waiting for this one (a health check calling a local server).
        if not self._lock.acquire(blocking=False):
            return
        try:
            if self._running:  # an action that reads the clock does not recurse
                return
            self._running = True
            try:
                while self._queue and self._queue[0].due <= moment:
                    entry = heapq.heappop(self._queue)
                    if not entry.cancelled:
                        self._acting.due = entry.due
                        try:
                            entry.action()
                        finally:
                            self._acting.due = None
            finally:
                self._running = False
        finally:
            self._lock.release()

    def reset(self) -> None:
        """Back to real time, nothing scheduled (``lab.reset()``)."""
        with self._lock:
            self._offset = 0.0
            self._queue.clear()
            self._frozen = None
            self._freezes = 0


#: The one clock of the sandbox (``lab.clock``).
clock = Clock()


class EveryPeriod:
    """A job run just before each sandbox period ends: how a service publishes
    its per-minute metrics ahead of CloudWatch's evaluation of that minute.

    :meth:`ensure` schedules the run at the end of the current period
    (idempotent: cheap to call on every request). After each run the next one
    is scheduled while ``keep_going()`` says there is work (without it, always);
    otherwise the schedule stops until the next :meth:`ensure`, so an idle
    sandbox costs nothing.

    Args:
        job: called with the end of the period (sandbox epoch seconds).
        period: the period in seconds (60: a CloudWatch minute).
        early: how long before the period's end the job runs.
        keep_going: whether to schedule the next period after a run.
        on: the clock (default: the sandbox clock).
    """

    def __init__(self, job: Callable[[float], object], *, period: int = 60, early: float = 0.5,
                 keep_going: Callable[[], bool] | None = None, on: Clock | None = None) -> None:
        self.job = job
        self.period = period
        self.early = early
        self.keep_going = keep_going
        self._clock = on or clock
        self._lock = threading.Lock()
        self._due: float | None = None

    @property
    def due(self) -> float | None:
        """The end of the period whose run is scheduled, if any."""
        return self._due

    def ensure(self) -> None:
        """Make sure the current period's run is scheduled."""
        with self._lock:
            now = self._clock.peek()
            if self._due is not None and self._due > now:
                return
            end = (int(now) // self.period + 1) * self.period
            if end - self.early <= now:
                end += self.period
            self._due = end
        self._clock.call_at(end - self.early, lambda: self._run(end))

    def _run(self, end: float) -> None:
        more = self.keep_going() if self.keep_going is not None else True
        with self._lock:
            self._due = end + self.period if more else None
        if more:
            self._clock.call_at(end + self.period - self.early, lambda: self._run(end + self.period))
        self.job(end)

    def reset(self) -> None:
        """Forget the schedule (the clock's own reset drops the scheduled run)."""
        with self._lock:
            self._due = None
