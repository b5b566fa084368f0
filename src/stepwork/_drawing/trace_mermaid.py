"""Draw a run's trace as Mermaid ``flowchart`` text: what happened, not what could.

The caller (a circle) sends the start event and answers; every event that arrived is a
stadium, every step invocation a box ``step#n`` with its attempt, duration and outcome; edges
say which invocation emitted which event and which events each invocation consumed; a dotted
``retry`` edge joins the attempts of one delivery; the last node is the ending.

Invariants: node ids are ``n0, n1, ...`` in declaration order; every label is quoted and
escaped line by line by ``mermaid_text`` (lines joined with ``<br/>``); the same trace always
gives the same text.
"""

from __future__ import annotations

from typing import Protocol

from stepwork._drawing.labels import PALETTE, display_label, mermaid_text
from stepwork._drawing.trace_model import RunTrace, TraceInvocation

__all__ = ["format_seconds", "trace_to_mermaid"]

_INDENT = "    "
_EVENT_CLASSES = {
    "start": "startEvent",
    "stop": "stopEvent",
    "input_required": "inputRequired",
    "human_response": "humanResponse",
    "event": "event",
}
_OUTCOME_CLASSES = {
    "done": "step",
    "failed": "failed",
    "timed_out": "timedOut",
    "cancelled": "cancelled",
    "interrupted": "cancelled",
    "running": "running",
}
_STYLES = {
    "step": PALETTE["step"],
    "event": PALETTE["event"],
    "startEvent": PALETTE["start"],
    "stopEvent": PALETTE["stop"],
    "inputRequired": PALETTE["input_required"],
    "humanResponse": PALETTE["human_response"],
    "person": PALETTE["external"],
    "failed": ("#fde2e1", "#c0392b"),
    "timedOut": ("#fff0d9", "#c05621"),
    "cancelled": ("#ececec", "#6b7280"),
    "running": ("#e3f2fd", "#1e6fb8"),
    "ending": ("#fafafa", "#111111"),
}
_ORIGIN_LABELS = {"start": "start", "caller": "sent", "step": "sent", "error": "error"}


def format_seconds(seconds: float) -> str:
    """A duration as people read it: ``0.4 ms``, ``12 ms``, ``1.25 s``, ``2 min 5 s``.

    Example:
        >>> [format_seconds(s) for s in (0.0, 0.0004, 0.012, 1.25, 125.0)]
        ['0 ms', '0.4 ms', '12 ms', '1.25 s', '2 min 5 s']
    """
    if seconds < 0.001:
        return "0 ms" if seconds <= 0 else f"{seconds * 1000:.1f} ms"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.3g} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s"


def trace_to_mermaid(trace: RunTrace, *, max_label_length: int | None = None) -> str:
    """The trace as a Mermaid ``flowchart``: events, invocations and the ending, in order.

    Args:
        trace: A run's trace, from ``build_trace``.
        max_label_length: Cut longer label lines, ending them with ``…``; ``None`` keeps them.

    Returns:
        The text, ending with a newline.

    Raises:
        ValueError: If ``max_label_length`` is less than 1.

    Example:
        >>> from stepwork._drawing.trace_model import (
        ...     RunTrace, TraceEnding, TraceEvent, TraceInvocation)
        >>> trace = RunTrace("r", "W", "completed", 0.0, 0.5,
        ...     [TraceEvent(0, "StartEvent", "start", 0.0, "start", consumed_by=[0])],
        ...     [TraceInvocation(0, "hello", 0, 1, 0.0, 0.5, "done", inputs=[0])],
        ...     TraceEnding("completed", 0.5, "StopEvent", invocation=0, step="hello"))
        >>> print(trace_to_mermaid(trace))  # doctest: +ELLIPSIS
        flowchart TD
            n0(("caller"))
            n1(["StartEvent<br/>+0 ms"])
            n2["hello#35;0<br/>attempt 1 · 500 ms"]
            n3(["completed<br/>StopEvent · +500 ms"])
            n0 -->|"start"| n1
            n1 --> n2
            n2 --> n3
            classDef step ...
    """
    display_label("", max_label_length)  # validates the limit even when nothing is cut
    lines = ["flowchart TD"]
    classes: dict[str, list[str]] = {}
    ids: dict[str, str] = {}

    def node(key: str, shape: tuple[str, str], label: list[str], css: str) -> str:
        node_id = ids[key] = f"n{len(ids)}"
        text = "<br/>".join(mermaid_text(display_label(line, max_label_length)) for line in label)
        lines.append(f'{_INDENT}{node_id}{shape[0]}"{text}"{shape[1]}')
        classes.setdefault(css, []).append(node_id)
        return node_id

    uses_caller = any(
        event.origin in ("start", "caller") or event.role == "input_required"
        for event in trace.events
    ) or (trace.ending is not None and trace.ending.status == "cancelled")
    if uses_caller:
        node("caller", ("((", "))"), ["caller"], "person")
    for event in trace.events:
        label = [event.type, "+" + format_seconds(event.at - trace.started_at)]
        node(f"e{event.index}", ("([", "])"), label, _EVENT_CLASSES.get(event.role, "event"))
    for record in trace.invocations:
        node(f"i{record.id}", ("[", "]"), _invocation_label(record, trace), _outcome_class(record))
    ending = trace.ending
    if ending is not None:
        what = ending.event_type
        if ending.error_type is not None:
            what = f"{ending.error_type}: {ending.error_message}"
        label = [ending.status, f"{what} · +{format_seconds(ending.at - trace.started_at)}"]
        node("end", ("([", "])"), label, "stopEvent" if ending.status == "completed" else "failed")
    lines.extend(_INDENT + edge for edge in _edges(trace, ids))
    for css, (fill, stroke) in _STYLES.items():
        lines.append(f"{_INDENT}classDef {css} fill:{fill},stroke:{stroke},color:#111111")
    for css, members in classes.items():
        lines.append(f"{_INDENT}class {','.join(members)} {css}")
    return "\n".join(lines) + "\n"


