"""The launch buttons open the learners' copy (``labkit.grading.book``).

Every walkthrough and lab page of the book has a Binder and a JupyterHub
(nbgitpuller) link naming the repository of ``_config.yml`` and its
``student`` branch; that branch is the tree :func:`student_tree` makes, which
``scripts/student_branch.py`` commits. The tree is made here from this
repository, and every path the links name is looked up in it: each lab there
is its student copy, and no notebook in it holds a worked solution or a
hidden check. The small book of test_editions.py checks the pages' HTML
without the full build; the last tests read the full build.

A notebook that declares the browser edition (``metadata["labkit"]["editions"]``)
also gets a "Browser" entry, a link relative to its page into the JupyterLite
site that ``make lite`` builds and that is deployed at ``lite/`` beside the
book; every walkthrough and lab page says which editions it runs in. A small
book (two notebooks, one of them declaring the browser edition) checks the
pages' HTML here.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from html import unescape
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import nbformat
import pytest
import yaml

from labkit.grading.book import (
    EDITIONS_SENTENCES,
    STUDENT_BRANCH,
    launch_links,
    lite_link,
    notebook_editions,
    repository_parts,
    student_tree,
)
from labkit.grading.release import read_notebook, student_copy, tags_of

ROOT = Path(__file__).resolve().parents[2]
COURSE = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
REPOSITORY = COURSE["repository"]["url"]
HUBS = {"binderhub_url": COURSE["launch_buttons"]["binderhub_url"],
        "jupyterhub_url": COURSE["launch_buttons"]["jupyterhub_url"]}
PAGES = sorted(p.relative_to(ROOT).with_suffix("").as_posix() for folder in ("notebooks", "labs")
               for p in (ROOT / folder).glob("*.ipynb"))
#: The last tests read the book's build (tests/book/conftest.py), with test_book.py.
GROUP = "book"


def link_path(url: str) -> tuple[str, str]:
    """(branch, path in the repository) that a Binder or nbgitpuller link opens."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    if "/git-pull" in parts.path:
        name = repository_parts(query["repo"][0])[1]
        return query["branch"][0], query["urlpath"][0].removeprefix(f"lab/tree/{name}/")
    branch = parts.path.rsplit("/", 1)[1]
    return branch, query["urlpath"][0].removeprefix("lab/tree/")


# ---------------------------------------------------------------- the links


def test_the_links_name_the_configured_repository_and_the_learners_branch():
    links = launch_links(REPOSITORY, "labs/sqs.ipynb", **HUBS)
    owner, name = repository_parts(REPOSITORY)
    assert links["Binder"] == f"https://mybinder.org/v2/gh/{owner}/{name}/student?urlpath=lab/tree/labs/sqs.ipynb"
    hub = urlsplit(links["JupyterHub"])
    assert f"{hub.scheme}://{hub.netloc}" == HUBS["jupyterhub_url"] and hub.path == "/hub/user-redirect/git-pull"
    assert parse_qs(hub.query) == {"repo": [f"https://github.com/{owner}/{name}"], "branch": ["student"],
                                   "urlpath": [f"lab/tree/{name}/labs/sqs.ipynb"]}
    assert {link_path(url) for url in links.values()} == {("student", "labs/sqs.ipynb")}


def test_only_the_hubs_that_are_set_get_a_link_and_a_wrong_repository_is_refused():
    assert list(launch_links(REPOSITORY, "labs/sqs.ipynb", binderhub_url="https://binder.example.org/")) == ["Binder"]
    assert launch_links(REPOSITORY, "labs/sqs.ipynb") == {}
    classic = launch_links(REPOSITORY, "notebooks/sqs.ipynb", interface="classic", **HUBS)
    assert "urlpath=tree/notebooks/sqs.ipynb" in classic["Binder"]
    for wrong in ("", "https://gitlab.com/a/b", "https://github.com/only-owner", "http://github.com/a/b"):
        with pytest.raises(ValueError, match="expected https://github.com/<owner>/<name>"):
            launch_links(wrong, "labs/sqs.ipynb", **HUBS)


def test_the_repository_is_named_in_one_place():
    assert repository_parts(REPOSITORY) == ("harbour-tea", "aws-architecture-course")
    named = [path.relative_to(ROOT).as_posix() for path in [ROOT / "_config.yml", *(ROOT / "labkit").rglob("*.py"),
                                                            *(ROOT / "scripts").glob("*"), *(ROOT / ".github").rglob("*")]
             if path.is_file() and "harbour-tea/aws-architecture-course" in path.read_text(encoding="utf-8")]
    assert named == ["_config.yml"]


