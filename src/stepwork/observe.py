"""Watching runs: OpenTelemetry traces and metrics, Prometheus counters, log context.

OpenTelemetry (the ``otel`` extra) needs no setup in stepwork: once the program has set a
``TracerProvider`` (and, for metrics, a ``MeterProvider``), every run makes spans and metrics
on them. Nothing is imported or recorded while the program has not imported OpenTelemetry.
See ``docs/observability.md``.

Example:
    >>> from stepwork.observe import RunObserver, add_observer, run_parent
"""

from stepwork._runtime.observe import RunObserver, add_observer, remove_observer
from stepwork._runtime.observe_context import current_traceparent, run_parent, run_traceparent
from stepwork._runtime.observe_logs import RunContextFilter
from stepwork._runtime.observe_metrics import RunMetrics

__all__ = [
    "RunContextFilter",
    "RunMetrics",
    "RunObserver",
    "add_observer",
    "current_traceparent",
    "remove_observer",
    "run_parent",
    "run_traceparent",
]
