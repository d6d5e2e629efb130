"""tests/notebooks/variants.py: a variant after another in the same kernel starts from a clean slate."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from nbclient.exceptions import CellExecutionError

from tests.notebooks import variants

LAB = Path(__file__).resolve().parents[2] / "labs" / "sqs.ipynb"  # only its folder matters

FIRST = """\
import boto3
import labkit

lab = labkit.start()
sqs = boto3.client("sqs", region_name="us-east-1")
sqs.create_queue(QueueName="left-behind")
left_behind = "a name of the first variant"
"""

SECOND = """\
import json
import boto3
import labkit

lab = labkit.start()
queues = boto3.client("sqs", region_name="us-east-1").list_queues().get("QueueUrls", [])
print(json.dumps({"names": "left_behind" in globals() or "sqs" in globals(), "queues": queues}))
"""


def notebook(*sources: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in sources])


@pytest.mark.notebook
def test_the_next_variant_sees_no_name_and_no_resource_of_the_last():
    variants.execute(LAB, notebook(FIRST))
    second = variants.execute(LAB, notebook(SECOND))
    seen = json.loads(second.cells[0].outputs[0]["text"])
    assert seen == {"names": False, "queues": []}


@pytest.mark.notebook
def test_a_failed_check_reports_whichever_test_started_the_kernel(monkeypatch):
    monkeypatch.setenv("LABKIT_STRICT", "1")  # a test that forgot to unset it starts the kernel
    variants.close()
    ran = variants.execute(LAB, notebook('import os\nprint(os.environ.get("LABKIT_STRICT"))'))
    assert ran.cells[0].outputs[0]["text"].strip() == "None"


@pytest.mark.notebook
def test_a_variant_that_fails_leaves_no_kernel_behind():
    variants.execute(LAB, notebook(FIRST))
    kernel = variants._current
    with pytest.raises(CellExecutionError):
        variants.execute(LAB, notebook("raise RuntimeError('a broken variant')"))
    assert variants._current is None and kernel is not None and not kernel.alive()
    second = variants.execute(LAB, notebook(SECOND))  # a new kernel: nothing of the first either
    assert json.loads(second.cells[0].outputs[0]["text"]) == {"names": False, "queues": []}
