"""Routing: which steps an event of a given type goes to, and which steps gather a fan-out.

Invariants: an event goes to every step that accepts its exact type, and to steps that opted
into subclasses (``accept_event_subclasses``) when it is an instance of a type they accept.
Answers are cached per event type, so routing an event costs one dict lookup after the first.
"""

from __future__ import annotations

from stepwork._core.specs import StepSpec, WorkflowSpec

__all__ = ["Router"]


class Router:
    """Answers routing questions for one workflow spec.

    Args:
        spec: The workflow whose steps events are routed to.
    """

    __slots__ = ("_cache", "_collectors", "_spec")

    def __init__(self, spec: WorkflowSpec) -> None:
        self._spec = spec
        self._cache: dict[type, tuple[str, ...]] = {}
        self._collectors: dict[str, tuple[str, ...]] = {}

    def targets(self, event_type: type) -> tuple[str, ...]:
        """Names of the steps an event of ``event_type`` is delivered to, in step order."""
        found = self._cache.get(event_type)
        if found is None:
            found = tuple(
                name
                for name, step in self._spec.steps.items()
                if accepts(step, event_type, step.input_types)
            )
            self._cache[event_type] = found
        return found

    def collectors(self, producer: str) -> tuple[str, ...]:
        """Fan-in steps bound to the streams that ``producer`` opens by returning a list.

        A collector is bound when one of its gathered types can be reached from the producer's
        ``list[E]`` element types through steps that pass one event on for one event.
        """
        found = self._collectors.get(producer)
        if found is None:
            self._collectors[producer] = ()  # a fan-out reachable from itself binds nothing more
            found = self._bind(self._spec.steps[producer])
            self._collectors[producer] = found
        return found

    def _bind(self, producer: StepSpec) -> tuple[str, ...]:
        reached: set[type] = set(producer.fan_out)
        frontier = list(producer.fan_out)
        while frontier:
            event_type = frontier.pop()
            for name in self.targets(event_type):
                step = self._spec.steps[name]
                if step.collect is not None:
                    continue
                outputs = [out for out in step.returns if out not in step.fan_out]
                if step.fan_out:
                    # A nested fan-out's collectors answer at this level, for this member.
                    for inner in self.collectors(name):
                        inner_step = self._spec.steps[inner]
                        outputs.extend(o for o in inner_step.returns if o not in inner_step.fan_out)
                for out in outputs:
                    if out not in reached:
                        reached.add(out)
                        frontier.append(out)
        return tuple(
            name
            for name, step in self._spec.steps.items()
            if step.collect is not None
            and any(accepts(step, t, step.collect.types) for t in reached)
        )


def accepts(step: StepSpec, event_type: type, types: tuple[type, ...]) -> bool:
    """True when ``step`` takes events of ``event_type`` given its accepted ``types``."""
    if event_type in types:
        return True
    return step.accept_subclasses and issubclass(event_type, types)
