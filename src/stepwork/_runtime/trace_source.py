"""Read a run's trace off its handler: the bridge from a live run to the trace drawings."""

from __future__ import annotations

from typing import TYPE_CHECKING

from stepwork._core.errors import WorkflowRuntimeError
from stepwork._drawing.trace import RunTrace, build_trace

if TYPE_CHECKING:
    from stepwork._runtime.handler import WorkflowHandler

__all__ = ["run_trace"]


def run_trace(handler: WorkflowHandler) -> RunTrace:
    """What the run behind ``handler`` did so far, rebuilt from its ticks (no user code runs).

    Works for a finished run and for one still going (its invocations in progress have
    outcome ``running``). A run resumed from a snapshot starts its tick log at the resume,
    so the trace shows what happened since then.

    Args:
        handler: The handler ``Workflow.run`` returned.

    Raises:
        WorkflowRuntimeError: If the run has not started yet (await it, or stream one event,
            first).

    Example:
        >>> handler = MyFlow().run()                       # doctest: +SKIP
        >>> await handler                                  # doctest: +SKIP
        >>> print(trace_to_mermaid(run_trace(handler)))    # doctest: +SKIP
    """
    driver = handler.driver
    if driver is None:
        raise WorkflowRuntimeError(
            "The run has not started yet, so it has no trace.", run_id=handler.run_id
        )
    return build_trace(driver.reducer, list(driver.ticks))
