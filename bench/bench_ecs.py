"""ECS: the lab's first cell, and how long a service takes to replace a stopped task. (A benchmark, not a test.)

Prints:

* the ECS lab's first cell (its ``setup`` cell: ``import labkit``, the
  sandbox, clients, the lab's images and cluster) in a fresh kernel, median of
  a few runs (goal: under 1.0 s, as for the other labs);
* for a Fargate service of 2 tasks, after ``StopTask`` of one: the sandbox
  seconds until the service runs 2 tasks again (the clock moved 1 s at a
  time, frozen in between), and the wall-clock time that took.

Run: ``.venv/bin/python bench/bench_ecs.py [runs]``
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))


def setup_cell() -> str:
    nb = nbformat.read(ROOT / "labs" / "ecs.ipynb", as_version=4)
    return next(c.source for c in nb.cells if "setup" in c.metadata.get("tags", []))


def replacement(rounds: int) -> tuple[list[float], list[float]]:
    import labkit

    sandbox_seconds, wall_seconds = [], []
    for _ in range(rounds):
        lab = labkit.start(reset=True)
        ecs, ec2 = lab.client("ecs"), lab.client("ec2")
        subnets = [s["SubnetId"] for s in ec2.describe_subnets()["Subnets"]][:2]
        lab.ecs.register_image("shop/web:1", lambda environ, start: (start("200 OK", []), [b"web"])[1])
        ecs.create_cluster(clusterName="bench")
        definition = ecs.register_task_definition(
            family="web", requiresCompatibilities=["FARGATE"], networkMode="awsvpc", cpu="256", memory="512",
            containerDefinitions=[{"name": "web", "image": "shop/web:1", "portMappings": [{"containerPort": 80}]}],
        )["taskDefinition"]["taskDefinitionArn"]
        ecs.create_service(cluster="bench", serviceName="web", taskDefinition=definition, desiredCount=2,
                           launchType="FARGATE", networkConfiguration={"awsvpcConfiguration": {"subnets": subnets}})
        with lab.clock.frozen():
            lab.clock.advance(60)
            victim = ecs.list_tasks(cluster="bench", serviceName="web", desiredStatus="RUNNING")["taskArns"][0]
            ecs.stop_task(cluster="bench", task=victim)
            started, waited = time.perf_counter(), 0
            while ecs.describe_services(cluster="bench", services=["web"])["services"][0]["runningCount"] < 2:
                lab.clock.advance(1)
                waited += 1
                if waited > 600:
                    raise RuntimeError("the service did not replace its task in 600 sandbox seconds")
            wall_seconds.append(time.perf_counter() - started)
            sandbox_seconds.append(waited)
    lab.reset()
    return sandbox_seconds, wall_seconds


def main(runs: int = 3) -> None:
    from bench_notebooks import first_cell_seconds

    first = first_cell_seconds(runs, setup_cell())
    print(f"ECS lab's first cell in a fresh kernel: median {statistics.median(first):.2f} s "
          f"over {runs} runs (goal: under 1.0 s)")
    sandbox, wall = replacement(5)
    print(f"a service replaces a stopped task: {statistics.median(sandbox):.0f} sandbox seconds, "
          f"median {statistics.median(wall) * 1000:.0f} ms of wall-clock time over 5 runs")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
