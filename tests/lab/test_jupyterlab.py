"""The JupyterLab path, whole and offline: ``make lab`` as a learner uses it.

One JupyterLab server, started with the Makefile's ``LAB_FLAGS`` at the course's
root, and one Chromium (Debian's, driven by Playwright) that opens the SQS lab
through the file browser, runs all its cells from the Run menu, opens the SQS
walkthrough from the other folder, follows its link to the chapter (a new tab),
and opens a notebook that names no kernel (tests/lab/fixtures/scratch.ipynb). The
server has no settings of its own for what a learner would see: that notebook's
kernel starts without a "Select Kernel" question only because make lab's flags
name the course's settings (tests/lab/test_lab_settings.py). Everything the page
requests is recorded (and anything not on loopback is refused); the server and
its kernels run with the test suite's network guard (``tests/netguard``), with a
log of their own.
The tests fail on any request for an address off loopback, from the page, the
server or a kernel (each is refused, and named), on an error in a cell or in the
page, on a quiz not drawn, on MyST shown as source instead of drawn, on a kernel
that does not start by itself, and on a chapter link that opens nothing.

Nothing is saved: autosave is off in the server's settings, and the notebooks
on disk must be unchanged at the end. On a failure, a screenshot and the
server's log are kept under ``test-artifacts/jupyterlab/``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.lab.makelab import SETTINGS_DIR, lab_flags
from tests.support.browser import CHROMIUM, playwright_or_fail
from tests.support.browser import CHROMIUM_ARGS as BROWSER_ARGS

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "jupyterlab"
#: Chromium's switches for a headless run as root that makes no request of its own.
CHROMIUM_ARGS = [*BROWSER_ARGS, "--disable-default-apps", "--metrics-recording-only"]
#: The lab that runs, the walkthrough that opens from the other folder, and its chapter (the link's text, its file).
LAB = "labs/sqs.ipynb"
WALKTHROUGH = "notebooks/sqs.ipynb"
CHAPTER_TITLE = "Amazon SQS: queues that hold the work"
CHAPTER = "book/sqs.md"
#: A notebook that names no kernel: JupyterLab asks which to start unless its settings say.
SCRATCH = "tests/lab/fixtures/scratch.ipynb"
#: The longest wait for one step of the UI (the lab's run is the longest).
STEP_TIMEOUT_MS = 120_000

pytestmark = pytest.mark.notebook
playwright_api = playwright_or_fail()  # missing tools fail the run with what to do (make test installs both)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def off_loopback(url: str) -> bool:
    """A URL that would leave the machine (data:, blob: and loopback stay)."""
    parts = urlsplit(url)
    if parts.scheme in ("data", "blob", "about", "chrome", "chrome-extension", "devtools"):
        return False
    return (parts.hostname or "") not in ("127.0.0.1", "localhost", "::1")


@dataclass
class Server:
    url: str
    token: str
    log: Path
    guard_log: Path
    process: subprocess.Popen = field(repr=False)

    def guard_attempts(self) -> str:
        return self.guard_log.read_text(encoding="utf-8") if self.guard_log.exists() else ""

    def api(self, path: str):
        with urllib.request.urlopen(f"{self.url}/api/{path}?token={self.token}", timeout=10) as answer:
            return json.load(answer)

    def wait_for_kernel(self, notebook: str, page, timeout: float = STEP_TIMEOUT_MS / 1000) -> None:
        """Wait until the notebook's session has a kernel that the page is connected to
        and that is idle: JupyterLab may start a kernel, then swap it for another one.
        The page waits, not this thread: the page's requests go through this process
        (see ``route``), which answers them only while Playwright has control.
        A dialog in the page (such as "Select Kernel") fails at once: a learner would
        have to answer it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            dialogs = page.locator(".jp-Dialog").all_inner_texts()
            if dialogs:
                raise AssertionError(f"JupyterLab asked instead of starting {notebook}'s kernel: {dialogs}")
            kernels = [session["kernel"] for session in self.api("sessions") if session["path"] == notebook]
            if len(kernels) == 1 and kernels[0]["connections"] >= 1 and kernels[0]["execution_state"] == "idle":
                return
            page.wait_for_timeout(250)
        raise AssertionError(f"no idle kernel connected to {notebook}: {self.api('sessions')}")