# ---------------------------------------------------------------- the browser edition


def test_a_notebook_runs_locally_always_and_in_the_browser_when_it_says_so():
    assert notebook_editions({"metadata": {}}) == ["local"]
    assert notebook_editions({"metadata": {"labkit": {"lab": "sqs"}}}) == ["local"]
    assert notebook_editions({"metadata": {"labkit": {"editions": ["browser"]}}}) == ["local", "browser"]
    assert notebook_editions({"metadata": {"labkit": {"editions": ["browser", "local"]}}}) == ["local", "browser"]
    with pytest.raises(ValueError, match="the editions are local, browser"):
        notebook_editions({"metadata": {"labkit": {"editions": ["local", "lite"]}}})


def test_every_notebook_of_the_course_names_known_editions():
    declared = {page: notebook_editions(read_notebook(ROOT / f"{page}.ipynb")) for page in PAGES}
    assert all(editions[0] == "local" for editions in declared.values())


def test_the_browser_link_is_relative_to_the_page_and_opens_its_notebook_in_the_lite_site():
    assert lite_link("labs/sqs") == "../lite/lab/index.html?path=labs/sqs.ipynb"
    assert lite_link("notebooks/dynamodb") == "../lite/lab/index.html?path=notebooks/dynamodb.ipynb"
    assert lite_link("top") == "lite/lab/index.html?path=top.ipynb"


def small_notebook(title: str, editions: list[str] | None) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"display_name": "Python 3", "language": "python",
                                                           "name": "python3"}})
    if editions is not None:
        nb.metadata["labkit"] = {"editions": editions}
    nb.cells = [nbformat.v4.new_markdown_cell(f"# {title}\n\nA page."), nbformat.v4.new_code_cell("1 + 1")]
    return nb


