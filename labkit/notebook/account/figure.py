"""The account drawn: a :class:`~labkit.notebook.diagrams.Figure` in the house
style that also carries the graph it was drawn from.

The picture has one cluster per part of the book; under it the figure lists
what is in the account but is not a box (security groups, parameter
groups...), what it could not draw, and what it could not read. Its output
carries the same facts for machines, in the display metadata under
``labkit.account`` (:meth:`AccountFigure._repr_mimebundle_`): the names drawn
and the resources created but not drawn, which is how the test suite checks
every walkthrough's drawing.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any

from labkit.notebook import diagrams

from .model import PARTS, Account

#: The key of the figure's display metadata.
METADATA_KEY = "labkit.account"
#: A label line longer than this is broken after a ``-``, ``/``, ``.`` or space.
LINE = 28


def wrap(label: str, width: int = LINE) -> str:
    """``label`` with each long line broken where a name allows it (``TargetTracking-wt-web-AlarmHigh-...``)."""
    out = []
    for line in label.split("\n"):
        current = ""
        for piece in re.findall(r"[^-/. ]+[-/. ]?|[-/. ]", line):
            if current and len(current) + len(piece) > width:
                out.append(current)
                current = ""
            current += piece
        out.append(current)
    return "\n".join(out)


@dataclass
class AccountFigure(diagrams.Figure):
    """A drawing of the account, with the account it was drawn from."""

    account: Account = field(default_factory=lambda: Account(""))

    def _extras_html(self) -> str:
        rows = []
        if self.account.details:
            items = "".join(f"<li>{html.escape(heading)}: {html.escape(', '.join(names))}</li>"
                            for heading, names in self.account.details.items())
            rows.append(f"<p>Also in the account, not drawn as boxes:</p><ul>{items}</ul>")
        if self.account.undrawn:
            rows.append(f"<p><strong>Created in this sandbox but not drawn:</strong> "
                        f"{html.escape(', '.join(self.account.undrawn))}</p>")
        if self.account.notes:
            rows.append("".join(f"<p><em>{html.escape(note)}</em></p>" for note in self.account.notes))
        return f'<div class="labkit-account" style="font-size:0.9em">{"".join(rows)}</div>' if rows else ""

    def _repr_html_(self) -> str:
        return super()._repr_html_() + self._extras_html()

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> tuple[dict[str, str], dict[str, Any]]:
        data = {"text/html": self._repr_html_(), "text/plain": repr(self)}
        return data, {METADATA_KEY: self.account.to_json()}

    def __repr__(self) -> str:
        text = super().__repr__()
        if self.account.undrawn:
            text += "\nCreated but not drawn: " + ", ".join(self.account.undrawn)
        return text


def merged(edges: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """One arrow per pair of nodes, its labels joined (an alarm that watches a group and scales it)."""
    labels: dict[tuple[str, str], list[str]] = {}
    for source, target, label in edges:
        found = labels.setdefault((source, target), [])
        if label and label not in found:
            found.append(label)
    return [(source, target, "; ".join(found)) for (source, target), found in labels.items()]


def _roles_in_labels(account: Account) -> tuple[dict[str, tuple[str, str]], list[tuple[str, str, str]]]:
    """Nodes and edges to draw: a role something runs as is written under that thing's name
    (``role shop-orders-role``) instead of an arrow across the picture to a role icon."""
    roles = {key for key, node in account.nodes.items() if node.kind == "iamrole"}
    nodes = {key: [node.kind, node.label] for key, node in account.nodes.items() if key not in roles}
    edges = []
    for source, target, label in account.edges:
        if target in roles and source in nodes:
            line = f"role {account.nodes[target].name}"
            if line not in nodes[source][1].split("\n"):
                nodes[source][1] += "\n" + line
        elif source not in roles and target not in roles:
            edges.append((source, target, label))
    return {key: (kind, wrap(label)) for key, (kind, label) in nodes.items()}, merged(edges)


#: More unconnected resources of one kind than this are drawn as one node that lists them.
STACK_ABOVE = 4


def _stacked(account: Account, nodes: dict[str, tuple[str, str]], edges: list[tuple[str, str, str]]
             ) -> tuple[dict[str, tuple[str, str]], dict[str, str]]:
    """Unconnected resources of one kind, when there are many, as one node naming them all
    (twelve queues no arrow touches need not take twelve places). Returns the nodes and which
    node now stands for each one stacked."""
    linked = {end for edge in edges for end in edge[:2]}
    alike: dict[tuple[str, str], list[str]] = {}
    for key in nodes:
        node = account.nodes.get(key)
        if node is not None and key not in linked and node.part:
            alike.setdefault((node.kind, node.noun), []).append(key)
    into: dict[str, str] = {}
    out = dict(nodes)
    for (kind, noun), keys in alike.items():
        if len(keys) <= STACK_ABOVE:
            continue
        names = [account.nodes[key].name for key in keys]
        stack = f"stack:{kind}:{noun}"
        shown = ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
        out[stack] = (kind, wrap(f"{len(names)} {noun}s\n{shown}"))
        for key in keys:
            del out[key]
            into[key] = stack
    return out, into


#: Above this many nodes the drawing runs top to bottom: the parts side by side, not one tall column.
WIDE_ABOVE = 12


def draw_account(account: Account, title: str, *, direction: str | None = None,
                 require_graphviz: bool | None = None) -> AccountFigure:
    """Draw ``account`` in the house style, its alt text generated from the same graph.
    ``direction`` defaults to left to right for a small account, top to bottom for a large one."""
    alt = account.alt()
    nodes, edges = _roles_in_labels(account)
    nodes, into = _stacked(account, nodes, edges)
    direction = direction or ("TB" if len(nodes) > WIDE_ABOVE else "LR")
    if not nodes:
        nodes = {"empty": ("note", f"nothing to draw in {account.region}")}
    clusters = {}
    for part in PARTS:
        members = [key for key, node in account.nodes.items() if node.part == part and key in nodes]
        members += sorted({into[key] for key, node in account.nodes.items() if node.part == part and key in into})
        if members:
            clusters[part[:1].upper() + part[1:]] = members
    figure = diagrams.draw(title, alt=alt, nodes=nodes, edges=edges, clusters=clusters, direction=direction,
                           require_graphviz=require_graphviz)
    return AccountFigure(figure.title, figure.alt, figure.png, figure.problem, figure.svg, account=account)
