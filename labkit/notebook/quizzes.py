"""Self-check quizzes that work in JupyterLab and in the static HTML book.

A quiz is a list of questions in jupyterquiz's format; :func:`quiz` shows it.
jupyterquiz renders with HTML and JavaScript only, so the published book's
quiz works with no kernel behind it.
"""

from __future__ import annotations

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


def quiz(questions: list[dict[str, Any]]) -> None:
    """Display the questions as an interactive quiz (answers are checked in the page).

    The answers of each question are shuffled in the page, each time it is
    shown, so the right answer has no favourite place."""
    from jupyterquiz import display_quiz

    display_quiz(questions, shuffle_answers=True)
