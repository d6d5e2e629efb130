"""How much the grader costs over just running the notebooks.

Grades N copies of a lab's solved notebook with ``-j J``, then executes the same
N notebooks with plain nbclient, J at a time in worker processes: the floor any
grader that runs each submission in a fresh kernel must pay. Prints both times
and their ratio; the machine may be shared, so the rounds alternate and the
fastest of each side counts. A figure, not a test: nothing is asserted.

    .venv/bin/python bench/bench_grade.py                      # the mini lab, 50 copies, -j 2
    .venv/bin/python bench/bench_grade.py --lab labs/sqs.ipynb -n 10
"""

from __future__ import annotations

import argparse
import multiprocessing
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from labkit.grading import GradeOptions, grade, kernel_environment

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_LAB = ROOT / "tests" / "fixtures" / "grading" / "mini_lab.ipynb"


def execute(path: str) -> None:
    """Run one notebook top to bottom with nbclient, as a plain CI job would (the
    kernel is killed at the end, as the grader does; a graceful shutdown costs
    about 0.2 s more per notebook)."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, kernel_name="python3", timeout=600, allow_errors=True, shutdown_kernel="immediate")
    client.execute(env=kernel_environment(), stderr=subprocess.DEVNULL)  # the kernel's own log, as the grader does


def floor(paths: list[Path], jobs: int) -> float:
    started = time.perf_counter()
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        list(pool.map(execute, [str(p) for p in paths]))
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lab", type=Path, default=DEFAULT_LAB, help="source lab (default: the grader's mini lab)")
    parser.add_argument("-n", type=int, default=50, help="copies to grade (default 50)")
    parser.add_argument("-j", "--jobs", type=int, default=2, help="kernels at a time (default 2)")
    parser.add_argument("--repeat", type=int, default=2,
                        help="rounds, grader and floor alternating; the fastest of each counts (default 2)")
    args = parser.parse_args()

    graded: list[float] = []
    plain: list[float] = []
    scores: set[float] = set()
    with tempfile.TemporaryDirectory(prefix="labkit-bench-") as tmp:
        folder = Path(tmp) / "submissions"
        folder.mkdir()
        # A solved submission is the source itself: both sides run exactly the same cells.
        paths = [folder / f"learner-{n:03d}.ipynb" for n in range(args.n)]
        for path in paths:
            shutil.copy(args.lab, path)
        for _ in range(args.repeat):
            started = time.perf_counter()
            report = grade(args.lab, [folder], Path(tmp) / "grades.csv", options=GradeOptions(jobs=args.jobs))
            graded.append(time.perf_counter() - started)
            scores |= {g.score for g in report.grades}
            for row in report.grades:
                if row.score != row.max_score:  # a solved copy should get full marks: say why not
                    print(f"  note: {row.submission}: {row.score:g}/{row.max_score:g} {row.status} {row.detail}")
            plain.append(floor(paths, args.jobs))

    best, base = min(graded), min(plain)
    cores = multiprocessing.cpu_count()
    print(f"lab {args.lab.name}: {args.n} notebooks, {args.jobs} kernels at a time, on {cores} cores, "
          f"fastest of {args.repeat} rounds")
    print(f"  labkit grade (incl. the source's reference run): {best:7.1f} s   {best / args.n:5.2f} s/notebook"
          f"   (rounds: {', '.join(f'{t:.1f}' for t in graded)})")
    print(f"  plain nbclient, same notebooks (the floor):       {base:7.1f} s   {base / args.n:5.2f} s/notebook"
          f"   (rounds: {', '.join(f'{t:.1f}' for t in plain)})")
    print(f"  ratio grade / floor: {best / base:.2f}x   (scores seen: {', '.join(f'{s:g}' for s in sorted(scores))})")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
