"""Packaging: ``pyproject.toml`` declares what labkit imports, and ``pip install .``
(not editable) gives a ``labkit`` command that releases and grades.

The install runs without network (the suite's guard allows only loopback, and CI
has only package registries): a fresh venv sees this venv's site-packages for
the third-party dependencies (a ``.pth`` file), and pip builds labkit from a
copy of its sources with ``--no-deps --no-build-isolation --no-index``.
"""

from __future__ import annotations

import ast
import csv
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path

import nbformat
import pytest
from packaging.requirements import Requirement

from labkit.grading import read_notebook, student_copy

if sys.version_info >= (3, 11):
    import tomllib
else:  # pytest depends on tomli before 3.11
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = ROOT / "pyproject.toml"
FIXTURES = ROOT / "tests" / "fixtures" / "grading"


# --------------------------------------------------------------------------------------
# Every import is declared
# --------------------------------------------------------------------------------------


def canonical(name: str) -> str:
    """A distribution name as PEP 503 compares them."""
    return re.sub(r"[-_.]+", "-", name).lower()


def third_party_imports(package: Path) -> dict[str, set[str]]:
    """Top-level modules imported anywhere under ``package`` (inside functions
    too), other than the standard library and labkit itself, with the files."""
    found: dict[str, set[str]] = {}
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top not in ("labkit", "__future__"):
                    found.setdefault(top, set()).add(str(path.relative_to(package.parent)))
    return found


def declared() -> list[Requirement]:
    """The requirements in ``[project] dependencies``."""
    project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]
    return [Requirement(text) for text in project["dependencies"]]


def with_their_dependencies(requirements: Iterable[Requirement]) -> set[str]:
    """The distributions the requirements bring in, as installed here (extras honoured)."""
    seen: set[str] = set()
    queue = list(requirements)
    while queue:
        requirement = queue.pop()
        name = canonical(requirement.name)
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = metadata.requires(requirement.name) or []
        except metadata.PackageNotFoundError:
            continue  # the import check below then names the module
        extras = set(requirement.extras) | {""}
        for text in requires:
            nested = Requirement(text)
            if nested.marker is None or any(nested.marker.evaluate({"extra": extra}) for extra in extras):
                queue.append(nested)
    return seen


def undeclared(imports: dict[str, set[str]], allowed: set[str]) -> dict[str, str]:
    """Imported modules that no allowed distribution provides, with the reason."""
    providers = metadata.packages_distributions()
    missing = {}
    for module, files in sorted(imports.items()):
        distributions = providers.get(module, [])
        if not distributions:
            missing[module] = f"no installed distribution provides it (imported by {min(files)})"
        elif not {canonical(d) for d in distributions} & allowed:
            missing[module] = f"from {distributions[0]}, not declared (imported by {min(files)})"
    return missing


#: Modules that only Pyodide provides (the browser edition's JavaScript bridge): labkit imports them
#: only in browser mode (labkit.notebook.diagrams_browser), and no distribution installs them.
PYODIDE_MODULES = {"js", "pyodide"}


def test_every_import_is_a_declared_dependency() -> None:
    imports = third_party_imports(ROOT / "labkit")
    assert {"boto3", "moto", "nbclient", "nbformat"} <= set(imports)  # the walk sees labkit's imports
    assert set(imports) >= PYODIDE_MODULES and all(
        files <= {"labkit/notebook/diagrams_browser.py"} for module, files in imports.items() if module in PYODIDE_MODULES)
    assert undeclared({m: f for m, f in imports.items() if m not in PYODIDE_MODULES},
                      with_their_dependencies(declared())) == {}


def test_an_undeclared_import_is_caught() -> None:
    imports = third_party_imports(ROOT / "labkit")
    only_boto3 = with_their_dependencies([Requirement("boto3")])
    assert "botocore" in only_boto3  # a dependency of a declared one counts
    missing = undeclared(imports, only_boto3)
    assert {"moto", "nbclient", "nbformat"} <= set(missing)
    assert "boto3" not in missing and "botocore" not in missing
    assert "no installed distribution" in undeclared({"no_such_module_xyz": {"labkit/x.py"}}, only_boto3)["no_such_module_xyz"]


def test_the_declared_ranges_admit_the_tested_versions() -> None:
    # pip install --no-deps below does not check them: this does.
    for requirement in declared():
        version = metadata.version(requirement.name)
        assert requirement.specifier.contains(version, prereleases=True), f"{requirement}: {version} is installed"


# --------------------------------------------------------------------------------------
# pip install . into a fresh venv, then labkit release and labkit grade
# --------------------------------------------------------------------------------------


def _environment(venv: Path) -> dict[str, str]:
    """This environment (the network guard included), without anything that
    would import labkit from the source tree or from this venv."""
    env = dict(os.environ)
    env.pop("VIRTUAL_ENV", None)
    paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p and not (Path(p) / "labkit").exists()]
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env["PATH"] = os.pathsep.join([str(venv / "bin"), env.get("PATH", "")])
    return env


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, f"{args[:3]} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, str]]:
    """A fresh venv with labkit installed from a copy of this checkout: (venv, work folder, environment)."""
    work = tmp_path_factory.mktemp("packaging")
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    env = _environment(venv)
    site = _run([str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                work, env).strip()
    # The dependencies (and pip, setuptools) come from this venv; its .pth files are not run.
    ours = dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    Path(site, "labkit-test-dependencies.pth").write_text("\n".join(ours) + "\n", encoding="utf-8")
    # A copy of the sources, so that the build writes nothing into the checkout.
    source = work / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "labkit", source / "labkit", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    _run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
          "--no-index", "--ignore-installed", str(source)], work, env)
    return venv, work, env


@pytest.mark.notebook
def test_pip_install_then_release_and_grade(installed: tuple[Path, Path, dict[str, str]]) -> None:
    venv, work, env = installed
    where = _run([str(venv / "bin" / "python"), "-c", "import labkit.grading; print(labkit.__file__)"], work, env)
    assert Path(where.strip()).is_relative_to(venv), where  # the installed copy, not the checkout
    command = venv / "bin" / "labkit"
    assert command.read_text(encoding="utf-8").splitlines()[0] == f"#!{venv / 'bin' / 'python'}"

    labs = sorted(p.name for p in (ROOT / "labs").glob("*.ipynb"))
    printed = _run([str(command), "release", str(ROOT / "labs"), "--out", str(work / "release")], work, env)
    assert sorted(Path(line).name for line in printed.splitlines()) == labs
    assert sorted(p.name for p in (work / "release").iterdir()) == labs
    released = nbformat.read(work / "release" / "sqs.ipynb", as_version=4)
    assert released == student_copy(read_notebook(ROOT / "labs" / "sqs.ipynb"))

    gradebook = work / "grades.csv"
    # The smallest lab, and a submission with partial credit (a grader that gave full marks would fail).
    _run([str(command), "grade", str(FIXTURES / "mini_lab.ipynb"), str(FIXTURES / "submissions" / "partial.ipynb"),
          "--out", str(gradebook), "-j", "2"], work, env)
    rows = list(csv.DictReader(gradebook.open(encoding="utf-8")))
    assert [(Path(r["submission"]).name, r["score"], r["max_score"], r["status"]) for r in rows] == [
        ("partial.ipynb", "5", "8", "ok"),
    ]
