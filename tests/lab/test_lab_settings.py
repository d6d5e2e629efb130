"""The course's own JupyterLab settings: a notebook starts its kernel without asking.

JupyterLab may ask "Select Kernel" when a notebook opens, unless the setting
``autoStartDefaultKernel`` of ``@jupyterlab/notebook-extension:tracker`` is on.
The course sets its default in one file, ``.jupyter/lab/settings/overrides.json``.
JupyterLab reads ``overrides.json`` from its application settings directory:
``make lab`` names the file's folder as that directory
(``--LabApp.app_settings_dir``), and Binder's ``postBuild`` copies the file into
the environment's default one (``<sys.prefix>/share/jupyter/lab/settings``).
A learner's own choice in the settings editor still wins over it.

These tests read the file as JupyterLab's server does; tests/lab/test_jupyterlab.py
opens a lab in JupyterLab with no setting of its own and waits for the kernel.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
from jupyterlab_server.settings_utils import get_settings

from labkit.grading.book import student_tree
from tests.lab.makelab import ROOT, SETTINGS_DIR, lab_flags

OVERRIDES = SETTINGS_DIR / "overrides.json"
TRACKER = "@jupyterlab/notebook-extension:tracker"
#: The schemas of the JupyterLab this course installs (requirements.txt).
SCHEMAS = Path(sys.prefix) / "share" / "jupyter" / "lab" / "schemas"


def schema_of(plugin: str) -> dict:
    package, name = plugin.split(":")
    path = SCHEMAS / package / f"{name}.json"
    assert path.is_file(), f"{plugin}: no such JupyterLab plugin (no schema at {path})"
    return json.loads(path.read_text(encoding="utf-8"))


def test_make_lab_reads_the_course_settings():
    assert f"--LabApp.app_settings_dir={SETTINGS_DIR}" in lab_flags()


def test_every_setting_names_a_plugin_and_a_valid_value():
    """JupyterLab takes an unknown key in overrides.json silently: a typo would leave the question on."""
    overrides = json.loads(OVERRIDES.read_text(encoding="utf-8"))
    assert overrides.get(TRACKER, {}).get("autoStartDefaultKernel") is True, overrides
    for plugin, values in overrides.items():
        properties = schema_of(plugin)["properties"]
        for key, value in values.items():
            assert key in properties, f"{plugin} has no setting {key!r}"
            jsonschema.validate(value, properties[key])


def test_jupyterlab_gives_the_page_the_course_default(tmp_path):
    """What JupyterLab's server sends the page for a learner with no settings of their own."""
    empty_user_settings = tmp_path / "user-settings"
    empty_user_settings.mkdir()
    result, _ = get_settings(str(SETTINGS_DIR), str(SCHEMAS), str(empty_user_settings), schema_name=TRACKER)
    assert result["schema"]["properties"]["autoStartDefaultKernel"]["default"] is True
    # Without the course's folder, JupyterLab's own default asks.
    result, _ = get_settings(str(tmp_path / "none"), str(SCHEMAS), str(empty_user_settings), schema_name=TRACKER)
    assert result["schema"]["properties"]["autoStartDefaultKernel"]["default"] is False


def run_post_build(tree: Path, tmp_path: Path) -> Path:
    """Run Binder's postBuild in ``tree``, with ``pip`` a no-op and ``python`` answering
    a prefix under ``tmp_path``: returns the prefix."""
    prefix, stubs = tmp_path / "prefix", tmp_path / "bin"
    stubs.mkdir()
    (stubs / "pip").write_text("#!/bin/sh\nexit 0\n")
    (stubs / "python").write_text(f"#!/bin/sh\necho '{prefix}'\n")
    for stub in stubs.iterdir():
        stub.chmod(0o755)
    env = dict(os.environ, PATH=f"{stubs}{os.pathsep}{os.environ['PATH']}")
    result = subprocess.run(["bash", str(tree / "postBuild")], cwd=tree, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, f"postBuild failed in {tree}:\n{result.stderr}"
    return prefix


def test_binder_installs_the_course_settings(tmp_path):
    tree = tmp_path / "course"
    tree.mkdir()
    shutil.copy(ROOT / "postBuild", tree / "postBuild")
    (tree / OVERRIDES.relative_to(ROOT)).parent.mkdir(parents=True)
    shutil.copy(OVERRIDES, tree / OVERRIDES.relative_to(ROOT))
    prefix = run_post_build(tree, tmp_path)
    installed = prefix / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    assert installed.is_file(), "postBuild installed no overrides.json"
    assert installed.read_bytes() == OVERRIDES.read_bytes()


def test_binder_on_the_learners_branch_installs_the_course_settings(tmp_path):
    """The launch buttons open the learners' branch (labkit.grading.book.student_tree): postBuild runs there."""
    tree = tmp_path / "learners"
    student_tree(ROOT, tree)
    prefix = run_post_build(tree, tmp_path)
    installed = prefix / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    assert installed.is_file(), "postBuild installed no overrides.json"
    assert installed.read_bytes() == OVERRIDES.read_bytes()
