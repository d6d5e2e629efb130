"""The suite's notebook machinery (tests/notebooks/executions.py), on small notebooks.

One pytest run, in a subprocess and with the suite's own plugin, executes
four notebooks written here; each test looks at what it reported and saved.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.notebook

COUNTER = """
import pathlib
runs = globals().get("runs", 0) + 1
pathlib.Path("runs.txt").write_text(str(runs))
"""


def notebook(folder: Path, name: str, *sources: str) -> Path:
    nb = new_notebook(cells=[new_markdown_cell("# A notebook")] + [new_code_cell(s) for s in sources])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = folder / f"{name}.ipynb"
    nbformat.write(nb, path)
    return path


def run_pytest(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """pytest with the suite's plugin, in ``folder``, saving executed copies under it."""
    home = folder / "home"
    home.mkdir(exist_ok=True)
    env = {**os.environ, "LABKIT_TEST_HOME": str(home),
           "LABKIT_NETGUARD_LOG": str(home / "netguard.log"),
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.harness", "-p", "no:cacheprovider", "--nbval-lax",
         "--nbval-current-env", "-q", "-rfs", "-o", "addopts=", "--rootdir", str(folder), *args],
        cwd=folder, env=env, capture_output=True, text=True, timeout=300)


def executed(folder: Path, path: Path) -> tuple[str | None, nbformat.NotebookNode | None]:
    base = folder / "home" / "executed" / path.as_posix().lstrip("/")
    status = base.with_suffix(".status")
    copy = nbformat.read(base, as_version=4) if base.exists() else None
    return (status.read_text() if status.exists() else None), copy


@dataclass
class Run:
    folder: Path
    result: subprocess.CompletedProcess[str]

    def saved(self, name: str) -> tuple[str | None, nbformat.NotebookNode | None]:
        """The status of a notebook's first run and its executed copy."""
        return executed(self.folder, self.folder / name / f"{name}.ipynb")

    def runs(self, name: str) -> str:
        return (self.folder / name / "runs.txt").read_text()


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """One pytest run over four small notebooks, each in its own folder."""
    folder = tmp_path_factory.mktemp("notebooks")
    for name, sources in NOTEBOOKS.items():
        (folder / name).mkdir()
        notebook(folder / name, name, *sources)
    return Run(folder, run_pytest(folder, *NOTEBOOKS))


NOTEBOOKS = {
    "good": ("print('hello')",
             "1 + 1;",  # a trailing semicolon hides the result, as in JupyterLab
             "from IPython.display import HTML\nHTML('<b>bold</b>')",
             "import ipywidgets\nipywidgets.IntSlider(value=3)",
             COUNTER),
    "once": ("assert 'done' not in globals(), 'already ran'\ndone = True",),
    "broken": ("raise ValueError('broken')", COUNTER),
    "env": ("import os, socket\n"
            "assert os.environ['LABKIT_STRICT'] == '1'\n"
            "assert os.environ['AWS_ACCESS_KEY_ID'].startswith('HONEYPOT')\n"
            "assert socket.NETGUARD_ACTIVE",),
}


def test_the_run_reports_each_cell_and_each_second_run(run):
    out = run.result.stdout
    assert run.result.returncode == 1, out + run.result.stderr
    # good: 5 cells + rerun; once: 1 + rerun (fails); broken: 2 (the first fails) + rerun (skipped); env: 1 + rerun
    assert "2 failed, 10 passed, 1 skipped" in out, out
    assert "FAILED once/once.ipynb::rerun" in out and "FAILED broken/broken.ipynb::Cell 0" in out


def test_each_notebook_runs_twice_in_one_kernel_and_its_first_run_is_saved(run):
    assert run.runs("good") == "2", "the second run shares the first one's kernel"
    status, copy = run.saved("good")
    assert status == "passed"
    code = [c for c in copy.cells if c.cell_type == "code"]
    assert [c.execution_count for c in code] == [1, 2, 3, 4, 5]
    assert code[0].outputs == [nbformat.from_dict({"output_type": "stream", "name": "stdout", "text": "hello\n"})]
    assert code[1].outputs == []
    assert code[2].outputs[0].data["text/html"] == "<b>bold</b>"
    view = code[3].outputs[0].data["application/vnd.jupyter.widget-view+json"]
    state = copy.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    assert state[view["model_id"]]["state"]["value"] == 3, "the widget's state is saved for the page"
    assert copy.metadata["language_info"]["name"] == "python"
    assert [c.source for c in code] == list(NOTEBOOKS["good"])


def test_a_notebook_that_cannot_run_twice_fails_its_second_run(run):
    out = run.result.stdout
    assert "second run in the same kernel, cell 0 failed" in out and "AssertionError: already ran" in out
    # Its first run passed: the book can still use it.
    assert run.saved("once")[0] == "passed"


def test_a_failed_first_run_saves_no_copy_and_skips_the_second(run):
    assert "the first run failed" in run.result.stdout
    assert run.runs("broken") == "1"
    assert run.saved("broken") == ("failed", None)


def test_nbval_cells_run_with_the_honeypot_and_strict_checks(run):
    failures = [line for line in run.result.stdout.splitlines() if line.startswith(("FAILED", "ERROR"))]
    assert failures and not [line for line in failures if "env/env.ipynb" in line]  # not among the failures
    assert run.saved("env")[0] == "passed"
