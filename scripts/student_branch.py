"""Commit the learners' tree of the course to its ``student`` branch.

The book's launch buttons (Binder, JupyterHub) open this branch, never the
source: it holds the walkthroughs, the student copy of each lab (no worked
solution, no hidden check), the chapter pages, labkit and the Binder files
(see labkit.grading.book.student_tree).

    python scripts/student_branch.py [--root .] [--branch student] [--push origin]

The commit is made with git's plumbing, through a temporary index: the work
tree, the index and the branch checked out are not touched. The new commit's
parent is the branch's previous commit (if any), so the history of what
learners were given is kept; when the tree has not changed, no commit is made.
.github/workflows/student-branch.yml runs this on every push to main.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from labkit.grading.book import STUDENT_BRANCH, student_tree  # noqa: E402


def git(root: Path, *args: str, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True,
                            env={**os.environ, **(env or {})})
    if result.returncode != 0:
        raise SystemExit(f"git {' '.join(args)}: {result.stderr.strip()}")
    return result.stdout.strip()


def publish(root: Path, branch: str = STUDENT_BRANCH, message: str | None = None) -> str | None:
    """Commit the learners' tree of ``root`` to ``branch``; returns the new
    commit, or None when the branch already holds this tree."""
    source = git(root, "rev-parse", "--short", "HEAD")
    with tempfile.TemporaryDirectory() as work:
        tree_dir = Path(work) / "tree"
        student_tree(root, tree_dir)
        env = {"GIT_INDEX_FILE": str(Path(work) / "index"), "GIT_WORK_TREE": str(tree_dir)}
        git(root, "add", "--all", "--force", ".", env=env)
        tree = git(root, "write-tree", env=env)
    ref = f"refs/heads/{branch}"
    parent = subprocess.run(["git", "-C", str(root), "rev-parse", "--verify", "--quiet", ref],
                            capture_output=True, text=True).stdout.strip()
    if parent and git(root, "rev-parse", f"{parent}^{{tree}}") == tree:
        return None
    args = ["commit-tree", tree, "-m", message or f"The learners' copy of {source}"]
    if parent:
        args += ["-p", parent]
    commit = git(root, *args)
    git(root, "update-ref", ref, commit, *([parent] if parent else []))
    return commit


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="the course's repository (default: this one)")
    parser.add_argument("--branch", default=STUDENT_BRANCH, help=f"the branch to commit to (default: {STUDENT_BRANCH})")
    parser.add_argument("--push", metavar="REMOTE", help="push the branch to this remote afterwards")
    args = parser.parse_args(argv)
    commit = publish(args.root.resolve(), args.branch)
    print(f"{args.branch}: {commit}" if commit else f"{args.branch}: unchanged")
    if args.push:
        git(args.root, "push", args.push, f"refs/heads/{args.branch}:refs/heads/{args.branch}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
