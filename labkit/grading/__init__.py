"""Student copies of labs, and grading of learners' submissions against their source.

::

    labkit release labs/ --out release/
    labkit grade labs/sqs.ipynb submissions/ --out grades.csv --json grades.json -j 2
    labkit feedback grades.json --out feedback/            # a page per learner
    labkit export grades.json --lms moodle --out moodle.csv  # or --lms canvas --roster ...

A class too large for one machine is graded in shards, one per machine, and merged::

    labkit grade labs/sqs.ipynb submissions/ --shard 2/4 --out 2.csv --json 2.json
    labkit merge 1.json 2.json 3.json 4.json --out grades.csv --json grades.json

One module per job:

- :mod:`~labkit.grading.release`   the lab format: parse a source lab, stub its
  solutions, write student copies (``labkit release``);
- :mod:`~labkit.grading.assemble`  rebuild a submission on its source: the
  source's cells, only the learner's answers;
- :mod:`~labkit.grading.runner`    run a rebuilt notebook in a fresh kernel
  (nbclient), with time and memory limits, no credentials, and the agent's
  requests around each check cell;
- :mod:`~labkit.grading.agent`     the code the grader sends into the kernel:
  snapshot, restore, a fresh checker that records every check, and its seal;
- :mod:`~labkit.grading.score`     the source's own reference run, points,
  statuses and feedback;
- :mod:`~labkit.grading.gradebook` the CSV and JSON files, and ``--resume``;
- :mod:`~labkit.grading.pool`      :func:`grade`: worker processes, progress;
- :mod:`~labkit.grading.shards`    ``--shard i/N``: the split, and the merge;
- :mod:`~labkit.grading.feedback`  one HTML feedback page per submission;
- :mod:`~labkit.grading.lms`       the Canvas and Moodle import files;
- :mod:`~labkit.grading.records`   the data all of them pass around.

How one submission is graded:

1. **Rebuild.** Only the learner's answer cells are taken from the submission
   (by cell id, else by their ``ex:<id>`` tag); every other cell is the source's.
2. **Run.** The rebuilt notebook runs top to bottom in a fresh kernel, in a
   temporary folder, without AWS credentials, with a time limit per cell.
3. **Check, with a clean checker.** Before each check cell the grader undoes
   what the learner's code may have changed and loads a fresh copy of
   :mod:`labkit.check` from the source text the grader itself sends; after the
   cell it collects that checker's records through its own request, tagged with
   a one-time nonce, and verifies that no function of the checker was replaced.
   Points come only from those records, never from what the notebook shows.
4. **Score.** Each check earns the points it has in the source's own run, and
   feedback says what was expected and found (for hidden checks only the
   requirement, the verdict and the hint).

The limits of this (a learner's code runs in the same process as the checks)
are written down in the instructors' page of the book.

The package re-exports what a caller needs (:func:`grade` and its options and
results, the lab format's names); the functions named like their module
(``release``, ``assemble``, ``score``) are imported from it:
``from labkit.grading.release import release``.
"""

from labkit.grading.assemble import Assembly
from labkit.grading.feedback import write_feedback
from labkit.grading.gradebook import Gradebook, previous_grades, read_gradebook, write_csv, write_json
from labkit.grading.lms import ExportError, export
from labkit.grading.pool import Progress, grade, submission_paths
from labkit.grading.records import (
    STATUSES,
    CellRun,
    CheckFeedback,
    CheckRecord,
    ExerciseGrade,
    GradeOptions,
    GradeReport,
    GradingSetupError,
    RunResult,
    SubmissionGrade,
)
from labkit.grading.release import (
    Lab,
    LabFormatError,
    parse_lab,
    read_notebook,
    stub_source,
    student_copy,
)
from labkit.grading.runner import kernel_environment, run_notebook
from labkit.grading.score import Reference
from labkit.grading.shards import MergeError, Shard, merge

__all__ = [
    "STATUSES",
    "Assembly",
    "CellRun",
    "CheckFeedback",
    "CheckRecord",
    "ExerciseGrade",
    "ExportError",
    "GradeOptions",
    "GradeReport",
    "Gradebook",
    "GradingSetupError",
    "Lab",
    "LabFormatError",
    "MergeError",
    "Progress",
    "Reference",
    "RunResult",
    "Shard",
    "SubmissionGrade",
    "export",
    "grade",
    "kernel_environment",
    "merge",
    "parse_lab",
    "previous_grades",
    "read_gradebook",
    "read_notebook",
    "run_notebook",
    "stub_source",
    "student_copy",
    "submission_paths",
    "write_csv",
    "write_feedback",
    "write_json",
]