def _invocation_label(record: TraceInvocation, trace: RunTrace) -> list[str]:
    if record.duration is not None:
        timing = format_seconds(record.duration)
    else:
        timing = "running for " + format_seconds(trace.last_at - record.started_at)
    label = [f"{record.step}#{record.id}", f"attempt {record.attempt} · {timing}"]
    if record.outcome in ("failed", "timed_out") and record.error_type is not None:
        word = "FAILED" if record.outcome == "failed" else "TIMED OUT"
        label.append(f"{word} {record.error_type}: {record.error_message}")
        if record.retry_delay is not None:
            label.append(f"retry in {format_seconds(record.retry_delay)}")
    elif record.outcome == "timed_out":
        label.append("TIMED OUT")
    elif record.outcome in ("cancelled", "interrupted"):
        label.append(record.outcome)
    elif record.waiting:
        label.append("waiting for " + ", ".join(record.waits_for))
    if record.calls:
        label.append("journaled: " + ", ".join(record.calls))
    for child, status in record.children.items():
        label.append(f"child run {child}: {status}")
    return label


def _outcome_class(record: TraceInvocation) -> str:
    return _OUTCOME_CLASSES.get(record.outcome, "step")


def _edges(trace: RunTrace, ids: dict[str, str]) -> list[str]:
    edges: list[str] = []

    def edge(source: str, target: str, label: str = "", *, dotted: bool = False) -> None:
        if source in ids and target in ids:
            arrow = "-.->" if dotted else "-->"
            if label:
                arrow += f'|"{mermaid_text(label)}"|'
            edges.append(f"{ids[source]} {arrow} {ids[target]}")

    consumers = {record.id: record for record in trace.invocations}
    for event in trace.events:
        key = f"e{event.index}"
        if event.origin in ("start", "caller"):
            edge("caller", key, _ORIGIN_LABELS[event.origin])
        elif event.source is not None:
            stream = event.origin == "stream"
            edge(f"i{event.source}", key, _ORIGIN_LABELS.get(event.origin, ""), dotted=stream)
        if event.role == "input_required":
            edge(key, "caller", "asks", dotted=True)
        for number in event.consumed_by:
            woken = event.index in consumers[number].woken_by if number in consumers else False
            edge(key, f"i{number}", "wakes" if woken else "")
    for record in trace.invocations:
        if record.previous_attempt is not None:
            edge(f"i{record.previous_attempt}", f"i{record.id}", "retry", dotted=True)
    _ending_edge(trace, edge)
    return edges


def _ending_edge(trace: RunTrace, edge: _EdgeAdder) -> None:
    ending = trace.ending
    if ending is None:
        return
    if ending.event is not None:
        edge(f"e{ending.event}", "end")
    elif ending.invocation is not None:
        edge(f"i{ending.invocation}", "end")
    elif ending.status == "cancelled":
        edge("caller", "end", "cancel")
    else:
        # A run timeout cut the running steps short; a stalled run names the step that led
        # nowhere.
        cut = [r for r in trace.invocations if r.outcome == "cancelled" and r.ended_at == ending.at]
        last = [r for r in trace.invocations if r.step == ending.step][-1:]
        for record in cut or last:
            edge(f"i{record.id}", "end", dotted=True)


class _EdgeAdder(Protocol):
    def __call__(self, source: str, target: str, label: str = "", *, dotted: bool = False) -> None:
        """Add an edge between two declared nodes."""
