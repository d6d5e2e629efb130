"""The minute of CloudWatch: what happens once a sandbox minute.

At every whole minute of the sandbox clock, in this order: the queue-depth
gauges are sampled (:func:`.publishers.sample_queues`), finished Step
Functions executions are counted, and every metric alarm is evaluated
(:func:`.alarms.evaluate_all`). The work is scheduled with
:meth:`labkit.core.clock.Clock.call_at`, so it runs when the clock is read
or moved: ``lab.clock.advance(300)`` runs five minutes of it at once, and a
CloudWatch call catches up on minutes that passed in real time. No thread
waits.
"""

from __future__ import annotations

import threading
from typing import Any

from labkit.core.clock import clock

from . import alarms, publishers

_LOCK = threading.Lock()
_NEXT: dict[str, Any] = {"due": None, "running": False}


def tick(moment: float) -> None:
    """One sandbox minute: gauges, executions, alarms; then schedule the next."""
    _NEXT["due"] = moment + 60
    clock.call_at(moment + 60, lambda: tick(moment + 60))
    _NEXT["running"] = True
    try:
        run_minute(moment)
    finally:
        _NEXT["running"] = False


def run_minute(moment: float) -> None:
    from moto.cloudwatch.models import cloudwatch_backends

    from labkit.core import aws

    publishers.sample_queues(moment)
    publishers.scan_executions(moment)
    regions = set(cloudwatch_backends[aws.ACCOUNT_ID].keys()) | {aws.default_region()}
    for region in sorted(regions):
        if cloudwatch_backends[aws.ACCOUNT_ID][region].alarms:
            alarms.evaluate_all(moment, region)


def ensure() -> float:
    """Read the clock (running any minute that fell due) and make sure the next minute is scheduled."""
    now = clock.now()
    if _NEXT["running"]:
        return now  # called from inside a minute's work (an alarm action): the next minute is scheduled
    with _LOCK:
        due = _NEXT["due"]
        if due is None or due < now:
            first = alarms.ceil_minute(now)
            if first == now:
                first += 60
            _NEXT["due"] = first
            clock.call_at(first, lambda: tick(first))
    return now


def reset() -> None:
    _NEXT["due"] = None
