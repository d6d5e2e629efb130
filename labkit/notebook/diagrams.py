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

#: What the browser edition shows instead of a diagram: a browser tab cannot run Graphviz.
BROWSER_HINT = (
    "The browser edition does not draw diagrams: Graphviz's `dot` is a program, and a browser tab cannot run it. "
    "The alt text below says what the diagram shows; the chapter's page in the book has the drawn figures, "
    "and the local edition draws this one from your own resources."
)


class GraphvizMissing(RuntimeError):
    """Graphviz's ``dot`` is not on PATH."""


def graphviz_available() -> bool:
    """True when Graphviz's ``dot`` program can be found."""
    return shutil.which("dot") is not None


@dataclass
class Figure:
    """A rendered diagram: PNG bytes plus its alt text and title."""

    title: str
    alt: str
    png: bytes | None = None
    problem: str = ""

    def _repr_html_(self) -> str:
        alt = html.escape(self.alt, quote=True)
        title = html.escape(self.title)
        if self.png is None:
            return (
                f'<figure class="labkit-diagram"><div style="border:1px dashed #cf222e;padding:0.6em">'
                f"<strong>Diagram not drawn: {title}</strong><p>{html.escape(self.problem)}</p>"
                f"<p><em>What it shows:</em> {alt}</p></div></figure>"
            )
        data = base64.b64encode(self.png).decode("ascii")
        return (
            f'<figure class="labkit-diagram"><img src="data:image/png;base64,{data}" alt="{alt}" '
            f'style="max-width:100%"><figcaption>{title}</figcaption></figure>'
        )

    def __repr__(self) -> str:
        state = f"{len(self.png)} bytes of PNG" if self.png else f"not drawn: {self.problem}"
        return f"Figure({self.title!r}, {state})\nAlt text: {self.alt}"

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the PNG to ``path`` and return it."""
        if self.png is None:
            raise GraphvizMissing(self.problem)
        target = Path(path)
        target.write_bytes(self.png)
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


Edge = tuple[str, str] | tuple[str, str, str]


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
