"""Best-effort ordering of standard queues.

AWS documents that a standard queue delivers messages *generally* in the order
they were sent, but not always: the queue is spread over many servers, and a
message can overtake one sent just before it. moto keeps a standard queue in
perfect order, which hides the reason FIFO queues exist: code that relies on
a standard queue's order passes every test and breaks in production.

Here, a standard queue hands out its visible messages *nearly* in send order:
each message's place is its send position plus a jitter between 0 and
:data:`JITTER` positions, so a message can overtake up to two that were sent
before it, and never one sent long before. The jitter of a message is fixed
(it depends on the seed, the queue's name and the message's send position, not
on chance), so a lab or a test sees the same order every run; change it with
:func:`set_seed`. FIFO queues are untouched: they keep order within a group.
"""

from __future__ import annotations

import random
import threading
import weakref
import zlib
from typing import Any

#: How many places a message may move ahead of its send position.
JITTER = 2.5
DEFAULT_SEED = 2026

_lock = threading.Lock()
_seed = DEFAULT_SEED
_positions: weakref.WeakKeyDictionary[Any, int] = weakref.WeakKeyDictionary()  # message -> send position
_counters: weakref.WeakKeyDictionary[Any, int] = weakref.WeakKeyDictionary()  # queue -> next send position


def set_seed(seed: int = DEFAULT_SEED) -> None:
    """Choose another (still repeatable) order for standard queues."""
    global _seed
    with _lock:
        _seed = int(seed)


def seed() -> int:
    return _seed


def _jitter(queue_name: str, position: int) -> float:
    key = zlib.crc32(f"{_seed}:{queue_name}:{position}".encode())
    return random.Random(key).random() * JITTER


def _position(queue: Any, message: Any) -> int:
    position = _positions.get(message)
    if position is None:
        position = _counters.get(queue, 0)
        _counters[queue] = position + 1
        _positions[message] = position
    return position


def visible_messages(original: Any, queue: Any) -> list[Any]:
    """``Queue.messages`` with best-effort order for standard queues."""
    messages = original(queue)
    if queue.fifo_queue or len(messages) < 2:
        return messages
    with _lock:
        for message in queue._messages:  # number every message in send order, visible or not
            _position(queue, message)
        keyed = [(_positions[m] + _jitter(queue.name, _positions[m]), _positions[m], m) for m in messages]
    keyed.sort(key=lambda item: (item[0], item[1]))
    return [m for _, _, m in keyed]


def reset() -> None:
    with _lock:
        _positions.clear()
        _counters.clear()
