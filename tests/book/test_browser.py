"""The built book, read in a real browser: Debian's Chromium, driven by Playwright.

Every page of the build (``tests/book/conftest.py``, shared with
``test_book.py``) is served on 127.0.0.1 and visited once, by a browser loop
over one of :data:`SHARDS` shards of the pages (on as many workers, when the run
has them). Each visit records what the tests below then judge:

- the console: no error, no uncaught exception;
- the network: no request leaves loopback (any other address is blocked and
  named), and nothing the page loads answers 404;
- internal links and the images: every link into the book names a file of the
  build (and an anchor in it), every image loads and has alt text;
- axe-core (vendored in ``tests/browser/vendor``): no serious or critical
  violation, except the few the theme causes (:data:`THEME_FINDINGS`, each with
  its reason);
- a phone's width (375 px): the page does not scroll sideways.

On the SQS lab, a quiz answers on click, the solutions start collapsed behind
a "Show the solution" toggle, and neither the page nor a file it offers for
download holds a hidden check. On a chapter, a diagram opens full size.

A page that fails a check is photographed into ``test-artifacts/browser/``
(the failure names the file). Without Chromium the tests fail and say how to
install it (``make test`` installs it: ``scripts/ensure-chromium.sh``).
"""

from __future__ import annotations

import collections
import contextlib
import functools
import hashlib
import http.server
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urldefrag, urlsplit

import nbformat
import pytest

from labkit.grading.book import LITE_FOLDER, notebook_editions
from tests.book.conftest import Build
from tests.harness import RUN_LAST
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, playwright_or_fail

ROOT = Path(__file__).resolve().parents[2]
#: With test_book.py: one build, read by the tests of this module that need no shard.
GROUP = "book"
#: Every page is visited once, in one of this many shards; each shard is a browser loop of
#: its own, on a worker of its own when the run has several (the build is shared by all).
SHARDS = 3

pytestmark = pytest.mark.notebook

#: Headless, and none of Chromium's own background traffic (updates, sync, safe browsing).
CHROMIUM_FLAGS = ["--headless", *CHROMIUM_ARGS]
AXE = ROOT / "tests" / "browser" / "vendor" / "axe-core" / "axe.min.js"
AXE_SHA256 = "29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c"
ARTEFACTS = ROOT / "test-artifacts" / "browser"
DESKTOP = {"width": 1280, "height": 900}
PHONE_WIDTH = 375
LAB = "labs/sqs"
CHAPTER_WITH_DIAGRAMS = "book/sqs"

#: axe findings that come from the theme (pydata-sphinx-theme, under sphinx-book-theme),
#: not from the book's content: (rule, a piece of the element's HTML) -> why it is left.
#: Anything else serious or critical fails the test. (Fixed in book/_static instead: the
#: sidebar's unnamed chapter toggles, summary-name; the quiz colours, color-contrast.)
THEME_FINDINGS: dict[tuple[str, str], str] = {
    ("label-content-name-mismatch", "search-button__button"):
        "the search button is named \"Search\" and also shows its shortcut (Ctrl+K); the name is the "
        "visible word it starts with, so a reader who says \"Search\" reaches it",
    ("label-content-name-mismatch", "theme-switch-button"):
        "the colour-mode button shows only icons; axe reads their tooltips (Light, Dark, System Settings) "
        "as visible text that its name (\"Color mode\") does not contain",
}
#: What is the same on every page is checked by axe on a few pages only, which makes the
#: loop several times faster: the code blocks (Pygments' colours; most of a notebook page's
#: elements) on these pages,
CODE_PAGES = (LAB, "notebooks/sqs")
#: and the theme's navigation sidebar on these.
CHROME_PAGES = ("index", LAB, "notebooks/sqs")

#: The checks of every page (see test_every_page).
CHECKS = ("console", "offline", "resolves", "alt", "axe", "phone", "hidden-check")


@dataclass
class Visit:
    page: str
    problems: dict[str, list[str]] = field(default_factory=dict)
    links: list[str] = field(default_factory=list)
    screenshots: list[Path] = field(default_factory=list)

    def add(self, check: str, problem: str) -> None:
        self.problems.setdefault(check, []).append(problem)


