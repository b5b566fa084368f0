"""A workflow's steps as a directed graph of event types and step names, with reachability.

Invariants: pure; edges follow the same routing rule as the reducer (``routing.accepts``);
steps returning nothing add no edges. Forward reachability starts from the start event type
and every ``HumanResponseEvent`` type in the graph; reverse reachability from every
``StopEvent`` and ``InputRequiredEvent`` type.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from stepwork._core.events import HumanResponseEvent, InputRequiredEvent, StopEvent
from stepwork._core.routing import accepts
from stepwork._core.specs import StepSpec

__all__ = ["StepGraph", "build_step_graph"]

Node = type | str


@dataclass
class StepGraph:
    """Event types and steps as nodes: an event type points at the steps that accept it,
    a step at the event types it returns.

    Attributes:
        step_names: Every step's name.
        event_types: Every event type a step accepts or returns.
        outgoing: Node -> the nodes it points at (steps in definition order, events in the
            order a step's return annotation names them).
        forward_reachable: Nodes reachable from the start event or a human response.
        reverse_reachable: Nodes from which a ``StopEvent`` or ``InputRequiredEvent`` is reachable.
    """

    step_names: set[str] = field(default_factory=set)
    event_types: set[type] = field(default_factory=set)
    outgoing: dict[Node, list[Node]] = field(default_factory=dict)
    forward_reachable: set[Node] = field(default_factory=set)
    reverse_reachable: set[Node] = field(default_factory=set)


def build_step_graph(steps: dict[str, StepSpec], start_event_class: type) -> StepGraph:
    """Build the graph of ``steps`` and both reachability sets."""
    graph = StepGraph(step_names=set(steps))
    events: dict[type, None] = {}
    for spec in steps.values():
        events.update(dict.fromkeys(spec.input_types))
        events.update(dict.fromkeys(t for t in spec.returns if t is not type(None)))
    graph.event_types = set(events)
    for event_type in events:
        takers = [s.name for s in steps.values() if accepts(s, event_type, s.input_types)]
        if takers:
            graph.outgoing[event_type] = list[Node](takers)
    for spec in steps.values():
        returned = list[Node](dict.fromkeys(t for t in spec.returns if t is not type(None)))
        if returned:
            graph.outgoing[spec.name] = returned
    seeds: set[Node] = {start_event_class}
    seeds.update(t for t in events if issubclass(t, HumanResponseEvent))
    graph.forward_reachable = _closure(seeds, graph.outgoing)
    incoming: dict[Node, list[Node]] = {}
    for source, targets in graph.outgoing.items():
        for target in targets:
            incoming.setdefault(target, []).append(source)
    ends: set[Node] = {t for t in events if issubclass(t, (StopEvent, InputRequiredEvent))}
    graph.reverse_reachable = _closure(ends, incoming)
    return graph


def _closure(seeds: set[Node], edges: dict[Node, list[Node]]) -> set[Node]:
    seen = set(seeds)
    frontier = list(seeds)
    while frontier:
        for nxt in edges.get(frontier.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                frontier.append(nxt)
    return seen