#: A JupyterLab with nothing to save and nothing to restore: autosave off, every
#: cell in the page (no windowing), no news, no update check. Nothing about the
#: kernel: make lab's own settings must start it (a question would stop the test).
SETTINGS = {
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": '{"autosave": false}',
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": '{"windowingMode": "none"}',
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": '{"fetchNews": "false", "checkForUpdates": false}',
}


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Server:
    home = tmp_path_factory.mktemp("jupyterlab")
    settings = home / "settings"
    for name, text in SETTINGS.items():
        (settings / name).parent.mkdir(parents=True, exist_ok=True)
        (settings / name).write_text(text, encoding="utf-8")
    port, token = free_port(), secrets.token_hex(16)
    guard_log = home / "netguard.log"
    guard_log.touch()
    env = dict(os.environ, LABKIT_NETGUARD_LOG=str(guard_log))
    assert str(ROOT / "tests" / "netguard") in env.get("PYTHONPATH", ""), "the network guard is not on PYTHONPATH"
    jupyter = Path(sys.executable).parent / "jupyter"
    log = home / "server.log"
    command = [str(jupyter), "lab", *lab_flags(), "--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
               "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
               f"--LabApp.user_settings_dir={settings}", f"--LabApp.workspaces_dir={home / 'workspaces'}"]
    with log.open("wb") as out:
        # Started elsewhere than the course: only LAB_FLAGS make the course its root, as make lab's must.
        process = subprocess.Popen(command, cwd=home, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + STEP_TIMEOUT_MS / 1000
    while True:
        try:
            with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2):
                break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"JupyterLab did not start:\n{log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.2)
    yield Server(url=url, token=token, log=log, guard_log=guard_log, process=process)
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@dataclass
class Visit:
    """What the browser saw and asked for while a learner's steps were taken."""

    requests: list[str] = field(default_factory=list)   # every URL the page (and its workers) requested
    refused: list[str] = field(default_factory=list)    # those that would have left loopback (aborted)
    websockets: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)  # uncaught errors in the page
    listing: list[str] = field(default_factory=list)    # the file browser at the root
    lab: dict = field(default_factory=dict)             # the lab's cells after Run All (read_notebook)
    walkthrough: dict = field(default_factory=dict)
    chapter_link: dict = field(default_factory=dict)    # the walkthrough's link to its chapter, before the click
    tabs_before: list[str] = field(default_factory=list)  # the main area's tabs before the click, and after
    tabs_after: list[str] = field(default_factory=list)
    chapter: dict = field(default_factory=dict)         # the tab the click opened (READ_CURRENT_TAB)
    dialogs: list[str] = field(default_factory=list)    # any dialog left open at the end
    scratch: str = ""                                    # what went wrong opening SCRATCH (a dialog, no kernel)
    seconds: dict[str, float] = field(default_factory=dict)
    screenshots: list[Path] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)    # course notebooks whose file changed on disk


#: Read an open notebook from the page: its code cells' prompts, the text of
#: outputs that are tracebacks, the quiz's questions and the Markdown as shown.
READ_NOTEBOOK = """() => {
  const panel = [...document.querySelectorAll('.jp-NotebookPanel')]
      .find(p => !p.classList.contains('lm-mod-hidden'));
  const cells = [...panel.querySelectorAll('.jp-Notebook .jp-Cell')];
  const code = cells.filter(c => c.classList.contains('jp-CodeCell'));
  const markdown = cells.filter(c => c.classList.contains('jp-MarkdownCell'));
  return {
    cells: cells.length,
    prompts: code.map(c => (c.querySelector('.jp-InputPrompt') || {}).textContent || ''),
    tracebacks: code.flatMap(c => [...c.querySelectorAll('.jp-OutputArea-output')]
        .map(o => o.textContent).filter(t => /Traceback \\(most recent call last\\)|\\w+Error: /.test(t))),
    quiz_questions: [...panel.querySelectorAll('[data-shufflequestions] .Quiz')].map(q => q.textContent.slice(0, 80)),
    markdown_text: markdown.map(c => (c.querySelector('.myst, .jp-RenderedMarkdown') || {}).innerText || ''),
    myst_cells: markdown.filter(c => c.querySelector('.myst')).length,
    admonitions: [...panel.querySelectorAll('.jp-MarkdownCell .myst aside.myst-admonition')].map(a => a.innerText),
    links: [...panel.querySelectorAll('.jp-MarkdownCell .myst a')].map(a => [a.textContent, a.getAttribute('href')]),
    kernel: (document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook-ExecutionIndicator') || {}).dataset,
  };
}"""


