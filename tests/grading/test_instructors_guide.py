"""The instructors' guide's recipes for a large class: the GitHub Actions workflow
(the guide's copy is .github/workflows/grade.yml), the Kubernetes Indexed Job,
and every ``labkit`` command it shows, read by the command's own parser.

Nothing here runs a kernel: the files are parsed and their parts checked
against each other (shard counts, artifact names, the commands' options).
"""

from __future__ import annotations

import fnmatch
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from labkit.__main__ import _parser
from labkit.grading import Shard

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "book" / "instructors.md"
WORKFLOW = ROOT / ".github" / "workflows" / "grade.yml"


def blocks(language: str) -> list[str]:
    """The guide's fenced code blocks in ``language``."""
    text = GUIDE.read_text(encoding="utf-8")
    return re.findall(rf"^```{language}\n(.*?)^```$", text, flags=re.MULTILINE | re.DOTALL)


def workflow() -> dict[str, Any]:
    return yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))


def manifest() -> list[dict[str, Any]]:
    (text,) = [b for b in blocks("yaml") if "kind: Job" in b]
    return list(yaml.safe_load_all(text))


def commands(script: str, variables: dict[str, str]) -> list[list[str]]:
    """The ``labkit`` commands of a shell script, with its variables filled in."""
    script = script.replace("\\\n", " ")
    found = []
    for line in re.split(r"\n(?=\S)|&&", script):
        words = shlex.split(" ".join(line.split()), comments=True)
        if words and words[0] == "labkit" and "..." not in words:  # not the synopsis
            text = " ".join(words[1:])
            for name, value in sorted(variables.items(), key=lambda item: -len(item[0])):  # $SHARDS before $SHARD
                if f"$(({name} + 1))" in text:
                    text = text.replace(f"$(({name} + 1))", str(int(value) + 1))
                text = text.replace(f"${name}", value)
            found.append(shlex.split(text))
    return found


def test_the_guide_shows_the_workflow_kept_in_the_repository() -> None:
    shown = [b for b in blocks("yaml") if "name: Grade a lab in shards" in b]
    assert shown == [WORKFLOW.read_text(encoding="utf-8")]


def test_the_workflow_runs_only_by_hand_and_grades_every_shard_once() -> None:
    flow = workflow()
    triggers = flow.get("on", flow.get(True))  # YAML 1.1 reads the key on as true
    assert list(triggers) == ["workflow_dispatch"]
    assert flow["permissions"] == {"contents": "read"}
    grade_job, merge_job = flow["jobs"]["grade"], flow["jobs"]["merge"]
    shards = grade_job["strategy"]["matrix"]["shard"]
    assert shards == list(range(1, flow["env"]["SHARDS"] + 1))
    assert grade_job["strategy"]["fail-fast"] is False
    (step,) = [s for s in grade_job["steps"] if "labkit grade" in s.get("run", "")]
    assert step["env"] == {"SHARD": "${{ matrix.shard }}"}
    for shard in shards:
        (command,) = commands(step["run"], {"LAB": "sqs", "SHARD": str(shard), "SHARDS": str(len(shards))})
        args = _parser().parse_args(command)
        assert Shard.parse(args.shard) == Shard(shard, len(shards))
        assert args.json_path == f"shards/{shard}.json" and args.source == "labs/sqs.ipynb"
    # Every shard's artifact has its own name, and the merge downloads them all into one folder.
    (upload,) = [s for s in grade_job["steps"] if s.get("uses", "").startswith("actions/upload-artifact@")]
    (download,) = [s for s in merge_job["steps"] if s.get("uses", "").startswith("actions/download-artifact@")]
    names = [upload["with"]["name"].replace("${{ matrix.shard }}", str(n)) for n in shards]
    assert len(set(names)) == len(shards) and all(fnmatch.fnmatch(n, download["with"]["pattern"]) for n in names)
    assert download["with"]["merge-multiple"] is True and download["with"]["path"] == upload["with"]["path"]
    assert merge_job["needs"] == "grade"
    (run,) = [s["run"] for s in merge_job["steps"] if "labkit merge" in s.get("run", "")]
    merged = commands(run, {"LAB": "sqs"})
    assert [c[0] for c in merged] == ["merge", "feedback", "export"]
    assert merged[0][1] == "shards/*.json"
    # The lab's name reaches the shell through the environment only.
    assert "${{ inputs.lab }}" not in "".join(s.get("run", "") for job in flow["jobs"].values() for s in job["steps"])


def test_the_kubernetes_job_gives_each_pod_its_shard() -> None:
    job, policy = manifest()
    assert (job["apiVersion"], job["kind"]) == ("batch/v1", "Job")
    spec = job["spec"]
    assert spec["completionMode"] == "Indexed" and 1 <= spec["parallelism"] <= spec["completions"]
    pod = spec["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    (container,) = pod["containers"]
    assert container["command"] == ["bash", "-c"]
    seen = []
    for index in range(spec["completions"]):  # JOB_COMPLETION_INDEX runs from 0 to completions - 1
        (command,) = commands(container["args"][0], {"JOB_COMPLETION_INDEX": str(index), "SHARD": str(index + 1)})
        args = _parser().parse_args(command)
        seen.append(Shard.parse(args.shard))
        assert args.resume and args.json_path == f"shards/sqs/{index + 1}.json"
    assert seen == [Shard(i, spec["completions"]) for i in range(1, spec["completions"] + 1)]
    # The graders' pods, and only they, get no way out.
    assert (policy["kind"], policy["spec"]["policyTypes"]) == ("NetworkPolicy", ["Egress"])
    assert "egress" not in policy["spec"]
    assert policy["spec"]["podSelector"]["matchLabels"] == spec["template"]["metadata"]["labels"]


@pytest.mark.parametrize("script", blocks("bash"))
def test_every_labkit_command_in_the_guide_parses(script: str) -> None:
    for command in commands(script, {}):
        _parser().parse_args(command)  # exits on an unknown option or a missing argument
