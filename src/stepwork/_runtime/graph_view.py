"""Build the graph model of a workflow class from its definition.

Child workflows are found by reading each step's source: a call to a name that resolves (in
the step's globals or closure) to a ``Workflow`` subclass is taken as a child run. Steps whose
source cannot be read (built in a REPL, generated) simply have no children drawn.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from typing import Any

from stepwork._drawing.model import GraphEdge, GraphNode, WorkflowGraph, event_role
from stepwork._runtime.workflow import Workflow

__all__ = ["workflow_graph"]

EXTERNAL = "external"


def workflow_graph(workflow: Any, *, include_children: bool = True) -> WorkflowGraph:
    """The graph of ``workflow`` (an instance or a class): steps, events, people, resources.

    Args:
        workflow: A ``Workflow`` subclass or instance.
        include_children: Also draw workflows that steps run, merged under ``<step>/`` ids.

    Raises:
        TypeError: If ``workflow`` is not a ``Workflow`` class or instance.

    Example:
        >>> from stepwork import StartEvent, StopEvent, Workflow, step
        >>> class W(Workflow):
        ...     @step
        ...     async def s(self, ev: StartEvent) -> StopEvent:
        ...         return StopEvent()
        >>> [(e.source, e.target) for e in workflow_graph(W).edges]
        [('StartEvent', 's'), ('s', 'StopEvent')]
    """
    return _Builder(include_children).build(_workflow_class(workflow), prefix="", seen=set())


def _workflow_class(workflow: Any) -> type:
    cls = workflow if isinstance(workflow, type) else type(workflow)
    if not issubclass(cls, Workflow):
        raise TypeError(f"Expected a Workflow subclass or instance, got {workflow!r}.")
    return cls


class _Builder:
    def __init__(self, include_children: bool) -> None:
        self.include_children = include_children
        self.nodes: dict[str, GraphNode] = {}
        self.edges: list[GraphEdge] = []

    def build(self, cls: type, prefix: str, seen: set[type]) -> WorkflowGraph:
        definition = cls.definition()  # type: ignore[attr-defined]
        seen = seen | {cls}
        produced_by: dict[type, list[str]] = {}
        for spec in definition.specs.values():
            for event_type in spec.returns:
                produced_by.setdefault(event_type, []).append(spec.name)
        for name, config in definition.configs.items():
            spec = definition.specs[name]
            step_id = prefix + name
            self._node(
                GraphNode(
                    step_id,
                    "step",
                    name,
                    inspect.getdoc(config.func) or "",
                    {
                        "num_workers": spec.num_workers,
                        "retry": repr(config.retry_policy) if config.retry_policy else None,
                        "timeout": spec.timeout,
                        "catch_error": spec.catch_error,
                    },
                )
            )
            gathers = "list" if spec.collect is not None else ""
            for event_type in spec.input_types:
                self._event(event_type, prefix, produced_by)
                self.edges.append(GraphEdge(prefix + event_type.__name__, step_id, gathers))
            for event_type in spec.returns:
                self._event(event_type, prefix, produced_by)
                fans_out = "list" if event_type in spec.fan_out else ""
                self.edges.append(GraphEdge(step_id, prefix + event_type.__name__, fans_out))
            for param, descriptor in config.parsed.resources.items():
                self._resource(step_id, param, descriptor, prefix)
            if self.include_children:
                for child in _children(config.func):
                    if child not in seen:
                        self._child(step_id, child, seen)
        self._people(prefix)
        return WorkflowGraph(
            cls.__name__, list(self.nodes.values()), _unique(self.edges), inspect.getdoc(cls) or ""
        )

    def _node(self, node: GraphNode) -> None:
        self.nodes.setdefault(node.id, node)

    def _event(self, event_type: type, prefix: str, produced_by: dict[type, list[str]]) -> None:
        node_id = prefix + event_type.__name__
        if node_id in self.nodes:
            return
        try:
            schema = event_type.model_json_schema()  # type: ignore[attr-defined]
        except Exception:  # an exotic field type; the drawing still works without a schema
            schema = {}
        self._node(
            GraphNode(
                node_id,
                "event",
                event_type.__name__,
                inspect.cleandoc(event_type.__dict__.get("__doc__") or ""),
                {
                    "role": event_role(event_type),
                    "schema": schema,
                    "produced_by": [prefix + s for s in produced_by.get(event_type, [])],
                    "qualified_name": f"{event_type.__module__}.{event_type.__qualname__}",
                },
            )
        )

    def _people(self, prefix: str) -> None:
        asks = [n for n in self.nodes.values() if n.details.get("role") == "input_required"]
        answers = [n for n in self.nodes.values() if n.details.get("role") == "human_response"]
        if not asks and not answers:
            return
        external = prefix + EXTERNAL
        self._node(GraphNode(external, "external", "person", "Someone answering the workflow."))
        for node in asks:
            if node.id.startswith(prefix):
                self.edges.append(GraphEdge(node.id, external))
        for node in answers:
            if node.id.startswith(prefix):
                self.edges.append(GraphEdge(external, node.id))

    def _resource(self, step_id: str, param: str, descriptor: Any, prefix: str) -> None:
        name = getattr(descriptor, "name", type(descriptor).__name__)
        node_id = f"{prefix}resource:{name}"
        self._node(
            GraphNode(
                node_id,
                "resource",
                name,
                "",
                {"cache": getattr(descriptor, "cache", True), "type": type(descriptor).__name__},
            )
        )
        self.edges.append(GraphEdge(step_id, node_id, param))

    def _child(self, step_id: str, child: type, seen: set[type]) -> None:
        prefix = f"{step_id}/"
        node_id = f"{step_id}/{child.__name__}"
        self._node(GraphNode(node_id, "workflow", child.__name__, inspect.getdoc(child) or ""))
        self.edges.append(GraphEdge(step_id, node_id, "runs"))
        graph = _Builder(self.include_children).build(child, prefix, seen)
        for node in graph.nodes:
            self._node(node)
        self.edges.extend(graph.edges)
        for node in graph.nodes:
            if node.id != prefix + node.label:
                continue  # a grandchild's node: its own workflow node links it
            role = node.details.get("role")
            if role == "start":
                self.edges.append(GraphEdge(node_id, node.id, "starts"))
            elif role == "stop":
                self.edges.append(GraphEdge(node.id, step_id, "returns"))


def _children(func: Any) -> list[type]:
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(func)))
    except (OSError, TypeError, SyntaxError):
        return []
    scope = dict(getattr(func, "__globals__", {}))
    closure = inspect.getclosurevars(func) if callable(func) else None
    if closure is not None:
        scope.update(closure.nonlocals)
    found: list[type] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            candidate = scope.get(node.func.id)
            if (
                isinstance(candidate, type)
                and issubclass(candidate, Workflow)
                and candidate not in found
            ):
                found.append(candidate)
    return found


def _unique(edges: list[GraphEdge]) -> list[GraphEdge]:
    return list(dict.fromkeys(edges))
