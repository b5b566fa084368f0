"""A run's trace id in the HTTP API, and the link to it in a tracing backend (``--trace-url``).

The trace id is read from the run's journal (the first start tick that carries a
``traceparent``, see :mod:`stepwork._runtime.trace_journal`), so it is the same whichever
process ran, resumed or took over the run; ``null`` for a run that was never traced.
``trace_url`` is the server's template with ``{trace_id}`` filled in, ``null`` without a
template or a trace id.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlsplit

from starlette.requests import Request

from stepwork._core.errors import (
    JournalCorruptError,
    RunNotFoundError,
    ServerConfigurationError,
)
from stepwork._runtime.trace_journal import trace_id_in_records
from stepwork._stores.protocol import Store

__all__ = ["PAGE", "check_trace_url", "trace_fields", "trace_id_of_run"]

PAGE = 256
"""Tick records read at a time while looking for the run's trace context."""


def check_trace_url(template: str | None) -> str | None:
    """``template`` if it is an http(s) URL with a ``{trace_id}`` placeholder, else an error.

    Raises:
        ServerConfigurationError: If it has no ``{trace_id}``, another placeholder, or is not
            an http(s) URL.

    Example:
        >>> check_trace_url("https://jaeger.example/trace/{trace_id}")
        'https://jaeger.example/trace/{trace_id}'
    """
    if template is None:
        return None
    example = "e.g. https://jaeger.example/trace/{trace_id}"
    try:
        filled = template.format(trace_id="0" * 32)
    except (KeyError, IndexError, ValueError) as error:
        raise ServerConfigurationError(
            f"The trace URL template {template!r} has a placeholder other than {{trace_id}} "
            f"({error}); {example}."
        ) from None
    if "{trace_id}" not in template or urlsplit(filled).scheme not in ("http", "https"):
        raise ServerConfigurationError(
            f"The trace URL template {template!r} must be an http(s) URL with a {{trace_id}} "
            f"placeholder; {example}."
        )
    return template


async def trace_id_of_run(store: Store, run_id: str) -> str | None:
    """The trace id run ``run_id`` journaled, or ``None`` (never traced, or not journaled yet).

    Reads the journal from its start, a page at a time, until the trace context is found: the
    first tick for a run started with tracing on.
    """
    after = -1
    while True:
        try:
            records = await store.load_ticks(run_id, after, PAGE)
        except (RunNotFoundError, JournalCorruptError):
            return None  # not journaled yet; a damaged journal is reported by history
        found = trace_id_in_records(records)
        if found is not None or len(records) < PAGE:
            return found
        after += len(records)


async def trace_fields(request: Request, run_id: str) -> dict[str, Any]:
    """``{"trace_id": ..., "trace_url": ...}`` for run ``run_id`` of the app's store."""
    store: Store = request.app.state.registry.store
    trace_id = await trace_id_of_run(store, run_id)
    template: str | None = request.app.state.trace_url
    url = None
    if template is not None and trace_id is not None:
        url = template.format(trace_id=quote(trace_id, safe=""))
    return {"trace_id": trace_id, "trace_url": url}
