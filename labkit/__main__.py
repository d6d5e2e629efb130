"""The ``labkit`` command: student copies of labs, and grading of submissions.

::

    labkit release labs/ --out release/
    labkit grade labs/sqs.ipynb submissions/ --out grades.csv --json grades.json -j 2 --timeout 60
    labkit grade labs/sqs.ipynb submissions/ --out grades.csv --resume

``python -m labkit ...`` is the same command. The work is done in
:mod:`labkit.grading`; this module only reads the command line.

Exit status: 0 when everything was graded (bad submissions included: their
status says why); 1 when the grader itself failed on some submission (run
again with ``--resume``); 2 for a usage error, a malformed lab, or a source
lab whose own solutions fail its checks; 130 when interrupted.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from labkit.grading import (
    GradeOptions,
    GradingSetupError,
    LabFormatError,
    Progress,
    grade,
)
from labkit.grading.release import release


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="labkit", description="Release and grade the course's labs.")
    commands = parser.add_subparsers(dest="command", required=True)

    rel = commands.add_parser("release", help="write student copies of labs (solutions replaced by stubs)")
    rel.add_argument("source", help="a lab notebook or a folder of them (labs/)")
    rel.add_argument("--out", required=True, help="folder for the student copies")

    gr = commands.add_parser("grade", help="grade submissions of one lab")
    gr.add_argument("source", help="the lab's source notebook, with solutions (labs/<chapter>.ipynb)")
    gr.add_argument("submissions", nargs="+", help="submitted notebooks, or folders of them")
    gr.add_argument("--out", required=True, help="the gradebook CSV to write")
    gr.add_argument("--json", dest="json_path", help="also write scores with all feedback as JSON")
    gr.add_argument("-j", "--jobs", type=int, default=1, help="kernels run in parallel (default 1)")
    gr.add_argument("--timeout", type=float, default=60.0, help="seconds any one cell may run (default 60)")
    gr.add_argument("--resume", action="store_true",
                    help="keep rows already in --out for unchanged submissions; grade the rest")
    gr.add_argument("--max-output", type=int, default=1_000_000,
                    help="bytes of output before a submission's status is output-limit (default 1000000)")
    gr.add_argument("--memory-mb", type=int, default=4096,
                    help="address-space limit of each kernel in MiB, 0 for none (default 4096)")
    gr.add_argument("--kernel", default="python3", help="Jupyter kernel name (default python3)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "release":
            for path in release(args.source, args.out):
                print(path)
            return 0
        if args.jobs < 1 or args.timeout <= 0:
            print("labkit: error: --jobs and --timeout must be positive", file=sys.stderr)
            return 2
        options = GradeOptions(timeout=args.timeout, jobs=args.jobs, kernel_name=args.kernel,
                               max_output=args.max_output, memory_mb=args.memory_mb or None)
        progress = Progress()
        try:
            report = grade(args.source, args.submissions, args.out, json_path=args.json_path, options=options,
                           resume=args.resume, progress=progress.update)
        finally:
            progress.close()
    except KeyboardInterrupt:
        print("labkit: interrupted; what was graded is saved; run again with --resume", file=sys.stderr)
        return 130
    except (LabFormatError, GradingSetupError, FileNotFoundError, ValueError) as error:
        print(f"labkit: error: {error}", file=sys.stderr)
        return 2
    failed = sum(g.status == "grader-error" for g in report.grades)
    print(
        f"labkit: {report.lab}: {len(report.grades)} submissions in {args.out} "
        f"({report.graded} graded, {report.reused} kept from before"
        + (f", {failed} failed in the grader: run again with --resume" if failed else "") + ")",
        file=sys.stderr,
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
