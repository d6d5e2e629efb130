"""SNS: FIFO topics that deduplicate, and deliveries to Lambda and dead-letter queues.

moto emulates topics, subscriptions, filter policies and raw delivery. This
service adds what it stores but does not do (``lab.sns.<helper>``):

- **FIFO deduplication** (:mod:`.dedup`): a publish whose deduplication id
  (given, or the body's SHA-256 under content-based deduplication) was
  published in the last 5 minutes is accepted and not delivered; FIFO
  publishes get a ``SequenceNumber``. The interval follows the sandbox clock
  (``lab.clock.advance(300)`` ends it). Helpers: :func:`remembered_ids`,
  :func:`content_deduplication_id`, :func:`forget`, :data:`DEDUP_INTERVAL_SECONDS`.
- **Lambda subscribers** (:mod:`.delivery`): an AWS-shaped SNS event, invoked
  asynchronously through :func:`labkit.services.lambda_.invoke_async` (so
  Lambda's retries and destinations apply).
- **The endpoint's permission** (:mod:`.delivery`): SNS delivers to a queue
  or function only if its resource policy (queue policy, ``add_permission``)
  lets ``sns.amazonaws.com`` in from this topic
  (:func:`labkit.services.iam.allows_service`).
- **Dead-letter queues** (:mod:`.delivery`): a delivery the endpoint's policy
  refuses, or to a deleted queue or function, is not retried: it goes to the
  subscription's ``RedrivePolicy`` queue (if that queue's policy lets SNS in),
  and Publish succeeds.

The service is installed at the first SNS call (:mod:`labkit.core.registry`).
"""

from __future__ import annotations

from . import dedup
from .dedup import (
    DEDUP_INTERVAL_SECONDS,
    content_deduplication_id,
    forget,
    remembered_ids,
)
from .seams import SEAMS

__all__ = [
    "DEDUP_INTERVAL_SECONDS",
    "SEAMS",
    "content_deduplication_id",
    "forget",
    "install",
    "remembered_ids",
    "reset",
]

def install() -> None:
    """Subscribe FIFO deduplication to SNS calls (the seams are patched by the registry). Idempotent."""
    dedup.subscribe()


def reset() -> None:
    """Forget every remembered deduplication id and sequence number."""
    forget()
