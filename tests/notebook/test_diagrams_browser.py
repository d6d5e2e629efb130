"""The browser edition's diagrams: the Graphviz source labkit writes itself (diagrams.to_dot), and how
labkit.notebook.diagrams_browser renders it (icons inlined, alt text and a reason when it cannot).

The source is compared with what the ``diagrams`` package writes locally for the same figure, through
Graphviz's own canonical form, so the two editions draw one house style. The drawing in a real browser
is tests/lite/test_lite.py's (the smoke notebook); here Graphviz's WebAssembly build also runs under
Node.js when both are on the machine (the build's download cache holds the pinned package).
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import tarfile
from pathlib import Path
from types import SimpleNamespace

import pytest

from labkit.core import platform
from labkit.notebook import diagrams, diagrams_browser

ROOT = Path(__file__).resolve().parents[2]
NODES = {"q": ("question", "need a buffer?"), "s": ("start", "start"), "orders": ("sqs", "orders\nstandard"),
         "dlq": ("sqs", "orders-dlq"), "fn": ("lambda", "worker"), "table": ("dynamodb", "orders\ntable\nPAY_PER_REQUEST")}
EDGES = [("s", "q"), ("q", "orders", "yes"), ("orders", "fn", "ReceiveMessage"), ("orders", "dlq", "after 3 receives"),
         ("fn", "table")]
CLUSTERS = {"us-east-1": ["orders", "dlq"], "data": ["table"]}
#: A label with everything DOT or Graphviz could read as markup: quotes, angle brackets, an ampersand,
#: an HTML entity, a backslash and Graphviz's own escape (\N is the node's name).
TRICKY = 'say "hi" <b>a & b</b> &amp; C:\\temp \\N'


def lines_of(source: str) -> list[str]:
    return [line.strip() for line in source.splitlines()]


def attributes(line: str) -> dict[str, str]:
    """``name="value"`` pairs of one statement of to_dot's source."""
    return {name: value.replace('\\"', '"').replace("\\\\", "\\")
            for name, value in re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', line)}


# --- the source ------------------------------------------------------------------------------------


def test_the_source_is_deterministic_and_numbers_nodes_as_the_package_creates_them():
    first = diagrams.to_dot(NODES, EDGES, CLUSTERS, "TB")
    assert first == diagrams.to_dot(dict(NODES), list(EDGES), dict(CLUSTERS), "TB")
    ids = re.findall(r'^\s*"(n\d+)" \[label="([^"]*)"', first, re.M)
    # The clusters' members first, in cluster order, then the rest in the order of nodes.
    assert [label for _, label in ids] == ["orders\\nstandard", "orders-dlq", "orders\\ntable\\nPAY_PER_REQUEST",
                                           "need a buffer?", "start", "worker"]
    assert [node for node, _ in ids] == [f"n{i}" for i in range(6)]
    assert '"n4" -> "n3"' in first and '"n0" -> "n1" [label="after 3 receives"' in first


def test_the_house_style_is_in_the_source():
    source = lines_of(diagrams.to_dot(NODES, EDGES, CLUSTERS, "TB"))
    graph = attributes(next(line for line in source if line.startswith("graph [") and "rankdir" in line))
    assert graph.items() >= diagrams.GRAPH_STYLE.items() and graph["rankdir"] == "TB" and graph["label"] == ""
    assert attributes(next(line for line in source if line.startswith("node ["))).items() >= diagrams.NODE_STYLE.items()
    assert attributes(next(line for line in source if line.startswith("edge ["))).items() >= diagrams.EDGE_STYLE.items()
    clusters = [attributes(line) for line in source if line.startswith("graph [") and "pencolor" in line]
    assert [c["label"] for c in clusters] == ["us-east-1", "data"]
    assert all(c.items() >= diagrams.CLUSTER_STYLE.items() for c in clusters)
    question = attributes(next(line for line in source if 'label="need a buffer?"' in line))
    assert question.items() >= diagrams.SHAPES["question"].items() and "image" not in question
    table = attributes(next(line for line in source if 'label="orders\\ntable' in line))
    # An icon under its name; two more lines of label make the node 2 x 0.4 inches taller, as the package does.
    assert table["image"] == "icons/dynamodb.png" and table["shape"] == "none" and float(table["height"]) == pytest.approx(2.7)


def test_labels_are_escaped_for_dot_and_for_graphviz():
    source = diagrams.to_dot({"a": ("sqs", TRICKY), "b": ("note", "x")}, [("a", "b", '"<&>"')], {'a "VPC"': ["a"]})
    assert '[label="say \\"hi\\" <b>a &amp; b</b> &amp;amp; C:\\\\temp \\\\N" ' in source
    assert '[label="\\"<&amp;>\\"" dir=' in source
    assert 'subgraph "cluster_a \\"VPC\\"" {' in source


def test_graphviz_shows_every_label_as_written(tmp_path):
    """The escaped source, drawn by a real Graphviz: each label's text comes out exactly as given."""
    source = diagrams.to_dot({"a": ("note", TRICKY), "b": ("start", "two\nlines")}, [("a", "b", "a<b & c")],
                             {"R&D": ["a"]})
    svg = subprocess.run(["dot", "-Tsvg"], input=source, capture_output=True, text=True, check=True).stdout
    texts = [html.unescape(text) for text in re.findall(r"<text[^>]*>([^<]*)</text>", svg)]
    assert TRICKY in texts and "a<b & c" in texts and "R&D" in texts and texts[texts.index("two"):][:2] == ["two", "lines"]


def canonical(source: str) -> str:
    """Graphviz's canonical form of a source (attributes sorted, one way of quoting), icons by file name."""
    done = subprocess.run(["dot", "-Tcanon"], input=source, capture_output=True, text=True, check=True)
    return re.sub(r'image="(?:[^"]*/)?([^/"]+)"', r'image="\1"', done.stdout)


def test_the_source_is_the_graph_the_diagrams_package_writes(monkeypatch):
    """The same figure drawn locally (the diagrams package) and in the browser (to_dot) is one graph:
    same attributes on the graph, the clusters, every node and every arrow."""
    import diagrams as package
    import graphviz

    written = []
    render = graphviz.Digraph.render

    def recording_render(self, *args, **kwargs):
        written.append(self.source)
        return render(self, *args, **kwargs)

    monkeypatch.setattr(graphviz.Digraph, "render", recording_render)
    created = []  # the package's node ids are random: n0, n1... in the order it creates them, as to_dot numbers them
    monkeypatch.setattr(package.Node, "_rand_id", staticmethod(lambda: created.append(1) or f"n{len(created) - 1}"))
    for direction in ("TB", "LR"):
        written.clear()
        created.clear()
        assert diagrams.draw("Orders", alt="x", nodes=NODES, edges=EDGES, clusters=CLUSTERS, direction=direction,
                             require_graphviz=True).png
        local = canonical(written[0])
        for kind in ("sqs", "lambda", "dynamodb"):  # the package names an icon by its file, to_dot by its key
            local = local.replace(f'image="{diagrams.icon_file(kind).name}"', f'image="{kind}.png"')
        # The package writes a line break as a raw newline, to_dot as \n: Graphviz reads both as one.
        browser = canonical(diagrams.to_dot(NODES, EDGES, CLUSTERS, direction)).replace("\\n", "\n")
        assert "n5" in browser and "rankdir=" + direction in browser
        assert browser == local


def test_the_source_refuses_an_unknown_direction():
    with pytest.raises(ValueError, match="'up'"):
        diagrams.to_dot(NODES, EDGES, CLUSTERS, "up")


# --- rendering in the browser ----------------------------------------------------------------------


def icons_in(folder: Path) -> Path:
    """The icons folder make lite packs into labkit's wheel, made here from the diagrams package."""
    (folder / "icons").mkdir(parents=True)
    for kind in diagrams.ICONS:
        shutil.copyfile(diagrams.icon_file(kind), folder / "icons" / f"{kind}.png")
    return folder / "icons"


class LocalViz:
    """Stands for ``globalThis.labkitViz`` in a tab where Graphviz has started: it renders with the local
    ``dot``, in a folder where each image name of the source is a file, and records the image sizes given."""

    def __init__(self, icon_dir: Path, state: str = "ready") -> None:
        self.icon_dir, self.state, self.error, self.sizes = icon_dir, state, "", None

    def render(self, source: str, sizes: str) -> str:
        self.sizes = json.loads(sizes)
        return subprocess.run(["dot", "-Tsvg"], input=source, capture_output=True, text=True, check=True,
                              cwd=self.icon_dir.parent).stdout


@pytest.fixture
def tab(monkeypatch, tmp_path):
    """Browser mode with Graphviz 'loaded' (LocalViz) and the icons make lite packs."""
    monkeypatch.setenv(platform.VARIABLE, "1")
    viz = LocalViz(icons_in(tmp_path / "assets"))
    monkeypatch.setattr(diagrams_browser, "ICON_DIR", viz.icon_dir)
    monkeypatch.setattr(diagrams_browser, "_started", True)
    monkeypatch.setattr(diagrams_browser, "_problem", "")
    monkeypatch.setattr(diagrams_browser, "_js", lambda: SimpleNamespace(labkitViz=viz))
    return viz


def test_in_the_browser_a_figure_is_an_svg_with_its_icons_inlined_and_its_alt_text(tab):
    figure = diagrams.draw("Orders", alt='orders "moves" failures to orders-dlq', nodes=NODES, edges=EDGES,
                           clusters=CLUSTERS, require_graphviz=True)
    assert figure.png is None and figure.svg is not None and "<svg" in figure.svg, figure.problem
    assert {size["name"] for size in tab.sizes} == {"icons/sqs.png", "icons/lambda.png", "icons/dynamodb.png"}
    assert {(size["width"], size["height"]) for size in tab.sizes} == {("300px", "300px")}
    hrefs = re.findall(r'xlink:href="([^"]*)"', figure.svg)
    assert len(hrefs) == 4 and all(href.startswith("data:image/png;base64,") for href in hrefs)
    page = figure._repr_html_()
    assert page.startswith('<figure class="labkit-diagram"><img src="data:image/svg+xml;base64,')
    assert 'alt="orders &quot;moves&quot; failures to orders-dlq"' in page and "<figcaption>Orders</figcaption>" in page
    assert "characters of SVG" in repr(figure)


def test_the_account_drawing_keeps_its_svg(tab):
    from labkit.notebook.account.figure import draw_account
    from labkit.notebook.account.model import Account

    figure = draw_account(Account("us-east-1"), "empty account")
    assert figure.svg is not None and "nothing to draw in us-east-1" in html.unescape(figure.svg)


@pytest.mark.parametrize(("state", "reason"), [("loading", "still starting in this tab"),
                                               ("failed", "could not start in this tab (RuntimeError: out of memory)")])
def test_before_graphviz_is_ready_the_figure_shows_its_alt_text_and_why(tab, state, reason):
    tab.state, tab.error = state, "RuntimeError: out of memory"
    figure = diagrams.draw("Orders", alt="what it shows", nodes=NODES, edges=EDGES)
    assert figure.svg is None and reason in figure.problem and tab.sizes is None
    assert "what it shows" in figure._repr_html_() and html.escape(reason) in figure._repr_html_()


def test_a_missing_icon_or_a_rejected_source_is_a_reason_not_a_crash(tab, monkeypatch):
    (tab.icon_dir / "sqs.png").unlink()
    figure = diagrams.draw("Orders", alt="what it shows", nodes=NODES, edges=EDGES)
    assert figure.svg is None and "icon for 'sqs' is missing" in figure.problem

    def rejects(source: str, sizes: str) -> str:
        raise RuntimeError("syntax error in line 1")

    monkeypatch.setattr(tab, "render", rejects)
    figure = diagrams.draw("Orders", alt="what it shows", nodes={"a": ("note", "a")})
    assert figure.svg is None and "could not draw this figure (syntax error in line 1)" in figure.problem


def test_where_the_engine_was_not_packed_the_figure_says_so(monkeypatch, tmp_path):
    monkeypatch.setenv(platform.VARIABLE, "1")
    monkeypatch.setattr(diagrams_browser, "_started", False)
    monkeypatch.setattr(diagrams_browser, "_problem", "")
    monkeypatch.setattr(diagrams_browser, "ENGINE_FILE", tmp_path / "viz-global.js")
    monkeypatch.setattr(diagrams_browser, "_js", lambda: SimpleNamespace())
    figure = diagrams.draw("Orders", alt="what it shows", nodes=NODES, edges=EDGES)
    assert figure.svg is None and "built without Graphviz for the browser" in figure.problem
    assert diagrams_browser.state() == "unavailable"


def test_png_size_reads_the_header():
    assert diagrams_browser.png_size(diagrams.icon_file("rule").read_bytes()) == (256, 255)
    with pytest.raises(ValueError, match="not a PNG"):
        diagrams_browser.png_size(b"GIF89a" + bytes(30))


# --- Graphviz's WebAssembly build, under Node.js -----------------------------------------------------

NODE_SCRIPT = r"""
const fs = require("fs");
const vm = require("vm");
vm.runInThisContext(fs.readFileSync(process.argv[1], "utf8"));   // labkit's wrapping of the engine: globalThis.Viz
vm.runInThisContext(process.argv[2]);                            // labkit's starter: globalThis.labkitViz
const input = JSON.parse(fs.readFileSync(0, "utf8"));
globalThis.labkitViz.promise.then((ok) => {
  if (!ok) { console.error(globalThis.labkitViz.error); process.exit(1); }
  process.stdout.write(globalThis.labkitViz.render(input.dot, input.sizes));
});
"""


def test_the_pinned_webassembly_graphviz_draws_the_source(tmp_path):
    """The engine the site ships and labkit's JavaScript starter, run by Node.js on the same source."""
    pin = json.loads((ROOT / "lite" / "viz.json").read_text())
    archive = ROOT / "_build" / "lite-cache" / f"{pin['package'].lstrip('@').replace('/', '-')}-{pin['version']}.tgz"
    if shutil.which("node") is None or not archive.exists():
        pytest.skip("needs Node.js and the pinned @viz-js/viz in _build/lite-cache (make lite fetches it)")
    with tarfile.open(archive) as tar:
        engine = tmp_path / "viz-global.js"
        engine.write_text(diagrams_browser.engine_script(tar.extractfile("package/dist/viz-global.js").read().decode()))
    source = diagrams.to_dot({"a": ("sqs", TRICKY), "b": ("question", "ok?")}, [("a", "b", "a<b & c")], {"R&D": ["a"]})
    sizes = json.dumps([{"name": diagrams.icon_image("sqs"), "width": "300px", "height": "300px"}])
    done = subprocess.run(["node", "-e", NODE_SCRIPT, str(engine), diagrams_browser._STARTER],
                          input=json.dumps({"dot": source, "sizes": sizes}), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    svg = diagrams_browser.inline_images(done.stdout, {"icons/sqs.png": diagrams.icon_file("sqs").read_bytes()})
    texts = [html.unescape(text) for text in re.findall(r"<text[^>]*>([^<]*)</text>", svg)]
    assert TRICKY in texts and "a<b & c" in texts and "R&D" in texts and "ok?" in texts
    assert re.findall(r'xlink:href="([^"]{0,22})', svg) == ["data:image/png;base64,"]


def test_a_state_machine_is_drawn_in_the_browser_from_the_same_source(tab):
    from labkit.notebook.statemachines import draw_state_machine, to_dot

    asl = {"StartAt": "Pay", "States": {
        "Pay": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Next": "Done",
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Refund"}]},
        "Refund": {"Type": "Fail", "Error": "PaymentFailed"},
        "Done": {"Type": "Succeed"}}}
    figure = draw_state_machine(asl, "Payment")
    assert figure.svg is not None and figure.problem in (None, ""), figure.problem
    text = html.unescape(figure.svg)
    assert all(name in text for name in ("Pay", "Refund", "Done", "States.ALL")), "every state and the Catch drawn"
    assert figure.alt.startswith("A state machine.") and tab.sizes == []
    tab.state = "loading"
    waiting = draw_state_machine(json.dumps(asl), "Payment")
    assert waiting.svg is None and "still starting in this tab" in waiting.problem
    assert "n_Pay" in to_dot(asl)