@pytest.fixture(scope="module")
def small_book(tmp_path_factory) -> Path:
    """A book of two notebooks, built without executing them: one declares the browser edition."""
    from tests.book.test_editions import config

    folder = tmp_path_factory.mktemp("lite-book")
    for page, editions in (("notebooks/both", ["local", "browser"]), ("labs/local", None)):
        (folder / page).parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(small_notebook(page, editions), folder / f"{page}.ipynb")
    (folder / "_config.yml").write_text(config())
    (folder / "_toc.yml").write_text("format: jb-book\nroot: intro\nchapters:\n  - file: notebooks/both\n"
                                     "  - file: labs/local\n")
    (folder / "intro.md").write_text("# Editions\n\nA small book.\n")
    jb = Path(sys.executable).parent / "jupyter-book"
    result = subprocess.run([str(jb), "build", str(folder)], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return folder / "_build" / "html"


def browser_links(html: str) -> list[str]:
    return [unescape(href) for href in re.findall(r'href="([^"]*lite/lab/index\.html[^"]*)"', html)]


@pytest.mark.notebook
def test_only_a_page_whose_notebook_declares_the_browser_edition_gets_the_browser_entry(small_book):
    both = (small_book / "notebooks" / "both.html").read_text(encoding="utf-8")
    local = (small_book / "labs" / "local.html").read_text(encoding="utf-8")
    assert browser_links(both) == [lite_link("notebooks/both")]
    assert "Browser" in both and browser_links(local) == []
    assert page_links(local)  # the hubs' links stay
    intro = (small_book / "intro.html").read_text(encoding="utf-8")
    assert browser_links(intro) == [] and "labkit-editions" not in intro


@pytest.mark.notebook
def test_each_notebook_page_says_which_editions_it_runs_in(small_book):
    for page, runs_in_browser in (("notebooks/both", True), ("labs/local", False)):
        html = (small_book / f"{page}.html").read_text(encoding="utf-8")
        said = re.findall(r'<p class="labkit-editions">([^<]*)</p>', html)
        assert [unescape(text) for text in said] == [EDITIONS_SENTENCES[runs_in_browser]], page


# ---------------------------------------------------------------- the learners' tree


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("student") / "tree"
    student_tree(ROOT, out)
    return out


def test_the_learners_tree_holds_what_binder_and_a_hub_need(tree):
    for name in ("requirements.txt", "apt.txt", "postBuild", "runtime.txt", "pyproject.toml", "README.md",
                 "labkit/__init__.py", "labkit/grading/release.py"):
        assert (tree / name).is_file(), name
    assert os.access(tree / "postBuild", os.X_OK)
    assert (tree / "requirements.txt").read_bytes() == (ROOT / "requirements.txt").read_bytes()
    assert not (tree / "tests").exists() and not (tree / "book" / "instructors.md").exists()
    assert not list(tree.rglob("__pycache__"))
    for page in PAGES:  # every path a launch link names is there
        for url in launch_links(REPOSITORY, f"{page}.ipynb", **HUBS).values():
            branch, path = link_path(url)
            assert branch == STUDENT_BRANCH and (tree / path).is_file(), url


def test_each_lab_in_the_tree_is_its_student_copy(tree):
    labs = sorted((ROOT / "labs").glob("*.ipynb"))
    assert labs and sorted(p.name for p in (tree / "labs").glob("*.ipynb")) == [p.name for p in labs]
    for source in labs:
        assert (tree / "labs" / source.name).read_text(encoding="utf-8") == \
            nbformat.writes(student_copy(read_notebook(source), str(source))) + "\n"
    for source in sorted((ROOT / "notebooks").glob("*.ipynb")):
        assert (tree / "notebooks" / source.name).read_bytes() == source.read_bytes()


def test_no_notebook_in_the_tree_holds_a_solution_or_a_hidden_check(tree):
    notebooks = sorted(tree.rglob("*.ipynb"))
    assert len(notebooks) == len(PAGES)
    for path in notebooks:
        nb = read_notebook(path)
        for cell in nb.cells:
            assert not {"solution", "hidden"} & set(tags_of(cell)), (path, cell.id)
            assert not re.search(r"#\s*(BEGIN|END)?\s*SOLUTION\b|hidden\s*=\s*True", cell.source), (path, cell.id)
    sources = {path.name: read_notebook(path) for path in (ROOT / "labs").glob("*.ipynb")}
    hidden = [cell.source for nb in sources.values() for cell in nb.cells if "hidden" in tags_of(cell)]
    assert hidden  # the source labs have hidden checks: none of them is in the tree
    text = "\n".join(path.read_text(encoding="utf-8") for path in tree.rglob("*") if path.is_file()
                     and path.suffix in {".ipynb", ".md", ".txt"})
    assert not [source for source in hidden if source.strip() in text]


def test_the_tree_is_refused_inside_the_course_and_keeps_nothing_from_before(tmp_path, tree):
    with pytest.raises(ValueError, match="must be outside the course"):
        student_tree(ROOT, ROOT / "release" / "student")
    stale = tmp_path / "out"
    (stale / "labs").mkdir(parents=True)
    (stale / "labs" / "answers.ipynb").write_text("{}")
    course = tmp_path / "course"
    for folder in ("labs", "notebooks", "book"):
        (course / folder).mkdir(parents=True)
    small_labkit(course)
    nbformat.write(read_notebook(ROOT / "tests" / "fixtures" / "grading" / "mini_lab.ipynb"), course / "labs" / "mini.ipynb")
    written = student_tree(course, stale)
    assert not (stale / "labs" / "answers.ipynb").exists() and stale / "labs" / "mini.ipynb" in written


# ---------------------------------------------------------------- the branch


def small_labkit(course: Path) -> None:
    """A stand-in labkit for a small course (the real one changes while others work)."""
    (course / "labkit" / "grading").mkdir(parents=True)
    (course / "labkit" / "__init__.py").write_text('"""labkit."""\n')
    (course / "labkit" / "grading" / "book.py").write_text('"""the book."""\n')


IDENTITY = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@localhost", "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@localhost"}


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True,
                          env={**os.environ, **IDENTITY}).stdout


