"""What the book's pages load: nothing they do not use.

Jupyter Book 1.x always adds sphinx-thebe, which puts a configuration script
(declaring ``THEBE_JS_URL``, an address on a public CDN) and a loader into
every page; declared twice, it throws an error in every page's console. No
page of this book runs code in the browser through thebe (the walkthroughs
and labs run in JupyterLab), so this Sphinx extension, listed in
``_config.yml``, takes those scripts (and their style sheet) out of each page.
"""

from __future__ import annotations

from typing import Any


def _uses_thebe(script: Any) -> bool:
    filename = str(getattr(script, "filename", "") or "")
    body = str(getattr(script, "attributes", {}).get("body", ""))
    return "thebe" in filename or "THEBE_JS_URL" in body


def _page_context(app: Any, pagename: str, templatename: str, context: dict[str, Any], doctree: Any) -> None:
    if "script_files" in context:
        context["script_files"] = [script for script in context["script_files"] if not _uses_thebe(script)]
    if "css_files" in context:
        context["css_files"] = [css for css in context["css_files"] if "thebe" not in str(getattr(css, "filename", css))]


def setup(app: Any) -> dict[str, Any]:
    """Sphinx's entry point."""
    app.connect("html-page-context", _page_context)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
