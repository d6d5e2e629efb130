"""The test suite's house rules, loaded into every pytest run.

``pyproject.toml`` loads this plugin (``-p tests.harness``) whatever paths
pytest is given, so ``pytest labs/sqs.ipynb`` runs under the same rules as
``make test`` (a ``tests/conftest.py`` would only be read for paths under
``tests/``). Before any test runs, it

- puts ``tests/netguard`` on PYTHONPATH, so every kernel, book build and
  grader process refuses non-loopback connections and logs any attempt;
- plants honeypot AWS credentials in the environment and in a fake ``~/.aws``,
  with ``AWS_PROFILE`` pointing at them. A notebook that used them would fail
  (they are not valid anywhere), and labkit must ignore them;
- sets ``LABKIT_STRICT=1`` so a failed check in a lab *source* notebook fails
  nbval, and ``LABKIT_REQUIRE_GRAPHVIZ=1`` so a diagram that cannot be drawn is
  an error.

Before every test item (nbval's cells included) the environment is put back
as it was, honeypot included. At the end of the run the network-guard log must
be empty, or the run fails.

It also decides how pytest-xdist shares the work (see
:func:`pytest_collection_modifyitems`), and adds to each notebook the second
run and the executed copy of :mod:`tests.notebooks.executions`.
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import shutil
import socket
import sys
import tempfile
from pathlib import Path

import pytest


def _defer_slow_imports() -> None:
    """labkit's stand-in for ``rfc3987_syntax`` (:mod:`labkit.core.lazy`), in this
    process too, before nbformat imports jsonschema: it saves each pytest process
    about 2.5 s of CPU. The file is loaded on its own, without ``import labkit``."""
    path = Path(__file__).resolve().parent.parent / "labkit" / "core" / "lazy.py"
    spec = importlib.util.spec_from_file_location("labkit_lazy_for_tests", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.install()


_defer_slow_imports()

from tests.notebooks import executions  # noqa: E402  (imports nbformat, so jsonschema)


def _nbval_kernels_start_twice() -> None:
    """A kernel that fails to start is started once more before its notebook fails.

    Two kernels starting at once can pick the same free port (jupyter_client
    chooses ports before the kernel binds them), and on a loaded machine a
    start can outlast its timeout. Either failed every cell of a notebook that
    had done nothing wrong; a second start says so on stderr."""
    import nbval.plugin

    original = nbval.plugin.RunningKernel
    if getattr(original, "labkit_retries", False):
        return

    class RunningKernel(original):  # type: ignore[misc, valid-type]
        labkit_retries = True

        def __init__(self, *args: object, **kwargs: object) -> None:
            try:
                super().__init__(*args, **kwargs)
            except Exception as error:  # noqa: BLE001  (any failure to start: try once more, then let it fail)
                sys.stderr.write(f"nbval's kernel did not start ({error!r}); starting another\n")
                super().__init__(*args, **kwargs)

    nbval.plugin.RunningKernel = RunningKernel


_nbval_kernels_start_twice()

ROOT = Path(__file__).resolve().parent.parent
NETGUARD = ROOT / "tests" / "netguard"

HONEYPOT_KEY = "HONEYPOT-KEY-DO-NOT-USE"
HONEYPOT_SECRET = "honeypot-secret-that-must-never-be-sent"

# pytest-xdist workers inherit the environment set up by the main process: reuse it.
_inherited = os.environ.get("LABKIT_TEST_HOME")
HOME = Path(_inherited) if _inherited else Path(tempfile.mkdtemp(prefix="labkit-home-"))
if not _inherited:  # the process that made it removes it when the run ends (workers end first)
    atexit.register(shutil.rmtree, HOME, True)
(HOME / ".aws").mkdir(exist_ok=True)
(HOME / ".aws" / "credentials").write_text(
    f"[default]\naws_access_key_id = {HONEYPOT_KEY}\naws_secret_access_key = {HONEYPOT_SECRET}\n"
    f"[honeypot]\naws_access_key_id = {HONEYPOT_KEY}\naws_secret_access_key = {HONEYPOT_SECRET}\n"
)
(HOME / ".aws" / "config").write_text("[default]\nregion = eu-west-3\n[profile honeypot]\nregion = eu-west-3\n")
NETGUARD_LOG = HOME / "netguard.log"
NETGUARD_LOG.touch()

os.environ.update(
    {
        "HOME": str(HOME),
        "LABKIT_TEST_HOME": str(HOME),
        "AWS_PROFILE": "honeypot",
        "AWS_ACCESS_KEY_ID": HONEYPOT_KEY,
        "AWS_SECRET_ACCESS_KEY": HONEYPOT_SECRET,
        "AWS_DEFAULT_REGION": "eu-west-3",
        "LABKIT_NETGUARD_LOG": str(NETGUARD_LOG),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(NETGUARD), os.environ.get("PYTHONPATH", "")])),
        "LABKIT_STRICT": "1",
        "LABKIT_REQUIRE_GRAPHVIZ": "1",
        # Kernels find their own interpreter's kernelspec, whatever HOME says.
        "JUPYTER_PLATFORM_DIRS": "1",
    }
)

# Guard this process too (it was started before PYTHONPATH changed).
if not getattr(socket, "NETGUARD_ACTIVE", False):
    _spec = importlib.util.spec_from_file_location("labkit_netguard", NETGUARD / "sitecustomize.py")
    assert _spec and _spec.loader
    _spec.loader.exec_module(importlib.util.module_from_spec(_spec))

#: The environment every test item starts from: honeypot included.
TEST_ENVIRONMENT = dict(os.environ)

def pytest_configure(config: pytest.Config) -> None:
    if getattr(config.option, "numprocesses", None) and config.option.dist != "loadgroup":
        raise pytest.UsageError("with -n, add --dist loadgroup: a notebook's cells must share one worker "
                                "and its kernel (make test does)")
    config.addinivalue_line("markers", "notebook: executes a notebook (nbval cells, second runs, stub runs, "
                            "the book build); make test-fast leaves them out")
    config.addinivalue_line("markers", "book_page(path): runs one of the book's own pages (book/*.md) before "
                            "the build, which then takes it from its cache")
    config.pluginmanager.register(executions, "labkit-notebook-executions")


def netguard_attempts() -> str:
    """Everything the network guard refused so far, in any process of this run."""
    return NETGUARD_LOG.read_text(encoding="utf-8") if NETGUARD_LOG.exists() else ""


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    variants = sys.modules.get("tests.notebooks.variants")
    if variants is not None:
        variants.close()  # this worker's kernel for lab variants
    attempts = netguard_attempts()
    if attempts.strip() and not hasattr(session.config, "workerinput"):
        sys.stderr.write(
            "\nNETWORK GUARD: something in the test run tried to reach the network "
            "(only loopback is allowed):\n" + attempts[:5000] + "\n"
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """labkit.start() rewrites os.environ in-process (in a test, or in a fixture
    shared by a module). Put the honeypot back before every item, nbval cells
    included, so that every kernel this worker starts still sees it."""
    os.environ.clear()
    os.environ.update(TEST_ENVIRONMENT)


# ---------------------------------------------------------------------------
# Sharing the work between pytest-xdist workers
# ---------------------------------------------------------------------------


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the options
def pytest_cmdline_main(config: pytest.Config) -> None:
    """With ``-n``, hand out the groups in the order this plugin sets (see
    :func:`pytest_collection_modifyitems`), not largest first."""
    if getattr(config.option, "numprocesses", None):
        config.option.loadscopereorder = False


#: A group named with this prefix (an ``xdist_group`` mark) is handed out after every other
#: group: work that waits for the rest of the run (reading the built book, in shards).
RUN_LAST = "last:"


def _runs_last(item: pytest.Item) -> bool:
    mark = item.get_closest_marker("xdist_group")
    name = (mark.kwargs.get("name") or (mark.args[0] if mark.args else "")) if mark else ""
    return str(name).startswith(RUN_LAST)


def _is_book(item: pytest.Item) -> bool:
    return Path(str(item.path)).is_relative_to(ROOT / "tests" / "book")


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist's own hook reads the groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Add each notebook's second run, then group and order the work.

    Groups (``--dist loadgroup``): one per file, so a notebook's cells and its
    second run share a kernel and a module's fixtures are built once, except in
    modules that set ``SPREAD = True``, whose tests are spread one by one, and
    modules that name a ``GROUP`` they share (the book's build, say), and
    tests that carry an ``xdist_group`` mark of their own.

    Order (pytest-xdist hands out groups in this order): the notebooks first,
    longest (the labs) first, and the runs of the book's own pages; then the book, which is built from the notebooks'
    executed copies and so waits for them; then the other tests that execute a
    notebook; then everything else; last, the groups named with :data:`RUN_LAST`
    (the built book's pages, read in shards by workers done with the rest).
    """
    executions.add_reruns(items)
    for item in items:
        if item.get_closest_marker("xdist_group"):  # the test names its own group
            continue
        module = getattr(item, "module", None)
        spread = bool(getattr(module, "SPREAD", False)) if module is not None else False
        group = item.nodeid if spread else getattr(module, "GROUP", None) or item.nodeid.split("::", 1)[0]
        item.add_marker(pytest.mark.xdist_group(name=group))

    def rank(indexed: tuple[int, pytest.Item]) -> tuple[int, int, int]:
        index, item = indexed
        if _runs_last(item):
            return (4, 0, index)
        if executions.is_notebook_item(item):
            return (0, 0 if "/labs/" in f"/{item.nodeid}" else 1, index)
        if getattr(getattr(item, "module", None), "RUNS_WITH_NOTEBOOKS", False):
            return (0, 2, index)
        if _is_book(item):
            return (1, 0, index)
        if item.get_closest_marker("notebook"):
            return (2, 0, index)
        return (3, 0, index)

    items[:] = [item for _, item in sorted(enumerate(items), key=rank)]


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    """Fail loudly if pytest-xdist ignored the groups: a notebook's nbval cells would then
    be split across workers, each with its own kernel, and fail for no reason of their own."""
    if getattr(session.config.option, "loadgroup", False) and session.items and "@" not in session.items[0].nodeid:
        pytest.exit("pytest-xdist did not apply --dist loadgroup (pytest 9 breaks it): "
                    "install the versions in requirements.txt", returncode=3)
