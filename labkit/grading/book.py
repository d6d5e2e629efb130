"""What the book publishes of a lab: its two editions and its download.

A Sphinx extension, listed in ``_config.yml``:

- **The download is the learners' copy.** Sphinx copies each page's source
  into the HTML output's ``_sources/`` folder, and the theme's download button
  serves it. For a lab that source is the instructor's: worked solutions and
  the hidden checks a class is graded with. Once the HTML is built, the
  student copy that ``labkit release`` makes
  (:func:`labkit.grading.release.student_copy`) is written over each lab's
  copied source. Walkthroughs and chapter pages are left as they are.
- **Two editions.** The self-learner's edition (the default) shows each
  worked solution collapsed behind a click. The class edition
  (``LABKIT_EDITION=class``, which ``make book-class`` sets) publishes none:
  each solution cell's code and output are replaced by one sentence. Hidden
  checks are in neither (their cells are removed from every page).
- **Launch links open the learners' copy.** ``_config.yml``'s
  ``launch_buttons`` (Binder, and JupyterHub through an nbgitpuller link) are
  made into the theme's launch menu here (the theme's own would open one
  branch for every page with code cells), on the walkthrough (``notebooks/``)
  and lab (``labs/``) pages only. Each link opens the ``student`` branch of
  the repository named in ``_config.yml``: a tree that :func:`student_tree`
  makes from the source (the walkthroughs, the student copy of each lab,
  labkit and the Binder files), and that ``scripts/student_branch.py``
  commits to that branch. A lab's button never opens its source; the
  walkthroughs open from the same branch, so that a hub pulls one folder for
  the whole course.
- **The browser edition.** A notebook that declares it
  (``metadata["labkit"]["editions"]`` lists ``"browser"``) runs in JupyterLite
  too: ``make lite`` builds that site (``scripts/build_lite.py``), deployed in
  the ``lite/`` folder of the book's site. Its page's launch menu gets a
  "Browser" entry, a link relative to the page (:func:`lite_link`) that needs
  no hub. Every walkthrough and lab page says in one sentence which editions
  it runs in (:data:`EDITIONS_SENTENCES`).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import nbformat

from labkit.grading.release import cell_info, read_notebook, student_copy, write_atomic

#: The environment variable that chooses the edition: ``self`` (the default) or ``class``.
EDITION_VARIABLE = "LABKIT_EDITION"
EDITIONS = ("self", "class")
WITHHELD = "The worked solution is not published in this edition of the book: ask your instructor."

#: The branch the launch buttons open: the tree :func:`student_tree` makes.
STUDENT_BRANCH = "student"
#: The folders whose pages get launch buttons.
LAUNCH_FOLDERS = ("notebooks", "labs")
#: The editions a notebook can run in: ``local`` (a Jupyter server: the learner's
#: machine, Binder, a hub) always, ``browser`` (JupyterLite) when it declares it.
RUN_EDITIONS = ("local", "browser")
#: The folder of the book's site where the browser edition (``make lite``'s ``_build/lite``) is deployed.
LITE_FOLDER = "lite"
#: What a walkthrough's or lab's page says about where it runs, by whether it runs in the browser.
EDITIONS_SENTENCES = {
    True: "This notebook runs in two editions: in your browser, with nothing to install (the launch menu's "
          "Browser entry), and in Jupyter on your machine, on Binder or on a JupyterHub.",
    False: "This notebook runs in Jupyter on your machine, on Binder or on a JupyterHub; it is not in the "
           "browser edition, which cannot run what it needs.",
}
#: What the learners' tree holds besides the notebooks: the Binder (repo2docker)
#: files, and labkit with what installs it.
STUDENT_FILES = ("requirements.txt", "apt.txt", "postBuild", "runtime.txt", "pyproject.toml", "LICENSE",
                 # JupyterLab's settings for the course (postBuild installs them): kernels start without asking.
                 ".jupyter/lab/settings/overrides.json")
#: Book pages the walkthroughs link to; the authors' and instructors' pages stay out.
AUTHOR_PAGES = ("instructors.md", "contributing.md")
STUDENT_README = """# AWS Architecture, Hands-On: the learners' copy

