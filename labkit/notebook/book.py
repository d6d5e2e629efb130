"""The book build's view of labkit outputs.

A check cell's output carries the grader's JSON (``application/vnd.labkit.check+json``)
beside its HTML and text. The HTML book shows the HTML; this plugin tells
MyST-NB that the JSON part is meant for machines and renders to nothing
(otherwise every check cell would log an "unknown mime type" warning, and the
book builds with warnings as errors). Registered through the
``myst_nb.mime_renderers`` entry point in pyproject.toml.
"""

from __future__ import annotations

from typing import Any, ClassVar

from labkit.check import RESULT_MIME


class CheckResultRenderer:
    """MyST-NB mime renderer plugin: the grader's JSON is never shown."""

    #: (builder, mime type, priority): None removes it from every builder's choice.
    mime_priority_overrides: ClassVar[list[tuple[str, str, int | None]]] = [("*", RESULT_MIME, None)]

    @staticmethod
    def handle_mime(renderer: Any, data: Any, inline: bool) -> list[Any] | None:
        """Render the check JSON as nothing; leave every other type to MyST-NB."""
        return [] if data.mime_type == RESULT_MIME else None
