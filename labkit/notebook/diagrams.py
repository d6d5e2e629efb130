"""Architecture diagrams in the course's one house style.

Every diagram in the book is drawn from code with the ``diagrams`` package
(which calls Graphviz's ``dot``). You describe nodes and edges as data::

    from labkit.notebook import draw

    draw(
        "Dead-letter queue",
        alt="A producer sends to the orders queue; a consumer receives; after "
            "three failed receives SQS moves the message to orders-dlq.",
        nodes={"api": ("lambda", "order API"), "orders": ("sqs", "orders"),
               "dlq": ("sqs", "orders-dlq"), "worker": ("ec2", "worker")},
        edges=[("api", "orders", "SendMessage"), ("orders", "worker", "ReceiveMessage"),
               ("orders", "dlq", "after 3 receives")],
        clusters={"us-east-1": ["orders", "dlq"]},
    )

and get back a :class:`Figure` that shows itself in Jupyter and in the book,
with alt text for screen readers. The same service always gets the same icon
(:data:`ICONS`). Without Graphviz the figure shows its alt text and the command
that installs Graphviz instead of failing the notebook.

In the browser edition there is no ``dot`` program and no ``diagrams``
package: :func:`to_dot` writes the same Graphviz source the package would
(the house style over the package's own defaults), and
:mod:`labkit.notebook.diagrams_browser` renders it to SVG with Graphviz
compiled to WebAssembly, the icons inlined.
"""

from __future__ import annotations

import base64
import html
import importlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from labkit.core import platform
from labkit.notebook import diagrams_browser

#: One icon per service: key -> "module:Class" inside the ``diagrams`` package.
ICONS: dict[str, str] = {
    "users": "aws.general:Users",
    "client": "aws.general:Client",
    "internet": "aws.general:InternetAlt1",
    "route53": "aws.network:Route53",
    "alb": "aws.network:ALB",
    "nlb": "aws.network:NLB",
    "elb": "aws.network:ELB",
    "apigateway": "aws.network:APIGateway",
    "vpc": "aws.network:VPC",
    "ec2": "aws.compute:EC2",
    "autoscaling": "aws.compute:AutoScaling",
    "lambda": "aws.compute:Lambda",
    "ecs": "aws.compute:ECS",
    "fargate": "aws.compute:Fargate",
    "elasticache": "aws.database:ElastiCache",
    "redis": "aws.database:ElasticacheForRedis",
    "memcached": "aws.database:ElasticacheForMemcached",
    "rds": "aws.database:RDS",
    "aurora": "aws.database:Aurora",
    "dynamodb": "aws.database:Dynamodb",
    "cloudwatch": "aws.management:Cloudwatch",
    "alarm": "aws.management:CloudwatchAlarm",
    "logs": "aws.management:CloudwatchLogs",
    "cloudtrail": "aws.management:Cloudtrail",
    "iam": "aws.security:IAM",
    "iamrole": "aws.security:IAMRole",
    "sns": "aws.integration:SNS",
    "sqs": "aws.integration:SQS",
    "eventbridge": "aws.integration:Eventbridge",
    "rule": "aws.integration:EventbridgeRule",
    "stepfunctions": "aws.integration:StepFunctions",
    "s3": "aws.storage:S3",
    "disk": "aws.general:Disk",
}

#: Shapes without an icon, for decision diagrams: the label sits inside the shape.
_SHAPE_BASE = {"fixedsize": "false", "labelloc": "c", "width": "0", "height": "0",
               "fontsize": "12", "fontname": "Helvetica", "style": "filled"}
SHAPES: dict[str, dict[str, str]] = {
    "question": {**_SHAPE_BASE, "shape": "diamond", "fillcolor": "#fff4d6", "color": "#b08a2e", "margin": "0.02"},
    "start": {**_SHAPE_BASE, "shape": "box", "style": "rounded,filled", "fillcolor": "#e8f0fe",
              "color": "#8fa7bf", "margin": "0.2,0.1"},
    "note": {**_SHAPE_BASE, "shape": "note", "fillcolor": "#f6f8fa", "color": "#8fa7bf", "margin": "0.2,0.1"},
}

#: The house style. Change it here and every diagram in the book follows.
GRAPH_STYLE = {"fontsize": "20", "fontname": "Helvetica", "pad": "0.4", "nodesep": "0.7", "ranksep": "0.9", "splines": "spline"}
NODE_STYLE = {"fontsize": "12", "fontname": "Helvetica"}
EDGE_STYLE = {"fontsize": "11", "fontname": "Helvetica", "color": "#545b64"}
CLUSTER_STYLE = {"fontsize": "13", "fontname": "Helvetica", "bgcolor": "#f2f7fb", "pencolor": "#8fa7bf"}

