"""Benchmark: the wall time of ``make test`` (lint, then the whole suite with two workers).

It runs the suite once, so it takes minutes: set ``LABKIT_BENCH_SKIP_SUITE=1``
to leave it out of ``make bench``. Prints the time and pytest's summary line;
asserts nothing (the target, at most 4 minutes on 2 cores with eight chapters,
is for a reader to compare).

    python bench/bench_suite.py [--jobs 4]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_SECONDS = 240


def minutes(seconds: float) -> str:
    return f"{int(seconds // 60)} min {seconds % 60:04.1f} s"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=None, help="pytest-xdist workers (default: make test's JOBS)")
    args = parser.parse_args()
    if os.environ.get("LABKIT_BENCH_SKIP_SUITE"):
        print("make test: skipped (LABKIT_BENCH_SKIP_SUITE is set)")
        return 0
    started = time.perf_counter()
    jobs = [f"JOBS={args.jobs}"] if args.jobs else []
    result = subprocess.run(["make", "--no-print-directory", "test", *jobs], cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    output = result.stdout + result.stderr
    summaries = re.findall(r"^=*\s*(\d+ (?:passed|failed).* in [\d.]+s.*?)\s*=*$", output, re.MULTILINE)
    summary = summaries[-1] if summaries else "no pytest summary"
    verdict = "passed" if result.returncode == 0 else f"FAILED (exit {result.returncode})"
    workers = re.search(r"with (\d+) workers", output)
    print(f"make test with {workers.group(1) if workers else '?'} workers on {os.cpu_count()} cores: "
          f"{minutes(seconds)} wall, {verdict}; "
          f"{summary} (target: at most {minutes(TARGET_SECONDS)} on 2 cores)")
    if result.returncode != 0:
        print(output[-3000:])
    sys.stdout.flush()
    return 0 if result.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
