"""Step Functions state machines drawn from their ASL, as the console draws them.

:func:`draw_state_machine` draws the graph that
:func:`labkit.services.stepfunctions.state_graph` reads from the ASL, with
Graphviz in the book's house style (:mod:`labkit.notebook.diagrams`): Choice
rules on their edges, Catch paths dashed and labelled with their errors, Retry
noted on the state, Parallel branches and Map iterators as boxes. In the browser
edition the same source is drawn by Graphviz compiled to WebAssembly
(:func:`labkit.notebook.diagrams.draw_in_browser`). Alt text is
written from the ASL (:func:`labkit.services.stepfunctions.describe_state_machine`)
when you give none. :func:`to_dot` returns the Graphviz source.

The graph model lives with the Step Functions service (plain Python, no
drawing library); this module only draws it, so services never import the
notebook layer.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from labkit.core import platform
from labkit.notebook.diagrams import (
    CLUSTER_STYLE,
    EDGE_STYLE,
    GRAPH_STYLE,
    NODE_STYLE,
    Figure,
    draw_in_browser,
    placeholder_if_no_graphviz,
)
from labkit.services.stepfunctions import (
    Cluster,
    Node,
    StateGraph,
    describe_state_machine,
    state_graph,
)

__all__ = ["draw_state_machine", "to_dot"]

_NODE_LOOK: dict[str, dict[str, str]] = {
    "start": {"shape": "ellipse", "style": "filled", "fillcolor": "#e9ecef", "color": "#545b64"},
    "end": {"shape": "ellipse", "style": "filled", "fillcolor": "#e9ecef", "color": "#545b64"},
    "task": {"shape": "box", "style": "rounded,filled", "fillcolor": "#ffffff", "color": "#2b6cb0", "penwidth": "1.5"},
    "pass": {"shape": "box", "style": "rounded,filled", "fillcolor": "#f7f7f7", "color": "#8a8f98"},
    "wait": {"shape": "box", "style": "rounded,filled", "fillcolor": "#f7f7f7", "color": "#8a8f98"},
    "choice": {"shape": "diamond", "style": "filled", "fillcolor": "#fff8e1", "color": "#b7791f"},
    "succeed": {"shape": "box", "style": "rounded,filled", "fillcolor": "#f0fff4", "color": "#2f855a", "penwidth": "1.5"},
    "fail": {"shape": "box", "style": "rounded,filled", "fillcolor": "#fff5f5", "color": "#c53030", "penwidth": "1.5"},
    "parallel": {"shape": "box", "style": "rounded,filled,bold", "fillcolor": "#ffffff", "color": "#545b64"},
    "map": {"shape": "box", "style": "rounded,filled,bold", "fillcolor": "#ffffff", "color": "#545b64"},
    "join": {"shape": "point", "width": "0.12", "color": "#545b64"},
}
_EDGE_LOOK: dict[str, dict[str, str]] = {
    "catch": {"style": "dashed", "color": "#c53030", "fontcolor": "#c53030"},
    "default": {"style": "solid"},
    "branch": {"style": "solid", "arrowsize": "0.7"},
}


def _dot_id(node_id: str) -> str:
    return "n_" + re.sub(r"[^A-Za-z0-9_]", lambda m: f"_{ord(m.group()):x}_", node_id)


def to_dot(definition: str | Mapping[str, Any], *, direction: str = "TB") -> str:
    """The Graphviz source of the drawing (what :func:`draw_state_machine` renders)."""
    return _digraph(state_graph(definition), direction).source


def _digraph(graph: StateGraph, direction: str) -> Any:
    from graphviz import Digraph

    dot = Digraph(
        graph_attr={**GRAPH_STYLE, "rankdir": direction, "splines": "true", "nodesep": "0.5", "ranksep": "0.5"},
        node_attr={**NODE_STYLE, "margin": "0.18,0.06"},
        edge_attr=EDGE_STYLE,
    )

    def add_node(target: Any, node: Node) -> None:
        target.node(_dot_id(node.id), node.label, **_NODE_LOOK.get(node.kind, {}))

    def add_cluster(target: Any, cluster: Cluster) -> None:
        style = {**CLUSTER_STYLE, "label": cluster.label, "style": "rounded" + (",dashed" if cluster.kind != "parallel" else "")}
        if cluster.kind == "branch":
            style["bgcolor"] = "#ffffff"
        with target.subgraph(name="cluster_" + _dot_id(cluster.id)[2:], graph_attr=style) as sub:
            for node_id in cluster.nodes:
                add_node(sub, graph.nodes[node_id])
            for child in graph.clusters.values():
                if child.parent == cluster.id:
                    add_cluster(sub, child)

    clustered = {n for c in graph.clusters.values() for n in c.nodes}
    for node in graph.nodes.values():
        if node.id not in clustered:
            add_node(dot, node)
    for cluster in graph.clusters.values():
        if cluster.parent is None:
            add_cluster(dot, cluster)
    for edge in graph.edges:
        if edge.source not in graph.nodes or edge.target not in graph.nodes:
            continue  # a Next that names no state: the ASL is invalid, drawn without that arrow
        dot.edge(_dot_id(edge.source), _dot_id(edge.target), label=edge.label, **_EDGE_LOOK.get(edge.kind, {}))
    return dot


def draw_state_machine(
    definition: str | Mapping[str, Any],
    title: str = "State machine",
    alt: str | None = None,
    *,
    direction: str = "TB",
    require_graphviz: bool | None = None,
) -> Figure:
    """Draw a state machine from its ASL, as the Step Functions console does.

    Args:
        definition: the ASL, as a JSON string (what ``describe_state_machine``
            returns) or a dict.
        title: the figure's caption.
        alt: what the drawing shows; by default written from the ASL
            (:func:`~labkit.services.stepfunctions.describe_state_machine`).
        direction: ``"TB"`` (top to bottom, like the console) or ``"LR"``.
        require_graphviz: raise :class:`~labkit.notebook.diagrams.GraphvizMissing`
            instead of returning a placeholder when Graphviz is missing. Defaults
            to the ``LABKIT_REQUIRE_GRAPHVIZ`` environment variable.

    Returns:
        A :class:`~labkit.notebook.diagrams.Figure` (PNG and alt text).
    """
    graph = state_graph(definition)
    text = alt if alt is not None and alt.strip() else "A state machine. " + describe_state_machine(definition)
    if platform.in_browser():  # Graphviz compiled to WebAssembly draws the same source there
        return draw_in_browser(title, text, _digraph(graph, direction).source)
    placeholder = placeholder_if_no_graphviz(title, text, require_graphviz)
    if placeholder is not None:
        return placeholder
    png = _digraph(graph, direction).pipe(format="png")
    return Figure(title, text, png)
