"""What a Lambda function costs per month, next to an always-on EC2 instance.

AWS bills a Lambda function for two things (the *pricing model*):

* **requests**: every invocation, whatever starts it;
* **duration** in *GB-seconds*: the memory you configure (in GB) times the time
  your code runs (initialisation included), rounded up to the nearest
  millisecond for each invocation.

Each month the free tier takes the first requests and GB-seconds off the bill.
An EC2 instance is billed for every hour it runs, busy or idle.

Nothing here is emulated: this module is plain arithmetic, so that the chapter's
calculator, its static table and the tests all use one function. The
calculator is an ipywidgets form in a kernel; on the book's static page (no
kernel, no widget manager, nothing loaded from elsewhere) the same cell shows
:func:`static_calculator`, a small HTML form whose script is the arithmetic
below written out in JavaScript, with the prices and the free tier filled in
from this module (a test runs it in a browser against the Python). The prices are
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

from labkit.notebook import static_forms
from labkit.notebook.static_forms import Field

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
    "requests_per_month",
    "static_calculator",
    "summary_lines",
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


def summary_lines(requests: int, duration_ms: float, memory_mb: int, *, prices: LambdaPrices = US_EAST_1_X86,
                  free_tier: bool = True, ec2_hourly: float | None = None, instances: int = 1) -> list[str]:
    """What the calculator shows for one workload, as lines of HTML: the
    GB-seconds, Lambda's bill, the break-even hourly price and, with an EC2
    price, the instances' month and which is cheaper. :func:`static_calculator`'s
    script writes the same lines."""
    bill = lambda_monthly_cost(requests, duration_ms, memory_mb, prices=prices, free_tier=free_tier)
    result = compare(requests, duration_ms, memory_mb, instances=instances, ec2_hourly=ec2_hourly or None,
                     prices=prices, free_tier=free_tier)
    rows = [
        f"GB-seconds used: {bill['gb_seconds']:,.0f}",
        f"Lambda: requests ${bill['request_cost']:,.2f} + duration ${bill['duration_cost']:,.2f}"
        f" = <b>${bill['total']:,.2f}</b> a month",
        f"Break-even: an always-on instance is cheaper below <b>${result.breakeven_hourly:,.4f}</b> per hour each",
    ]
    if result.ec2_cost is None:
        rows.append("EC2: enter the on-demand price per hour of your instance type from the EC2 pricing page.")
    else:
        rows.append(f"EC2: {instances} instance(s) always on = <b>${result.ec2_cost:,.2f}</b> a month;"
                    f" cheaper here: <b>{result.cheaper}</b>")
    return rows


def _fields(prices: LambdaPrices) -> list[Field]:
    """The calculator's inputs, shared by the widget and the static form; prices default to ``prices``."""
    return [
        Field("requests", "Requests per month", 5_000_000, 0, 10**12, 100_000, integer=True),
        Field("duration_ms", "Average duration (ms)", 200, 1, 900_000),
        Field("memory_mb", "Memory (MB)", 512, 128, 10_240, 1, integer=True),
        Field("per_million", "$ per million requests", prices.per_million_requests, 0, 100),
        Field("per_gb_second", "$ per GB-second", prices.per_gb_second, 0, 1),
        Field("free_tier", "Subtract the free tier", True, checkbox=True),
        Field("ec2_hourly", "EC2 on-demand $ per hour", 0.0, 0, 1000),
        Field("instances", "Always-on instances", 1, 1, 1000, 1, integer=True),
    ]


_NOTE = ("Lambda prices: x86, US East (N. Virginia), first pricing tier, as of {as_of} "
         "(<a href='{url}' target='_blank' rel='noopener'>Lambda pricing page</a>). "
         "Check the pricing pages for today's prices and your Region.")

