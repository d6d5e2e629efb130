"""Grading a class in shards: one run of 50 submissions against 2 shards.

Grades N copies of a lab's solved notebook in one run (``-j J``), then the same
N as shards 1/S ... S/S (each ``-j J``), one after the other on this machine,
and merges them. On S machines the shards would run at once: the class would
take the slowest shard plus the merge, which is printed as the estimate. Each
shard pays its own reference run of the source, which a single run pays once.
The merged gradebook is checked to equal the single run's, byte for byte. A
figure, not a test: nothing is asserted. The machine may be shared, so the
rounds alternate (one run, then the shards), the fastest of each counts, and
the load average is printed with the figures.

    .venv/bin/python bench/bench_grading.py                      # the mini lab, 50 copies, 2 shards, -j 2
    .venv/bin/python bench/bench_grading.py -n 100 --shards 4
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from labkit.grading import GradeOptions, Shard, grade, merge

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_LAB = ROOT / "tests" / "fixtures" / "grading" / "mini_lab.ipynb"


def timed(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lab", type=Path, default=DEFAULT_LAB, help="source lab (default: the grader's mini lab)")
    parser.add_argument("-n", type=int, default=50, help="submissions (default 50)")
    parser.add_argument("--shards", type=int, default=2, help="shards (default 2)")
    parser.add_argument("-j", "--jobs", type=int, default=2, help="kernels at a time, in each run (default 2)")
    parser.add_argument("--repeat", type=int, default=2,
                        help="rounds, one run and the shards alternating; the fastest of each counts (default 2)")
    args = parser.parse_args()
    options = GradeOptions(jobs=args.jobs)

    with tempfile.TemporaryDirectory(prefix="labkit-bench-shards-") as tmp:
        root = Path(tmp)
        folder = root / "submissions"
        folder.mkdir()
        for n in range(args.n):  # a solved submission is the source itself
            shutil.copy(args.lab, folder / f"learner-{n:03d}.ipynb")
        shard_files = [root / f"{i}.json" for i in range(1, args.shards + 1)]
        load_before = os.getloadavg()
        singles: list[float] = []
        rounds: list[list[float]] = []
        merges: list[float] = []
        same = True
        for _ in range(args.repeat):
            singles.append(timed(lambda: grade(args.lab, [folder], root / "one.csv", json_path=root / "one.json",
                                               options=options)))
            times = []
            for index in range(1, args.shards + 1):
                shard = Shard(index, args.shards)
                times.append(timed(lambda shard=shard: grade(
                    args.lab, [folder], root / f"{shard.index}.csv", json_path=root / f"{shard.index}.json",
                    options=options, shard=shard)))
            rounds.append(times)
            merges.append(timed(lambda: merge(shard_files, root / "merged.csv", json_path=root / "merged.json")))
            same = same and all((root / f"merged.{ext}").read_bytes() == (root / f"one.{ext}").read_bytes()
                                for ext in ("csv", "json"))
        load_after = os.getloadavg()

    single = min(singles)
    shard_times = min(rounds, key=max)  # the round whose slowest shard was fastest
    merging = min(merges)
    on_machines = max(shard_times) + merging
    print(f"lab {args.lab.name}: {args.n} submissions, {args.jobs} kernels at a time in each run, "
          f"on {multiprocessing.cpu_count()} cores, fastest of {args.repeat} rounds; "
          f"load average {load_before[0]:.1f} before, {load_after[0]:.1f} after")
    print(f"  one run (incl. its reference run):          {single:7.1f} s   {single / args.n:5.2f} s/submission"
          f"   (rounds: {', '.join(f'{t:.1f}' for t in singles)})")
    for index, seconds in enumerate(shard_times, start=1):
        print(f"  shard {index}/{args.shards} (incl. its own reference run):   {seconds:7.1f} s")
    print(f"  shards one after the other, here:           {sum(shard_times):7.1f} s   "
          f"({sum(shard_times) / single:.2f}x one run; each shard also runs the source once)")
    print(f"  merge:                                      {merging:7.2f} s")
    print(f"  on {args.shards} such machines at once (slowest shard + merge): {on_machines:7.1f} s   "
          f"(speed-up over one run: {single / on_machines:.2f}x)")
    print(f"  merged gradebook equals the single run's, byte for byte: {'yes' if same else 'NO'}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