#: The main area's tabs, and what the current one shows.
READ_TABS = """() => [...document.querySelectorAll('#jp-main-dock-panel .lm-TabBar-tab .lm-TabBar-tabLabel')]
    .map(label => label.textContent)"""
READ_CURRENT_TAB = """() => {
  const tab = document.querySelector('#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current');
  const widget = [...document.querySelectorAll('#jp-main-dock-panel .jp-MainAreaWidget, #jp-main-dock-panel .jp-Document')]
      .find(w => !w.classList.contains('lm-mod-hidden') && w.offsetParent !== null);
  const heading = widget && widget.querySelector('h1');
  return {
    label: tab ? tab.querySelector('.lm-TabBar-tabLabel').textContent : null,
    title: tab ? tab.getAttribute('title') || (tab.querySelector('.lm-TabBar-tabLabel') || {}).title || '' : '',
    classes: widget ? widget.className : '',
    heading: heading ? heading.innerText : null,
    drawn: widget ? !!widget.querySelector('.myst, .jp-RenderedMarkdown') : false,
  };
}"""


#: Whether the main area's current tab shows the file at a path (its caption says "Path: ...").
CURRENT_TAB_IS = """path => {
  const tab = document.querySelector('#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current');
  return !!tab && (tab.getAttribute('title') || '').split('\\n').some(line => line.trim() === 'Path: ' + path);
}"""


#: Whether the file browser shows a folder (its breadcrumbs, from the root, are these names).
IN_FOLDER = """folders => {
  const crumbs = [...document.querySelectorAll('.jp-FileBrowser .jp-BreadCrumbs-item')]
      .map(c => c.textContent.trim()).filter(t => t && t !== '/');
  return JSON.stringify(crumbs) === JSON.stringify(folders);
}"""


