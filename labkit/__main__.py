"""The ``labkit`` command: student copies of labs, and grading of submissions.

::

    labkit release labs/ --out release/
    labkit grade labs/sqs.ipynb submissions/ --out grades.csv --json grades.json -j 2 --timeout 60
    labkit grade labs/sqs.ipynb submissions/ --out grades.csv --resume
    labkit grade labs/sqs.ipynb submissions/ --shard 1/4 --out shard-1.csv --json shard-1.json
    labkit merge shard-*.json --out grades.csv --json grades.json
    labkit feedback grades.json --out feedback/
    labkit export grades.json --lms canvas --roster canvas-gradebook.csv --out canvas.csv
    labkit export grades.json --lms moodle --out moodle.csv

``python -m labkit ...`` is the same command. The work is done in
:mod:`labkit.grading`; this module only reads the command line.

Exit status: 0 when everything was graded (bad submissions included: their
status says why); 1 when the grader itself failed on some submission (run
again with ``--resume``; ``export`` leaves those rows out and says so); 2 for a
usage error, a malformed lab, a source lab whose own solutions fail its
checks, or shards that do not make one whole run; 130 when interrupted.
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
from labkit.grading.feedback import write_feedback
from labkit.grading.lms import DEFAULT_KEY, LMS_NAMES, export
from labkit.grading.release import release
from labkit.grading.shards import Shard, merge


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
    gr.add_argument("--shard", metavar="I/N",
                    help="grade only shard I of N (counting from 1) of the sorted submissions; needs --json; "
                         "then labkit merge")

    me = commands.add_parser("merge", help="merge the gradebooks of all the shards of one run into one")
    me.add_argument("shards", nargs="+", help="every shard's JSON (labkit grade --shard I/N --json ...)")
    me.add_argument("--out", required=True, help="the gradebook CSV to write")
    me.add_argument("--json", dest="json_path", help="also write the merged JSON with all feedback")

    fe = commands.add_parser("feedback", help="write one HTML feedback page per submission")
    fe.add_argument("gradebook", help="a gradebook JSON (labkit grade --json, or labkit merge --json)")
    fe.add_argument("--out", required=True, help="folder for the pages (alice.ipynb gives alice.html)")

    ex = commands.add_parser("export", help="write a gradebook file that Canvas or Moodle imports")
    ex.add_argument("gradebook", help="a gradebook JSON (labkit grade --json, or labkit merge --json)")
    ex.add_argument("--lms", required=True, choices=LMS_NAMES, help="the LMS to import the file into")
    ex.add_argument("--out", required=True, help="the CSV to write")
    ex.add_argument("--roster", help="Canvas: the gradebook CSV exported from the course (its identity columns)")
    ex.add_argument("--key", help="the column that holds the learner's name, which is the submission's file name "
                                  f"without .ipynb (default: {DEFAULT_KEY['canvas']!r} for Canvas, "
                                  f"{DEFAULT_KEY['moodle']!r} for Moodle)")
    ex.add_argument("--assignment", help="the assignment's column header (default: the lab's name)")
    return parser


def _other_command(args: argparse.Namespace) -> int:
    """``merge``, ``feedback`` and ``export``."""
    if args.command == "merge":
        report = merge(args.shards, args.out, json_path=args.json_path)
        print(f"labkit: {report.lab}: {len(report.grades)} submissions from {len(args.shards)} shards in {args.out}",
              file=sys.stderr)
        return 0
    if args.command == "feedback":
        pages = write_feedback(args.gradebook, args.out)
        print(f"labkit: {len(pages)} feedback pages in {args.out}", file=sys.stderr)
        return 0
    left_out = export(args.gradebook, args.lms, args.out, roster=args.roster, key=args.key, assignment=args.assignment)
    if left_out:
        print(f"labkit: left out, the grader failed on them (grade again with --resume): {', '.join(left_out)}",
              file=sys.stderr)
    return 1 if left_out else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "release":
            for path in release(args.source, args.out):
                print(path)
            return 0
        if args.command != "grade":
            return _other_command(args)
        if args.jobs < 1 or args.timeout <= 0:
            print("labkit: error: --jobs and --timeout must be positive", file=sys.stderr)
            return 2
        options = GradeOptions(timeout=args.timeout, jobs=args.jobs, kernel_name=args.kernel,
                               max_output=args.max_output, memory_mb=args.memory_mb or None)
        progress = Progress()
        try:
            shard = Shard.parse(args.shard) if args.shard else None
            report = grade(args.source, args.submissions, args.out, json_path=args.json_path, options=options,
                           resume=args.resume, progress=progress.update, shard=shard)
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
        + (f"(shard {args.shard}) " if args.shard else "")
        + f"({report.graded} graded, {report.reused} kept from before"
        + (f", {failed} failed in the grader: run again with --resume" if failed else "") + ")",
        file=sys.stderr,
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
