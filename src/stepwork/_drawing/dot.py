"""Draw a workflow graph as Graphviz DOT text.

Invariants: node ids in the output are ``n0, n1, ...`` in graph order and child-workflow frames
``cluster_0, cluster_1, ...``; every attribute value is a quoted string made by
``dot_string``, so any name or docstring is safe; the same graph always gives the same text.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping

from stepwork._drawing.labels import (
    PALETTE,
    NodeGroup,
    display_label,
    dot_string,
    dot_tooltip,
    group_nodes,
    node_role,
)
from stepwork._drawing.model import GraphEdge, GraphNode, WorkflowGraph

__all__ = ["DOT_SHAPES", "graph_to_dot"]

DOT_SHAPES: dict[str, str] = {
    "step": "box",
    "event": "ellipse",
    "start": "ellipse",
    "stop": "ellipse",
    "input_required": "ellipse",
    "human_response": "ellipse",
    "external": "circle",
    "resource": "cylinder",
    "workflow": "component",
}
"""The Graphviz shape each node role gets (start and stop events also get a double border)."""

_DOUBLE_BORDER = frozenset({"start", "stop"})
# Edges that are not event flow (a resource used, a child workflow run) are drawn dashed.
_DASHED_LABELS = frozenset({"runs", "starts", "returns"})
_FONT = dot_string("Helvetica")
_INDENT = "    "


def graph_to_dot(graph: WorkflowGraph, *, max_label_length: int | None = None) -> str:
    """The graph as a Graphviz ``digraph``, ready for ``dot -Tsvg``.

    Steps are boxes, events ellipses (start green and stop red, both with a double border;
    human input amber), the person answering a circle, resources cylinders and child
    workflows component boxes inside a ``cluster_`` frame. Docstrings become tooltips. Edges
    to resources and child workflows are dashed and labelled.

    Args:
        graph: The graph, e.g. from ``workflow_graph``.
        max_label_length: Cut longer labels, ending them with ``…``; ``None`` keeps them whole.

    Returns:
        The text, ending with a newline.

    Raises:
        ValueError: If ``max_label_length`` is less than 1, or an edge names a node that is
            not in the graph.

    Example:
        >>> from stepwork._drawing.model import GraphEdge, GraphNode, WorkflowGraph
        >>> graph = WorkflowGraph(
        ...     "W",
        ...     nodes=[GraphNode("s", "step", "greet"), GraphNode("r", "resource", "db")],
        ...     edges=[GraphEdge("s", "r", "client")],
        ... )
        >>> print(graph_to_dot(graph))  # doctest: +ELLIPSIS
        digraph "W" {
            graph [label="W", labelloc="t", rankdir="TB", fontname="Helvetica"];
            ...
            n0 [label="greet", shape="box", fillcolor="#e8eefc", color="#3557a8"];
            n1 [label="db", shape="cylinder", fillcolor="#e6f4f1", color="#2c7a7b"];
            n0 -> n1 [label="client", style="dashed"];
        }
    """
    display_label("", max_label_length)  # validates the limit even when no label needs cutting
    ids = {node.id: f"n{index}" for index, node in enumerate(graph.nodes)}
    name = dot_string(graph.name)
    lines = [
        f"digraph {name} {{",
        f"{_INDENT}graph [label={dot_string(display_label(graph.name, max_label_length))}, "
        f'labelloc="t", rankdir="TB", fontname={_FONT}];',
        f'{_INDENT}node [style="filled", fontname={_FONT}, fontsize="11"];',
        f'{_INDENT}edge [color="#555555", fontname={_FONT}, fontsize="9"];',
    ]
    clusters = itertools.count()
    _group_lines(group_nodes(graph), ids, clusters, max_label_length, lines, depth=1)
    kinds = {node.id: node.kind for node in graph.nodes}
    lines.extend(_INDENT + _edge_line(edge, kinds, ids, max_label_length) for edge in graph.edges)
    lines.append("}")
    return "\n".join(lines) + "\n"


def _group_lines(
    group: NodeGroup,
    ids: dict[str, str],
    clusters: Iterator[int],
    max_label_length: int | None,
    lines: list[str],
    depth: int,
) -> None:
    indent = _INDENT * depth
    for node in group.nodes:
        lines.append(indent + _node_line(node, ids[node.id], max_label_length))
    for child in group.groups:
        label = dot_string(display_label(child.label, max_label_length))
        color = dot_string(PALETTE["workflow"][1])
        lines.append(f'{indent}subgraph "cluster_{next(clusters)}" {{')
        lines.append(
            f'{indent}{_INDENT}graph [label={label}, style="rounded,dashed", color={color}];'
        )
        _group_lines(child, ids, clusters, max_label_length, lines, depth + 1)
        lines.append(f"{indent}}}")


def _node_line(node: GraphNode, node_id: str, max_label_length: int | None) -> str:
    role = node_role(node)
    fill, stroke = PALETTE[role]
    attributes = [
        f"label={dot_string(display_label(node.label, max_label_length))}",
        f"shape={dot_string(DOT_SHAPES[role])}",
        f"fillcolor={dot_string(fill)}",
        f"color={dot_string(stroke)}",
    ]
    if role in _DOUBLE_BORDER:
        attributes.append('peripheries="2"')
    if node.description:
        attributes.append(f"tooltip={dot_tooltip(node.description)}")
    return f"{node_id} [{', '.join(attributes)}];"


def _edge_line(
    edge: GraphEdge, kinds: Mapping[str, str], ids: dict[str, str], max_label_length: int | None
) -> str:
    for end in (edge.source, edge.target):
        if end not in ids:
            raise ValueError(f"Edge {edge.source!r} -> {edge.target!r}: no node {end!r}.")
    attributes = []
    if edge.label:
        attributes.append(f"label={dot_string(display_label(edge.label, max_label_length))}")
    if edge.label in _DASHED_LABELS or "resource" in (kinds[edge.source], kinds[edge.target]):
        attributes.append('style="dashed"')
    suffix = f" [{', '.join(attributes)}]" if attributes else ""
    return f"{ids[edge.source]} -> {ids[edge.target]}{suffix};"
