"""A run's trace context in its journal, so every process that runs part of it joins one trace.

When tracing is on (the program set an OpenTelemetry ``TracerProvider``), each process segment
of a run has one ``run <workflow>`` span, and the start tick that segment journals carries the
span's ``traceparent`` (and ``tracestate``, if any) in its envelope's ``meta``. A process that
continues the run (``resume_run``, a worker's takeover) reads the journal and starts its own
run span as a *child* of the first journaled run span: same trace id, one tree, whichever
process wrote what. A child rather than a link: a link would give every segment a trace of its
own, and backends draw links as hops between traces, not as one run.

Invariants:
- With tracing off, nothing is added to any envelope, and nothing here imports OpenTelemetry.
- The parent is the *first* start tick in the journal that carries a ``traceparent``: every
  later segment is a sibling under it (a flat tree, however many times the run was resumed).
  A run whose first segments were not traced joins the trace of its first traced segment.
- The start tick's metadata is set for that one tick: later ticks carry none.
- A run enqueued for workers (``enqueue``) inside a span journals that span's context with
  its start tick, so the workers' segments are children of the caller's span. Enqueued while
  a server handles a request (``parent_from_headers``) in a process with no current span
  (OpenTelemetry absent, say), it journals the request's valid ``traceparent`` instead.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from stepwork._core.envelope import EMPTY_META, TickEnvelope
from stepwork._core.ticks import Tick, TickStart
from stepwork._runtime.envelopes import MetaProvider, Stamper
from stepwork._runtime.observe import RunObserver, otel_observer
from stepwork._runtime.observe_context import incoming_trace

if TYPE_CHECKING:
    from stepwork._runtime.driver import RunDriver

__all__ = [
    "TRACE_KEYS",
    "caller_trace",
    "journaled_trace",
    "journaled_trace_id",
    "open_segment",
    "trace_id_in_records",
    "trace_id_of",
]

#: The envelope ``meta`` keys that carry a run's W3C trace context.
TRACE_KEYS = ("traceparent", "tracestate")


def journaled_trace(envelopes: Sequence[TickEnvelope]) -> Mapping[str, str]:
    """The trace context of the run whose journal is ``envelopes``: the ``traceparent`` (and
    ``tracestate``) of the first start tick carrying one; empty when the run was never traced.

    Example:
        >>> from stepwork._core.ticks import TickStart
        >>> tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
        >>> start = TickEnvelope(TickStart(0.0, "r", None, None), meta={"traceparent": tp})
        >>> dict(journaled_trace([start])) == {"traceparent": tp}
        True
    """
    for envelope in envelopes:
        meta = envelope.meta
        if "traceparent" in meta and isinstance(envelope.tick, TickStart):
            return {key: meta[key] for key in TRACE_KEYS if key in meta}
    return EMPTY_META


def trace_id_of(traceparent: str) -> str | None:
    """The trace id (32 hex digits) in a W3C ``traceparent``, or ``None`` if it is malformed.

    Example:
        >>> trace_id_of("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
        '0af7651916cd43dd8448eb211c80319c'
    """
    parts = traceparent.strip().split("-")
    if len(parts) < 4 or len(parts[1]) != 32 or parts[1] == "0" * 32:
        return None
    try:
        int(parts[1], 16)
    except ValueError:
        return None
    return parts[1].lower()


def journaled_trace_id(envelopes: Sequence[TickEnvelope]) -> str | None:
    """The trace id every segment of the run shares, or ``None`` if it was never traced."""
    traceparent = journaled_trace(envelopes).get("traceparent")
    return None if traceparent is None else trace_id_of(traceparent)


def caller_trace() -> Mapping[str, str]:
    """The W3C trace context of the span current here, for a run enqueued now to journal (its
    segments then join the caller's trace). Without a current span (or without OpenTelemetry
    in the program): the context of the request being served
    (:func:`~stepwork._runtime.observe_context.parent_from_headers`), so an API node that
    does not trace still hands its caller's trace on; empty when there is neither."""
    incoming = incoming_trace()
    if "opentelemetry.trace" not in sys.modules:
        return incoming or EMPTY_META
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    carrier: dict[str, str] = {}
    TraceContextTextMapPropagator().inject(carrier)
    found = {key: carrier[key] for key in TRACE_KEYS if carrier.get(key)}
    return found or incoming or EMPTY_META


def open_segment(driver: RunDriver, observer: RunObserver, *, resumed: bool) -> None:
    """Tell ``observer`` that ``driver``'s run starts (or resumes) in this process.

    With OpenTelemetry in use, the run span is made a child of the journaled trace context (if
    the journal has one), a resumed segment gets a ``resumed`` event naming where the previous
    segment stopped, and the start tick about to be applied carries this segment's context.
    """
    workflow = driver.workflow.workflow_name
    otel = otel_observer() if "opentelemetry.trace" in sys.modules else None
    if otel is None:
        observer.run_started(driver.run_id, workflow, resumed=resumed)
        return
    envelopes = driver.ticks.envelopes
    parent = journaled_trace(envelopes) if envelopes else EMPTY_META
    if parent:
        from stepwork._runtime.observe_context import run_parent

        with run_parent(parent.get("traceparent"), parent.get("tracestate")):
            observer.run_started(driver.run_id, workflow, resumed=resumed)
    else:  # a new run: its span's parent is whatever is current, as for any run
        observer.run_started(driver.run_id, workflow, resumed=resumed)
    if resumed and envelopes:
        last = envelopes[-1]
        otel.segment_resumed(driver.run_id, last.writer, last.epoch, len(envelopes))
    if driver.journal is None:
        return  # nothing is journaled: nobody could continue the trace
    meta = otel.trace_meta(driver.run_id)
    if meta:
        _stamp_next_with(driver.stamper, meta)


def _stamp_next_with(stamper: Stamper, meta: Mapping[str, str]) -> None:
    """Make the next tick ``stamper`` stamps carry ``meta`` too (then stamp as before)."""
    before: MetaProvider | None = stamper.meta

    def once(tick: Tick) -> Mapping[str, str]:
        stamper.meta = before
        return meta if before is None else {**before(tick), **meta}

    stamper.meta = once


def trace_id_in_records(records: Iterable[Mapping[str, Any]]) -> str | None:
    """:func:`journaled_trace_id` of stored tick records (``Store.load_ticks``), read without
    decoding the ticks: the first ``start`` record whose envelope carries a ``traceparent``."""
    for record in records:
        env = record.get("env")
        meta = env.get("meta") if isinstance(env, Mapping) else None
        if record.get("kind") == "start" and isinstance(meta, Mapping):
            traceparent = meta.get("traceparent")
            if isinstance(traceparent, str):
                return trace_id_of(traceparent)
    return None
