"""A lab's page in the book's dark colour mode: its text stays readable.

The theme (pydata-sphinx-theme, under sphinx-book-theme) draws every page light
or dark, as the reader picks with its colour-mode button or as their system
says. The book's own styles (book/_static/labkit.css: the quiz's answers and
feedback, the solution toggles, the diagrams' zoom button) must read well on
both. tests/book/test_browser.py reads every page in light mode; this module
reads the SQS lab once in dark mode, with its first quiz answered wrong then
right (the feedback line shows) and its first solution open, and runs axe-core's
colour-contrast rule on it.

It reads the build that tests/book shares (``GROUP = "book"``); to read an
existing build instead, set ``LABKIT_BOOK_HTML`` (tests/book/conftest.py).
"""

from __future__ import annotations

import pytest

from tests.book.conftest import Build, build  # noqa: F401 (the run's one build of the book, a fixture)
from tests.book.test_browser import ARTEFACTS, axe_source, serve
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, playwright_or_fail

#: With tests/book: one build, on the worker that has it.
GROUP = "book"
PAGE = "labs/sqs.html"

pytestmark = pytest.mark.notebook
playwright_api = playwright_or_fail()

#: axe's colour-contrast rule on the whole page: each serious or critical finding.
CONTRAST = """async () => {
  const results = await axe.run(document, {runOnly: ['color-contrast'], resultTypes: ['violations']});
  return results.violations.flatMap(v => v.nodes
      .filter(n => ['serious', 'critical'].includes(n.impact))
      .map(n => `${n.target.join(' ')}: ${n.html.slice(0, 120)} (${(n.any[0] || {}).message || ''})`));
}"""


def test_a_lab_page_in_dark_mode_has_readable_text(build: Build):  # noqa: F811 (the fixture imported above)
    with serve(build.html) as origin, playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--headless", *CHROMIUM_ARGS])
        try:
            context = browser.new_context(color_scheme="dark", viewport={"width": 1280, "height": 900})
            context.route("**/*", lambda route: route.continue_() if route.request.url.startswith(origin)
                          else route.abort("addressunreachable"))
            # The theme's own choice, as its colour-mode button stores it: dark, whatever the system says.
            context.add_init_script("localStorage.setItem('mode', 'dark'); localStorage.setItem('theme', 'dark');")
            tab = context.new_page()
            tab.goto(f"{origin}/{PAGE}", wait_until="load")
            assert tab.evaluate("document.documentElement.dataset.theme") == "dark", "the page is not in dark mode"
            quiz = tab.locator(".Quiz").first
            quiz.scroll_into_view_if_needed()
            quiz.locator('label.MCButton[data-correct="false"]').first.click()
            quiz.locator('label.MCButton[data-correct="true"]').first.click()
            tab.locator(".tag_solution details.above-input summary").first.click()
            # jupyterquiz fades an answered button's colour in: read the colours it ends with.
            tab.wait_for_function("document.getAnimations().every(a => a.playState !== 'running')", polling=100)
            tab.add_script_tag(content=axe_source())
            findings = tab.evaluate(CONTRAST)
            if findings:
                ARTEFACTS.mkdir(parents=True, exist_ok=True)
                tab.screenshot(path=str(ARTEFACTS / "dark-mode-labs-sqs.png"), full_page=True)
        finally:
            browser.close()
    assert not findings, f"{PAGE} in dark mode: text with too little contrast:\n" + "\n".join(findings)
