"""A workflow class's definition: its steps, the core spec, the graph findings and the reducer.

Built once per class (and again only after ``add_step`` changes it), so constructing a
workflow or starting a run never re-reads signatures.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from stepwork._core.errors import WorkflowConfigurationError, WorkflowValidationError
from stepwork._core.events import (
    Event,
    HumanResponseEvent,
    InputRequiredEvent,
    StartEvent,
    StepFailedEvent,
    StopEvent,
    WorkflowCancelledEvent,
    WorkflowFailedEvent,
    WorkflowTimedOutEvent,
)
from stepwork._core.graph import Finding, check_graph, handler_map
from stepwork._core.graph_summary import headline
from stepwork._core.reducer import Reducer
from stepwork._core.specs import StepSpec, WorkflowSpec
from stepwork._definition.decorators import StepConfig
from stepwork._runtime.invoke import StepInvoker

__all__ = ["WorkflowDefinition", "build_definition"]

_ENDINGS = (WorkflowTimedOutEvent, WorkflowCancelledEvent, WorkflowFailedEvent)


@dataclass
class WorkflowDefinition:
    """Everything derived from a workflow class's steps."""

    name: str
    configs: dict[str, StepConfig]
    specs: dict[str, StepSpec]
    spec: WorkflowSpec | None
    config_error: WorkflowConfigurationError | None
    findings: list[Finding]
    state_types: list[type] = field(default_factory=list)
    reducer: Reducer = field(init=False)
    invokers: dict[str, StepInvoker] = field(init=False)
    limited: bool = field(init=False)
    """True when some step holds a slot of a ``Limit`` while it runs (``@step(limit=...)``)."""

    def __post_init__(self) -> None:
        if self.spec is not None:
            self.reducer = Reducer(self.spec)
        self.invokers = {name: StepInvoker(config) for name, config in self.configs.items()}
        self.limited = any(config.limit is not None for config in self.configs.values())

    @property
    def events(self) -> list[type[Event]]:
        """Every event type a step accepts or returns, in first-seen order."""
        seen: dict[type, None] = {}
        for spec in self.specs.values():
            for event_type in (*spec.input_types, *spec.returns):
                seen.setdefault(event_type, None)
        return list(seen)

    @property
    def uses_human_input(self) -> bool:
        """True when a step emits ``InputRequiredEvent`` or accepts ``HumanResponseEvent``."""
        return self.spec is not None and self.spec.human_input

    def raise_for_problems(self) -> None:
        """Raise the configuration error, or every graph finding at once.

        Raises:
            WorkflowConfigurationError: No or several start/stop event types.
            WorkflowValidationError: The graph has problems; the message lists each.
        """
        if self.config_error is not None:
            raise self.config_error
        if self.findings:
            lines = "\n".join(f"  - {finding}" for finding in self.findings)
            first = self.findings[0]
            raise WorkflowValidationError(
                f"{headline(self.findings)}\nWorkflow '{self.name}' failed validation:\n{lines}",
                step_name=first.step,
            )


def build_definition(
    name: str, configs: dict[str, StepConfig], skip_checks: frozenset[str] = frozenset()
) -> WorkflowDefinition:
    """Turn a class's step configs into its definition (never raises for graph problems).

    Raises:
        WorkflowValidationError: If a step's signature cannot be read.
    """
    specs = {step_name: config.spec() for step_name, config in configs.items()}
    findings = list(_handler_signature_findings(specs))
    config_error = None
    spec = None
    try:
        start = _only_one(name, specs, StartEvent, "accepts", lambda s: s.input_types)
        stop = _only_one(name, specs, StopEvent, "returns", lambda s: s.returns)
        human = any(
            issubclass(t, HumanResponseEvent) for s in specs.values() for t in s.input_types
        ) or any(issubclass(t, InputRequiredEvent) for s in specs.values() for t in s.returns)
        spec = WorkflowSpec(name, specs, start, stop, human, handler_map(specs))
    except WorkflowConfigurationError as error:
        config_error = error
    skips = {n: c.skip_graph_checks for n, c in configs.items() if c.skip_graph_checks}
    findings.extend(check_graph(specs, skip_checks, skips))
    state_types = [c.parsed.state_type for c in configs.values() if c.parsed.state_type is not None]
    return WorkflowDefinition(name, configs, specs, spec, config_error, findings, state_types)


def _only_one(name: str, specs: dict[str, StepSpec], base: type, verb: str, pick: Any) -> type:
    found: Counter[type] = Counter(
        t for s in specs.values() for t in pick(s) if issubclass(t, base) and t not in _ENDINGS
    )
    kind = base.__name__
    if not found:
        how = "received" if verb == "accepts" else "returned"
        raise WorkflowConfigurationError(
            f"At least one Event of type {kind} must be {how} "
            f"by any step. (Workflow '{name}' has no @step that {verb} {kind}.)"
        )
    if len(found) > 1:
        names = ", ".join(sorted(t.__name__ for t in found))
        raise WorkflowConfigurationError(
            f"Only one type of {kind} is allowed per workflow, found {len(found)}: {names}.\n"
            f"Workflow '{name}' has steps that {verb} {names}. Use one {kind} subclass throughout."
        )
    return next(iter(found))


def _handler_signature_findings(specs: dict[str, StepSpec]) -> list[Finding]:
    return [
        Finding(
            "catch_error",
            spec.name,
            None,
            f"@catch_error handler '{spec.name}' must accept exactly StepFailedEvent.",
            "Annotate its event parameter as StepFailedEvent.",
            f"@catch_error handler '{spec.name}' must accept StepFailedEvent as its event "
            "parameter.",
        )
        for spec in specs.values()
        if spec.catch_error and spec.accepted != (StepFailedEvent,)
    ] + [
        Finding(
            "catch_error",
            spec.name,
            None,
            f"@catch_error handler '{spec.name}' has max_recoveries={spec.max_recoveries!r}; "
            "it must be an integer of at least 1.",
            "Pass @catch_error(max_recoveries=1) or more.",
        )
        for spec in specs.values()
        if spec.catch_error and spec.max_recoveries < 1
    ]