# ---------------------------------------------------------------------------
# The server, the browser, and the one loop over every page
# ---------------------------------------------------------------------------


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the base class's name)
        pass


@contextlib.contextmanager
def serve(folder: Path) -> Iterator[str]:
    """``folder`` served on 127.0.0.1 (a thread of this process); yields its origin."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, name="book-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def origin(build: Build) -> Iterator[str]:
    """The build's html folder, served on 127.0.0.1."""
    with serve(build.html) as address:
        yield address


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    sync_api = playwright_or_fail()
    with sync_api.sync_playwright() as playwright:
        # Playwright starts it with a fresh, empty profile (user data directory) of its own.
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


@dataclass
class Seen:
    """What one tab met since it was last asked."""

    outside: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)


@dataclass
class Session:
    """One browser context whose every request is watched: anything not on the book's
    own origin is blocked, and recorded against the tab that asked for it."""

    context: object
    origin: str
    seen: dict[object, Seen] = field(default_factory=dict)

    def take(self, page: object) -> Seen:
        """What ``page`` met since the last call, and forget it."""
        return self.seen.pop(page, Seen())


def watch(browser: object, origin: str) -> Session:
    """A new browser context that blocks and records every request not to ``origin``."""
    context = browser.new_context(viewport=DESKTOP, service_workers="block")
    watched = Session(context, origin)

    def leaves_loopback(url: str) -> bool:
        return not url.startswith(f"{origin}/") and not url.startswith(("data:", "blob:", "about:"))

    def on_page(page: object) -> None:
        def seen() -> Seen:
            return watched.seen.setdefault(page, Seen())

        def on_request(request: object) -> None:
            if leaves_loopback(request.url):
                seen().outside.append(request.url)

        def on_response(response: object) -> None:
            if response.status >= 400:
                seen().failed.append(f"{response.status} {response.url}")

        def on_failed(request: object) -> None:
            if not leaves_loopback(request.url):
                seen().failed.append(f"failed ({request.failure}) {request.url}")

        def on_console(message: object) -> None:
            if message.type == "error":
                seen().console.append(f"console error: {message.text}")

        page.on("request", on_request)
        page.on("response", on_response)
        page.on("requestfailed", on_failed)
        page.on("console", on_console)
        page.on("pageerror", lambda error: seen().console.append(f"uncaught: {error}"))
        page.on("websocket", lambda socket: seen().outside.append(socket.url))

    # Blocked in the browser itself (the regular expression is matched there, so the
    # book's own files are not routed through this process).
    context.route(re.compile(rf"^(?!{re.escape(origin)}/)"), lambda route: route.abort("blockedbyclient"))
    context.on("page", on_page)
    return watched


@pytest.fixture(scope="module")
def session(browser: object, origin: str) -> Iterator[Session]:
    watched = watch(browser, origin)
    yield watched
    watched.context.close()


def pages(build: Build) -> list[str]:
    """Every page of the build, as ``book/sqs`` (no theme files, no downloads)."""
    found = [path.relative_to(build.html).with_suffix("").as_posix() for path in build.html.rglob("*.html")]
    return sorted(name for name in found if not name.startswith("_"))


def screenshot(page: object, name: str, folder: Path, suffix: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name.replace('/', '-')}{suffix}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def axe_source() -> str:
    data = AXE.read_bytes()
    assert hashlib.sha256(data).hexdigest() == AXE_SHA256, f"{AXE} is not the vendored axe-core (see its README.md)"
    return data.decode("utf-8")


#: axe on the page (less what the ``exclude`` selectors match), or on the elements ``include``
#: matches. The region rule is left out: its findings are moderate at most (the test reads
#: serious and critical ones), and it is the slowest rule after color-contrast.
RUN_AXE = """async ({include, exclude}) => {
  const context = include ? {include: [[include]]} : {exclude: (exclude || []).map(selector => [selector])};
  const results = await axe.run(context, {resultTypes: ['violations'], iframes: false, preload: false,
                                          rules: {region: {enabled: false}}});
  return results.violations.flatMap(v => v.nodes
    .filter(n => ['serious', 'critical'].includes(n.impact))
    .map(n => ({rule: v.id, impact: n.impact, help: v.help, target: n.target.join(' '),
                html: n.html.slice(0, 160), summary: (n.failureSummary || '').slice(0, 240)})));
}"""

