"""SQS: standard queues with best-effort ordering.

moto emulates queues, visibility timeouts, dead-letter queues, FIFO groups and
deduplication, and long polling. One behaviour it leaves out is the reason
FIFO queues exist: a standard queue delivers *nearly* in send order, not
always. This service adds it (``lab.sqs.<helper>``):

- **Best-effort ordering** (:mod:`.ordering`): a standard queue's messages come
  out close to their send order, a message sometimes overtaking one or two sent
  just before it, the same way every run. :func:`set_seed` picks another
  repeatable order; FIFO queues are unchanged.

The service is installed at the first SQS call (:mod:`labkit.core.registry`).
"""

from __future__ import annotations

from . import ordering
from .ordering import JITTER, set_seed
from .seams import SEAMS

__all__ = ["JITTER", "SEAMS", "install", "reset", "set_seed"]


def install() -> None:
    """Nothing to subscribe: the seam does the work (the registry patched it)."""


def reset() -> None:
    """Forget every message's send position, and go back to the default seed."""
    ordering.reset()
    ordering.set_seed()