def test_the_script_commits_the_tree_to_the_student_branch_and_touches_nothing_else(tmp_path, monkeypatch, capsys):
    # The script's main() in this process (a new one would import labkit again: seconds).
    spec = importlib.util.spec_from_file_location("student_branch", ROOT / "scripts" / "student_branch.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    for name, value in IDENTITY.items():
        monkeypatch.setenv(name, value)
    course = tmp_path / "course"
    for folder in ("labs", "notebooks", "book"):
        (course / folder).mkdir(parents=True)
    small_labkit(course)
    mini = ROOT / "tests" / "fixtures" / "grading" / "mini_lab.ipynb"
    (course / "labs" / "mini.ipynb").write_bytes(mini.read_bytes())
    (course / "requirements.txt").write_text("nbformat\n")
    git(course, "init", "-q", "-b", "main")
    git(course, "add", "labs", "requirements.txt")
    git(course, "commit", "-q", "-m", "source")
    assert script.main(["--root", str(course)]) == 0
    assert capsys.readouterr().out.startswith("student: ")
    files = git(course, "ls-tree", "-r", "--name-only", "student").split()
    assert "labs/mini.ipynb" in files and "requirements.txt" in files and "labkit/grading/book.py" in files
    assert git(course, "show", "student:labs/mini.ipynb") == nbformat.writes(student_copy(read_notebook(mini))) + "\n"
    assert "BEGIN SOLUTION" not in git(course, "show", "student:labs/mini.ipynb")
    # The work tree, the index and the branch checked out are as they were.
    assert git(course, "status", "--porcelain", "--untracked-files=no") == ""
    assert git(course, "rev-parse", "--abbrev-ref", "HEAD").strip() == "main"
    assert json.loads((course / "labs" / "mini.ipynb").read_text()) == json.loads(mini.read_text())
    # Again, unchanged: no new commit; after a change: one commit on top of the last.
    head = git(course, "rev-parse", "student").strip()
    script.main(["--root", str(course)])
    assert capsys.readouterr().out.strip() == "student: unchanged" and git(course, "rev-parse", "student").strip() == head
    (course / "requirements.txt").write_text("nbformat>=5\n")
    script.main(["--root", str(course)])
    assert git(course, "rev-parse", "student^").strip() == head
    # --push sends the branch to a remote (the workflow's origin), as a fast-forward.
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    git(course, "remote", "add", "origin", str(remote))
    script.main(["--root", str(course), "--push", "origin"])
    assert git(remote, "rev-parse", "student") == git(course, "rev-parse", "student")


def test_the_workflow_publishes_the_branch_on_every_push_to_main():
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "student-branch.yml").read_text(encoding="utf-8"))
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as true
    assert triggers["push"]["branches"] == ["main"] and "workflow_dispatch" in triggers
    assert workflow["permissions"] == {"contents": "write"}
    steps = workflow["jobs"]["publish"]["steps"]
    runs = "\n".join(step.get("run", "") for step in steps)
    assert "python scripts/student_branch.py --push origin" in runs
    assert f"origin {STUDENT_BRANCH}:refs/heads/{STUDENT_BRANCH}" in runs  # the new commit follows the last one
    assert runs.index("pip install -e .") < runs.index("student_branch.py")


# ---------------------------------------------------------------- the book's pages


def page_links(html: str) -> list[str]:
    return [unescape(href) for href in re.findall(r'href="([^"]*(?:/v2/gh/|/git-pull\?)[^"]*)"', html)]


@pytest.mark.notebook
def test_every_walkthrough_and_lab_page_launches_the_learners_copy(build, tree):
    for page in PAGES:
        html = (build.html / f"{page}.html").read_text(encoding="utf-8")
        links = page_links(html)
        expected = launch_links(REPOSITORY, f"{page}.ipynb", **HUBS, interface=COURSE["launch_buttons"]["notebook_interface"])
        assert sorted(links) == sorted(expected.values()), page
        for url in links:
            branch, path = link_path(url)
            assert branch == STUDENT_BRANCH and (tree / path).is_file(), url
    others = [p for p in build.html.rglob("*.html") if p.relative_to(build.html).parts[0] not in ("notebooks", "labs")]
    assert others and not [p.name for p in others if page_links(p.read_text(encoding="utf-8"))]


@pytest.mark.notebook
def test_the_pages_of_the_notebooks_that_run_in_the_browser_link_into_the_lite_site(build):
    for page in PAGES:
        html = (build.html / f"{page}.html").read_text(encoding="utf-8")
        in_browser = "browser" in notebook_editions(read_notebook(ROOT / f"{page}.ipynb"))
        assert browser_links(html) == ([lite_link(page)] if in_browser else []), page
        assert EDITIONS_SENTENCES[in_browser] in unescape(html), page


@pytest.mark.notebook
@pytest.mark.parametrize("page", ["notebooks/lambda", "book/compute"])
def test_the_calculator_pages_compute_without_a_kernel_and_load_nothing_from_elsewhere(build, page):
    html = (build.html / f"{page}.html").read_text(encoding="utf-8")
    assert html.count('<div class="labkit-calculator"') == 1
    assert "widget-view+json" not in html
    assert not re.search(r"unpkg\.com|jsdelivr|cdnjs|require\.js|requirejs", html)
    assert not re.findall(r'<(?:script|link|img|iframe)\b[^>]*(?:src|href)="((?:https?:)?//[^"]+)"', html)


@pytest.mark.notebook
def test_the_lambda_walkthrough_s_workloads_are_a_table_that_wraps_in_its_column(build):
    html = (build.html / "notebooks" / "lambda.html").read_text(encoding="utf-8")
    assert re.search(r"<th[^>]*>\s*Break-even \$ an hour\s*</th>", html)
