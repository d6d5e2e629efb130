"""What the same web workload costs a month on EC2, on ECS with Fargate, and on Lambda.

Three pricing models, side by side (the part opener "Choosing compute"):

* **EC2**: each instance is billed for the time it runs, busy or idle; a
  month of an always-on instance is its hourly price times about 730 hours.
* **ECS on Fargate**: each task is billed for the vCPU and memory it asks
  for, while it runs; a month of an always-on task is
  ``(vCPUs x price per vCPU-hour + GB x price per GB-hour) x 730``.
  (ECS on EC2 instances is billed as EC2: ECS itself adds no charge.)
* **Lambda**: requests and GB-seconds, minus the free tier
  (:mod:`labkit.notebook.lambda_pricing`, whose prices were read on AWS's
  pages as of its ``PRICES_AS_OF``).

Only the Lambda prices are built in. EC2 and Fargate prices depend on the
instance type, the task size and the Region, and change; the functions take
them as arguments, and the calculator's fields for them start empty, to be
filled from AWS's pricing pages (:data:`PRICING_PAGES`). Where no price is
given, :func:`breakeven` answers the other question: below which price the
always-on option costs less than Lambda.

Plain arithmetic, nothing emulated; it leaves out what every option also pays
for (load balancer, logs, data transfer, EBS volumes) and the hours of people
it takes to run servers.
"""

from __future__ import annotations

from dataclasses import dataclass

from labkit.notebook import lambda_pricing, static_forms

__all__ = [
    "HOURS_PER_MONTH",
    "PRICING_PAGES",
    "Breakeven",
    "Costs",
    "breakeven",
    "calculator",
    "costs",
    "ec2_monthly",
    "fargate_monthly",
    "lambda_monthly",
    "static_calculator",
    "summary_lines",
]

HOURS_PER_MONTH = lambda_pricing.HOURS_PER_MONTH
#: Where to read today's prices.
PRICING_PAGES = {
    "EC2": "https://aws.amazon.com/ec2/pricing/on-demand/",
    "Fargate": "https://aws.amazon.com/fargate/pricing/",
    "Lambda": lambda_pricing.SOURCES[0],
}


def ec2_monthly(hourly_price: float, instances: int, hours: float = HOURS_PER_MONTH) -> float:
    """``instances`` instances running ``hours`` a month at ``hourly_price`` each."""
    return lambda_pricing.ec2_monthly_cost(hourly_price, instances, hours)


def fargate_monthly(vcpu_hour: float, gb_hour: float, vcpus: float, memory_gb: float, tasks: int,
                    hours: float = HOURS_PER_MONTH) -> float:
    """``tasks`` Fargate tasks of ``vcpus`` vCPUs and ``memory_gb`` GB running ``hours`` a month."""
    if min(vcpu_hour, gb_hour, vcpus, memory_gb, tasks, hours) < 0:
        raise ValueError("prices, sizes, counts and hours cannot be negative")
    return (vcpus * vcpu_hour + memory_gb * gb_hour) * tasks * hours


def lambda_monthly(requests: int, duration_ms: float, memory_mb: int, *, free_tier: bool = True) -> float:
    """Lambda's bill for the month (requests + GB-seconds, minus the free tier)."""
    return lambda_pricing.lambda_monthly_cost(requests, duration_ms, memory_mb, free_tier=free_tier)["total"]


@dataclass(frozen=True)
class Breakeven:
    """For one workload: Lambda's bill, and the prices below which the always-on options cost less."""

    lambda_cost: float
    ec2_hourly: float  # per instance, for the number of instances asked
    fargate_task_hourly: float  # per task (vCPU and memory together), for the number of tasks asked


def breakeven(requests: int, duration_ms: float, memory_mb: int, *, instances: int = 2, tasks: int = 2) -> Breakeven:
    """Lambda's monthly cost, and the hourly price per instance (per task) at
    which ``instances`` always-on instances (``tasks`` always-on tasks) cost as much."""
    cost = lambda_monthly(requests, duration_ms, memory_mb)
    return Breakeven(cost, lambda_pricing.breakeven_hourly_price(cost, instances),
                     lambda_pricing.breakeven_hourly_price(cost, tasks))


