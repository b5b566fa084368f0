"""The graph of a workflow as plain data: what validation, drawings, the CLI and the server share.

Invariants: node ids are unique within a graph and stable for a given workflow class (step
nodes use the step name, event nodes the event class name, resource nodes the factory name);
every edge joins two existing nodes. Child workflows are merged under an id prefix
``<step>/`` so their ids never collide with the parent's.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from stepwork._core.events import HumanResponseEvent, InputRequiredEvent, StartEvent, StopEvent

__all__ = ["GraphEdge", "GraphNode", "NodeKind", "WorkflowGraph", "event_role"]

NodeKind = Literal["step", "event", "external", "resource", "workflow"]


@dataclass(frozen=True)
class GraphNode:
    """One node of a workflow graph.

    Attributes:
        id: Unique id within the graph.
        kind: ``step``, ``event``, ``external`` (a person answering), ``resource`` or
            ``workflow`` (a child workflow's entry).
        label: What a drawing shows.
        description: The step's or event's docstring, if any.
        details: Kind-specific facts: for steps ``num_workers``, ``retry``, ``timeout``,
            ``catch_error``; for events ``role`` (``start``, ``stop``, ``input_required``,
            ``human_response`` or ``event``), ``schema`` (JSON schema of its fields) and
            ``produced_by``; for resources ``factory`` and ``cache``.
    """

    id: str
    kind: NodeKind
    label: str
    description: str = ""
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class GraphEdge:
    """A directed edge: step -> event it returns, event -> step accepting it, and so on."""

    source: str
    target: str
    label: str = ""


@dataclass(frozen=True)
class WorkflowGraph:
    """A workflow's steps, events, external input, resources and child workflows.

    Example:
        >>> graph = WorkflowGraph("W", nodes=[GraphNode("s", "step", "s")], edges=[])
        >>> graph.node("s").kind
        'step'
    """

    name: str
    nodes: list[GraphNode]
    edges: list[GraphEdge]
    description: str = ""

    def node(self, node_id: str) -> GraphNode:
        """The node with id ``node_id``.

        Raises:
            KeyError: If there is no such node.
        """
        for node in self.nodes:
            if node.id == node_id:
                return node
        raise KeyError(node_id)

    def to_dict(self) -> dict[str, Any]:
        """The graph as JSON-ready data."""
        return asdict(self)


def event_role(event_type: type) -> str:
    """The role an event type plays in drawings: ``start``, ``stop``, ``input_required``,
    ``human_response`` or ``event``.

    Example:
        >>> event_role(StartEvent)
        'start'
    """
    if issubclass(event_type, StartEvent):
        return "start"
    if issubclass(event_type, StopEvent):
        return "stop"
    if issubclass(event_type, InputRequiredEvent):
        return "input_required"
    if issubclass(event_type, HumanResponseEvent):
        return "human_response"
    return "event"
