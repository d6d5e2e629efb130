"""Benchmark: a lab's first cell in a fresh kernel, and each notebook's execution time.

Prints medians over several runs; asserts nothing (timings belong here, not in tests).

    python bench/bench_notebooks.py [--runs 5] [--notebook-runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import nbformat
from jupyter_client.manager import start_new_kernel
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
FIRST_CELL = (
    "import boto3\n"
    "import labkit\n"
    "lab = labkit.start()\n"
    "boto3.client('sqs', region_name='us-east-1').list_queues()\n"
)

#: The same work without labkit: plain moto and boto3 (the floor labkit builds on).
FLOOR_CELL = (
    "import os\n"
    "os.environ.update(AWS_ACCESS_KEY_ID='testing', AWS_SECRET_ACCESS_KEY='testing', AWS_DEFAULT_REGION='us-east-1')\n"
    "import boto3\n"
    "from moto import mock_aws\n"
    "mock = mock_aws()\n"
    "mock.start()\n"
    "boto3.client('sqs', region_name='us-east-1').list_queues()\n"
)


def first_cell_seconds(runs: int, cell: str = FIRST_CELL) -> list[float]:
    """Execute ``cell`` in a new kernel each time; time the cell only."""
    times = []
    for _ in range(runs):
        km, kc = start_new_kernel(kernel_name="python3")
        try:
            started = time.perf_counter()
            reply = kc.execute_interactive(cell, timeout=120, output_hook=lambda msg: None)
            times.append(time.perf_counter() - started)
            if reply["content"]["status"] != "ok":
                raise RuntimeError(f"first cell failed: {reply['content']}")
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=True)
    return times


def notebook_seconds(path: Path, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        nb = nbformat.read(path, as_version=4)
        started = time.perf_counter()
        client = NotebookClient(nb, timeout=600, kernel_name="python3",
                                resources={"metadata": {"path": str(path.parent)}})
        client.execute()
        times.append(time.perf_counter() - started)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs of the first cell")
    parser.add_argument("--notebook-runs", type=int, default=3, help="runs of each notebook")
    args = parser.parse_args()

    floor, cell = [], []
    for _ in range(args.runs):  # alternate, so that both see the same machine
        floor += first_cell_seconds(1, FLOOR_CELL)
        cell += first_cell_seconds(1)
    print(f"first cell (import labkit, start, first SQS call) in a fresh kernel: "
          f"median {statistics.median(cell):.2f} s over {len(cell)} runs "
          f"(min {min(cell):.2f}, max {max(cell):.2f}); target < 0.5 s")
    print(f"the same call with plain moto and boto3, no labkit (the floor): "
          f"median {statistics.median(floor):.2f} s over {len(floor)} runs "
          f"(min {min(floor):.2f}, max {max(floor):.2f})")
    for folder in ("notebooks", "labs"):
        for path in sorted((ROOT / folder).glob("*.ipynb")):
            t = notebook_seconds(path, args.notebook_runs)
            print(f"{folder}/{path.name}: median {statistics.median(t):.1f} s over {len(t)} runs")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
