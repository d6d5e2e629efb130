"""EC2: the lab's first cell, the first EC2 call, and how long a group takes to replace an instance.
(A benchmark, not a test.)

Prints:

* the EC2 lab's first cell (its ``setup`` cell: ``import labkit``, the
  sandbox, clients, the shop's app defined) in a fresh kernel, median of a
  few runs (goal: under 1.0 s, as for the other labs). The setup cell makes
  no EC2 call and does not install the EC2 plane;
* the lab's first EC2 work (the app registered, which installs the EC2 plane; its EC2 and
  Systems Manager clients; the AMI; the default VPC)
  in a fresh kernel after the setup cell: moto loads its AMI and instance
  type data on the first EC2 call, the cost the lab's Step 1 pays;
* for an Auto Scaling group of 2 instances, after ``TerminateInstances`` of
  one: the sandbox seconds until the group has 2 instances ``InService``
  again (the clock moved 1 s at a time, frozen in between), and the
  wall-clock time that took.

Run: ``.venv/bin/python bench/bench_ec2.py [runs]``
"""

from __future__ import annotations

import base64
import statistics
import sys
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

FIRST_EC2_CALLS = (
    "lab.ec2.register_app('shop-web', shop_web)\n"
    "ec2 = lab.client('ec2', region_name=REGION)\n"
    "ssm = lab.client('ssm', region_name=REGION)\n"
    "ssm.get_parameter(Name='/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64')\n"
    "ec2.describe_vpcs(Filters=[{'Name': 'is-default', 'Values': ['true']}])\n"
)


def setup_cell() -> str:
    nb = nbformat.read(ROOT / "labs" / "ec2.ipynb", as_version=4)
    return next(c.source for c in nb.cells if "setup" in c.metadata.get("tags", []))


def cell_after_setup(runs: int, cell: str) -> list[float]:
    """Run the setup cell in a fresh kernel, then time ``cell``."""
    from jupyter_client.manager import start_new_kernel

    times = []
    for _ in range(runs):
        km, kc = start_new_kernel(kernel_name="python3")
        try:
            kc.execute_interactive(f"import os\nos.chdir({str(ROOT / 'labs')!r})\n" + setup_cell(), timeout=120,
                                   output_hook=lambda msg: None)
            started = time.perf_counter()
            reply = kc.execute_interactive(cell, timeout=120, output_hook=lambda msg: None)
            times.append(time.perf_counter() - started)
            if reply["content"]["status"] != "ok":
                raise RuntimeError(f"cell failed: {reply['content']}")
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=True)
    return times


def replacement(rounds: int) -> tuple[list[float], list[float]]:
    import labkit

    sandbox_seconds, wall_seconds = [], []
    for _ in range(rounds):
        lab = labkit.start(reset=True)
        ec2, autoscaling = lab.client("ec2"), lab.client("autoscaling")
        lab.ec2.register_app("bench", lambda environ, start_response: start_response("200 OK", []) or [b"ok"])
        subnets = [s["SubnetId"] for s in ec2.describe_subnets()["Subnets"]][:2]
        ec2.create_launch_template(LaunchTemplateName="bench", LaunchTemplateData={
            "ImageId": "ami-12c6146b", "InstanceType": "t3.micro",
            "UserData": base64.b64encode(b"#!labkit-app bench\n").decode()})
        autoscaling.create_auto_scaling_group(AutoScalingGroupName="bench", MinSize=2, MaxSize=2, DesiredCapacity=2,
                                              LaunchTemplate={"LaunchTemplateName": "bench"},
                                              VPCZoneIdentifier=",".join(subnets))

        def in_service(autoscaling=autoscaling) -> list[str]:  # noqa: ANN001
            group = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=["bench"])["AutoScalingGroups"][0]
            return [i["InstanceId"] for i in group["Instances"] if i["LifecycleState"] == "InService"]

        lab.clock.advance(30)
        victim = in_service()[0]
        with lab.clock.frozen():
            ec2.terminate_instances(InstanceIds=[victim])
            started, wall = lab.clock.now(), time.perf_counter()
            while True:
                lab.clock.advance(1)
                serving = in_service()
                if victim not in serving and len(serving) == 2:
                    break
            sandbox_seconds.append(lab.clock.now() - started)
            wall_seconds.append(time.perf_counter() - wall)
    return sandbox_seconds, wall_seconds


def main(runs: int = 3) -> None:
    from bench_notebooks import first_cell_seconds

    first = first_cell_seconds(runs, f"import os\nos.chdir({str(ROOT / 'labs')!r})\n" + setup_cell())
    print(f"EC2 lab's first cell in a fresh kernel: median {statistics.median(first):.2f} s "
          f"over {runs} runs (goal: under 1.0 s)")
    calls = cell_after_setup(runs, FIRST_EC2_CALLS)
    print(f"the lab's first EC2 calls (moto loads its AMIs), after the first cell: median {statistics.median(calls):.2f} s "
          f"over {runs} runs")
    sandbox, wall = replacement(5)
    print(f"a group replaces a terminated instance: {statistics.median(sandbox):.0f} sandbox seconds, "
          f"median {statistics.median(wall) * 1000:.0f} ms of wall-clock time over 5 runs")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