# lambda_monthly_cost, compare and summary_lines, operation for operation (so
# that the same floating-point results come out).
_LINES_JS = """\
    var billed = Math.ceil(v.duration_ms);
    var used = v.requests * (v.memory_mb / 1024) * (billed / 1000);
    var requests = v.free_tier ? Math.max(0, v.requests - C.free_requests) : v.requests;
    var gbs = v.free_tier ? Math.max(0.0, used - C.free_gb_seconds) : used;
    var requestCost = requests / 1000000 * v.per_million;
    var durationCost = gbs * v.per_gb_second;
    var total = requestCost + durationCost;
    var even = total / (v.instances * C.hours);
    var rows = [
      "GB-seconds used: " + fmt(used, 0),
      "Lambda: requests $" + fmt(requestCost, 2) + " + duration $" + fmt(durationCost, 2) +
        " = <b>$" + fmt(total, 2) + "</b> a month",
      "Break-even: an always-on instance is cheaper below <b>$" + fmt(even, 4) + "</b> per hour each"
    ];
    if (!v.ec2_hourly) {
      rows.push("EC2: enter the on-demand price per hour of your instance type from the EC2 pricing page.");
    } else {
      var ec2 = v.ec2_hourly * v.instances * C.hours;
      var close = Math.abs(total - ec2) <= Math.max(1e-9 * Math.max(Math.abs(total), Math.abs(ec2)), 1e-9);
      var cheaper = close ? "same" : (total < ec2 ? "Lambda" : "EC2");
      rows.push("EC2: " + v.instances + " instance(s) always on = <b>$" + fmt(ec2, 2) +
                "</b> a month; cheaper here: <b>" + cheaper + "</b>");
    }
    return rows;"""


def static_calculator(prices: LambdaPrices = US_EAST_1_X86) -> str:
    """The calculator as one self-contained piece of HTML: a form and an inline
    script (no file or library loaded) that computes :func:`summary_lines` in
    the reader's browser. The book shows it where a kernel would show the widget."""
    constants = {"free_requests": prices.free_requests, "free_gb_seconds": prices.free_gb_seconds,
                 "hours": HOURS_PER_MONTH}
    return static_forms.form("Lambda cost calculator", _fields(prices), _LINES_JS, constants,
                             _NOTE.format(as_of=PRICES_AS_OF, url=SOURCES[0]))


def calculator(prices: LambdaPrices = US_EAST_1_X86):  # type: ignore[no-untyped-def]
    """An ipywidgets form: requests, duration and memory against always-on
    instances. Every price is an input, prefilled with :data:`US_EAST_1_X86`
    for Lambda and empty (0) for EC2, whose price you read on the EC2 pricing page.

    Displayed in a kernel, it is the widget; its HTML alternative (what a page
    without a kernel shows, like the book's) is :func:`static_calculator`."""
    import ipywidgets as w

    style = {"description_width": "200px"}
    layout = w.Layout(width="460px")
    steps = {"duration_ms": 1, "per_million": 0.01, "per_gb_second": 0.000001, "ec2_hourly": 0.001}
    widgets: dict[str, w.Widget] = {}
    for field in _fields(prices):
        if field.checkbox:
            widgets[field.name] = w.Checkbox(value=field.default, description=field.label, style=style, layout=layout)
        else:
            kind = w.BoundedIntText if field.integer else w.BoundedFloatText
            widgets[field.name] = kind(value=field.default, min=field.minimum, max=field.maximum,
                                       step=field.step or steps[field.name], description=field.label, style=style,
                                       layout=layout)
    out = w.HTML()

    def update(_: object = None) -> None:
        chosen = LambdaPrices(widgets["per_million"].value, widgets["per_gb_second"].value, prices.free_requests,
                              prices.free_gb_seconds)
        out.value = "<br>".join(summary_lines(
            widgets["requests"].value, widgets["duration_ms"].value, widgets["memory_mb"].value, prices=chosen,
            free_tier=widgets["free_tier"].value, ec2_hourly=widgets["ec2_hourly"].value,
            instances=widgets["instances"].value))

    for widget in widgets.values():
        widget.observe(update, names="value")
    update()
    note = w.HTML("<small>" + _NOTE.format(as_of=PRICES_AS_OF, url=SOURCES[0]) + "</small>")
    return static_forms.widget_with_form(w.VBox([*widgets.values(), out, note]), static_calculator(prices))
