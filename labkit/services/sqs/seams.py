"""Where the SQS service reaches into moto.

=====================  ==================================================
moto attribute         what labkit does instead
=====================  ==================================================
``Queue.messages``     standard queues hand out their visible messages in
                       best-effort order (:mod:`.ordering`); FIFO queues
                       are unchanged
``Queue._messages``    read (every message, in send order)
``Queue.fifo_queue``   read
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
)
