"""A quiz works offline in any page that shows it: JupyterLab's, whose MathJax has
no ``typeset`` on ``window``, the book's, and a page with no MathJax at all.

jupyterquiz's own script, given a MathJax 3 without ``typeset``, replaces the
page's ``window.MathJax`` and loads MathJax from a CDN (then fails with a
TypeError). :func:`labkit.notebook.quizzes.quiz` runs it with a stand-in instead.
Each case shows a quiz in a blank Chromium page (no server: the quiz's HTML and
script are put in the page as JupyterLab would), runs the page's timers by hand,
answers a question, and checks what the page asked for and what it threw.
"""

from __future__ import annotations

import pytest

from labkit.notebook.quizzes import question, quiz_parts
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, playwright_or_fail

playwright_api = playwright_or_fail()  # missing tools fail the run with what to do (make test installs both)

QUESTIONS = [
    question("Which queue type keeps order within a message group?",
             {"FIFO": "Right: order is kept per MessageGroupId.", "Standard": "No: best-effort order only."}, "FIFO"),
    question("Which settings bound retries of a bad message?",
             {"maxReceiveCount": "Right.", "A dead-letter queue": "Right.", "A longer retention": "No."},
             ["maxReceiveCount", "A dead-letter queue"]),
]

#: The page's timers run when the test says (setTimeout only queues), so nothing waits in real time.
FAKE_TIMERS = """
window.__timers = [];
window.setTimeout = function (fn) { window.__timers.push(fn); return window.__timers.length; };
window.__flush = function () {
  for (let round = 0; round < 10 && window.__timers.length; round++) {
    window.__timers.splice(0).forEach(fn => fn());
  }
};
"""

#: What each page has as window.MathJax before the quiz.
PAGES = {
    # JupyterLab 4: a MathJax 3 object with a version and no typeset on window.
    "jupyterlab": "window.MathJax = {version: '3.2.2'};",
    # A book page with math: MathJax 3 that typesets (the quiz's elements are passed on to it).
    "book": "window.__typeset = []; window.MathJax = {version: '3.2.2', typeset: els => window.__typeset.push(els.length)};",
    "none": "",
}


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.mark.parametrize("kind", list(PAGES))
def test_a_quiz_shows_and_answers_offline(browser, kind):
    page = browser.new_page()
    requests, errors = [], []
    page.on("request", lambda request: requests.append(request.url))
    page.on("pageerror", lambda error: errors.append(f"{error.name}: {error.message}"))
    html, script = quiz_parts(QUESTIONS, quiz_id="quizUnderTest")
    page.set_content(f"<html><head><script>{FAKE_TIMERS}{PAGES[kind]}</script></head><body>{html}</body></html>")
    page.add_script_tag(content=script)
    page.evaluate("window.__flush()")

    assert page.locator("#quizUnderTest .Quiz").count() == len(QUESTIONS)
    page.locator("#quizUnderTest .Quiz").first.get_by_text("FIFO", exact=True).click()
    page.evaluate("window.__flush()")
    assert "order is kept per MessageGroupId" in page.locator("#quizUnderTest .Feedback").first.inner_text()

    assert not errors, errors
    assert not [url for url in requests if not url.startswith(("data:", "about:"))], requests
    assert page.locator("script[src]").count() == 0, "the quiz added a script to load"
    if kind == "jupyterlab":
        assert page.evaluate("window.MathJax") == {"version": "3.2.2"}, "the page's MathJax was replaced"
    if kind == "book":
        assert page.evaluate("window.__typeset.length") >= 1, "the page's MathJax was not asked to typeset the quiz"
    page.close()
