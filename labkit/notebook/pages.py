"""What the book's pages load and show: nothing they do not use, and labels that say what they hide.

Jupyter Book 1.x always adds sphinx-thebe, which puts a configuration script
(declaring ``THEBE_JS_URL``, an address on a public CDN) and a loader into
every page; declared twice, it throws an error in every page's console. No
page of this book runs code in the browser through thebe (the walkthroughs
and labs run in JupyterLab), so this Sphinx extension, listed in
``_config.yml``, takes those scripts (and their style sheet) out of each page.

It also

- names what a collapsed cell hides: a lab's worked solution (a cell tagged
  ``solution`` and ``hide-input``) opens with "Show the solution", a check's
  code with "Show the check's code", instead of myst-nb's "Show code cell
  source" on every toggle; and a toggle's accessible name is the label it
  shows (myst-nb names every toggle "Toggle hidden content", which a screen
  reader announces instead of the label seen on screen);
- opens the book in the theme's light mode unless the reader chose another
  (without a default, the theme logs an error in every page's console);
- adds the book's own style sheet and script from ``book/_static`` to every
  page (wrapping long inline code on narrow screens, quiz colours with enough
  contrast, diagrams that open full size on click).
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

from docutils import nodes
from myst_nb.sphinx_ import HideCodeCellNode
from sphinx.transforms.post_transforms import SphinxPostTransform

#: The book's own static files, relative to the book's root (the Sphinx source folder).
STATIC = Path("book") / "_static"

#: Toggle labels (shown, hidden) of a collapsed cell, by the cell's tag; the first tag found wins.
TOGGLE_LABELS: dict[str, tuple[str, str]] = {
    "solution": ("Show the solution", "Hide the solution"),
    "check": ("Show the check's code", "Hide the check's code"),
}


def _uses_thebe(script: Any) -> bool:
    filename = str(getattr(script, "filename", "") or "")
    body = str(getattr(script, "attributes", {}).get("body", ""))
    return "thebe" in filename or "THEBE_JS_URL" in body


#: The theme's colour mode when the reader has not chosen one. The theme (pydata-sphinx-theme)
#: reads it from the page context; unset, every page logs "Got invalid theme mode" as an error.
DEFAULT_MODE = "light"


def _page_context(app: Any, pagename: str, templatename: str, context: dict[str, Any], doctree: Any) -> None:
    if not context.get("default_mode"):
        context["default_mode"] = DEFAULT_MODE
    if "script_files" in context:
        context["script_files"] = [script for script in context["script_files"] if not _uses_thebe(script)]
    if "css_files" in context:
        context["css_files"] = [css for css in context["css_files"] if "thebe" not in str(getattr(css, "filename", css))]


def toggle_labels(classes: list[str]) -> tuple[str, str] | None:
    """The labels for a collapsed cell with these classes (myst-nb makes a cell's tags ``tag_<tag>`` classes)."""
    for tag, labels in TOGGLE_LABELS.items():
        if f"tag_{tag}" in classes:
            return labels
    return None


class LabelToggles(SphinxPostTransform):
    """Put the labels of :data:`TOGGLE_LABELS` on collapsed cells, before myst-nb's
    ``HideInputCells`` (priority 199) draws the toggles from them."""

    default_priority = 198
    formats = ("html",)

    def run(self, **kwargs: Any) -> None:
        for node in self.document.findall(nodes.container):
            if node.get("nb_element") != "cell_code" or not node.get("hide_mode"):
                continue
            labels = toggle_labels(node.get("classes", []))
            if labels:
                node["prompt_show"], node["prompt_hide"] = labels


def visit_toggle(self: Any, node: HideCodeCellNode) -> None:
    """myst-nb's toggle (a ``details`` element), whose ``summary`` is named by the label it shows."""
    classes = " ".join(node["classes"])
    self.body.append(f'<details class="admonition hide {classes}">\n<summary>\n'
                     f'<p class="collapsed admonition-title">{escape(node["prompt_show"])}</p>\n'
                     f'<p class="expanded admonition-title">{escape(node["prompt_hide"])}</p>\n</summary>\n')


def depart_toggle(self: Any, node: HideCodeCellNode) -> None:
    self.body.append("</details>\n")


def _add_static_files(app: Any, config: Any) -> None:
    folder = Path(app.srcdir) / STATIC
    if not folder.is_dir():
        return
    config.html_static_path = [*config.html_static_path, str(folder)]
    for css in sorted(folder.glob("*.css")):
        app.add_css_file(css.name)
    for script in sorted(folder.glob("*.js")):
        app.add_js_file(script.name, loading_method="defer")


def setup(app: Any) -> dict[str, Any]:
    """Sphinx's entry point."""
    app.connect("html-page-context", _page_context)
    app.connect("config-inited", _add_static_files)
    app.add_post_transform(LabelToggles)
    app.add_node(HideCodeCellNode, override=True, html=(visit_toggle, depart_toggle))
    return {"parallel_read_safe": True, "parallel_write_safe": True}
