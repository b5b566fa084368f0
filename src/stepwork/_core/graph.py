"""Graph checks over a workflow's step specs: every problem found at once, as data.

Invariants: checks never raise; they return :class:`Finding` objects that name the step and the
event concerned and carry a hint. Framework events that enter or leave the graph from outside
(``StartEvent`` in, ``StopEvent`` and ``InputRequiredEvent`` out, ``HumanResponseEvent`` and
``StepFailedEvent`` in) are exempt from the produced/consumed checks.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, get_args

from stepwork._core.events import (
    HumanResponseEvent,
    InputRequiredEvent,
    StartEvent,
    StepFailedEvent,
    StopEvent,
)
from stepwork._core.routing import accepts
from stepwork._core.specs import StepSpec

__all__ = ["GRAPH_CHECKS", "Finding", "WorkflowGraphCheck", "check_graph"]

#: The names ``skip_graph_checks`` accepts (LlamaIndex Workflows' ``WorkflowGraphCheck``).
WorkflowGraphCheck = Literal["reachability", "terminal_event", "dead_end"]
GRAPH_CHECKS: tuple[WorkflowGraphCheck, ...] = get_args(WorkflowGraphCheck)


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem in a workflow's graph.

    Attributes:
        kind: ``accepts_stop``, ``never_produced``, ``never_consumed``, ``reachability``,
            ``dead_end``, ``catch_error`` or ``fan_in``.
        step: The step concerned, or ``None``.
        event: The event type's name concerned, or ``None``.
        message: What is wrong.
        hint: How to fix it.
        anchor: The sentence LlamaIndex Workflows uses for this problem, when it differs from
            ``message``; the error's first line is built from it (see ``graph_summary``).
    """

    kind: str
    step: str | None
    event: str | None
    message: str
    hint: str
    anchor: str = ""

    def __str__(self) -> str:
        return f"[{self.kind}] {self.message} {self.hint}"


def check_graph(
    steps: dict[str, StepSpec],
    skip: Iterable[str] = (),
    step_skips: dict[str, tuple[str, ...]] | None = None,
) -> list[Finding]:
    """Every graph problem of ``steps``; empty when the graph is sound.

    Args:
        steps: The workflow's steps by name.
        skip: Workflow-wide checks to skip (names from ``GRAPH_CHECKS``).
        step_skips: Per-step checks to skip.
    """
    skipped = set(skip)
    per_step = step_skips or {}
    findings: list[Finding] = []
    producers: dict[type, list[str]] = {}
    for step in steps.values():
        for produced in step.returns:
            producers.setdefault(produced, []).append(step.name)

    for step in steps.values():
        for accepted in step.input_types:
            if issubclass(accepted, StopEvent):
                findings.append(
                    Finding(
                        "accepts_stop",
                        step.name,
                        accepted.__name__,
                        f"Step '{step.name}' cannot accept StopEvent ({accepted.__name__}).",
                        "A StopEvent ends the run; accept another event type.",
                        f"Step '{step.name}' cannot accept StopEvent. StopEvent signals the end "
                        "of the workflow. Use a different Event type instead.",
                    )
                )
            elif not issubclass(
                accepted, (StartEvent, HumanResponseEvent, InputRequiredEvent, StepFailedEvent)
            ) and not any(accepts(step, produced, (accepted,)) for produced in producers):
                findings.append(
                    Finding(
                        "never_produced",
                        step.name,
                        accepted.__name__,
                        f"Step '{step.name}' accepts {accepted.__name__}, which no step produces.",
                        f"Return {accepted.__name__} from a step, or send it with "
                        "ctx.send_event and pass disable_validation=True.",
                    )
                )
        if step.collect is not None and not any(s.fan_out for s in steps.values()):
            findings.append(
                Finding(
                    "fan_in",
                    step.name,
                    step.collect.types[0].__name__,
                    f"Step '{step.name}' gathers a list[...] but no step fans out with -> list[E].",
                    "Return a list of events from a producer step, or use ctx.collect_events.",
                )
            )

    for produced, names in producers.items():
        if issubclass(produced, (StopEvent, InputRequiredEvent, HumanResponseEvent)):
            continue
        if not any(accepts(s, produced, s.input_types) for s in steps.values()):
            findings.append(
                Finding(
                    "never_consumed",
                    names[0],
                    produced.__name__,
                    f"{produced.__name__} is produced by step '{names[0]}' but no step accepts it.",
                    f"Add a step with a parameter annotated {produced.__name__}, "
                    "or stop returning it.",
                )
            )

    findings.extend(_handler_findings(steps))
    if "reachability" not in skipped:
        findings.extend(_reachability(steps, per_step))
    if "dead_end" not in skipped:
        findings.extend(_dead_ends(steps, per_step))
    return findings


