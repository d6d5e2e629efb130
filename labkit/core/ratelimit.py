"""A token bucket: the shape of every AWS throttle labkit simulates.

DynamoDB provisioned capacity, API Gateway's rate and burst, Lambda's
concurrency: each refills at a rate up to a capacity, and a request that
cannot pay is refused. Time comes from the sandbox clock unless a test gives
the bucket its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from labkit.core.clock import clock as sandbox_clock


@dataclass
class TokenBucket:
    """``rate`` tokens per second, at most ``capacity``; full at first use."""

    rate: float
    capacity: float
    clock: Callable[[], float] = field(default=sandbox_clock.monotonic, repr=False)
    tokens: float | None = None  # None: full at the first request
    updated: float = 0.0

    def refill(self, rate: float | None = None, capacity: float | None = None) -> float:
        """Add what has accrued since the last look (optionally with a new rate
        and capacity, when the configuration changed); returns the tokens."""
        if rate is not None:
            self.rate = float(rate)
        if capacity is not None:
            self.capacity = float(capacity)
        now = self.clock()
        if self.tokens is None:
            self.tokens = self.capacity
        else:
            self.tokens = min(self.capacity, self.tokens + self.rate * max(0.0, now - self.updated))
        self.updated = now
        return self.tokens

    def try_take(self, amount: float = 1.0) -> bool:
        """Take ``amount`` tokens if the bucket holds them (a request larger than
        the capacity is let through when the bucket is full, leaving it in debt)."""
        tokens = self.refill()
        if tokens + 1e-9 < min(amount, self.capacity):
            return False
        self.tokens = tokens - amount
        return True

    def charge(self, amount: float) -> None:
        """Take ``amount`` after the fact, even into debt (a cost known only once done)."""
        self.tokens = self.refill() - amount
