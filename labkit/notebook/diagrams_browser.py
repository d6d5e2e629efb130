"""Graphviz in the browser edition: the house style's figures rendered by WebAssembly.

A browser tab cannot run Graphviz's ``dot`` program, so in the browser edition
(:func:`labkit.core.platform.in_browser`) :func:`labkit.notebook.diagrams.draw`
writes the Graphviz source itself and hands it to this module, which renders
it with Graphviz compiled to WebAssembly: the npm package ``@viz-js/viz``,
pinned in ``lite/viz.json``. ``make lite`` (``scripts/build_lite.py``) packs its
one-file build and the icons that :data:`~labkit.notebook.diagrams.ICONS` names
into labkit's wheel, under :data:`ASSETS`; nothing is fetched from anywhere
else, and a local copy of labkit has no such folder (it draws with ``dot``).

Starting Graphviz takes a moment and only happens asynchronously (JavaScript
compiles the WebAssembly in the background), so :func:`start` begins when
labkit is imported and the engine is ready by the next cell. A diagram asked
for before that, or where the engine cannot load at all, is not drawn: its
figure shows the alt text and one sentence saying why (:class:`Unavailable`).
``await ready()`` in a cell waits for the engine.

The icons reach the picture inlined: Graphviz is told each image's size (the
``images`` render option), lays the nodes out, and the SVG it writes names
each image, whose name :func:`render_svg` replaces with a ``data:`` URI.
"""

from __future__ import annotations

import base64
import json
import struct
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

#: Where ``make lite`` puts the engine and the icons inside labkit's wheel (absent from the repository).
ASSETS = Path(__file__).resolve().parent / "diagram_assets"
#: ``@viz-js/viz``'s one-file build (its WebAssembly inlined), which defines ``globalThis.Viz``.
ENGINE_FILE = ASSETS / "viz-global.js"
#: One PNG per icon key: ``icons/<key>.png``.
ICON_DIR = ASSETS / "icons"

#: The JavaScript that starts the engine once ``Viz`` is defined: its state lives in ``globalThis.labkitViz``.
_STARTER = """
(() => {
  const state = {state: "loading", error: "", viz: null, started: performance.now(), took: null};
  state.promise = globalThis.Viz.instance().then(
    (viz) => { state.viz = viz; state.state = "ready"; state.took = performance.now() - state.started; return true; },
    (error) => { state.state = "failed"; state.error = String(error); return false; });
  state.render = (dot, images) => state.viz.renderString(dot, {format: "svg", engine: "dot", images: JSON.parse(images)});
  globalThis.labkitViz = state;
})();
"""


def engine_script(engine: str) -> str:
    """The engine's source as run in the tab: its UMD wrapper sees no CommonJS or AMD loader
    (``exports``, ``module``, ``define`` hidden), so it defines ``globalThis.Viz`` whatever the page has."""
    return f"(function (exports, module, define) {{\n{engine}\n}}).call(globalThis);\n"


class Unavailable(RuntimeError):
    """Graphviz cannot draw in this tab now; the message is one sentence saying why, for the figure."""


#: Why the engine cannot start here ("" while it may), set by :func:`start`.
_problem = ""
_started = False


def _js() -> Any:
    """The page's JavaScript globals (Pyodide's ``js`` module), or :class:`Unavailable`."""
    if sys.platform != "emscripten":
        raise Unavailable("This Python runs outside a browser tab (browser mode is on, as in the course's tests), "
                          "so Graphviz's WebAssembly build cannot run here and the diagram is shown as its alt text.")
    import js  # Pyodide's bridge to JavaScript

    return js


