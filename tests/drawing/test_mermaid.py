"""Mermaid drawings: valid in the emitted subset, the right shapes and classes, escaped labels."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mermaid_syntax import MermaidSyntaxError, parse_flowchart
from samples import LONG_NAME, Outer, Showcase, any_graph, any_name, weird_workflow

from stepwork._drawing.labels import MARKER, display_label, one_line, shorten
from stepwork._drawing.mermaid import graph_to_mermaid
from stepwork._drawing.model import GraphEdge, GraphNode, WorkflowGraph
from stepwork.drawing import workflow_graph


def test_every_sample_passes_the_checker_and_keeps_its_labels(sample_graph: WorkflowGraph) -> None:
    chart = parse_flowchart(graph_to_mermaid(sample_graph))
    assert len(chart.nodes) == len(sample_graph.nodes)
    assert len(chart.edges) == len(sample_graph.edges)
    labels = sorted(chart.label(node_id) for node_id in chart.nodes)
    assert labels == sorted(display_label(node.label, None) or " " for node in sample_graph.nodes)


def test_showcase_shapes_classes_and_frames(showcase_graph: WorkflowGraph) -> None:
    chart = parse_flowchart(graph_to_mermaid(showcase_graph))
    by_label = {chart.label(node_id): node_id for node_id in chart.nodes}
    shapes = {label: chart.nodes[node_id][0] for label, node_id in by_label.items()}
    assert shapes["split"] == shapes["fetch"] == "rect"
    assert shapes["Page"] == shapes["StartEvent"] == shapes["Question"] == "stadium"
    assert shapes["person"] == "circle"
    assert shapes["get_client"] == "cylinder"
    assert shapes["Child"] == "subroutine"
    counts = {name: len(ids) for name, ids in chart.classes.items()}
    assert counts == {
        "step": 6,
        "event": 3,
        "startEvent": 2,
        "stopEvent": 2,
        "inputRequired": 1,
        "humanResponse": 1,
        "person": 1,
        "resource": 1,
        "childWorkflow": 1,
    }
    assert chart.classes["inputRequired"] == [by_label["Question"]]
    assert set(chart.class_defs) == set(counts)
    assert chart.class_defs["startEvent"]["fill"] != chart.class_defs["stopEvent"]["fill"]
    ((label, members),) = chart.subgraphs.values()
    assert label == "report: Child"
    assert sorted(chart.label(node_id) for node_id in members) == [
        "Child",
        "StartEvent",
        "StopEvent",
        "format",
    ]
    labelled = sorted((arrow, label) for _, arrow, label, _ in chart.edges if label)
    assert labelled == [
        ("-->", "list"),
        ("-->", "list"),
        ("-.->", "client"),
        ("-.->", "returns"),
        ("-.->", "runs"),
        ("-.->", "starts"),
    ]
    person = by_label["person"]
    ask, answer = by_label["Question"], by_label["Answer"]
    assert (ask, "-->", None, person) in chart.edges
    assert (person, "-->", None, answer) in chart.edges


def test_nested_child_workflows_nest_their_frames() -> None:
    chart = parse_flowchart(graph_to_mermaid(workflow_graph(Outer)))
    frames = {label: name for name, (label, _) in chart.subgraphs.items()}
    assert set(frames) == {"start: Middle", "delegate: Child"}
    assert chart.parents == {
        frames["start: Middle"]: None,
        frames["delegate: Child"]: frames["start: Middle"],
    }
    inner = chart.subgraphs[frames["delegate: Child"]][1]
    assert sorted(chart.label(i) for i in inner) == ["Child", "StartEvent", "StopEvent", "format"]


def test_labels_are_shortened_with_the_marker() -> None:
    graph = workflow_graph(weird_workflow(LONG_NAME))
    chart = parse_flowchart(graph_to_mermaid(graph, max_label_length=12))
    labels = [chart.label(node_id) for node_id in chart.nodes]
    assert LONG_NAME[:11] + MARKER in labels
    assert all(len(label) <= 12 for label in labels)
    assert "StartEvent" in labels  # short enough to stay whole
    whole = parse_flowchart(graph_to_mermaid(graph))
    assert LONG_NAME in [whole.label(node_id) for node_id in whole.nodes]


def test_nasty_names_are_escaped() -> None:
    name = 'Weird"[]|<>#name\n`x` $$y$$ %% #35; &amp;'
    text = graph_to_mermaid(workflow_graph(weird_workflow(name, step_name='a"b|c')))
    chart = parse_flowchart(text)
    labels = {chart.label(node_id) for node_id in chart.nodes}
    assert display_label(name, None) in labels
    assert 'a"b|c' in labels


def test_output_is_deterministic() -> None:
    first = graph_to_mermaid(workflow_graph(Showcase), direction="LR")
    assert first == graph_to_mermaid(workflow_graph(Showcase), direction="LR")
    assert first.startswith("flowchart LR\n")
    assert first.endswith("\n")


def test_bad_arguments_are_refused(showcase_graph: WorkflowGraph) -> None:
    with pytest.raises(ValueError, match="direction"):
        graph_to_mermaid(showcase_graph, direction="sideways")
    with pytest.raises(ValueError, match="max_label_length"):
        graph_to_mermaid(showcase_graph, max_label_length=0)
    broken = WorkflowGraph("B", [GraphNode("a", "step", "a")], [GraphEdge("a", "ghost")])
    with pytest.raises(ValueError, match="ghost"):
        graph_to_mermaid(broken)


@settings(max_examples=60, deadline=None)
@given(name=any_name(), step_name=any_name())
def test_any_class_name_gives_a_valid_flowchart(name: str, step_name: str) -> None:
    graph = workflow_graph(weird_workflow(name, step_name=step_name or "s"))
    for limit in (None, 5):
        chart = parse_flowchart(graph_to_mermaid(graph, max_label_length=limit))
        labels = sorted(chart.label(node_id) for node_id in chart.nodes)
        expected = sorted(display_label(node.label, limit) or " " for node in graph.nodes)
        assert labels == expected


@settings(max_examples=80, deadline=None)
@given(graph=any_graph())
def test_any_graph_gives_a_valid_flowchart(graph: WorkflowGraph) -> None:
    chart = parse_flowchart(graph_to_mermaid(graph, max_label_length=20))
    assert len(chart.nodes) == len(graph.nodes)
    assert len(chart.edges) == len(graph.edges)


# -- labels shared by every renderer ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("abcdef", None, "abcdef"),
        ("abcdef", 6, "abcdef"),
        ("abcdef", 5, "abcd…"),
        ("abcdef", 1, "…"),
        ("ab   cdef", 4, "ab…"),  # no space left dangling before the marker
    ],
)
def test_shorten(text: str, limit: int | None, expected: str) -> None:
    assert shorten(text, limit) == expected


@settings(max_examples=200)
@given(text=any_name(), limit=st.integers(min_value=1, max_value=30))
def test_shortened_labels_fit_and_keep_their_start(text: str, limit: int) -> None:
    short = shorten(text, limit)
    assert len(short) <= limit
    assert short == text or (short.endswith(MARKER) and text.startswith(short[:-1]))
    assert "\n" not in one_line(text) and one_line(one_line(text)) == one_line(text)


# -- the checker itself rejects what Mermaid would not read --------------------------------------

VALID = """flowchart TD
    %% a comment
    n0["a"]
    subgraph g0["frame"]
        n1(["b #35; c"])
    end
    n0 -->|"x"| n1
    classDef step fill:#fff,stroke:#000
    class n0 step