@dataclass(frozen=True)
class Costs:
    """A month of one workload on each option (``None`` where no price was given)."""

    ec2: float | None
    fargate: float | None
    lambda_: float

    @property
    def cheapest(self) -> str:
        found = {"EC2": self.ec2, "ECS on Fargate": self.fargate, "Lambda": self.lambda_}
        priced = {name: value for name, value in found.items() if value is not None}
        return min(priced, key=lambda name: priced[name])


def costs(requests: int, duration_ms: float, memory_mb: int, *, ec2_hourly: float | None = None, instances: int = 2,
          vcpu_hour: float | None = None, gb_hour: float | None = None, task_vcpus: float = 0.5,
          task_gb: float = 1.0, tasks: int = 2) -> Costs:
    """The month on each option; EC2 and Fargate only where their prices are given."""
    ec2 = None if not ec2_hourly else ec2_monthly(ec2_hourly, instances)
    fargate = None if not (vcpu_hour and gb_hour) else fargate_monthly(vcpu_hour, gb_hour, task_vcpus, task_gb, tasks)
    return Costs(ec2, fargate, lambda_monthly(requests, duration_ms, memory_mb))


def summary_lines(requests: float, duration_ms: float, memory_mb: float, *, ec2_hourly: float = 0,
                  instances: float = 2, vcpu_hour: float = 0, gb_hour: float = 0, task_vcpus: float = 0.5,
                  task_gb: float = 1.0, tasks: float = 2) -> list[str]:
    """What the calculator shows for the numbers in its fields, as lines of HTML
    (counts are truncated to whole numbers, memory to at least 128 MB, as the
    widget does). :func:`static_calculator`'s script writes the same lines."""
    found = costs(int(requests), duration_ms, max(int(memory_mb), 128), ec2_hourly=ec2_hourly, instances=int(instances),
                  vcpu_hour=vcpu_hour, gb_hour=gb_hour, task_vcpus=task_vcpus, task_gb=task_gb, tasks=int(tasks))
    even = breakeven(int(requests), duration_ms, max(int(memory_mb), 128), instances=max(int(instances), 1),
                     tasks=max(int(tasks), 1))
    rows = [f"Lambda: <b>${found.lambda_:,.2f}</b> a month"]
    rows.append(f"EC2: <b>${found.ec2:,.2f}</b> a month" if found.ec2 is not None else
                f"EC2: enter a price; below <b>${even.ec2_hourly:,.4f}</b> per instance-hour it costs less than Lambda")
    rows.append(f"ECS on Fargate: <b>${found.fargate:,.2f}</b> a month" if found.fargate is not None else
                f"ECS on Fargate: enter prices; below <b>${even.fargate_task_hourly:,.4f}</b> per task-hour it "
                "costs less than Lambda")
    rows.append(f"Cheapest of those priced: <b>{found.cheapest}</b>")
    return rows


#: The calculator's fields: (name, label, default, maximum, widget step); all start at 0 or more.
FIELDS = (
    ("requests", "Requests per month", 5_000_000, 10**12, 100_000),
    ("duration_ms", "Average duration (ms)", 200, 900_000, 1),
    ("memory_mb", "Lambda memory (MB)", 512, 10_240, 64),
    ("ec2_hourly", "EC2 $ per instance-hour", 0, 1000, 0.001),
    ("instances", "Always-on instances", 2, 1000, 1),
    ("vcpu_hour", "Fargate $ per vCPU-hour", 0, 10, 0.0001),
    ("gb_hour", "Fargate $ per GB-hour", 0, 10, 0.0001),
    ("task_vcpus", "Fargate task vCPUs", 0.5, 16, 0.25),
    ("task_gb", "Fargate task memory (GB)", 1, 120, 0.5),
    ("tasks", "Always-on tasks", 2, 1000, 1),
)