def _successors(steps: dict[str, StepSpec], step: StepSpec) -> set[str]:
    return {
        other.name
        for produced in step.returns
        for other in steps.values()
        if accepts(other, produced, other.input_types)
    }


def _reachability(
    steps: dict[str, StepSpec], per_step: dict[str, tuple[str, ...]]
) -> list[Finding]:
    roots = [
        s.name
        for s in steps.values()
        if s.catch_error
        or any(issubclass(t, (StartEvent, HumanResponseEvent)) for t in s.input_types)
    ]
    seen = set(roots)
    frontier = list(roots)
    while frontier:
        for name in _successors(steps, steps[frontier.pop()]):
            if name not in seen:
                seen.add(name)
                frontier.append(name)
    return [
        Finding(
            "reachability",
            name,
            None,
            f"Step '{name}' is unreachable from the StartEvent.",
            "Make some step return an event it accepts, or remove it.",
        )
        for name in steps
        if name not in seen and "reachability" not in per_step.get(name, ())
    ]


def _dead_ends(steps: dict[str, StepSpec], per_step: dict[str, tuple[str, ...]]) -> list[Finding]:
    def terminal(step: StepSpec) -> bool:
        return any(issubclass(t, (StopEvent, InputRequiredEvent)) for t in step.returns)

    finishing = {s.name for s in steps.values() if terminal(s)}
    changed = True
    while changed:
        changed = False
        for step in steps.values():
            if step.name not in finishing and _successors(steps, step) & finishing:
                finishing.add(step.name)
                changed = True
    return [
        Finding(
            "dead_end",
            step.name,
            None,
            f"Step '{step.name}' produces events but no path from it leads to a StopEvent.",
            "Route its output to a step that eventually returns a StopEvent.",
        )
        for step in steps.values()
        if step.returns
        and step.name not in finishing
        and "dead_end" not in per_step.get(step.name, ())
    ]


def _handler_findings(steps: dict[str, StepSpec]) -> list[Finding]:
    findings: list[Finding] = []
    handlers = [s for s in steps.values() if s.catch_error]
    wildcards = [h.name for h in handlers if h.catch_for is None]
    if len(wildcards) > 1:
        findings.append(
            Finding(
                "catch_error",
                wildcards[1],
                None,
                f"More than one @catch_error handler covers every step: {', '.join(wildcards)}.",
                "Keep one wildcard handler and give the others for_steps=[...].",
                "Only one wildcard @catch_error handler is allowed per workflow, found "
                f"{len(wildcards)}: {', '.join(wildcards)}",
            )
        )
    claimed: dict[str, str] = {}
    for handler in handlers:
        for name in handler.catch_for or ():
            if name not in steps:
                findings.append(
                    Finding(
                        "catch_error",
                        handler.name,
                        None,
                        f"@catch_error handler '{handler.name}' names unknown step '{name}'.",
                        f"Use one of: {', '.join(steps)}.",
                        f"@catch_error handler '{handler.name}' lists unknown step '{name}' "
                        "in for_steps.",
                    )
                )
            elif steps[name].catch_error:
                findings.append(
                    Finding(
                        "catch_error",
                        handler.name,
                        None,
                        f"@catch_error handler '{handler.name}' cannot cover handler '{name}'.",
                        "Handlers do not recover other handlers; remove it from for_steps.",
                        f"@catch_error handler '{handler.name}' cannot cover another handler "
                        f"step '{name}'.",
                    )
                )
            elif name in claimed:
                findings.append(
                    Finding(
                        "catch_error",
                        handler.name,
                        None,
                        f"Step '{name}' is covered by two handlers: "
                        f"'{claimed[name]}' and '{handler.name}'.",
                        "Name each step in one handler's for_steps only.",
                        f"Step '{name}' is claimed by two @catch_error handlers: "
                        f"'{claimed[name]}' and '{handler.name}'.",
                    )
                )
            else:
                claimed[name] = handler.name
    return findings


def handler_map(steps: dict[str, StepSpec]) -> dict[str, str]:
    """Failing step name -> the handler that recovers it (scoped handlers before the wildcard)."""
    mapping: dict[str, str] = {}
    for handler in steps.values():
        if handler.catch_error and handler.catch_for is not None:
            for name in handler.catch_for:
                mapping.setdefault(name, handler.name)
    wildcard = next((s.name for s in steps.values() if s.catch_error and s.catch_for is None), None)
    if wildcard is not None:
        for name, step in steps.items():
            if not step.catch_error:
                mapping.setdefault(name, wildcard)
    return mapping
