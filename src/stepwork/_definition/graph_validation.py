"""LlamaIndex Workflows' graph-validation API over stepwork's graph checks.

``validate_graph`` runs stepwork's own checks (``_core.graph.check_graph``) on the given step
configs and groups the findings the way LlamaIndex Workflows reports them: one
:class:`GraphValidationError` per check (``reachability``, ``terminal_event``, ``dead_end``)
naming every step or event concerned. stepwork's other findings (an event consumed but never
produced, ``@catch_error`` mistakes) are not part of this API; ``Workflow.check()`` lists them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from stepwork._core.graph import Finding, WorkflowGraphCheck, check_graph
from stepwork._core.specs import StepSpec
from stepwork._core.step_graph import StepGraph
from stepwork._core.step_graph import build_step_graph as _build_from_specs
from stepwork._definition.decorators import StepConfig

__all__ = ["GraphValidationError", "StepGraph", "build_step_graph", "validate_graph"]

_KIND_TO_CHECK: dict[str, WorkflowGraphCheck] = {
    "reachability": "reachability",
    "never_consumed": "terminal_event",
    "dead_end": "dead_end",
}
_TEXT: dict[WorkflowGraphCheck, tuple[str, str]] = {
    "reachability": (
        "Unreachable steps",
        "Steps must be reachable from StartEvent or HumanResponseEvent.",
    ),
    "terminal_event": (
        "Events produced but never consumed",
        "Every event a step returns must be accepted by a step, or be a StopEvent or "
        "InputRequiredEvent.",
    ),
    "dead_end": (
        "Dead-end steps",
        "Steps must have a path to StopEvent or InputRequiredEvent.",
    ),
}


@dataclass(frozen=True)
class GraphValidationError:
    """One failed graph check, naming every step (or event) that fails it.

    Attributes:
        check: ``reachability``, ``terminal_event`` or ``dead_end``.
        message: What is wrong, e.g. ``"Unreachable steps: island"``.
        hint: How to fix it.
        step_names: The steps concerned.
    """

    check: WorkflowGraphCheck
    message: str
    hint: str
    step_names: list[str] = field(default_factory=list)


def _specs(steps: dict[str, StepConfig]) -> dict[str, StepSpec]:
    return {name: config.spec() for name, config in steps.items()}


def build_step_graph(steps: dict[str, StepConfig], start_event_class: type) -> StepGraph:
    """The graph of ``steps`` (name -> ``_step_config``) with both reachability sets."""
    return _build_from_specs(_specs(steps), start_event_class)


def validate_graph(
    steps: dict[str, StepConfig],
    start_event_class: type,
    skip_checks: Iterable[str] | None = None,
) -> list[GraphValidationError]:
    """Run the graph checks on ``steps``; an empty list when the graph is sound.

    Args:
        steps: Step name -> its ``_step_config`` (``{n: f._step_config for n, f in
            wf._get_steps().items()}``).
        start_event_class: The workflow's start event type (kept for the anchor's signature;
            stepwork's checks read it from the steps).
        skip_checks: Checks to skip for every step; a step's own ``skip_graph_checks`` apply too.
    """
    skipped = set(skip_checks or ())
    per_step = {n: c.skip_graph_checks for n, c in steps.items() if c.skip_graph_checks}
    grouped: dict[WorkflowGraphCheck, list[Finding]] = {}
    for finding in check_graph(_specs(steps), skipped, per_step):
        check = _KIND_TO_CHECK.get(finding.kind)
        if check is None or check in skipped:
            continue
        if check == "terminal_event" and check in per_step.get(finding.step or "", ()):
            continue
        grouped.setdefault(check, []).append(finding)
    errors = []
    order: tuple[WorkflowGraphCheck, ...] = ("reachability", "terminal_event", "dead_end")
    for check in order:
        found = grouped.get(check)
        if not found:
            continue
        label, hint = _TEXT[check]
        names = [f.event if check == "terminal_event" else f.step for f in found]
        shown = ", ".join(sorted(dict.fromkeys(n or "?" for n in names)))
        steps_named = list(dict.fromkeys(f.step for f in found if f.step is not None))
        errors.append(GraphValidationError(check, f"{label}: {shown}", hint, steps_named))
    return errors
