"""W3C trace context for runs: parent a run on a ``traceparent``, read a run's ``traceparent``.

OpenTelemetry is imported when one of these functions is called, not before; without the
``otel`` extra they raise :class:`~stepwork.errors.MissingExtraError`.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from stepwork._core.errors import MissingExtraError

if TYPE_CHECKING:
    from opentelemetry.trace import Span

__all__ = [
    "current_traceparent",
    "parent_from_headers",
    "run_parent",
    "run_traceparent",
    "traceparent_of_span",
]

OTEL_EXTRA_HINT = "pip install 'stepwork[otel]'"


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


@contextmanager
def parent_from_headers(headers: Mapping[str, str]) -> Iterator[None]:
    """Like :func:`run_parent` with an HTTP request's ``traceparent``/``tracestate`` headers;
    does nothing when the program does not use OpenTelemetry (no spans would be made)."""
    traceparent = headers.get("traceparent")
    if not traceparent or "opentelemetry.trace" not in sys.modules:
        yield
        return
    with run_parent(traceparent, headers.get("tracestate")):
        yield
