"""Draw a workflow graph as Mermaid ``flowchart`` text.

Invariants: node ids in the output are ``n0, n1, ...`` in graph order and child-workflow frames
``g0, g1, ...``, so any graph id is safe; every label is quoted and escaped by ``mermaid_text``;
the same graph always gives the same text.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping

from stepwork._drawing.labels import (
    PALETTE,
    ROLES,
    NodeGroup,
    display_label,
    group_nodes,
    mermaid_text,
    node_role,
)
from stepwork._drawing.model import GraphEdge, GraphNode, WorkflowGraph

__all__ = ["DIRECTIONS", "MERMAID_CLASSES", "graph_to_mermaid"]

DIRECTIONS = ("TD", "TB", "BT", "LR", "RL")
"""Directions a Mermaid flowchart accepts."""

MERMAID_CLASSES: dict[str, str] = {
    "step": "step",
    "event": "event",
    "start": "startEvent",
    "stop": "stopEvent",
    "input_required": "inputRequired",
    "human_response": "humanResponse",
    "external": "person",
    "resource": "resource",
    "workflow": "childWorkflow",
}
"""The ``classDef`` name each node role gets (none is a Mermaid keyword)."""

# Opening and closing brackets per role: boxes for steps, stadiums for events, a circle for
# the person, a cylinder for resources, a subroutine box for a child workflow.
_SHAPES: dict[str, tuple[str, str]] = {
    "step": ("[", "]"),
    "event": ("([", "])"),
    "start": ("([", "])"),
    "stop": ("([", "])"),
    "input_required": ("([", "])"),
    "human_response": ("([", "])"),
    "external": ("((", "))"),
    "resource": ("[(", ")]"),
    "workflow": ("[[", "]]"),
}
_BOLD = frozenset({"start", "stop"})
# Edges that are not event flow (a resource used, a child workflow run) are drawn dotted.
_DOTTED_LABELS = frozenset({"runs", "starts", "returns"})
_INDENT = "    "


def graph_to_mermaid(
    graph: WorkflowGraph, *, max_label_length: int | None = None, direction: str = "TD"
) -> str:
    """The graph as a Mermaid ``flowchart``, ready to paste into Markdown.

    Steps are boxes, events stadiums (start green, stop red, human input amber), the person
    answering a circle, resources cylinders and child workflows subroutine boxes inside a
    ``subgraph`` frame. Edges to resources and child workflows are dotted and labelled.

    Args:
        graph: The graph, e.g. from ``workflow_graph``.
        max_label_length: Cut longer labels, ending them with ``…``; ``None`` keeps them whole.
        direction: ``TD`` (top down, the default), ``TB``, ``BT``, ``LR`` or ``RL``.

    Returns:
        The text, ending with a newline.

    Raises:
        ValueError: If ``direction`` is not one Mermaid accepts, ``max_label_length`` is less
            than 1, or an edge names a node that is not in the graph.

    Example:
        >>> from stepwork._drawing.model import GraphEdge, GraphNode, WorkflowGraph
        >>> graph = WorkflowGraph(
        ...     "W",
        ...     nodes=[
        ...         GraphNode("StartEvent", "event", "StartEvent", details={"role": "start"}),
        ...         GraphNode("greet", "step", "greet"),
        ...     ],
        ...     edges=[GraphEdge("StartEvent", "greet")],
        ... )
        >>> print(graph_to_mermaid(graph))  # doctest: +ELLIPSIS
        flowchart TD
            n0(["StartEvent"])
            n1["greet"]
            n0 --> n1
            classDef step fill:#e8eefc,stroke:#3557a8,color:#111111
            ...
            class n1 step
            class n0 startEvent
    """
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {', '.join(DIRECTIONS)}, got {direction!r}.")
    display_label("", max_label_length)  # validates the limit even when no label needs cutting
    ids = {node.id: f"n{index}" for index, node in enumerate(graph.nodes)}
    lines = [f"flowchart {direction}"]
    counter = itertools.count()
    _group_lines(group_nodes(graph), ids, counter, max_label_length, lines, depth=1)
    kinds = {node.id: node.kind for node in graph.nodes}
    lines.extend(_INDENT + _edge_line(edge, kinds, ids, max_label_length) for edge in graph.edges)
    lines.extend(_class_lines(graph, ids))
    return "\n".join(lines) + "\n"


def _group_lines(
    group: NodeGroup,
    ids: dict[str, str],
    counter: Iterator[int],
    max_label_length: int | None,
    lines: list[str],
    depth: int,
) -> None:
    indent = _INDENT * depth
    for node in group.nodes:
        lines.append(indent + _node_line(node, ids[node.id], max_label_length))
    for child in group.groups:
        label = mermaid_text(display_label(child.label, max_label_length))
        lines.append(f'{indent}subgraph g{next(counter)}["{label}"]')
        _group_lines(child, ids, counter, max_label_length, lines, depth + 1)
        lines.append(f"{indent}end")


def _node_line(node: GraphNode, node_id: str, max_label_length: int | None) -> str:
    opening, closing = _SHAPES[node_role(node)]
    label = mermaid_text(display_label(node.label, max_label_length))
    return f'{node_id}{opening}"{label}"{closing}'


def _edge_line(
    edge: GraphEdge, kinds: Mapping[str, str], ids: dict[str, str], max_label_length: int | None
) -> str:
    for end in (edge.source, edge.target):
        if end not in ids:
            raise ValueError(f"Edge {edge.source!r} -> {edge.target!r}: no node {end!r}.")
    dotted = edge.label in _DOTTED_LABELS or any(
        kinds[end] == "resource" for end in (edge.source, edge.target)
    )
    arrow = "-.->" if dotted else "-->"
    if edge.label:
        arrow += f'|"{mermaid_text(display_label(edge.label, max_label_length))}"|'
    return f"{ids[edge.source]} {arrow} {ids[edge.target]}"


def _class_lines(graph: WorkflowGraph, ids: dict[str, str]) -> list[str]:
    lines = []
    for role in ROLES:
        fill, stroke = PALETTE[role]
        style = f"fill:{fill},stroke:{stroke},color:#111111"
        if role in _BOLD:
            style += ",stroke-width:2px"
        lines.append(f"{_INDENT}classDef {MERMAID_CLASSES[role]} {style}")
    for role in ROLES:
        members = [ids[node.id] for node in graph.nodes if node_role(node) == role]
        if members:
            lines.append(f"{_INDENT}class {','.join(members)} {MERMAID_CLASSES[role]}")
    return lines
