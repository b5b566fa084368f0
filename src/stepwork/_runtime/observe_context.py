"""W3C trace context for runs: parent a run on a ``traceparent``, read a run's ``traceparent``.

OpenTelemetry is imported when one of these functions is called, not before; without the
``otel`` extra they raise :class:`~stepwork.errors.MissingExtraError`. The exception is
:func:`parent_from_headers`, which a server calls on every start: in a process that does not
trace it only remembers the request's valid trace context (:func:`incoming_trace`), so a run
enqueued for workers (``stepwork serve --workers 0``) still journals the caller's trace.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from stepwork._core.envelope import EMPTY_META
from stepwork._core.errors import MissingExtraError

if TYPE_CHECKING:
    from opentelemetry.trace import Span

__all__ = [
    "current_traceparent",
    "incoming_trace",
    "parent_from_headers",
    "run_parent",
    "run_traceparent",
    "traceparent_of_span",
]

OTEL_EXTRA_HINT = "pip install 'stepwork[otel]'"

# W3C Trace Context, level 1: version 00 (or a later one, read as 00), lower-case hex.
_TRACEPARENT = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?")
_TRACESTATE_LIMIT = 512  # the length W3C lets a propagator keep

_INCOMING: ContextVar[Mapping[str, str]] = ContextVar("stepwork_incoming", default=EMPTY_META)


def _propagation() -> Any:
    try:
        from opentelemetry.trace.propagation import tracecontext
    except ImportError as error:
        raise MissingExtraError(
            f"Tracing needs the 'otel' extra (opentelemetry-api is not installed): "
            f"{OTEL_EXTRA_HINT}"
        ) from error
    return tracecontext.TraceContextTextMapPropagator()


@contextmanager
def run_parent(traceparent: str | None, tracestate: str | None = None) -> Iterator[None]:
    """Runs started inside this block are children of the span that ``traceparent`` names.

    Use it to continue a trace that arrived from elsewhere (an HTTP header, a queue message, a
    journaled run being resumed). A missing or malformed ``traceparent`` leaves the current
    context as it is.

    Args:
        traceparent: A W3C ``traceparent`` (``00-<trace id>-<span id>-<flags>``), or ``None``.
        tracestate: The W3C ``tracestate`` that came with it, if any.

    Raises:
        MissingExtraError: If opentelemetry-api is not installed.

    Example:
        >>> from stepwork.observe import run_parent
        >>> with run_parent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"):
        ...     pass  # handler = workflow.run(...) here: the run span's parent is that span
    """
    propagator = _propagation()
    if not traceparent:
        yield
        return
    from opentelemetry import context as otel_context

    carrier: dict[str, str] = {"traceparent": traceparent}
    if tracestate:
        carrier["tracestate"] = tracestate
    token = otel_context.attach(propagator.extract(carrier))
    try:
        yield
    finally:
        otel_context.detach(token)


def traceparent_of_span(span: Span) -> str | None:
    """The W3C ``traceparent`` naming ``span``, or ``None`` for a span that is not sampled in."""
    from opentelemetry import trace

    carrier: dict[str, str] = {}
    _propagation().inject(carrier, context=trace.set_span_in_context(span))
    return carrier.get("traceparent")


def current_traceparent() -> str | None:
    """The ``traceparent`` of the span current here (inside a step: the step's attempt span).

    Raises:
        MissingExtraError: If opentelemetry-api is not installed.
    """
    carrier: dict[str, str] = {}
    _propagation().inject(carrier)
    return carrier.get("traceparent")


def run_traceparent(run_id: str) -> str | None:
    """The ``traceparent`` of run ``run_id``'s span in this process, while the run is live here.

    This is what a run journals so that whoever resumes it continues the same trace
    (``with run_parent(traceparent): ...``). ``None`` when the run is not traced here.
    """
    if "opentelemetry.trace" not in sys.modules:
        return None
    from stepwork._runtime.observe import otel_observer

    observer = otel_observer()
    return None if observer is None else observer.traceparent(run_id)


def trace_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The W3C trace context in ``headers`` (``traceparent``, and ``tracestate`` if any), or
    an empty dict when ``traceparent`` is missing or malformed (then ``tracestate`` is ignored,
    as the W3C recommendation says).

    Example:
        >>> tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
        >>> trace_headers({"traceparent": tp, "tracestate": "vendor=1"}) == {
        ...     "traceparent": tp, "tracestate": "vendor=1"}
        True
        >>> trace_headers({"traceparent": "00-" + "0" * 32 + "-b7ad6b7169203331-01"})
        {}
    """
    traceparent = (headers.get("traceparent") or "").strip()
    match = _TRACEPARENT.fullmatch(traceparent)
    if match is None:
        return {}
    version, trace_id, span_id, _, rest = match.groups()
    if version == "ff" or (version == "00" and rest) or set(trace_id) == {"0"}:
        return {}
    if set(span_id) == {"0"}:
        return {}
    found = {"traceparent": traceparent}
    tracestate = (headers.get("tracestate") or "").strip()
    if tracestate and len(tracestate) <= _TRACESTATE_LIMIT:
        found["tracestate"] = tracestate
    return found


def incoming_trace() -> Mapping[str, str]:
    """The trace context a request handed to :func:`parent_from_headers` around this call, or
    an empty mapping outside one (or when its ``traceparent`` was missing or malformed)."""
    return _INCOMING.get()


@contextmanager
def parent_from_headers(headers: Mapping[str, str]) -> Iterator[None]:
    """Like :func:`run_parent` with an HTTP request's ``traceparent``/``tracestate`` headers.

    In a program that does not use OpenTelemetry no span is made, but the valid trace context
    is remembered inside the block (:func:`incoming_trace`): a run *enqueued* there journals it,
    so the workers that execute the run, which may trace, join the caller's trace."""
    incoming = trace_headers(headers)
    if not incoming:
        yield
        return
    remembered = _INCOMING.set(incoming)
    try:
        if "opentelemetry.trace" not in sys.modules:
            yield
            return
        with run_parent(incoming["traceparent"], incoming.get("tracestate")):
            yield
    finally:
        _INCOMING.reset(remembered)
