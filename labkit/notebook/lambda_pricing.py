"""What a Lambda function costs per month, next to an always-on EC2 instance.

AWS bills a Lambda function for two things (the *pricing model*):

* **requests**: every invocation, whatever starts it;
* **duration** in *GB-seconds*: the memory you configure (in GB) times the time
  your code runs (initialisation included), rounded up to the nearest
  millisecond for each invocation.

Each month the free tier takes the first requests and GB-seconds off the bill.
An EC2 instance is billed for every hour it runs, busy or idle.

Nothing here is emulated: this module is plain arithmetic, so that the chapter's
calculator, its static table and the tests all use one function. The prices are
the ones AWS published for x86 functions in US East (N. Virginia), read on the
pages in :data:`SOURCES` as of :data:`PRICES_AS_OF`. Prices change: check the
pricing page before you rely on a figure. No EC2 price is built in: the hourly
on-demand price depends on the instance type, and you pass the one you read on
the EC2 pricing page.

Limits: the calculator ignores the lower duration prices above the first pricing
tier (billions of GB-seconds a month), Arm functions, ephemeral storage above the
included 512 MB, provisioned concurrency, data transfer, and everything the
function calls (its logs, queues, tables). For EC2 it counts instance hours only
(no EBS volume, load balancer or data transfer).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = [
    "HOURS_PER_MONTH",
    "LambdaPrices",
    "PRICES_AS_OF",
    "SOURCES",
    "US_EAST_1_X86",
    "Comparison",
    "billed_ms",
    "breakeven_hourly_price",
    "calculator",
    "compare",
    "ec2_monthly_cost",
    "gb_seconds",
    "lambda_monthly_cost",
]

#: When the prices below were read on AWS's pages.
PRICES_AS_OF = "November 2026"
#: Where they were read.
SOURCES = (
    "https://aws.amazon.com/lambda/pricing/",
    "https://docs.aws.amazon.com/whitepapers/latest/how-aws-pricing-works/lambda.html",
)
#: An average month: 365 days x 24 hours / 12 months.
HOURS_PER_MONTH = 730.0


@dataclass(frozen=True)
class LambdaPrices:
    """Lambda on-demand prices, in US dollars.

    Attributes:
        per_million_requests: price of one million requests.
        per_gb_second: price of one GB-second of duration.
        free_requests: requests per month the free tier covers.
        free_gb_seconds: GB-seconds per month the free tier covers.
    """

    per_million_requests: float
    per_gb_second: float
    free_requests: int
    free_gb_seconds: float


#: x86 functions in US East (N. Virginia), first pricing tier, as of
#: :data:`PRICES_AS_OF`: $0.20 per million requests, $0.00001667 per GB-second,
#: and a free tier of one million requests and 400,000 GB-seconds a month.
US_EAST_1_X86 = LambdaPrices(
    per_million_requests=0.20,
    per_gb_second=0.00001667,
    free_requests=1_000_000,
    free_gb_seconds=400_000.0,
)


def billed_ms(duration_ms: float) -> int:
    """The billed duration of one invocation: rounded up to the next millisecond."""
    if duration_ms < 0:
        raise ValueError("a duration cannot be negative")
    return math.ceil(duration_ms)


def gb_seconds(memory_mb: int, duration_ms: float, invocations: int = 1) -> float:
    """GB-seconds used by ``invocations`` invocations of ``duration_ms`` each,
    with ``memory_mb`` of memory configured (1 GB = 1024 MB, as AWS counts)."""
    if memory_mb <= 0 or invocations < 0:
        raise ValueError("memory must be positive and invocations not negative")
    return invocations * (memory_mb / 1024) * (billed_ms(duration_ms) / 1000)


def lambda_monthly_cost(requests: int, duration_ms: float, memory_mb: int, *,
                        prices: LambdaPrices = US_EAST_1_X86, free_tier: bool = True) -> dict[str, float]:
    """The monthly bill of one function (or of all the functions of an account,
    if you pass their totals: the free tier is per account).

    Args:
        requests: invocations per month.
        duration_ms: average duration of one invocation, in milliseconds.
        memory_mb: configured memory, in MB.
        prices: the prices to use (defaults to :data:`US_EAST_1_X86`).
        free_tier: subtract the monthly free tier.

    Returns:
        ``{"gb_seconds", "request_cost", "duration_cost", "total"}`` in US dollars
        (``gb_seconds`` before the free tier).
    """
    used = gb_seconds(memory_mb, duration_ms, requests)
    billable_requests = max(0, requests - prices.free_requests) if free_tier else requests
    billable_gb_s = max(0.0, used - prices.free_gb_seconds) if free_tier else used
    request_cost = billable_requests / 1_000_000 * prices.per_million_requests
    duration_cost = billable_gb_s * prices.per_gb_second
    return {"gb_seconds": used, "request_cost": request_cost, "duration_cost": duration_cost,
            "total": request_cost + duration_cost}


def ec2_monthly_cost(hourly_price: float, instances: int = 1, hours: float = HOURS_PER_MONTH) -> float:
    """Instance hours of ``instances`` always-on instances at ``hourly_price``
    (an on-demand price you read on the EC2 pricing page)."""
    if hourly_price < 0 or instances < 0:
        raise ValueError("a price and a number of instances cannot be negative")
    return hourly_price * instances * hours


def breakeven_hourly_price(lambda_monthly: float, instances: int = 1, hours: float = HOURS_PER_MONTH) -> float:
    """The hourly price per instance at which ``instances`` always-on instances
    cost as much as ``lambda_monthly``: a cheaper instance costs less than Lambda."""
    if instances <= 0:
        raise ValueError("at least one instance")
    return lambda_monthly / (instances * hours)


@dataclass(frozen=True)
class Comparison:
    """One scenario: what Lambda costs and what would match it on EC2."""

    requests: int
    duration_ms: float
    memory_mb: int
    lambda_cost: float
    ec2_cost: float | None  # None when no EC2 price was given
    breakeven_hourly: float  # per instance

    @property
    def cheaper(self) -> str | None:
        """``"Lambda"``, ``"EC2"`` or ``"same"``; None without an EC2 price."""
        if self.ec2_cost is None:
            return None
        if math.isclose(self.lambda_cost, self.ec2_cost, rel_tol=1e-9, abs_tol=1e-9):
            return "same"
        return "Lambda" if self.lambda_cost < self.ec2_cost else "EC2"


def compare(requests: int, duration_ms: float, memory_mb: int, *, ec2_hourly: float | None = None,
            instances: int = 1, prices: LambdaPrices = US_EAST_1_X86, free_tier: bool = True) -> Comparison:
    """Lambda's monthly cost for a workload, the cost of ``instances`` always-on
    instances at ``ec2_hourly`` (if given), and the break-even hourly price."""
    cost = lambda_monthly_cost(requests, duration_ms, memory_mb, prices=prices, free_tier=free_tier)["total"]
    ec2 = None if ec2_hourly is None else ec2_monthly_cost(ec2_hourly, instances)
    return Comparison(requests, duration_ms, memory_mb, cost, ec2, breakeven_hourly_price(cost, instances))


def requests_per_month(per_second: float, hours: float = HOURS_PER_MONTH) -> int:
    """A steady rate of requests per second, as requests per month."""
    return round(per_second * 3600 * hours)


def calculator(prices: LambdaPrices = US_EAST_1_X86):  # type: ignore[no-untyped-def]
    """An ipywidgets form: requests, duration and memory against always-on
    instances. Every price is an input, prefilled with :data:`US_EAST_1_X86`
    for Lambda and empty (0) for EC2, whose price you read on the EC2 pricing page."""
    import ipywidgets as w

    style = {"description_width": "200px"}
    layout = w.Layout(width="460px")
    requests = w.BoundedIntText(value=5_000_000, min=0, max=10**12, step=100_000,
                                description="Requests per month", style=style, layout=layout)
    duration = w.BoundedFloatText(value=200, min=1, max=900_000, description="Average duration (ms)",
                                  style=style, layout=layout)
    memory = w.BoundedIntText(value=512, min=128, max=10_240, description="Memory (MB)", style=style, layout=layout)
    per_million = w.BoundedFloatText(value=prices.per_million_requests, min=0, max=100, step=0.01,
                                     description="$ per million requests", style=style, layout=layout)
    per_gb_s = w.BoundedFloatText(value=prices.per_gb_second, min=0, max=1, step=0.000001,
                                  description="$ per GB-second", style=style, layout=layout)
    free = w.Checkbox(value=True, description="Subtract the free tier", style=style, layout=layout)
    ec2_price = w.BoundedFloatText(value=0.0, min=0, max=1000, step=0.001,
                                   description="EC2 on-demand $ per hour", style=style, layout=layout)
    instances = w.BoundedIntText(value=1, min=1, max=1000, description="Always-on instances",
                                 style=style, layout=layout)
    out = w.HTML()

    def update(_: object = None) -> None:
        chosen = LambdaPrices(per_million.value, per_gb_s.value, prices.free_requests, prices.free_gb_seconds)
        bill = lambda_monthly_cost(requests.value, duration.value, memory.value, prices=chosen,
                                   free_tier=free.value)
        result = compare(requests.value, duration.value, memory.value, instances=instances.value,
                         ec2_hourly=ec2_price.value or None, prices=chosen, free_tier=free.value)
        rows = [
            f"GB-seconds used: {bill['gb_seconds']:,.0f}",
            f"Lambda: requests ${bill['request_cost']:,.2f} + duration ${bill['duration_cost']:,.2f}"
            f" = <b>${bill['total']:,.2f}</b> a month",
            f"Break-even: an always-on instance is cheaper below <b>${result.breakeven_hourly:,.4f}</b>"
            " per hour each",
        ]
        if result.ec2_cost is None:
            rows.append("EC2: enter the on-demand price per hour of your instance type from the EC2 pricing page.")
        else:
            rows.append(f"EC2: {instances.value} instance(s) always on = <b>${result.ec2_cost:,.2f}</b> a month;"
                        f" cheaper here: <b>{result.cheaper}</b>")
        out.value = "<br>".join(rows)

    for widget in (requests, duration, memory, per_million, per_gb_s, free, ec2_price, instances):
        widget.observe(update, names="value")
    update()
    note = w.HTML(f"<small>Lambda prices: x86, US East (N. Virginia), first pricing tier, as of {PRICES_AS_OF} "
                  f"(<a href='{SOURCES[0]}' target='_blank'>Lambda pricing page</a>). Check the pricing pages "
                  "for today's prices and your Region.</small>")
    return w.VBox([requests, duration, memory, per_million, per_gb_s, free, ec2_price, instances, out, note])
