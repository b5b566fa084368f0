"""What the core knows about a workflow: its steps as plain data.

The definition layer reads each ``@step`` signature once and hands the core a :class:`StepSpec`
per step. Invariants: a spec never holds the step's function or anything callable, so the core
can route and validate without running user code; every type in a spec is an event class.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["CollectSpec", "StepSpec", "WorkflowSpec"]


@dataclass(frozen=True, slots=True)
class CollectSpec:
    """A fan-in parameter (``list[E]``): which member types it gathers and when it fires.

    Attributes:
        param: The parameter name the collected list is passed as.
        types: Event types gathered into the list.
        take: Fire on the n-th arrival (``Collect(Take(n))``); ``None`` waits for the stream
            to close.
    """

    param: str
    types: tuple[type, ...]
    take: int | None = None


@dataclass(frozen=True, slots=True)
class StepSpec:
    """A step as the core sees it.

    Attributes:
        name: Unique step name within the workflow.
        accepted: Event types the step is invoked with (one parameter, a union allowed).
        slots: For a join of several event parameters, ``(param, type)`` per slot, else empty.
        collect: For a fan-in step, its :class:`CollectSpec`, else ``None``.
        returns: Event types the step may return (list element types included).
        fan_out: Element types of a ``-> list[E]`` return annotation.
        num_workers: Most concurrent invocations of the step within one run.
        accept_subclasses: Route subclasses of ``accepted`` here too.
        timeout: Per-invocation time limit in seconds, or ``None``.
        catch_error: True for a ``@catch_error`` handler.
        catch_for: Steps a handler covers; ``None`` covers every other step.
        max_recoveries: How often a handler may recover one lineage.
    """

    name: str
    accepted: tuple[type, ...] = ()
    slots: tuple[tuple[str, type], ...] = ()
    collect: CollectSpec | None = None
    returns: tuple[type, ...] = ()
    fan_out: tuple[type, ...] = ()
    num_workers: int = 4
    accept_subclasses: bool = False
    timeout: float | None = None
    catch_error: bool = False
    catch_for: tuple[str, ...] | None = None
    max_recoveries: int = 1

    @property
    def input_types(self) -> tuple[type, ...]:
        """Every event type that can reach the step, whatever its parameter shape."""
        if self.slots:
            return tuple(t for _, t in self.slots)
        if self.collect is not None:
            return self.collect.types
        return self.accepted


@dataclass(frozen=True, slots=True)
class WorkflowSpec:
    """All steps of a workflow plus its inferred start and stop event types.

    Attributes:
        name: The workflow's name, used in messages.
        steps: Step specs by name, in definition order.
        start_event: The one ``StartEvent`` type a step accepts.
        stop_event: The ``StopEvent`` type steps return (the most common one when several).
        human_input: True when some step consumes a ``HumanResponseEvent`` or emits an
            ``InputRequiredEvent``, so an idle run may be waiting for a person.
    """

    name: str
    steps: dict[str, StepSpec]
    start_event: type
    stop_event: type
    human_input: bool = False
    handlers: dict[str, str] = field(default_factory=dict)
    """Failing step name -> the ``@catch_error`` step that recovers it."""
