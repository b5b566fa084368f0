"""The graph model and all three drawings work for every workflow in examples/."""

from __future__ import annotations

import importlib.util
import inspect
from pathlib import Path
from types import ModuleType

import pytest
from mermaid_syntax import parse_flowchart

from stepwork import Workflow
from stepwork.drawing import graph_to_dot, graph_to_html, graph_to_mermaid, workflow_graph

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"example_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


WORKFLOWS = [
    (path.stem, cls)
    for path in sorted(EXAMPLES.glob("*.py"))
    for _, cls in inspect.getmembers(load(path), inspect.isclass)
    if issubclass(cls, Workflow) and cls is not Workflow and cls.__module__.startswith("example_")
]


def test_every_example_has_workflows() -> None:
    assert {stem for stem, _ in WORKFLOWS} >= {"quickstart", "fan_out_fan_in", "durable_order"}


@pytest.mark.parametrize(
    "cls", [cls for _, cls in WORKFLOWS], ids=[f"{s}:{c.__name__}" for s, c in WORKFLOWS]
)
def test_graph_and_drawings_of_examples(cls: type[Workflow], render_dot: object) -> None:
    graph = workflow_graph(cls)
    # Steps of a child workflow a step runs are nested under it ("write/translate").
    steps = {node.label for node in graph.nodes if node.kind == "step" and "/" not in node.id}
    assert steps == set(cls.definition().specs)
    ids = {node.id for node in graph.nodes}
    assert all(edge.source in ids and edge.target in ids for edge in graph.edges)
    chart = parse_flowchart(graph_to_mermaid(graph))
    assert {chart.label(node_id) for node_id in chart.nodes} >= steps
    svg = render_dot(graph_to_dot(graph), "svg")  # type: ignore[operator]
    assert all(name in svg for name in steps)
    page = graph_to_html(graph)
    assert page.lower().startswith("<!doctype html>")
    assert all(name in page for name in steps)
