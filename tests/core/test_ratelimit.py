"""labkit.core.ratelimit: the token bucket behind every simulated throttle."""

from __future__ import annotations

import pytest

from labkit.core.clock import clock
from labkit.core.ratelimit import TokenBucket


class Seconds:
    """A clock a test moves by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture()
def time() -> Seconds:
    return Seconds()


def test_a_bucket_is_full_at_first_use_and_refuses_when_empty(time):
    bucket = TokenBucket(rate=2, capacity=4, clock=time)
    assert bucket.try_take(3) and bucket.try_take(1)
    assert not bucket.try_take(1)
    assert bucket.tokens == 0


def test_it_refills_at_its_rate_up_to_its_capacity(time):
    bucket = TokenBucket(rate=2, capacity=4, clock=time)
    bucket.try_take(4)
    time.now += 0.5
    assert bucket.refill() == 1.0
    assert bucket.try_take(1) and not bucket.try_take(1)
    time.now += 60
    assert bucket.refill() == 4.0


def test_a_request_larger_than_the_capacity_passes_when_full_and_leaves_a_debt(time):
    bucket = TokenBucket(rate=1, capacity=2, clock=time)
    assert bucket.try_take(5)
    assert bucket.tokens == -3
    time.now += 3  # the debt is paid back, nothing more
    assert not bucket.try_take(1)
    time.now += 1
    assert bucket.try_take(1)


def test_charge_takes_after_the_fact_even_into_debt(time):
    bucket = TokenBucket(rate=1, capacity=3, clock=time)
    bucket.charge(5)
    assert bucket.tokens == -2
    time.now += 2
    assert bucket.refill() == 0.0


def test_a_new_rate_and_capacity_apply_from_the_next_refill(time):
    bucket = TokenBucket(rate=1, capacity=2, clock=time)
    bucket.try_take(2)
    time.now += 1
    assert bucket.refill(rate=10, capacity=5) == 5.0  # one second at the new rate, capped


def test_by_default_the_bucket_follows_the_sandbox_clock(lab):
    bucket = TokenBucket(rate=1, capacity=1)
    assert bucket.try_take(1) and not bucket.try_take(1)
    clock.advance(1.5)
    assert bucket.try_take(1)
    lab.reset()