"""


def test_the_checker_accepts_a_valid_chart() -> None:
    chart = parse_flowchart(VALID)
    assert chart.label("n1") == "b # c"
    assert chart.subgraphs == {"g0": ("frame", ["n1"])}
    assert chart.edges == [("n0", "-->", "x", "n1")]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ('n0["a"]', "expected 'flowchart"),
        ("flowchart sideways", "expected 'flowchart"),
        ('flowchart TD\n    n0["a"', "not a statement"),
        ('flowchart TD\n    n0("a"]', "closed by"),
        ('flowchart TD\n    n0{["a"]}', "unknown shape"),
        ("flowchart TD\n    n0[a]", "not a statement"),
        ('flowchart TD\n    n0["a"b"]', "not a statement"),
        ('flowchart TD\n    n0[""]', "empty label"),
        ('flowchart TD\n    n0["a#b"]', "entity"),
        ('flowchart TD\n    n0["<b>"]', "raw"),
        ('flowchart TD\n    n0["`md`"]', "raw"),
        ('flowchart TD\n    0n["a"]', "not a statement"),
        ('flowchart TD\n    end["a"]', "keyword"),
        ('flowchart TD\n    n0["a"]\n    n0["b"]', "declared twice"),
        ('flowchart TD\n    n0["a"]\n    n0 --> n1', "undeclared"),
        ('flowchart TD\n    n0["a"]\n    n0 -> n0', "unknown arrow"),
        ('flowchart TD\n    n0["a"]\n    n0 --> n0 n0', "not a statement"),
        ('flowchart TD\n    n0["a"]\n    n0 -->|x| n0', "not a statement"),
        ('flowchart TD\n    n0["a"]\n    n0 -->|"a|b"| n0', "raw"),
        ('flowchart TD\n    n0["a"]\n    n0-->n0', "not a statement"),
        ("flowchart TD\n    end", "without an open subgraph"),
        ('flowchart TD\n    subgraph g0["x"]\n    n0["a"]', "never closed"),
        ("flowchart TD\n    subgraph g0[x]\n    end", "bad subgraph"),
        ('flowchart TD\n    n0["a"]\n    subgraph n0\n    end', "already used"),
        ("flowchart TD\n    classDef step fill #fff", "bad classDef"),
        ("flowchart TD\n    classDef step fill:#fff;", "bad style"),
        ('flowchart TD\n    n0["a"]\n    class n0 ghost', "no classDef"),
        ("flowchart TD\n    classDef s fill:#fff\n    class n9 s", "undeclared"),
        ('flowchart TD\n    %%{init: {"theme": "dark"}}%%', "not a statement"),
    ],
)
def test_the_checker_rejects_malformed_input(text: str, message: str) -> None:
    with pytest.raises(MermaidSyntaxError, match=message):
        parse_flowchart(text)
