"""Where the SQS service reaches into moto.

=====================  ==================================================
moto attribute         what labkit does instead
=====================  ==================================================
``Queue.messages``     standard queues hand out their visible messages in
                       best-effort order (:mod:`.ordering`); FIFO queues
                       are unchanged
``Queue._messages``    read (every message, in send order)
``Queue.fifo_queue``   read
``Queue._messages_lock``  held while :mod:`.redrive` takes messages out
``Queue.pending_messages``  a moved message leaves it
``Queue.add_message``  called: a moved message joins its destination
``SQSBackend.list_dead_letter_source_queues``  called: the queues that name
                       a dead-letter queue (a redrive's destination)
``Message.visible_at``, ``Message.approximate_receive_count``: reset when a
                       message is moved
=====================  ==================================================

``tests/services/test_sqs.py`` checks them on real moto objects.
"""

from __future__ import annotations

from labkit.core.seams import Seam

from .ordering import visible_messages

SEAMS: tuple[Seam, ...] = (
    Seam("moto.sqs.models", "Queue.messages", ("self",), visible_messages),
    Seam("moto.sqs.models", "Queue._messages", None, instance=True),
    Seam("moto.sqs.models", "Queue.fifo_queue", None, instance=True),
    Seam("moto.sqs.models", "Queue._messages_lock", None, instance=True),
    Seam("moto.sqs.models", "Queue.pending_messages", None),
    Seam("moto.sqs.models", "Queue.add_message", ("self", "message")),
    Seam("moto.sqs.models", "SQSBackend.list_dead_letter_source_queues", ("self", "queue_name")),
    Seam("moto.sqs.models", "Message.visible_at", None, instance=True),
    Seam("moto.sqs.models", "Message.approximate_receive_count", None, instance=True),
)
