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

from labkit.notebook import lambda_pricing

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


def calculator():  # type: ignore[no-untyped-def]
    """An ipywidgets form: one workload, its month on EC2, ECS on Fargate and Lambda.
    The EC2 and Fargate prices start empty: read them on the pricing pages."""
    import ipywidgets as w

    style = {"description_width": "220px"}
    layout = w.Layout(width="480px")

    def number(value: float, description: str, maximum: float = 10**12, step: float = 1) -> w.BoundedFloatText:
        return w.BoundedFloatText(value=value, min=0, max=maximum, step=step, description=description,
                                  style=style, layout=layout)

    requests = number(5_000_000, "Requests per month", step=100_000)
    duration = number(200, "Average duration (ms)", 900_000)
    memory = number(512, "Lambda memory (MB)", 10_240, 64)
    ec2_price = number(0, "EC2 $ per instance-hour", 1000, 0.001)
    instances = number(2, "Always-on instances", 1000)
    vcpu_hour = number(0, "Fargate $ per vCPU-hour", 10, 0.0001)
    gb_hour = number(0, "Fargate $ per GB-hour", 10, 0.0001)
    task_vcpus = number(0.5, "Fargate task vCPUs", 16, 0.25)
    task_gb = number(1, "Fargate task memory (GB)", 120, 0.5)
    tasks = number(2, "Always-on tasks", 1000)
    out = w.HTML()

    def update(_: object = None) -> None:
        found = costs(int(requests.value), duration.value, max(int(memory.value), 128), ec2_hourly=ec2_price.value,
                      instances=int(instances.value), vcpu_hour=vcpu_hour.value, gb_hour=gb_hour.value,
                      task_vcpus=task_vcpus.value, task_gb=task_gb.value, tasks=int(tasks.value))
        even = breakeven(int(requests.value), duration.value, max(int(memory.value), 128),
                         instances=max(int(instances.value), 1), tasks=max(int(tasks.value), 1))
        rows = [f"Lambda: <b>${found.lambda_:,.2f}</b> a month"]
        rows.append(f"EC2: <b>${found.ec2:,.2f}</b> a month" if found.ec2 is not None else
                    f"EC2: enter a price; below <b>${even.ec2_hourly:,.4f}</b> per instance-hour it costs less than Lambda")
        rows.append(f"ECS on Fargate: <b>${found.fargate:,.2f}</b> a month" if found.fargate is not None else
                    f"ECS on Fargate: enter prices; below <b>${even.fargate_task_hourly:,.4f}</b> per task-hour it "
                    "costs less than Lambda")
        rows.append(f"Cheapest of those priced: <b>{found.cheapest}</b>")
        out.value = "<br>".join(rows)

    fields = (requests, duration, memory, ec2_price, instances, vcpu_hour, gb_hour, task_vcpus, task_gb, tasks)
    for field in fields:
        field.observe(update, names="value")
    update()
    links = " ".join(f"<a href='{url}' target='_blank'>{name}</a>" for name, url in PRICING_PAGES.items())
    note = w.HTML(f"<small>Lambda prices built in: x86, US East (N. Virginia), as of {lambda_pricing.PRICES_AS_OF}. "
                  f"Pricing pages: {links}.</small>")
    return w.VBox([*fields, out, note])
