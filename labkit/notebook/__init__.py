"""Helpers for notebook pages: what a reader sees, not what the sandbox does.

- :func:`draw` (:mod:`~labkit.notebook.diagrams`) - architecture diagrams in one house style, with alt text
- :mod:`~labkit.notebook.account` - the account drawn from its real state (``lab.diagram()``)
- :func:`question`, :func:`quiz` (:mod:`~labkit.notebook.quizzes`) - self-check quizzes that work in the static book
- :func:`show` (:mod:`~labkit.notebook.printing`) - boto3 responses printed without the noise
- :mod:`~labkit.notebook.statemachines` - Step Functions state machines drawn from their ASL
- :mod:`~labkit.notebook.lambda_pricing` - the Lambda chapter's cost arithmetic and calculator
- :mod:`~labkit.notebook.book` - how the HTML book renders check results
"""

from __future__ import annotations

from typing import Any

__all__ = ["draw", "question", "quiz", "show"]


def __getattr__(name: str) -> Any:
    # Loaded on first use: the diagrams package is slow to import and a lab's first cell should not pay for it.
    if name == "draw":
        from labkit.notebook.diagrams import draw

        return draw
    if name in ("question", "quiz"):
        from labkit.notebook import quizzes

        return getattr(quizzes, name)
    if name == "show":
        from labkit.notebook.printing import show

        return show
    raise AttributeError(name)