This branch is made from the course's source by `scripts/student_branch.py`
(on every push, by the workflow `.github/workflows/student-branch.yml`): the
walkthroughs in `notebooks/`, the labs in `labs/` with your answer cells to
fill in, the chapter pages in `book/`, and `labkit`. Do not edit it: changes
belong in the source, and each publication replaces its contents (as a new
commit on top of the last one, so that a hub's copies update cleanly).

Run it on Binder or on a JupyterHub from the book's launch buttons, or on your
machine (with Graphviz installed, as `apt.txt` says):

    python3 -m venv .venv && .venv/bin/pip install -r requirements.txt -e .
    .venv/bin/jupyter lab
"""


def edition() -> str:
    """The edition being built, from ``LABKIT_EDITION``; an unknown name is an error that says the choices."""
    name = os.environ.get(EDITION_VARIABLE, "self").strip() or "self"
    if name not in EDITIONS:
        raise ValueError(f"{EDITION_VARIABLE}={name!r}: the editions are {', '.join(EDITIONS)}")
    return name


def is_lab(nb: nbformat.NotebookNode) -> bool:
    """A notebook with solution or check cells is a lab."""
    return any(cell_info(cell).role in {"solution", "check"} for cell in nb.cells)


def replace_lab_sources(outdir: str | Path, sources: dict[str, Path]) -> list[Path]:
    """Write the student copy of each lab in ``sources`` (docname -> source
    path) over every file Sphinx copied for it into ``outdir/_sources``.
    Returns the files replaced."""
    replaced = []
    for docname, source in sorted(sources.items()):
        if source.suffix != ".ipynb":
            continue
        nb = read_notebook(source)
        if not is_lab(nb):
            continue
        text = nbformat.writes(student_copy(nb, str(source))) + "\n"
        folder = Path(outdir) / "_sources" / Path(docname).parent
        for copied in sorted(folder.glob(f"{Path(docname).name}.ipynb*")):
            write_atomic(copied, text)
            replaced.append(copied)
    return replaced


def notebook_editions(nb: Any) -> list[str]:
    """The editions a notebook runs in, from ``metadata["labkit"]["editions"]``:
    ``local`` always, then ``browser`` if it declares it. An unknown name is an error."""
    declared = list(((nb.get("metadata") or {}).get("labkit") or {}).get("editions") or [])
    unknown = [name for name in declared if name not in RUN_EDITIONS]
    if unknown:
        raise ValueError(f"metadata labkit.editions names {unknown}: the editions are {', '.join(RUN_EDITIONS)}")
    return [name for name in RUN_EDITIONS if name == "local" or name in declared]


def lite_link(pagename: str) -> str:
    """The link, relative to the page ``pagename`` (``labs/sqs``), that opens its
    notebook in the browser edition deployed at :data:`LITE_FOLDER` of the book's site."""
    up = "../" * pagename.count("/")
    return f"{up}{LITE_FOLDER}/lab/index.html?{urlencode({'path': f'{pagename}.ipynb'}, safe='/')}"


def repository_parts(url: str) -> tuple[str, str]:
    """``(owner, name)`` of a GitHub repository URL; anything else is an error
    that says what is expected (Binder's ``gh`` provider and these links need GitHub)."""
    parts = urlsplit(url.strip())
    path = [p for p in parts.path.split("/") if p]
    if parts.scheme != "https" or parts.netloc != "github.com" or len(path) != 2:
        raise ValueError(f"repository url {url!r}: expected https://github.com/<owner>/<name>")
    return path[0], path[1].removesuffix(".git")


def launch_links(repository_url: str, path: str, *, binderhub_url: str = "", jupyterhub_url: str = "",
                 branch: str = STUDENT_BRANCH, interface: str = "jupyterlab") -> dict[str, str]:
    """The launch links of one notebook, by name (``Binder``, ``JupyterHub``),
    for the hubs that are set.

    Args:
        repository_url: the course's repository (``_config.yml``'s ``repository.url``).
        path: the notebook's path in the repository, e.g. ``labs/sqs.ipynb``.
        binderhub_url: a BinderHub, e.g. ``https://mybinder.org``.
        jupyterhub_url: a JupyterHub with nbgitpuller installed.
        branch: the branch to open (the learners' copy).
        interface: ``jupyterlab`` or ``classic``.
    """
    owner, name = repository_parts(repository_url)
    prefix = {"jupyterlab": "lab/tree", "classic": "tree"}[interface]
    links = {}
    if binderhub_url:
        links["Binder"] = f"{binderhub_url.rstrip('/')}/v2/gh/{owner}/{name}/{branch}?urlpath={prefix}/{path}"
    if jupyterhub_url:
        # nbgitpuller clones the repository into a folder named after it, then opens urlpath.
        query = urlencode({"repo": f"https://github.com/{owner}/{name}", "branch": branch,
                           "urlpath": f"{prefix}/{name}/{path}"}, safe="/")
        links["JupyterHub"] = f"{jupyterhub_url.rstrip('/')}/hub/user-redirect/git-pull?{query}"
    return links


def student_tree(root: str | Path, out: str | Path) -> list[Path]:
    """Write the learners' tree of the course at ``root`` into ``out`` (emptied
    first): the Binder files and labkit, the walkthroughs, the student copy of
    each lab (:func:`labkit.grading.release.student_copy`), the chapter pages
    and a README. Returns the files written, sorted.

    Raises:
        LabFormatError: a lab breaks the format (nothing is written).
        ValueError: ``out`` is ``root`` or inside it.
    """
    root, out = Path(root).resolve(), Path(out).resolve()
    if out == root or root in out.parents:
        raise ValueError(f"the learners' tree {out} must be outside the course at {root}")
    labs = {path.name: student_copy(read_notebook(path), str(path)) for path in sorted((root / "labs").glob("*.ipynb"))}
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    for name in STUDENT_FILES:
        if (root / name).exists():
            (out / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(root / name, out / name)
    shutil.copytree(root / "labkit", out / "labkit", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    (out / "notebooks").mkdir()
    for path in sorted((root / "notebooks").glob("*.ipynb")):
        shutil.copy2(path, out / "notebooks" / path.name)
    (out / "book").mkdir()
    for path in sorted((root / "book").glob("*.md")):
        if path.name not in AUTHOR_PAGES:
            shutil.copy2(path, out / "book" / path.name)
    for name, nb in labs.items():
        nbformat.validate(nb)
        write_atomic(out / "labs" / name, nbformat.writes(nb) + "\n")
    write_atomic(out / "README.md", STUDENT_README)
    return sorted(p for p in out.rglob("*") if p.is_file())


def _take_launch_buttons(app: Any, config: Any) -> None:
    """Take ``_config.yml``'s ``launch_buttons`` from the theme: it would give
    every page with code cells buttons to one branch (and, for a chapter page,
    needs its executed copy); :func:`_launch_buttons` makes them instead."""
    options = config.html_theme_options
    if isinstance(options, dict) and "launch_buttons" in options:
        config.labkit_launch_buttons = options.pop("launch_buttons") or {}


def _page_notebook(app: Any, pagename: str) -> Any:
    """The source notebook of a walkthrough's or lab's page, or None for any other page."""
    if pagename.split("/")[0] not in LAUNCH_FOLDERS:
        return None
    path = Path(app.env.doc2path(pagename))
    return read_notebook(path) if path.suffix == ".ipynb" else None


def _launch_buttons(app: Any, pagename: str, templatename: str, context: dict[str, Any], doctree: Any) -> None:
    """A walkthrough's or a lab's page: the theme's launch menu, its links
    opening the learners' branch, and the browser edition if the notebook
    declares it. Other pages get none."""
    buttons = context.get("header_buttons")
    if not isinstance(buttons, list):
        return
    nb = _page_notebook(app, pagename)
    if nb is None:
        return
    config = app.config.labkit_launch_buttons
    links = launch_links(app.config.html_theme_options.get("repository_url", ""), f"{pagename}.ipynb",
                         binderhub_url=config.get("binderhub_url", ""), jupyterhub_url=config.get("jupyterhub_url", ""),
                         branch=app.config.labkit_launch_branch,
                         interface=config.get("notebook_interface", "classic")) if config else {}
    icons = {"Binder": "_static/images/logo_binder.svg", "JupyterHub": "_static/images/logo_jupyterhub.svg"}
    entries = [{"type": "link", "text": name, "tooltip": f"Open the learners' copy on {name}",
                "icon": icons[name], "url": url} for name, url in links.items()]
    if "browser" in notebook_editions(nb):
        entries.append({"type": "link", "text": "Browser", "icon": "fas fa-globe", "url": lite_link(pagename),
                        "tooltip": "Open the learners' copy in your browser: nothing to install"})
    if entries:
        buttons.insert(0, {"type": "group", "tooltip": "Launch interactive content", "icon": "fas fa-rocket",
                           "label": "launch-buttons", "buttons": entries})


def _say_editions(app: Any, doctree: Any, docname: str) -> None:
    """A walkthrough's or a lab's page says, under its title, which editions it runs in."""
    nb = _page_notebook(app, docname)
    if nb is None:
        return
    from docutils import nodes

    section = next(iter(doctree.findall(nodes.section)), None)
    if section is None:
        return
    sentence = EDITIONS_SENTENCES["browser" in notebook_editions(nb)]
    section.insert(1, nodes.paragraph(text=sentence, classes=["labkit-editions"]))


def _withhold_solutions(app: Any, doctree: Any, docname: str) -> None:
    """In the class edition, a solution cell keeps its place and says it is withheld."""
    if app.config.labkit_edition != "class":
        return
    from docutils import nodes

    for cell in list(doctree.findall(nodes.container)):
        if "tag_solution" in cell.get("classes", []):
            cell.children = [nodes.paragraph(text=WITHHELD)]
            cell["classes"] = [c for c in cell["classes"] if c != "tag_hide-input"] + ["labkit-withheld"]


def _build_finished(app: Any, exception: BaseException | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    sources = {docname: Path(app.env.doc2path(docname)) for docname in app.env.found_docs}
    replace_lab_sources(app.outdir, sources)


def setup(app: Any) -> dict[str, Any]:
    """Sphinx's entry point."""
    # A config value, so that a build of the other edition into the same folder reads every page again.
    # A wrong LABKIT_EDITION stops the build at once, with the choices.
    app.add_config_value("labkit_edition", edition(), "env")
    app.add_config_value("labkit_launch_branch", STUDENT_BRANCH, "html")
    app.add_config_value("labkit_launch_buttons", {}, "html")
    app.connect("config-inited", _take_launch_buttons)
    app.connect("doctree-resolved", _withhold_solutions)
    app.connect("doctree-resolved", _say_editions)
    # After sphinx-book-theme has prepared the page's header buttons (priority 500).
    app.connect("html-page-context", _launch_buttons, priority=510)
    app.connect("build-finished", _build_finished)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