IMAGES = """() => [...document.images].map(img => ({
  src: img.currentSrc.startsWith('data:') ? img.currentSrc.slice(0, 40) + '...' : img.currentSrc,
  alt: img.getAttribute('alt'), loaded: img.complete && img.naturalWidth > 0,
  decorative: img.getAttribute('role') === 'presentation' || img.getAttribute('aria-hidden') === 'true',
}))"""

#: How far the page scrolls sideways, and the elements that stick out of the window
#: (the deepest ones, not inside something that scrolls on its own).
OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const extra = document.documentElement.scrollWidth - width;
  if (extra <= 1) return {extra, out: []};
  const scrolls = el => { for (let p = el.parentElement; p; p = p.parentElement) {
      const x = getComputedStyle(p).overflowX; if (x === 'auto' || x === 'scroll' || x === 'hidden') return true; }
    return false; };
  const out = [...document.body.querySelectorAll('*')].filter(el => {
      const box = el.getBoundingClientRect();
      return box.width > 0 && box.right > width + 1 && !scrolls(el)
        && ![...el.children].some(c => c.getBoundingClientRect().right > width + 1); })
    .slice(0, 5).map(el => `<${el.tagName.toLowerCase()} class="${el.className}"> ${(el.textContent || '').trim().slice(0, 60)}`);
  return {extra, out};
}"""


def theme_reason(finding: dict[str, str]) -> str | None:
    for (rule, piece), reason in THEME_FINDINGS.items():
        if finding["rule"] == rule and piece in finding["html"]:
            return reason
    return None


#: How long a page may take to load and fall quiet before its visit fails (milliseconds).
PAGE_WAIT_MS = 120_000


def start(session: Session, page: object, name: str, axe: str) -> Visit:
    """Load the page in this tab, read its images and links, and start axe on it (it runs
    in the tab's own process while the caller starts another tab: see :func:`finish`)."""
    result = Visit(name)
    page.set_viewport_size(DESKTOP)
    # Generous waits: at the end of `make test` three shards read pages while notebooks still run on
    # 2 cores, and a long page once took more than Playwright's default 30 s to fall quiet. (A wait,
    # not a measure of speed: bench/ measures the pages.)
    page.goto(f"{session.origin}/{name}.html", wait_until="load", timeout=PAGE_WAIT_MS)
    page.wait_for_load_state("networkidle", timeout=PAGE_WAIT_MS)

    for image in page.evaluate(IMAGES):
        if not image["loaded"]:
            result.add("resolves", f"image does not load: {image['src']}")
        if not (image["alt"] or "").strip() and not image["decorative"]:
            result.add("alt", f"image without alt text: {image['src']}")
    result.links = page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)")

    page.add_script_tag(content=axe)
    exclude = [*([] if name in CODE_PAGES else [".highlight"]), *([] if name in CHROME_PAGES else [".bd-sidebar-primary"])]
    page.evaluate(f"scope => {{ window.labkitAxe = ({RUN_AXE})(scope); }}", {"include": None, "exclude": exclude})
    return result


def finish(session: Session, page: object, result: Visit, artefacts: Path = ARTEFACTS) -> Visit:
    """Wait for axe's findings on the page loaded by :func:`start`, then check the rest."""
    name = result.page
    for finding in page.evaluate("() => window.labkitAxe"):
        if theme_reason(finding) is None:
            result.add("axe", f"{finding['impact']} {finding['rule']} ({finding['help']}) at {finding['target']}: "
                              f"{finding['html']} -- {finding['summary']}")

    if name.startswith("labs/"):
        content = page.content()
        if "(grading)" in content or "hidden=True" in content:
            result.add("hidden-check", "a hidden check's code or title is in the lab's page")

    seen = session.take(page)
    for url in seen.outside:
        result.add("offline", f"request leaving loopback (blocked): {url}")
    for answer in seen.failed:
        result.add("resolves", answer)
    for message in seen.console:
        result.add("console", message)
    if result.problems:
        result.screenshots.append(screenshot(page, name, artefacts))

    page.set_viewport_size({"width": PHONE_WIDTH, "height": 800})
    overflow = page.evaluate(OVERFLOW)
    if overflow["extra"] > 1:
        result.add("phone", f"scrolls {overflow['extra']} px sideways at {PHONE_WIDTH} px; sticking out: {overflow['out']}")
        result.screenshots.append(screenshot(page, name, artefacts, f"-{PHONE_WIDTH}px"))
    return result


