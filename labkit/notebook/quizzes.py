"""Self-check quizzes that work in JupyterLab and in the static HTML book.

A quiz is a list of questions in jupyterquiz's format; :func:`quiz` shows it.
jupyterquiz renders with HTML and JavaScript only, so the published book's
quiz works with no kernel behind it.
"""

from __future__ import annotations

import random
import string
from typing import Any


def question(text: str, answers: dict[str, str], correct: str | list[str]) -> dict[str, Any]:
    """One multiple-choice question.

    Args:
        text: the question.
        answers: answer text -> feedback shown when it is picked.
        correct: the answer (or answers) that are right.
    """
    right = {correct} if isinstance(correct, str) else set(correct)
    unknown = right - set(answers)
    if unknown:
        raise ValueError(f"correct answer(s) {sorted(unknown)} are not among the answers")
    return {
        "question": text,
        "type": "many_choice" if len(right) > 1 else "multiple_choice",
        "answers": [{"answer": a, "correct": a in right, "feedback": fb} for a, fb in answers.items()],
    }


#: What the quiz's script sees as ``MathJax``. jupyterquiz typesets its questions
#: with ``MathJax.typeset`` when it finds a MathJax 3, and when that MathJax has no
#: ``typeset`` (JupyterLab's has none on ``window``) it replaces ``window.MathJax``
#: and loads MathJax from a CDN: a request that leaves the machine, and a TypeError
#: in the page when it cannot load. The stand-in passes the call on to the page's
#: own MathJax when that one can typeset (a book page with math) and otherwise does
#: nothing: the quizzes are plain text.
MATHJAX_STAND_IN = """{
  version: "3",
  typeset: function (elements) {
    var page = window.MathJax;
    if (page && typeof page.typeset === "function") {
      return page.typeset(elements);
    }
  }
}"""


def quiz_parts(questions: list[dict[str, Any]], quiz_id: str | None = None) -> tuple[str, str]:
    """The quiz's HTML (its container and styles) and its script, as :func:`quiz` shows them.

    The script is jupyterquiz's own, run inside a function whose ``MathJax`` is
    :data:`MATHJAX_STAND_IN`, so it never touches the page's MathJax or loads one."""
    from jupyterquiz.dynamic import loader, renderer

    quiz_id = quiz_id or "".join(random.choice(string.ascii_letters) for _ in range(12))
    prefix, static, url = loader.load_questions_script(questions, quiz_id)
    container = renderer.render_div(quiz_id, shuffle_questions=False, shuffle_answers=True, preserve_responses=False,
                                    num=1_000_000, max_width=600, border_radius=10, question_alignment="left")
    html = container + renderer.build_styles(quiz_id, _COLOURS)
    script = renderer.build_script(prefix, static, url, quiz_id, load_js=True)
    return html, f"(function (MathJax) {{\n{script}\n}})({MATHJAX_STAND_IN});\n"


def quiz(questions: list[dict[str, Any]]) -> None:
    """Display the questions as an interactive quiz (answers are checked in the page).

    The answers of each question are shuffled in the page, each time it is
    shown, so the right answer has no favourite place. The quiz makes no request:
    everything it needs is in the output (see :data:`MATHJAX_STAND_IN`)."""
    from IPython.display import HTML, Javascript, display

    html, script = quiz_parts(questions)
    display(HTML(html))
    display(Javascript(script))


#: The quiz's colours (jupyterquiz's CSS variables), the book's too (book/_static/labkit.css
#: sets the same on each question): white text on the dark question cards and on an
#: answered button, and the feedback line, on the page, in the right or wrong colour;
#: each pair with a contrast of at least 4.5:1.
_COLOURS = {
    "--jq-multiple-choice-bg": "#1d3f6e",
    "--jq-many-choice-bg": "#6b2f57",
    "--jq-numeric-bg": "#1d3f6e",
    "--jq-string-bg": "#6b2f57",
    "--jq-mc-button-bg": "#ffffff",
    "--jq-mc-button-border": "#8c959f",
    "--jq-mc-button-inset-shadow": "#4a4f57",
    "--jq-numeric-input-bg": "#eef0f3",
    "--jq-numeric-input-label": "#111418",
    "--jq-numeric-input-shadow": "#8a9099",
    "--jq-incorrect-color": "#cf222e",
    "--jq-correct-color": "#1a7f37",
    "--jq-text-color": "#ffffff",
    "--jq-link-color": "#b9d4ff",
}
