"""SQS: best-effort ordering of standard queues, and dead-letter queue redrive.

moto emulates queues, visibility timeouts, dead-letter queues, FIFO groups and
deduplication, and long polling. One behaviour it leaves out is the reason
FIFO queues exist: a standard queue delivers *nearly* in send order, not
always. This service adds it (``lab.sqs.<helper>``):

- **Best-effort ordering** (:mod:`.ordering`): a standard queue's messages come
  out close to their send order, a message sometimes overtaking one or two sent
  just before it, the same way every run. :func:`set_seed` picks another
  repeatable order; FIFO queues are unchanged.
- **Dead-letter queue redrive** (:mod:`.redrive`): ``StartMessageMoveTask``,
  ``ListMessageMoveTasks`` and ``CancelMessageMoveTask``, which moto lacks,
  move a dead-letter queue's messages back to their source queue once the bug
  is fixed.

The service is installed at the first SQS call (:mod:`labkit.core.registry`).
"""

from __future__ import annotations

from . import ordering, redrive
from .ordering import JITTER, set_seed
from .seams import SEAMS

__all__ = ["JITTER", "SEAMS", "install", "reset", "set_seed"]


def install() -> None:
    """Answer the message move actions (the ordering seam was patched by the registry)."""
    redrive.subscribe()


def reset() -> None:
    """Forget every message's send position and every move task, and go back to the default seed."""
    ordering.reset()
    ordering.set_seed()
    redrive.reset()