def open_in_file_browser(page, path: str) -> None:
    """Open a notebook as a learner does: from the root, double-click each folder, then the
    file, until its tab is the current one (a double-click on a listing that is being
    redrawn may be lost: the file's is made again)."""
    page.locator(".jp-BreadCrumbs-home").click()
    *folders, name = path.split("/")
    page.wait_for_function(IN_FOLDER, arg=[], timeout=STEP_TIMEOUT_MS, polling=100)
    for depth, folder in enumerate(folders, start=1):
        page.locator(".jp-DirListing-itemText").get_by_text(folder, exact=True).dblclick(timeout=STEP_TIMEOUT_MS)
        # The listing is the folder's before the next double-click (tests/ and tests/lab/ both hold a fixtures/).
        page.wait_for_function(IN_FOLDER, arg=folders[:depth], timeout=STEP_TIMEOUT_MS, polling=100)
    for attempt in range(3):
        page.locator(".jp-DirListing-itemText").get_by_text(name, exact=True).dblclick(timeout=STEP_TIMEOUT_MS)
        try:
            page.wait_for_function(CURRENT_TAB_IS, arg=path, timeout=STEP_TIMEOUT_MS // 4, polling=250)
            return
        except playwright_api.TimeoutError:
            if attempt == 2:
                raise


def wait_until_run(page) -> None:
    """Wait for the open notebook's run to end: no code cell queued or running, one at
    least numbered, and the kernel idle. (A cell that fails stops Run All: the cells
    after it go back to unnumbered, which the tests see.)"""
    page.wait_for_function(
        """() => {
          const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
          const prompts = [...panel.querySelectorAll('.jp-CodeCell .jp-InputPrompt')].map(p => p.textContent);
          const status = panel.querySelector('.jp-Notebook-ExecutionIndicator');
          return prompts.length && !prompts.some(p => p.includes('*'))
                 && status && status.dataset.status === 'idle'
                 && prompts.some(p => /\\[\\d+\\]/.test(p));
        }""", timeout=STEP_TIMEOUT_MS, polling=250)


def scroll_through(page) -> None:
    """Scroll the open notebook to its end, as a reader does: JupyterLab draws a
    Markdown cell when it comes into view. Stops when every Markdown cell is drawn
    by MyST, or after a while (the tests then say which cells were not)."""
    try:
        page.wait_for_function(
            """() => {
              const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
              const outer = panel.querySelector('.jp-WindowedPanel-outer');
              if (outer) { outer.scrollTop += outer.clientHeight; }
              const markdown = [...panel.querySelectorAll('.jp-MarkdownCell')];
              return markdown.length && markdown.every(c => c.querySelector('.myst'));
            }""", timeout=30_000, polling=250)
    except playwright_api.TimeoutError:
        pass


def shoot(page, visit: Visit, directory: Path, name: str) -> None:
    path = directory / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    visit.screenshots.append(path)


@pytest.fixture(scope="module")
def visit(server, tmp_path_factory) -> Visit:
    """The learner's steps, taken once: open the root, the lab, Run All, then the walkthrough."""
    work = tmp_path_factory.mktemp("chromium")
    watched = [ROOT / LAB, ROOT / WALKTHROUGH, ROOT / SCRATCH, ROOT / CHAPTER]
    before = {path: digest(path) for path in watched}
    seen = Visit()

    def route(route) -> None:
        if off_loopback(route.request.url):
            seen.refused.append(route.request.url)
            route.abort("addressunreachable")
        else:
            route.continue_()

    with playwright_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(work / "profile"), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 1000}, service_workers="block")
        try:
            context.route("**/*", route)
            context.on("request", lambda request: seen.requests.append(request.url))
            page = context.pages[0] if context.pages else context.new_page()
            page.on("pageerror", lambda error: seen.page_errors.append(f"{error.name}: {error.message}"))
            page.on("websocket", lambda ws: seen.websockets.append(ws.url))
            try:
                started = time.monotonic()
                page.goto(f"{server.url}/lab?token={server.token}", timeout=STEP_TIMEOUT_MS)
                page.locator(".jp-DirListing-item").first.wait_for(timeout=STEP_TIMEOUT_MS)
                seen.listing = page.locator(".jp-DirListing-item .jp-DirListing-itemText").all_inner_texts()
                seen.seconds["open JupyterLab"] = time.monotonic() - started

                started = time.monotonic()
                open_in_file_browser(page, LAB)
                server.wait_for_kernel(LAB, page)
                page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook-ExecutionIndicator[data-status='idle']"
                             ).wait_for(timeout=STEP_TIMEOUT_MS)
                seen.seconds["open the lab, kernel ready"] = time.monotonic() - started

                started = time.monotonic()
                page.locator("#jp-MainMenu").get_by_text("Run", exact=True).click()
                page.locator(".lm-Menu-content").get_by_text("Run All Cells", exact=True).click()
                wait_until_run(page)
                seen.seconds["run all cells"] = time.monotonic() - started
                try:  # the quiz draws itself once its output is in the page
                    page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) [data-shufflequestions] .Quiz").first.wait_for(
                        timeout=15_000)
                except playwright_api.TimeoutError:
                    pass  # test_the_quiz_renders_with_no_error_in_the_page says so
                scroll_through(page)
                seen.lab = page.evaluate(READ_NOTEBOOK)
                shoot(page, seen, work, "lab")

                started = time.monotonic()
                open_in_file_browser(page, WALKTHROUGH)
                page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-MarkdownCell .myst").last.wait_for(
                    timeout=STEP_TIMEOUT_MS)
                scroll_through(page)
                seen.walkthrough = page.evaluate(READ_NOTEBOOK)
                seen.seconds["open the walkthrough"] = time.monotonic() - started
                shoot(page, seen, work, "walkthrough")

                started = time.monotonic()
                link = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-MarkdownCell .myst a").filter(
                    has_text=CHAPTER_TITLE).first
                seen.chapter_link = {"href": link.get_attribute("href", timeout=STEP_TIMEOUT_MS)}
                seen.tabs_before = page.evaluate(READ_TABS)
                link.click()
                try:
                    page.locator("#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current").filter(
                        has_text=CHAPTER.rsplit("/", 1)[-1]).wait_for(timeout=30_000)
                    page.locator("#jp-main-dock-panel .jp-Document:not(.lm-mod-hidden) h1").first.wait_for(timeout=30_000)
                except playwright_api.TimeoutError:
                    pass  # test_a_chapter_link_opens_the_chapter_in_a_new_tab says what opened
                seen.tabs_after = page.evaluate(READ_TABS)
                seen.chapter = page.evaluate(READ_CURRENT_TAB)
                seen.seconds["open the chapter from its link"] = time.monotonic() - started
                shoot(page, seen, work, "chapter")

                started = time.monotonic()
                open_in_file_browser(page, SCRATCH)
                try:
                    server.wait_for_kernel(SCRATCH, page, timeout=60)
                except AssertionError as error:
                    seen.scratch = str(error)
                seen.seconds["open a notebook that names no kernel"] = time.monotonic() - started
                shoot(page, seen, work, "scratch")
                seen.dialogs = page.locator(".jp-Dialog").all_inner_texts()
            except Exception:
                keep_artifacts(server, page=page, name="failed-step")
                raise
        finally:
            context.close()
    seen.changed = [str(path.relative_to(ROOT)) for path in watched if digest(path) != before[path]]
    print("JupyterLab, seconds per step:", {step: round(seconds, 1) for step, seconds in seen.seconds.items()})
    return seen


