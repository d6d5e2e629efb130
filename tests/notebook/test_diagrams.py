"""labkit.notebook.diagrams: the house style draws, alt text is required, a missing Graphviz is explained."""

from __future__ import annotations

import re

import pytest

from labkit.notebook import diagrams

NODES = {"q": ("sqs", "orders"), "dlq": ("sqs", "orders-dlq"), "w": ("lambda", "worker")}
EDGES = [("q", "w", "receive"), ("q", "dlq", "after 3 receives")]


def test_draw_returns_a_png_with_alt_text_in_its_html():
    fig = diagrams.draw("Redrive", alt="orders moves failures to orders-dlq", nodes=NODES, edges=EDGES,
                        clusters={"us-east-1": ["q", "dlq"]})
    assert fig.png is not None and fig.png.startswith(b"\x89PNG")
    html = fig._repr_html_()
    assert 'alt="orders moves failures to orders-dlq"' in html and "<figcaption>Redrive</figcaption>" in html


def test_alt_text_is_escaped():
    fig = diagrams.draw("T", alt='a "quoted" <b>thing</b>', nodes=NODES, edges=EDGES)
    assert 'alt="a &quot;quoted&quot; &lt;b&gt;thing&lt;/b&gt;"' in fig._repr_html_()


def test_alt_text_is_required():
    with pytest.raises(ValueError, match="alt text"):
        diagrams.draw("T", alt="  ", nodes=NODES, edges=EDGES)


def test_unknown_service_and_dangling_edge_are_named():
    with pytest.raises(KeyError, match="no icon for 'sqs2'"):
        diagrams.draw("T", alt="x", nodes={"a": ("sqs2", "a")})
    with pytest.raises(KeyError, match="'nowhere'"):
        diagrams.draw("T", alt="x", nodes=NODES, edges=[("q", "nowhere")])


def test_every_icon_in_the_house_style_exists():
    for kind in diagrams.ICONS:
        assert isinstance(diagrams.icon(kind), type), kind


def test_without_graphviz_the_figure_explains_and_keeps_the_alt_text(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    fig = diagrams.draw("Redrive", alt="what it shows", nodes=NODES, edges=EDGES, require_graphviz=False)
    assert fig.png is None
    html = fig._repr_html_()
    assert "sudo apt-get install graphviz" in html and "brew install graphviz" in html and "what it shows" in html
    with pytest.raises(diagrams.GraphvizMissing, match="apt-get install graphviz"):
        diagrams.draw("Redrive", alt="x", nodes=NODES, edges=EDGES, require_graphviz=True)
    with pytest.raises(diagrams.GraphvizMissing):
        fig.save("/tmp/never.png")


def test_decision_shapes_carry_their_label_inside(monkeypatch):
    """A question is a diamond with its text inside; a service is an icon with its name below."""
    import graphviz

    sources = []
    render = graphviz.Digraph.render

    def recording_render(self, *args, **kwargs):
        sources.append(self.source)
        return render(self, *args, **kwargs)

    monkeypatch.setattr(graphviz.Digraph, "render", recording_render)
    fig = diagrams.draw("Choose", alt="a question leads to SQS", direction="TB",
                        nodes={"q": ("question", "need a buffer?"), "s": ("start", "start"), "sqs": ("sqs", "SQS")},
                        edges=[("s", "q"), ("q", "sqs", "yes")])
    assert fig.png is not None and len(sources) == 1
    lines = sources[0].splitlines()
    question = next(line for line in lines if 'label="need a buffer?"' in line)
    service = next(line for line in lines if re.search(r'label="?SQS"?[ \]]', line))
    assert "shape=diamond" in question and "labelloc=c" in question and "image=" not in question
    # An icon node keeps the house default: its name below the icon.
    assert "image=" in service and "labelloc" not in service
    assert "labelloc=b" in next(line for line in lines if line.strip().startswith("node ["))