# summary_lines, costs, breakeven and lambda_pricing.lambda_monthly_cost (free
# tier subtracted), operation for operation.
_LINES_JS = """\
    var requests = Math.trunc(v.requests), memory = Math.max(Math.trunc(v.memory_mb), 128);
    var instances = Math.trunc(v.instances), tasks = Math.trunc(v.tasks);
    var used = requests * (memory / 1024) * (Math.ceil(v.duration_ms) / 1000);
    var lambda = Math.max(0, requests - C.free_requests) / 1000000 * C.per_million +
      Math.max(0.0, used - C.free_gb_seconds) * C.per_gb_second;
    var ec2 = v.ec2_hourly ? v.ec2_hourly * instances * C.hours : null;
    var fargate = (v.vcpu_hour && v.gb_hour) ?
      (v.task_vcpus * v.vcpu_hour + v.task_gb * v.gb_hour) * tasks * C.hours : null;
    var rows = ["Lambda: <b>$" + fmt(lambda, 2) + "</b> a month"];
    rows.push(ec2 !== null ? "EC2: <b>$" + fmt(ec2, 2) + "</b> a month" :
      "EC2: enter a price; below <b>$" + fmt(lambda / (Math.max(instances, 1) * C.hours), 4) +
      "</b> per instance-hour it costs less than Lambda");
    rows.push(fargate !== null ? "ECS on Fargate: <b>$" + fmt(fargate, 2) + "</b> a month" :
      "ECS on Fargate: enter prices; below <b>$" + fmt(lambda / (Math.max(tasks, 1) * C.hours), 4) +
      "</b> per task-hour it costs less than Lambda");
    var cheapest = null, least = null;
    [["EC2", ec2], ["ECS on Fargate", fargate], ["Lambda", lambda]].forEach(function (option) {
      if (option[1] !== null && (least === null || option[1] < least)) { cheapest = option[0]; least = option[1]; }
    });
    rows.push("Cheapest of those priced: <b>" + cheapest + "</b>");
    return rows;"""


def static_calculator() -> str:
    """The calculator as one self-contained piece of HTML (a form and an inline
    script that computes :func:`summary_lines` in the reader's browser): what
    the book's page shows, where no kernel runs the widget."""
    prices = lambda_pricing.US_EAST_1_X86
    fields = [static_forms.Field(name, label, default, 0, maximum) for name, label, default, maximum, _step in FIELDS]
    constants = {"free_requests": prices.free_requests, "free_gb_seconds": prices.free_gb_seconds,
                 "per_million": prices.per_million_requests, "per_gb_second": prices.per_gb_second,
                 "hours": HOURS_PER_MONTH}
    return static_forms.form("Compute cost calculator", fields, _LINES_JS, constants, _note())


def _note() -> str:
    links = " ".join(f"<a href='{url}' target='_blank' rel='noopener'>{name}</a>" for name, url in PRICING_PAGES.items())
    return (f"Lambda prices built in: x86, US East (N. Virginia), as of {lambda_pricing.PRICES_AS_OF}. "
            f"Pricing pages: {links}.")


def calculator():  # type: ignore[no-untyped-def]
    """An ipywidgets form: one workload, its month on EC2, ECS on Fargate and Lambda.
    The EC2 and Fargate prices start empty: read them on the pricing pages.
    A page without a kernel (the book's) shows :func:`static_calculator` instead."""
    import ipywidgets as w

    style = {"description_width": "220px"}
    layout = w.Layout(width="480px")
    fields = {name: w.BoundedFloatText(value=default, min=0, max=maximum, step=step, description=label, style=style,
                                       layout=layout)
              for name, label, default, maximum, step in FIELDS}
    out = w.HTML()

    def update(_: object = None) -> None:
        out.value = "<br>".join(summary_lines(**{name: field.value for name, field in fields.items()}))

    for field in fields.values():
        field.observe(update, names="value")
    update()
    note = w.HTML(f"<small>{_note()}</small>")
    return static_forms.widget_with_form(w.VBox([*fields.values(), out, note]), static_calculator())
