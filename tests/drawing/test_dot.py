"""DOT drawings: Graphviz's own parser reads them, with the right shapes, frames and labels."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from samples import LONG_NAME, Outer, Showcase, any_graph, any_name, weird_workflow

from stepwork._drawing.dot import graph_to_dot
from stepwork._drawing.labels import MARKER, display_label
from stepwork._drawing.model import GraphEdge, GraphNode, WorkflowGraph
from stepwork.drawing import workflow_graph

Render = Callable[..., str]
SVG = "{http://www.w3.org/2000/svg}"


def drawn(render: Render, dot_text: str) -> dict[str, Any]:
    """Graphviz's reading of the text: ``-Tjson`` output."""
    return json.loads(render(dot_text, "json"))


def drawn_text(node: dict[str, Any]) -> str:
    """The label text Graphviz actually draws for a node or cluster (escapes applied)."""
    return "".join(op["text"] for op in node.get("_ldraw_", []) if op["op"] == "T")


def svg_texts(svg: str) -> list[str]:
    root = ElementTree.fromstring(svg)
    return [element.text or "" for element in root.iter(f"{SVG}text")]


def test_every_sample_parses_and_keeps_its_labels(
    sample_graph: WorkflowGraph, render_dot: Render
) -> None:
    text = graph_to_dot(sample_graph)
    data = drawn(render_dot, text)
    nodes = [obj for obj in data["objects"] if "nodes" not in obj]
    assert len(nodes) == len(sample_graph.nodes)
    assert len(data.get("edges", [])) == len(sample_graph.edges)
    assert sorted(drawn_text(node) for node in nodes) == sorted(
        display_label(node.label, None) for node in sample_graph.nodes
    )
    texts = svg_texts(render_dot(text, "svg"))
    for node in sample_graph.nodes:
        if node.kind == "step":
            assert display_label(node.label, None) in texts


def test_showcase_shapes_colours_and_cluster(
    showcase_graph: WorkflowGraph, render_dot: Render
) -> None:
    data = drawn(render_dot, graph_to_dot(showcase_graph))
    nodes = {drawn_text(obj): obj for obj in data["objects"] if "nodes" not in obj}
    assert nodes["split"]["shape"] == nodes["report"]["shape"] == "box"
    assert nodes["Page"]["shape"] == "ellipse"
    assert nodes["person"]["shape"] == "circle"
    assert nodes["get_client"]["shape"] == "cylinder"
    assert nodes["Child"]["shape"] == "component"
    assert nodes["StartEvent"]["peripheries"] == nodes["StopEvent"]["peripheries"] == "2"
    fills = {name: nodes[name]["fillcolor"] for name in ("StartEvent", "StopEvent", "Page")}
    assert len(set(fills.values())) == 3
    assert nodes["Question"]["fillcolor"] != nodes["Page"]["fillcolor"]
    assert nodes["split"]["tooltip"] == "One Page per url."
    (cluster,) = [obj for obj in data["objects"] if "nodes" in obj]
    assert cluster["name"] == "cluster_0"
    assert drawn_text(cluster) == "report: Child"
    members = sorted(drawn_text(data["objects"][gvid]) for gvid in cluster["nodes"])
    assert members == ["Child", "StartEvent", "StopEvent", "format"]
    labels = sorted(edge["label"] for edge in data["edges"] if edge.get("label"))
    assert labels == ["client", "list", "list", "returns", "runs", "starts"]
    dashed = [edge for edge in data["edges"] if edge.get("style") == "dashed"]
    assert len(dashed) == 4


def test_nested_child_workflows_nest_their_clusters(render_dot: Render) -> None:
    data = drawn(render_dot, graph_to_dot(workflow_graph(Outer)))
    clusters = {drawn_text(obj): obj for obj in data["objects"] if "nodes" in obj}
    assert set(clusters) == {"start: Middle", "delegate: Child"}
    outer, inner = clusters["start: Middle"], clusters["delegate: Child"]
    assert outer["subgraphs"] == [inner["_gvid"]]
    assert set(inner["nodes"]) < set(outer["nodes"])


def test_labels_are_shortened_with_the_marker(render_dot: Render) -> None:
    graph = workflow_graph(weird_workflow(LONG_NAME))
    data = drawn(render_dot, graph_to_dot(graph, max_label_length=12))
    labels = [drawn_text(obj) for obj in data["objects"]]
    assert LONG_NAME[:11] + MARKER in labels
    assert all(len(label) <= 12 for label in labels)
    assert "StartEvent" in labels


def test_nasty_names_are_drawn_as_written(render_dot: Render) -> None:
    name = 'Weird"[]|<>#name {x} \\N \\G &amp; &#128512; \\'
    graph = workflow_graph(weird_workflow(name + "\nsecond line", step_name='a"b\\c'))
    data = drawn(render_dot, graph_to_dot(graph))
    labels = {drawn_text(obj) for obj in data["objects"]}
    assert name + " second line" in labels
    assert 'a"b\\c' in labels
    svg = render_dot(graph_to_dot(graph), "svg")
    assert name + " second line" in svg_texts(svg)
    titles = [
        element.get("{http://www.w3.org/1999/xlink}title")
        for element in ElementTree.fromstring(svg).iter(f"{SVG}a")
    ]
    assert f"Docstring of {name}\nsecond line" in titles


def test_output_is_deterministic() -> None:
    first = graph_to_dot(workflow_graph(Showcase))
    assert first == graph_to_dot(workflow_graph(Showcase))
    assert first.startswith('digraph "Showcase" {\n')
    assert first.endswith("}\n")


def test_bad_arguments_are_refused(showcase_graph: WorkflowGraph) -> None:
    with pytest.raises(ValueError, match="max_label_length"):
        graph_to_dot(showcase_graph, max_label_length=0)
    broken = WorkflowGraph("B", [GraphNode("a", "step", "a")], [GraphEdge("ghost", "a")])
    with pytest.raises(ValueError, match="ghost"):
        graph_to_dot(broken)


@settings(max_examples=60, deadline=None)
@given(name=any_name(), step_name=any_name())
def test_any_class_name_gives_valid_dot(name: str, step_name: str, render_dot: Render) -> None:
    graph = workflow_graph(weird_workflow(name, step_name=step_name or "s"))
    for limit in (None, 5):
        data = drawn(render_dot, graph_to_dot(graph, max_label_length=limit))
        nodes = [obj for obj in data["objects"] if "nodes" not in obj]
        assert sorted(drawn_text(node) for node in nodes) == sorted(
            display_label(node.label, limit) for node in graph.nodes
        )


@settings(max_examples=40, deadline=None)
@given(graph=any_graph())
def test_any_graph_gives_valid_dot(graph: WorkflowGraph, render_dot: Render) -> None:
    data = drawn(render_dot, graph_to_dot(graph, max_label_length=20))
    nodes = [obj for obj in data["objects"] if "nodes" not in obj]
    assert len(nodes) == len(graph.nodes)
    assert len(data.get("edges", [])) == len(graph.edges)