#: Tabs that check pages at once: while axe reads a page in one tab, the next page loads in another.
TABS = 2


def shard_of(names: list[str], shard: int) -> list[str]:
    """The pages of one shard: every SHARDS-th page of the sorted list, from the ``shard``-th."""
    return names[shard::SHARDS]


@pytest.fixture(scope="module", params=[
    # Its own group: the harness hands the shards out last, to workers done with everything else.
    pytest.param(shard, id=f"shard{shard}", marks=pytest.mark.xdist_group(f"{RUN_LAST}{shard}"))
    for shard in range(SHARDS)])
def shard(request: pytest.FixtureRequest) -> int:
    return request.param


@pytest.fixture(scope="module")
def visits(build: Build, session: Session, shard: int) -> dict[str, Visit]:
    """Every page of the shard, visited once."""
    axe = axe_source()
    tabs = [session.context.new_page() for _ in range(TABS)]
    started: collections.deque[tuple[object, Visit]] = collections.deque()
    found: dict[str, Visit] = {}
    try:
        for name in shard_of(pages(build), shard):
            if len(started) == TABS:
                page, result = started.popleft()
                found[result.page] = finish(session, page, result)
            page = next(tab for tab in tabs if all(tab is not busy for busy, _ in started))
            started.append((page, start(session, page, name, axe)))
        while started:
            page, result = started.popleft()
            found[result.page] = finish(session, page, result)
    finally:
        for page in tabs:
            page.close()
    return dict(sorted(found.items()))


def report(visits: dict[str, Visit], check: str) -> str:
    lines = []
    for name, found in visits.items():
        if check in found.problems:
            shots = ", ".join(str(path) for path in found.screenshots)
            lines.append(f"{name}.html (screenshot: {shots}):")
            lines.extend(f"    {problem}" for problem in found.problems[check])
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# Every page
# ---------------------------------------------------------------------------


def test_the_shards_hold_every_page_once(build):
    names = pages(build)
    assert len(names) > 20 and {"index", LAB, CHAPTER_WITH_DIAGRAMS} <= set(names)
    shards = [shard_of(names, shard) for shard in range(SHARDS)]
    assert sorted(name for part in shards for name in part) == names
    assert all(part for part in shards)


def test_every_page_of_the_shard_was_visited(build, visits, shard):
    assert list(visits) == sorted(shard_of(pages(build), shard))


@pytest.mark.parametrize("check", CHECKS)
def test_every_page(visits, check):
    """console: no error or uncaught exception. offline: no request leaves loopback.
    resolves: nothing the page loads fails or answers 404, and every image loads.
    alt: every image has alt text. axe: no serious or critical axe-core violation
    but the theme's (THEME_FINDINGS). phone: no sideways scrolling at 375 px.
    hidden-check: no hidden check in a lab's page."""
    problems = report(visits, check)
    assert not problems, f"{check}:\n{problems}"


def target_file(html: Path, path: str) -> Path:
    target = html / unquote(path).lstrip("/")
    return target / "index.html" if target.is_dir() or path.endswith("/") else target