def start() -> None:
    """Begin loading Graphviz in this browser tab (once; nothing outside the browser edition).

    Reads the engine from :data:`ENGINE_FILE`, evaluates it, and starts its
    asynchronous start-up; errors are kept for :func:`render_svg` to report,
    never raised: a page without diagrams must not fail because of them.
    """
    global _problem, _started
    if _started:
        return
    _started = True
    try:
        js = _js()
        if not ENGINE_FILE.is_file():
            raise Unavailable("This copy of labkit was built without Graphviz for the browser (the site's build, "
                              "`make lite`, adds it), so the diagram is shown as its alt text.")
        from pyodide.code import run_js

        run_js(engine_script(ENGINE_FILE.read_text(encoding="utf-8")))
        if not hasattr(js, "Viz"):
            raise Unavailable("Graphviz's WebAssembly build did not define `Viz` when it loaded, "
                              "so the diagram is shown as its alt text.")
        run_js(_STARTER)
    except Unavailable as why:
        _problem = str(why)
    except Exception as error:  # noqa: BLE001  (any failure to load becomes the figure's one sentence)
        _problem = (f"Graphviz could not be loaded in this tab ({type(error).__name__}: {error}), "
                    "so the diagram is shown as its alt text.")


def state() -> str:
    """``"ready"``, ``"loading"``, ``"failed"`` (the engine would not start) or ``"unavailable"``."""
    start()
    if _problem:
        return "unavailable"
    return str(_js().labkitViz.state)


async def ready() -> bool:
    """Wait until Graphviz has started in this tab (``await ready()`` in a cell). True if it can draw."""
    start()
    if _problem:
        return False
    return bool(await _js().labkitViz.promise)


def startup_ms() -> float | None:
    """How long the engine took to start, in milliseconds (``None`` until it has)."""
    if state() != "ready":
        return None
    return float(_js().labkitViz.took)


def png_size(png: bytes) -> tuple[int, int]:
    """A PNG's width and height in pixels, from its header."""
    if png[:8] != b"\x89PNG\r\n\x1a\n" or png[12:16] != b"IHDR":
        raise ValueError("not a PNG file")
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def icon_png(kind: str) -> bytes:
    """The icon of an :data:`~labkit.notebook.diagrams.ICONS` key, as the site's build packed it."""
    path = ICON_DIR / f"{kind}.png"
    if not path.is_file():
        raise Unavailable(f"The icon for {kind!r} is missing from this copy of labkit (the site's build, `make lite`, "
                          "packs every icon), so the diagram is shown as its alt text.")
    return path.read_bytes()


def inline_images(svg: str, images: Mapping[str, bytes]) -> str:
    """``svg`` with each image reference by name replaced by the image itself, as a ``data:`` URI."""
    for name, png in images.items():
        uri = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
        svg = svg.replace(f'xlink:href="{name}"', f'xlink:href="{uri}"').replace(f'href="{name}"', f'href="{uri}"')
    return svg


def render_svg(dot: str, icons: Mapping[str, str]) -> str:
    """Render Graphviz source to SVG in this tab, with ``icons`` (image name in the source -> icon key) inlined.

    Raises :class:`Unavailable` (one sentence) when the engine is missing, still
    loading or failed to start, when an icon is missing, or when Graphviz
    rejects the source.
    """
    current = state()
    if current == "unavailable":
        raise Unavailable(_problem)
    viz = _js().labkitViz
    if current == "loading":
        raise Unavailable("Graphviz is still starting in this tab (it begins when labkit is imported and takes a "
                          "moment), so the diagram is shown as its alt text: run this cell again to draw it.")
    if current == "failed":
        raise Unavailable(f"Graphviz could not start in this tab ({viz.error}), so the diagram is shown as its alt "
                          "text; the local edition draws it.")
    images = {name: icon_png(kind) for name, kind in icons.items()}
    sizes = [{"name": name, "width": f"{w}px", "height": f"{h}px"}
             for name, (w, h) in ((name, png_size(png)) for name, png in images.items())]
    try:
        svg = str(viz.render(dot, json.dumps(sizes)))
    except Exception as error:  # noqa: BLE001  (a JavaScript error from Graphviz: its message is the reason)
        raise Unavailable(f"Graphviz could not draw this figure ({error}), so it is shown as its alt text.") from error
    return inline_images(svg, images)