INSTALL_HINT = (
    "Graphviz's `dot` program is not installed, so this diagram cannot be drawn. "
    "Install it (Debian/Ubuntu: `sudo apt-get install graphviz`; macOS: `brew install graphviz`; "
    "conda: `conda install graphviz`), then re-run this cell. Nothing else in the lab needs it."
)

#: What the browser edition shows instead of a figure that only Graphviz's ``dot`` program draws
#: (:func:`placeholder_if_no_graphviz`, for code that runs ``dot`` itself). labkit's own figures
#: (:func:`draw`, state machines, ``lab.diagram()``) are drawn there (:func:`draw_in_browser`).
BROWSER_HINT = (
    "The browser edition does not draw this kind of figure: it needs Graphviz's `dot` program, which a browser tab "
    "cannot run. The alt text below says what the figure shows; the chapter's page in the book has the drawn figures, "
    "and the local edition draws this one from your own resources."
)

#: What the ``diagrams`` package (0.25) puts under the house style in every figure it writes. The browser
#: edition writes the same source without the package (:func:`to_dot`); a test compares the two.
_PACKAGE_GRAPH = {"pad": "2.0", "splines": "ortho", "nodesep": "0.60", "ranksep": "0.75", "fontname": "Sans-Serif",
                  "fontsize": "15", "fontcolor": "#2D3436"}
_PACKAGE_NODE = {"shape": "box", "style": "rounded", "fixedsize": "true", "width": "1.4", "height": "1.4",
                 "labelloc": "b", "imagescale": "true", "fontname": "Sans-Serif", "fontsize": "13",
                 "fontcolor": "#2D3436"}
_PACKAGE_EDGE = {"color": "#7B8894"}
_PACKAGE_CLUSTER = {"shape": "box", "style": "rounded", "labeljust": "l", "pencolor": "#AEB6BE",
                    "fontname": "Sans-Serif", "fontsize": "12", "bgcolor": "#E5F5FD", "rankdir": "LR"}
#: Each arrow's own attributes, as the package writes them (they win over :data:`EDGE_STYLE`).
_PACKAGE_ARROW = {"fontcolor": "#2D3436", "fontname": "Sans-Serif", "fontsize": "13", "dir": "forward"}
#: An icon node's height (inches), and what each extra line of its label adds.
_ICON_HEIGHT, _LINE_HEIGHT = 1.9, 0.4


class GraphvizMissing(RuntimeError):
    """Graphviz's ``dot`` is not on PATH."""


def graphviz_available() -> bool:
    """True when Graphviz's ``dot`` program can be found."""
    return shutil.which("dot") is not None


@dataclass
class Figure:
    """A rendered diagram: PNG bytes (locally) or SVG text (the browser edition), its alt text and title."""

    title: str
    alt: str
    png: bytes | None = None
    problem: str = ""
    svg: str | None = None

    def _repr_html_(self) -> str:
        alt = html.escape(self.alt, quote=True)
        title = html.escape(self.title)
        if self.png is not None:
            source = "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")
        elif self.svg is not None:
            source = "data:image/svg+xml;base64," + base64.b64encode(self.svg.encode("utf-8")).decode("ascii")
        else:
            return (
                f'<figure class="labkit-diagram"><div style="border:1px dashed #cf222e;padding:0.6em">'
                f"<strong>Diagram not drawn: {title}</strong><p>{html.escape(self.problem)}</p>"
                f"<p><em>What it shows:</em> {alt}</p></div></figure>"
            )
        return (
            f'<figure class="labkit-diagram"><img src="{source}" alt="{alt}" '
            f'style="max-width:100%"><figcaption>{title}</figcaption></figure>'
        )

    def __repr__(self) -> str:
        if self.png is not None:
            state = f"{len(self.png)} bytes of PNG"
        elif self.svg is not None:
            state = f"{len(self.svg)} characters of SVG"
        else:
            state = f"not drawn: {self.problem}"
        return f"Figure({self.title!r}, {state})\nAlt text: {self.alt}"

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the picture to ``path`` and return it: PNG locally, SVG in the browser edition (name it ``.svg``)."""
        if self.png is None and self.svg is None:
            raise GraphvizMissing(self.problem)
        target = Path(path)
        target.write_bytes(self.png if self.png is not None else (self.svg or "").encode("utf-8"))
        return target


def icon(kind: str) -> type:
    """The ``diagrams`` node class for a service key in :data:`ICONS` (or a plain shape in :data:`SHAPES`)."""
    if kind in SHAPES:
        from diagrams import Node

        return Node
    try:
        module_name, class_name = ICONS[kind].split(":")
    except KeyError:
        known = ", ".join(sorted(ICONS) + sorted(SHAPES))
        raise KeyError(f"no icon for {kind!r}; known: {known}") from None
    module = importlib.import_module(f"diagrams.{module_name}")
    return getattr(module, class_name)  # type: ignore[no-any-return]


def icon_file(kind: str) -> Path:
    """The PNG the ``diagrams`` package draws for an :data:`ICONS` key (``make lite`` packs it for the browser)."""
    node_class = icon(kind)
    if kind in SHAPES or not getattr(node_class, "_icon", None):
        raise KeyError(f"{kind!r} is drawn as a shape, not an icon")
    import diagrams as package

    return Path(package.__file__).resolve().parent.parent / node_class._icon_dir / node_class._icon


Edge = tuple[str, str] | tuple[str, str, str]

DIRECTIONS = ("TB", "BT", "LR", "RL")


def icon_image(kind: str) -> str:
    """The name an icon has in :func:`to_dot`'s source (the browser edition inlines the PNG under it)."""
    return f"icons/{kind}.png"