def lite_link_problem(url: str) -> str | None:
    """What is wrong with a link into the browser edition (``lite/``), which is published
    beside the book but not built with it: it must open JupyterLite's lab on a notebook that
    declares the browser edition, the notebooks ``scripts/build_lite.py`` puts in the site."""
    parts = urlsplit(url)
    if parts.path != f"/{LITE_FOLDER}/lab/index.html":
        return f"not the browser edition's lab page (/{LITE_FOLDER}/lab/index.html)"
    notebook = dict(parse_qsl(parts.query)).get("path", "")
    if not (ROOT / notebook).is_file() or notebook.count("/") != 1:
        return f"names no notebook of the course ({notebook!r})"
    if "browser" not in notebook_editions(nbformat.read(ROOT / notebook, as_version=4)):
        return f"{notebook} does not declare the browser edition"
    return None


def broken_links(html: Path, visits: dict[str, Visit], origin: str) -> list[str]:
    """The links into the site at ``origin`` (served from ``html``) that name no file of it, or
    an anchor not in the page they name. Links into the browser edition (``lite/``) are
    checked by :func:`lite_link_problem` when the build has no ``lite`` folder."""
    anchors: dict[Path, set[str]] = {}
    broken = []
    for name, found in visits.items():
        for link in found.links:
            if not link.startswith(f"{origin}/"):
                continue
            url, fragment = urldefrag(link)
            if urlsplit(url).path.startswith(f"/{LITE_FOLDER}/") and not (html / LITE_FOLDER).is_dir():
                problem = lite_link_problem(url)
                if problem:
                    broken.append(f"{name}.html -> {link}: {problem}")
                continue
            target = target_file(html, urlsplit(url).path)
            if not target.is_file():
                broken.append(f"{name}.html -> {link}: no such file")
                continue
            if fragment and target.suffix == ".html":
                if target not in anchors:
                    anchors[target] = set(re.findall(r'\bid="([^"]+)"', target.read_text(encoding="utf-8")))
                if unquote(fragment) not in anchors[target]:
                    broken.append(f"{name}.html -> {link}: no id {fragment!r} in {target.name}")
    return sorted(set(broken))


def test_internal_links_resolve(build, visits, origin):
    """Every link into the book names a file of the build, and the anchor it names is in that page."""
    assert sum(len(found.links) for found in visits.values()) > 100
    broken = broken_links(build.html, visits, origin)
    assert not broken, "\n".join(broken)