def keep_artifacts(server: Server, *, page=None, name: str = "failure", screenshots: list[Path] = ()) -> None:
    """Keep what explains a failure under test-artifacts/jupyterlab/: screenshots and the server's log."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    if page is not None:
        try:
            page.screenshot(path=str(ARTIFACTS / f"{name}.png"))
        except Exception:  # the page may be gone; the log is still worth keeping
            pass
    for path in screenshots:
        shutil.copy(path, ARTIFACTS / path.name)
    shutil.copy(server.log, ARTIFACTS / "server.log")
    if server.guard_attempts():
        shutil.copy(server.guard_log, ARTIFACTS / "netguard.log")


@pytest.fixture(autouse=True)
def _artifacts_on_failure(request, server, visit):
    yield
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        keep_artifacts(server, screenshots=visit.screenshots)


def test_make_lab_keeps_jupyterlab_offline_and_works_as_root():
    flags = lab_flags()
    assert f"--ServerApp.root_dir={ROOT}" in flags
    assert f"--LabApp.app_settings_dir={SETTINGS_DIR}" in flags, "make lab lost the course's JupyterLab settings"
    for offline in ("--LabApp.extension_manager=readonly", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
                    "--LabApp.news_url=None"):
        assert offline in flags, f"make lab lost {offline}"
    assert ("--allow-root" in flags) == (os.getuid() == 0)


def test_make_lab_opens_the_course_root(visit):
    assert {"book", "labs", "notebooks"} <= set(visit.listing), visit.listing
    assert visit.walkthrough.get("cells"), "the walkthrough did not open from notebooks/"


def test_the_lab_runs_all_its_cells_without_an_error(visit):
    prompts = visit.lab["prompts"]
    assert len(prompts) >= 10, prompts
    unnumbered = [i for i, prompt in enumerate(prompts) if not re.search(r"\[\d+\]", prompt)]
    assert not unnumbered, f"code cells that did not run (Run All stops at an error): {unnumbered}"
    assert not visit.lab["tracebacks"], visit.lab["tracebacks"][0][:2000]
    assert visit.lab["kernel"].get("status") == "idle"


def test_the_quiz_renders_with_no_error_in_the_page(visit):
    assert len(visit.lab["quiz_questions"]) >= 3, visit.lab["quiz_questions"]
    assert not visit.page_errors, visit.page_errors


def test_myst_renders_in_jupyterlab(visit):
    """jupyterlab-myst draws the directives and roles the book uses, instead of their source."""
    for name, notebook in (("lab", visit.lab), ("walkthrough", visit.walkthrough)):
        raw = [text[:120] for text in notebook["markdown_text"] if re.search(r":::\{|\{doc\}`|\{term\}`", text)]
        assert not raw, f"{name}: MyST shown as source: {raw}"
    for name, notebook in (("lab", visit.lab), ("walkthrough", visit.walkthrough)):
        assert notebook["myst_cells"] == len(notebook["markdown_text"]), f"{name}: Markdown cells not drawn by MyST"
    assert any(note.startswith("Note") for note in visit.lab["admonitions"]), "the lab's :::{note} is not drawn as a note"
    assert any(href and "labs/sqs.ipynb" in href for _, href in visit.walkthrough["links"]), (
        f"the walkthrough's link to the lab is not drawn as a link: {visit.walkthrough['links']}")
    assert any(href and urlsplit(href).path == f"/files/{CHAPTER}" for _, href in visit.lab["links"]), (
        f"the lab's link to its chapter is not drawn as a link to {CHAPTER}: {visit.lab['links']}")
    for name, notebook in (("lab", visit.lab), ("walkthrough", visit.walkthrough)):
        # JupyterLab turns a link to a course file into its /files/ address (and opens the file on a click).
        local = [href for _, href in notebook["links"] if href and not off_loopback(href) and urlsplit(href).path]
        unopenable = [href for href in local if not re.fullmatch(r"/files/.+\.(md|ipynb)", urlsplit(href).path)]
        assert local and not unopenable, f"{name}: links to no file of the course: {unopenable or notebook['links']}"


def test_a_notebook_starts_its_kernel_without_asking(visit):
    """The lab's kernel started with no question (a dialog then fails the visit itself), and so
    did the kernel of a notebook that names none: make lab's settings, not the test's, start it."""
    assert not visit.scratch, visit.scratch
    assert not visit.dialogs, f"JupyterLab asked: {visit.dialogs}"
    assert visit.lab["kernel"].get("status") == "idle"


def test_a_chapter_link_opens_the_chapter_in_a_new_tab(visit):
    """A click on the walkthrough's link to its chapter opens book/sqs.md, drawn, in a tab of its own."""
    assert urlsplit(visit.chapter_link.get("href") or "").path == f"/files/{CHAPTER}", (
        f"JupyterLab did not resolve the link to the chapter's file: {visit.chapter_link}")
    opened = [tab for tab in visit.tabs_after if tab not in visit.tabs_before]
    assert opened == [CHAPTER.rsplit("/", 1)[-1]], f"tabs before {visit.tabs_before}, after {visit.tabs_after}"
    assert visit.chapter["label"] == opened[0], f"the new tab is not the current one: {visit.chapter}"
    assert f"Path: {CHAPTER}" in visit.chapter["title"], f"the new tab is not the course's {CHAPTER}: {visit.chapter}"
    assert visit.chapter["heading"] == CHAPTER_TITLE, visit.chapter
    assert visit.chapter["drawn"], f"the chapter is shown as source, not drawn: {visit.chapter}"


def test_no_request_left_loopback(visit, server):
    assert visit.requests, "no request recorded: the recording is broken"
    assert visit.websockets, "no websocket recorded: the recording is broken"
    leaks = [f"the page asked for {url}" for url in visit.refused]
    leaks += [f"the page opened a websocket to {url}" for url in visit.websockets if off_loopback(url)]
    attempts = server.guard_attempts()
    leaks += [f"the server or a kernel: {line}" for line in attempts.splitlines() if line.startswith("pid ")]
    assert not leaks, "requests that would have left loopback:\n" + "\n".join(leaks) + (
        f"\n\nWhere the server or kernel tried (network guard's log):\n{attempts[:3000]}" if attempts else "")


def test_nothing_was_saved(visit):
    assert not visit.changed, f"JupyterLab wrote to the course's notebooks: {visit.changed}"
