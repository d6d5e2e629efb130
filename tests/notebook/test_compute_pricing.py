"""The part opener's cost comparison: plain arithmetic, checked by hand."""

from __future__ import annotations

import math

import pytest

from labkit.notebook import compute_pricing as pricing
from labkit.notebook import lambda_pricing


def test_ec2_is_instances_times_hours_times_price():
    assert pricing.ec2_monthly(0.1, 2) == pytest.approx(0.1 * 2 * 730)


def test_fargate_bills_vcpu_and_memory_for_each_task_hour():
    assert pricing.fargate_monthly(0.04, 0.005, 0.5, 1.0, 2, hours=10) == pytest.approx((0.02 + 0.005) * 2 * 10)
    with pytest.raises(ValueError):
        pricing.fargate_monthly(-1, 0.005, 0.5, 1.0, 2)


def test_lambda_is_the_lambda_chapter_s_arithmetic():
    assert pricing.lambda_monthly(5_000_000, 200, 512) == lambda_pricing.lambda_monthly_cost(5_000_000, 200, 512)["total"]


def test_breakeven_prices_make_the_always_on_options_cost_what_lambda_costs():
    even = pricing.breakeven(50_000_000, 150, 1024, instances=2, tasks=3)
    assert pricing.ec2_monthly(even.ec2_hourly, 2) == pytest.approx(even.lambda_cost)
    assert even.fargate_task_hourly * 3 * 730 == pytest.approx(even.lambda_cost)


def test_an_idle_workload_is_cheapest_on_lambda_and_a_busy_one_is_not():
    idle = pricing.costs(100_000, 120, 128, ec2_hourly=0.01, instances=2, vcpu_hour=0.01, gb_hour=0.001)
    assert idle.lambda_ == 0 and idle.cheapest == "Lambda"
    busy = pricing.costs(lambda_pricing.requests_per_month(200), 150, 1024, ec2_hourly=0.1, instances=2,
                         vcpu_hour=0.05, gb_hour=0.005)
    assert busy.cheapest != "Lambda"
    unpriced = pricing.costs(1000, 100, 128)
    assert unpriced.ec2 is None and unpriced.fargate is None and unpriced.cheapest == "Lambda"


def test_the_calculator_builds_and_answers():
    pytest.importorskip("ipywidgets")
    form = pricing.calculator()
    out = form.children[-2]
    assert "Lambda:" in out.value and "enter a price" in out.value
    form.children[3].value = 0.05  # EC2 $ per instance-hour
    assert "EC2: <b>$" in out.value
    assert math.isfinite(float(out.value.split("EC2: <b>$")[1].split("<")[0].replace(",", "")))
