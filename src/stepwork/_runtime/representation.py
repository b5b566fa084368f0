"""``get_workflow_representation``: a workflow's graph as LlamaIndex Workflows' node models.

Node ids follow the anchor's: a step's name, an event's class name, ``external_step`` for the
person answering an ``InputRequiredEvent``, ``resource_<hash>`` and ``resource_config_<hash>``
for resources and configuration files (the hash is of the factory's or the file's identity,
so one resource used by several steps is one node). Edges run step -> event it returns,
event -> step accepting it, step -> resource (labelled with the parameter), resource -> the
resources and configs its factory takes.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import typing
from typing import Annotated, Any

from stepwork._core.errors import StepworkError
from stepwork._core.events import Event, HumanResponseEvent, InputRequiredEvent
from stepwork._definition.resource_config import ResourceConfig
from stepwork._definition.resources import Resource
from stepwork._drawing.representation import (
    WorkflowEventNode,
    WorkflowExternalNode,
    WorkflowGraph,
    WorkflowGraphEdge,
    WorkflowNodeBase,
    WorkflowResourceConfigNode,
    WorkflowResourceNode,
    WorkflowStepNode,
)

__all__ = ["get_workflow_representation"]

EXTERNAL = "external_step"


def get_workflow_representation(workflow: Any) -> WorkflowGraph:
    """The graph of ``workflow`` (an instance or a ``Workflow`` class).

    Example:
        >>> graph = get_workflow_representation(MyFlow)          # doctest: +SKIP
        >>> [n.id for n in graph.nodes if n.node_type == "step"]  # doctest: +SKIP
    """
    cls = workflow if isinstance(workflow, type) else type(workflow)
    return _Builder().build(cls)


class _Builder:
    def __init__(self) -> None:
        self.nodes: dict[str, WorkflowNodeBase] = {}
        self.edges: list[WorkflowGraphEdge] = []
        self.produced_by: dict[type, list[str]] = {}
        self.resources: dict[int, str] = {}

    def build(self, cls: type) -> WorkflowGraph:
        definition = cls.definition()  # type: ignore[attr-defined]
        for spec in definition.specs.values():
            for event_type in spec.returns:
                self.produced_by.setdefault(event_type, []).append(spec.name)
        asks = False
        for name, config in definition.configs.items():
            spec = definition.specs[name]
            self._add(
                WorkflowStepNode(id=name, label=name, description=inspect.getdoc(config.func))
            )
            for event_type in spec.returns:
                self._event(event_type)
                self._edge(name, event_type.__name__)
                asks = asks or issubclass(event_type, InputRequiredEvent)
            for event_type in spec.input_types:
                self._event(event_type)
                self._edge(event_type.__name__, name)
            hints = _param_types(config.func) if config.parsed.resources else {}
            for param, descriptor in config.parsed.resources.items():
                self._edge(name, self._resource(descriptor, hints.get(param)), param)
        if asks:
            self._add(WorkflowExternalNode(id=EXTERNAL, label=EXTERNAL))
            for node in list(self.nodes.values()):
                if isinstance(node, WorkflowEventNode):
                    if node.is_subclass_of(InputRequiredEvent.__name__):
                        self._edge(node.id, EXTERNAL)
                    elif node.is_subclass_of(HumanResponseEvent.__name__):
                        self._edge(EXTERNAL, node.id)
        return WorkflowGraph(
            name=cls.__name__,
            nodes=list(self.nodes.values()),
            edges=self.edges,
            description=inspect.getdoc(cls),
        )

    def _add(self, node: WorkflowNodeBase) -> None:
        self.nodes.setdefault(node.id, node)

    def _edge(self, source: str, target: str, label: str | None = None) -> None:
        edge = WorkflowGraphEdge(source=source, target=target, label=label)
        if edge not in self.edges:
            self.edges.append(edge)

    def _event(self, event_type: type) -> None:
        try:
            schema: dict[str, Any] | None = event_type.model_json_schema()  # type: ignore[attr-defined]
        except Exception:  # an exotic field type: the graph still works without a schema
            schema = None
        chain = [
            base.__name__
            for base in event_type.__mro__
            if isinstance(base, type) and issubclass(base, Event) and base is not Event
        ]
        self._add(
            WorkflowEventNode(
                id=event_type.__name__,
                label=event_type.__name__,
                event_type=event_type.__name__,
                event_types=chain,
                event_schema=schema,
                produced_by=self.produced_by.get(event_type, []),
            )
        )

    def _resource(self, descriptor: Any, declared: Any = None) -> str:
        known = self.resources.get(id(descriptor))
        if known is not None:
            return known
        if isinstance(descriptor, ResourceConfig):
            node_id = self._config(descriptor)
        else:
            node_id = self._factory(descriptor, declared)
        self.resources[id(descriptor)] = node_id
        return node_id

    def _factory(self, descriptor: Resource[Any], declared: Any) -> str:
        factory = descriptor.factory
        getter = getattr(factory, "__qualname__", type(factory).__name__)
        source_file: str | None
        try:
            source_file = inspect.getsourcefile(factory)
            source_line: int | None = inspect.getsourcelines(factory)[1]
        except (OSError, TypeError):
            source_file, source_line = None, None
        identity = f"{getattr(factory, '__module__', '')}.{getter}:{source_file}:{source_line}"
        node_id = "resource_" + _digest(identity)
        returned = _type_name(declared) if declared is not None else _return_type(factory)
        if node_id not in self.nodes:
            self._add(
                WorkflowResourceNode(
                    id=node_id,
                    label=returned or getter,
                    type_name=returned,
                    getter_name=getter,
                    source_file=source_file,
                    source_line=source_line,
                    description=inspect.getdoc(factory),
                )
            )
            try:
                dependencies = descriptor.get_dependencies()
            except StepworkError:  # an annotation that cannot be resolved: no edges for it
                dependencies = []
            for param, dependency, declared_type in dependencies:
                self._edge(node_id, self._resource(dependency, declared_type), param)
        return node_id

    def _config(self, config: ResourceConfig) -> str:
        path = os.path.abspath(config.config_file)
        node_id = "resource_config_" + _digest(f"{path}:{config.path_selector}")
        model = config.cls_factory
        type_name = model.__name__ if model is not None else None
        try:
            schema = model.model_json_schema() if model is not None else None
        except Exception:  # a model pydantic cannot describe: the node still shows
            schema = None
        self._add(
            WorkflowResourceConfigNode(
                id=node_id,
                label=config.label or type_name or os.path.basename(path),
                type_name=type_name,
                config_file=path,
                path_selector=config.path_selector,
                config_schema=schema,
                config_value=_read_config(path, config.path_selector),
                description=config.description,
            )
        )
        return node_id


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _param_types(func: Any) -> dict[str, Any]:
    """The ``T`` of each ``Annotated[T, ...]`` parameter of ``func`` that can be resolved."""
    try:
        hints = typing.get_type_hints(func, include_extras=True)
    except Exception:  # names local to a function: the factory's return type is used instead
        return {}
    return {
        name: typing.get_args(hint)[0]
        for name, hint in hints.items()
        if typing.get_origin(hint) is Annotated
    }


def _return_type(factory: Any) -> str | None:
    try:
        annotation = inspect.signature(factory).return_annotation
    except (TypeError, ValueError):
        return None
    if annotation is inspect.Signature.empty:
        return factory.__name__ if isinstance(factory, type) else None
    return _type_name(annotation)


def _type_name(annotation: Any) -> str:
    if isinstance(annotation, str):
        return annotation
    return getattr(annotation, "__name__", None) or str(annotation)


def _read_config(path: str, selector: str | None) -> dict[str, Any] | None:
    """The JSON object the config names, as it is in the file (not validated), or ``None``."""
    try:
        with open(path, encoding="utf-8") as handle:
            value: Any = json.load(handle)
    except (OSError, ValueError):
        return None
    for key in selector.split(".") if selector else []:
        value = value.get(key) if isinstance(value, dict) else None
    return value if isinstance(value, dict) else None