BROKEN_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>A broken page</title>
<script src="https://cdn.example.invalid/library.js"></script></head>
<body><main><h1>A broken page</h1>
<p>Exercise 1 (grading)</p>
<img src="missing-diagram.png">
<p><a href="missing.html">a page that is not there</a>, <a href="#nowhere">an anchor that is not there</a>,
<a href="../lite/lab/index.html?path=labs/elasticache.ipynb">a lab that does not run in the browser</a></p>
<div style="width: 900px">wider than a phone</div>
<button></button>
<script>console.error("an error of the page's own");</script>
</main></body></html>
"""


def test_every_check_fails_on_a_broken_page(browser, tmp_path):
    """Each check of every page can fail: a page with one fault of each kind (an outside
    script, a console error, an image that is missing and has no alt text, broken links, a
    button with no name, too wide for a phone, a hidden check's title in a lab) fails them all,
    and is photographed."""
    (tmp_path / "site" / "labs").mkdir(parents=True)
    (tmp_path / "site" / "labs" / "broken.html").write_text(BROKEN_PAGE, encoding="utf-8")
    with serve(tmp_path / "site") as address:
        watched = watch(browser, address)
        try:
            page = watched.context.new_page()
            found = finish(watched, page, start(watched, page, "labs/broken", axe_source()), artefacts=tmp_path / "shots")
        finally:
            watched.context.close()
        links = broken_links(tmp_path / "site", {"labs/broken": found}, address)
    assert set(found.problems) == set(CHECKS), found.problems
    assert any("cdn.example.invalid" in problem for problem in found.problems["offline"])
    assert any("button-name" in problem for problem in found.problems["axe"])
    assert any("missing-diagram.png" in problem for problem in found.problems["resolves"])
    assert any("missing.html" in link for link in links) and any("nowhere" in link for link in links)
    assert any("labs/elasticache.ipynb does not declare the browser edition" in link for link in links), links
    assert found.screenshots and all(path.is_file() for path in found.screenshots)


# ---------------------------------------------------------------------------
# One lab page: quiz, solutions, downloads; one chapter: a diagram full size
# ---------------------------------------------------------------------------


@pytest.fixture
def tab(session: Session) -> Iterator[object]:
    page = session.context.new_page()
    yield page
    seen = session.take(page)
    page.close()
    assert not (seen.outside or seen.failed or seen.console), seen


def test_a_quiz_answers_on_click(session, tab):
    tab.goto(f"{session.origin}/{LAB}.html")
    quiz = tab.locator(".Quiz").first
    feedback = quiz.locator(".Feedback")
    assert feedback.inner_text().strip() == "", "no feedback before an answer"
    wrong = quiz.locator('label.MCButton[data-correct="false"]').first
    wrong.click()
    assert feedback.inner_text().strip() == wrong.get_attribute("data-feedback").strip()
    assert "incorrect" in feedback.get_attribute("class")
    right = quiz.locator('label.MCButton[data-correct="true"]').first
    right.click()
    assert feedback.inner_text().strip() == right.get_attribute("data-feedback").strip()
    assert "correct" in feedback.get_attribute("class").split()
    # The answered buttons' colours are readable too (their transition finished).
    tab.evaluate("() => document.getAnimations().forEach(a => a.finish())")
    tab.add_script_tag(content=axe_source())
    findings = tab.evaluate(RUN_AXE, {"include": ".Quiz", "exclude": None})
    assert not findings, findings


def test_solutions_start_collapsed_behind_a_labelled_toggle(session, tab):
    tab.goto(f"{session.origin}/{LAB}.html")
    toggles = tab.locator(".tag_solution details.above-input")
    assert toggles.count() >= 3
    for index in range(toggles.count()):
        toggle = toggles.nth(index)
        assert toggle.get_attribute("open") is None, "a solution starts collapsed"
        assert not toggle.locator(".cell_input").is_visible()
        assert toggle.locator("summary").inner_text().strip() == "Show the solution"
    first = toggles.first
    first.locator("summary").click()
    assert first.locator(".cell_input").is_visible(), "a click shows the solution"
    assert first.locator("summary").inner_text().strip() == "Hide the solution"


def test_no_hidden_check_in_the_lab_page_or_its_downloads(session, tab):
    tab.goto(f"{session.origin}/{LAB}.html")
    assert "(grading)" not in tab.content() and "hidden=True" not in tab.content()
    downloads = [link for link in tab.eval_on_selector_all("a[href]", "links => links.map(a => a.href)")
                 # a file's own address (the Browser link's query names a notebook, but it opens a page)
                 if link.startswith(f"{session.origin}/") and re.search(r"\.(ipynb|md|py|zip)$", urlsplit(link).path)]
    assert any(link.endswith(".ipynb") for link in downloads), f"the lab page offers its notebook: {downloads}"
    for link in downloads:
        answer = session.context.request.get(link)
        assert answer.ok, link
        text = answer.text()
        assert "(grading)" not in text and '"hidden"' not in text and "hidden=True" not in text, link
        assert "BEGIN SOLUTION" not in text, link


def test_a_diagram_opens_full_size(session, tab):
    tab.goto(f"{session.origin}/{CHAPTER_WITH_DIAGRAMS}.html")
    figure = tab.locator("figure.labkit-diagram").first
    image = figure.locator("img")
    shown_width = image.evaluate("img => img.getBoundingClientRect().width")
    image.click()
    dialog = tab.locator("dialog.labkit-lightbox")
    assert dialog.evaluate("d => d.open")
    big = dialog.locator("img")
    assert big.get_attribute("alt") == image.get_attribute("alt")
    assert big.evaluate("img => img.getBoundingClientRect().width") == image.evaluate("img => img.naturalWidth")
    assert big.evaluate("img => img.naturalWidth") >= shown_width
    tab.keyboard.press("Escape")
    assert not dialog.evaluate("d => d.open")
    # The keyboard's way in: a button under the diagram.
    figure.locator("button.labkit-zoom").focus()
    tab.keyboard.press("Enter")
    assert dialog.evaluate("d => d.open")
    tab.keyboard.press("Escape")
