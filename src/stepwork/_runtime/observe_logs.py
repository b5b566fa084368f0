"""Log records that say which run, step and trace they belong to.

:class:`RunContextFilter` adds ``run_id``, ``step``, ``trace_id`` and ``span_id`` to every record
it sees (empty strings when unknown), so a format such as
``"%(levelname)s [%(run_id)s/%(step)s trace=%(trace_id)s] %(message)s"`` works for any record.
stepwork's own loggers (``stepwork.*``, made with :func:`stepwork_logger`) carry it, and pass
the run id (and step) of what they report as ``extra``.
"""

from __future__ import annotations

import logging
import sys

from stepwork._runtime.driver import running_step

__all__ = ["RUN_FIELDS", "RunContextFilter", "stepwork_logger"]

RUN_FIELDS = ("run_id", "step", "trace_id", "span_id")
"""The record attributes :class:`RunContextFilter` sets."""


class RunContextFilter(logging.Filter):
    """Adds ``run_id``, ``step``, ``trace_id`` and ``span_id`` to log records (never drops one).

    Inside a step they come from the running step and its span; elsewhere from what the record
    already carries (``extra={"run_id": ...}``) and, for a run traced in this process, its span.
    Values a record already has are kept. Add it to your handlers to see stepwork's context in
    your own records too.

    Example:
        >>> import logging
        >>> from stepwork.observe import RunContextFilter
        >>> handler = logging.StreamHandler()
        >>> handler.addFilter(RunContextFilter())
        >>> handler.setFormatter(logging.Formatter("[%(run_id)s/%(step)s] %(message)s"))
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Set the run fields on ``record``; always ``True``."""
        values = record.__dict__
        scope = running_step()
        if scope is not None:
            driver, invocation = scope
            values.setdefault("run_id", driver.run_id)
            values.setdefault("step", invocation.delivery.step)
        run_id = values.setdefault("run_id", "")
        values.setdefault("step", "")
        if "trace_id" not in values:
            values["trace_id"], values["span_id"] = _trace_ids(str(run_id or ""))
        values.setdefault("span_id", "")
        return True


def _trace_ids(run_id: str) -> tuple[str, str]:
    """The current span's ids, else those of run ``run_id``'s span here, else empty."""
    if "opentelemetry.trace" not in sys.modules:
        return "", ""
    from opentelemetry import trace

    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        return f"{context.trace_id:032x}", f"{context.span_id:016x}"
    from stepwork._runtime.observe import otel_observer

    observer = otel_observer()
    known = observer.span_context(run_id) if observer is not None and run_id else None
    if known is not None and known.is_valid:
        return f"{known.trace_id:032x}", f"{known.span_id:016x}"
    return "", ""


_FILTER = RunContextFilter()


def stepwork_logger(name: str) -> logging.Logger:
    """``logging.getLogger(name)`` carrying the run context filter (added once)."""
    logger = logging.getLogger(name)
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)
    return logger