def _quoted(value: str) -> str:
    """A DOT double-quoted string: backslashes and quotes escaped, line breaks as ``\\n``."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _attributes(attrs: Mapping[str, str], label: str | None = None) -> str:
    """``[label=... name=value ...]``: the label first, shown as written (Graphviz reads HTML
    entities such as ``&amp;`` in labels, so ``&`` is written ``&amp;``), then the rest by name."""
    items = ([("label", label.replace("&", "&amp;"))] if label is not None else []) + sorted(attrs.items())
    return "[" + " ".join(f"{name}={_quoted(value)}" for name, value in items) + "]"


def to_dot(
    nodes: Mapping[str, tuple[str, str]],
    edges: Iterable[Edge] = (),
    clusters: Mapping[str, Sequence[str]] | None = None,
    direction: str = "LR",
) -> str:
    """The Graphviz source of a :func:`draw` figure, written without the ``diagrams`` package.

    The same graph the package writes locally: its defaults under the house
    style (:data:`GRAPH_STYLE`, :data:`NODE_STYLE`, :data:`EDGE_STYLE`,
    :data:`CLUSTER_STYLE`, :data:`SHAPES`), each icon by name
    (:func:`icon_image`) and node ids ``n0``, ``n1``... in the order the
    package creates them (the clusters' members first). Deterministic: the
    same figure gives the same text. The browser edition renders it.
    """
    if direction.upper() not in DIRECTIONS:
        raise ValueError(f"direction {direction!r}: use one of {', '.join(DIRECTIONS)}")
    clusters = clusters or {}
    in_cluster = [node_id for members in clusters.values() for node_id in members]
    order = in_cluster + [node_id for node_id in nodes if node_id not in set(in_cluster)]
    ids = {node_id: f"n{number}" for number, node_id in enumerate(dict.fromkeys(order))}

    def node_line(node_id: str, indent: str) -> str:
        kind, text = nodes[node_id]
        if kind in SHAPES:
            look = dict(SHAPES[kind])
        else:
            look = {"shape": "none", "height": str(_ICON_HEIGHT + _LINE_HEIGHT * text.count("\n")),
                    "image": icon_image(kind)}
        return f"{indent}{_quoted(ids[node_id])} {_attributes(look, text)}"

    graph = {**_PACKAGE_GRAPH, "label": "", "rankdir": direction.upper(), **GRAPH_STYLE}
    lines = ["digraph {",
             f"\tgraph {_attributes({k: v for k, v in graph.items() if k != 'label'}, graph['label'])}",
             f"\tnode {_attributes({**_PACKAGE_NODE, **NODE_STYLE})}",
             f"\tedge {_attributes({**_PACKAGE_EDGE, **EDGE_STYLE})}"]
    for label, members in clusters.items():
        lines.append(f"\tsubgraph {_quoted('cluster_' + label)} {{")
        lines.append(f"\t\tgraph {_attributes({**_PACKAGE_CLUSTER, **CLUSTER_STYLE}, label)}")
        lines.extend(node_line(node_id, "\t\t") for node_id in members)
        lines.append("\t}")
    lines.extend(node_line(node_id, "\t") for node_id in nodes if node_id not in set(in_cluster))
    for edge in edges:
        label = edge[2] if len(edge) > 2 else ""  # type: ignore[misc]
        lines.append(f"\t{_quoted(ids[edge[0]])} -> {_quoted(ids[edge[1]])} "
                     f"{_attributes(_PACKAGE_ARROW, label or None)}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def placeholder_if_no_graphviz(title: str, alt: str, require_graphviz: bool | None = None) -> Figure | None:
    """What to show when Graphviz is missing: ``None`` when it is installed.

    Otherwise a placeholder :class:`Figure` that shows the alt text and how to
    install Graphviz, or, when ``require_graphviz`` is true (default: the
    ``LABKIT_REQUIRE_GRAPHVIZ`` environment variable, set by the book build),
    :class:`GraphvizMissing`.
    """
    if platform.in_browser():
        return Figure(title, alt, None, BROWSER_HINT)
    if graphviz_available():
        return None
    if require_graphviz is None:
        require_graphviz = os.environ.get("LABKIT_REQUIRE_GRAPHVIZ") == "1"
    if require_graphviz:
        raise GraphvizMissing(INSTALL_HINT)
    return Figure(title, alt, None, INSTALL_HINT)


def draw(
    title: str,
    *,
    alt: str,
    nodes: Mapping[str, tuple[str, str]],
    edges: Iterable[Edge] = (),
    clusters: Mapping[str, Sequence[str]] | None = None,
    direction: str = "LR",
    require_graphviz: bool | None = None,
) -> Figure:
    """Draw an architecture diagram in the house style.

    Args:
        title: shown above the diagram and as its caption.
        alt: what the diagram shows, in a sentence or two, for readers who cannot see it.
        nodes: node id -> (service key from :data:`ICONS` or shape from :data:`SHAPES`, label).
        edges: (from, to) or (from, to, label) by node id.
        clusters: cluster label -> node ids drawn inside a box (a VPC, a region...).
        direction: ``"LR"`` (left to right, the default) or ``"TB"`` (top to bottom).
        require_graphviz: raise :class:`GraphvizMissing` instead of returning a
            placeholder figure. Defaults to the ``LABKIT_REQUIRE_GRAPHVIZ`` environment
            variable, which the book build sets.

    Returns:
        A :class:`Figure`.
    """
    if not alt.strip():
        raise ValueError("every diagram needs alt text that says what it shows")
    edges = list(edges)
    known = set(nodes)
    for edge in edges:
        for end in edge[:2]:
            if end not in known:
                raise KeyError(f"edge {edge!r} names {end!r}, which is not in nodes")
    for kind, _ in nodes.values():
        if platform.in_browser() and kind in {**ICONS, **SHAPES}:
            continue  # nothing is drawn there (BROWSER_HINT): the kind is known, no need to import its icon
        icon(kind)  # fail early on an unknown service key
    if platform.in_browser():
        return draw_in_browser(title, alt, to_dot(nodes, edges, clusters, direction),
                                {icon_image(kind): kind for kind, _ in nodes.values() if kind in ICONS})
    placeholder = placeholder_if_no_graphviz(title, alt, require_graphviz)
    if placeholder is not None:
        return placeholder

    from diagrams import Cluster, Diagram
    from diagrams import Edge as DEdge

    in_cluster = {n for members in (clusters or {}).values() for n in members}
    with tempfile.TemporaryDirectory() as tmp:
        stem = os.path.join(tmp, re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "diagram")
        # The title is the figure's caption, so the image itself carries none.
        with Diagram(
            "", filename=stem, outformat="png", show=False, direction=direction,
            graph_attr=GRAPH_STYLE, node_attr=NODE_STYLE, edge_attr=EDGE_STYLE,
        ):
            made = {}

            def make(node_id: str) -> None:
                kind, text = nodes[node_id]
                made[node_id] = icon(kind)(text, **SHAPES.get(kind, {}))

            for label, members in (clusters or {}).items():
                with Cluster(label, graph_attr=CLUSTER_STYLE):
                    for node_id in members:
                        make(node_id)
            for node_id in nodes:
                if node_id not in in_cluster:
                    make(node_id)
            for edge in edges:
                source, target = made[edge[0]], made[edge[1]]
                label = edge[2] if len(edge) > 2 else ""  # type: ignore[misc]
                source >> DEdge(label=label) >> target
        png = Path(stem + ".png").read_bytes()
    return Figure(title, alt, png)


def draw_in_browser(title: str, alt: str, source: str, icons: Mapping[str, str] | None = None) -> Figure:
    """The browser edition's figure: ``source`` rendered by Graphviz in WebAssembly, or, when it
    cannot draw (still starting, not shipped), the alt text and one sentence saying why."""
    try:
        svg = diagrams_browser.render_svg(source, icons or {})
    except diagrams_browser.Unavailable as why:
        return Figure(title, alt, None, str(why))
    return Figure(title, alt, svg=svg)
