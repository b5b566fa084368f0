"""A workflow's graph as LlamaIndex Workflows' pydantic models (``workflows.representation``).

These are plain data: nodes tagged by ``node_type`` (so a dumped graph validates back into the
right classes) and labelled edges. ``filter_by_node_type`` removes nodes of some kinds and
reconnects what they joined, so a steps-only view keeps the flow.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Discriminator, Field, Tag

__all__ = [
    "WorkflowEventNode",
    "WorkflowExternalNode",
    "WorkflowGenericNode",
    "WorkflowGraph",
    "WorkflowGraphEdge",
    "WorkflowGraphNode",
    "WorkflowNodeBase",
    "WorkflowResourceConfigNode",
    "WorkflowResourceNode",
    "WorkflowStepNode",
]

_KNOWN_TYPES = ("step", "event", "external", "resource", "resource_config")


class WorkflowNodeBase(BaseModel):
    """What every node has: a unique id and a label to show."""

    id: str
    label: str

    def truncated_label(self, max_length: int) -> str:
        """The label cut to ``max_length`` characters, the last one replaced by ``*``."""
        if len(self.label) <= max_length:
            return self.label
        return self.label[: max_length - 1] + "*"


class WorkflowStepNode(WorkflowNodeBase):
    """A step (a function decorated with ``@step``); ``description`` is its docstring."""

    node_type: Literal["step"] = "step"
    description: str | None = None


class WorkflowEventNode(WorkflowNodeBase):
    """An event class; ``event_types`` lists it and its event base classes, most derived first."""

    node_type: Literal["event"] = "event"
    event_type: str
    event_types: list[str]
    event_schema: dict[str, Any] | None = None
    produced_by: list[str] = Field(default_factory=list)

    def is_subclass_of(self, name: str) -> bool:
        """True if this event class is ``name`` or derives from a class called ``name``."""
        return name in self.event_types


class WorkflowExternalNode(WorkflowNodeBase):
    """Whoever answers an ``InputRequiredEvent`` with a ``HumanResponseEvent``."""

    node_type: Literal["external"] = "external"


class WorkflowResourceNode(WorkflowNodeBase):
    """A resource injected with ``Annotated[T, Resource(factory)]``."""

    node_type: Literal["resource"] = "resource"
    type_name: str | None = None
    getter_name: str | None = None
    source_file: str | None = None
    source_line: int | None = None
    description: str | None = None


class WorkflowResourceConfigNode(WorkflowNodeBase):
    """A configuration model read from a JSON file with ``ResourceConfig``."""

    node_type: Literal["resource_config"] = "resource_config"
    type_name: str | None = None
    config_file: str | None = None
    path_selector: str | None = None
    config_schema: dict[str, Any] | None = None
    config_value: dict[str, Any] | None = None
    description: str | None = None


class WorkflowGenericNode(WorkflowNodeBase):
    """A node of any other kind (``node_type`` is free-form)."""

    node_type: str
    event_type: str | None = None
    event_types: list[str] | None = None


def _node_tag(value: Any) -> str:
    kind = value.get("node_type") if isinstance(value, dict) else getattr(value, "node_type", None)
    return kind if kind in _KNOWN_TYPES else "generic"


WorkflowGraphNode = Annotated[
    Annotated[WorkflowStepNode, Tag("step")]
    | Annotated[WorkflowEventNode, Tag("event")]
    | Annotated[WorkflowExternalNode, Tag("external")]
    | Annotated[WorkflowResourceNode, Tag("resource")]
    | Annotated[WorkflowResourceConfigNode, Tag("resource_config")]
    | Annotated[WorkflowGenericNode, Tag("generic")],
    Discriminator(_node_tag),
]
"""Any node of a :class:`WorkflowGraph` (validated by its ``node_type``)."""


class WorkflowGraphEdge(BaseModel):
    """A directed edge; ``label`` names a resource parameter, or a node filtered out."""

    source: str
    target: str
    label: str | None = None


class WorkflowGraph(BaseModel):
    """A workflow's steps, events, people and resources, and how they connect."""

    name: str
    nodes: list[WorkflowGraphNode]
    edges: list[WorkflowGraphEdge]
    description: str | None = None

    def filter_by_node_type(self, *node_types: str) -> WorkflowGraph:
        """A copy without nodes of ``node_types``, edges reconnected through them.

        An edge that passed through removed nodes takes the label of the first one removed;
        edges that lead only into removed nodes are dropped, duplicates are merged.
        """
        removed = {node.id: node for node in self.nodes if node.node_type in node_types}
        outgoing: dict[str, list[WorkflowGraphEdge]] = {}
        for edge in self.edges:
            outgoing.setdefault(edge.source, []).append(edge)
        edges: dict[tuple[str, str], WorkflowGraphEdge] = {}
        for node in self.nodes:
            if node.id in removed:
                continue
            for edge in outgoing.get(node.id, []):
                if edge.target not in removed:
                    edges.setdefault((node.id, edge.target), edge)
                    continue
                label = removed[edge.target].label
                for target in _kept_beyond(edge.target, removed, outgoing):
                    edges.setdefault(
                        (node.id, target),
                        WorkflowGraphEdge(source=node.id, target=target, label=label),
                    )
        kept = [node for node in self.nodes if node.id not in removed]
        return WorkflowGraph(
            name=self.name, nodes=kept, edges=list(edges.values()), description=self.description
        )


def _kept_beyond(
    start: str, removed: dict[str, Any], outgoing: dict[str, list[WorkflowGraphEdge]]
) -> list[str]:
    """The kept nodes reachable from removed node ``start`` through removed nodes only."""
    found: list[str] = []
    seen = {start}
    todo = [start]
    while todo:
        for edge in outgoing.get(todo.pop(0), []):
            if edge.target in removed:
                if edge.target not in seen:
                    seen.add(edge.target)
                    todo.append(edge.target)
            elif edge.target not in found:
                found.append(edge.target)
    return found
