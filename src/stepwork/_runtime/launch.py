"""Launching a run: wire a ``Context``, a ``WorkflowHandler`` and a journal to a new driver.

``Workflow.run`` decides *what* to run (the definition, the start event, the run id);
this module builds the run's driver and connects the pieces through their named wiring
methods (``Context.wiring``, ``WorkflowHandler.bind``/``complete``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from stepwork._runtime.driver import RunDriver, StepOwner
from stepwork._runtime.lineage import PARENT_RUN, parent_meta

if TYPE_CHECKING:
    from stepwork._core.events import StartEvent
    from stepwork._runtime.clock import Clock
    from stepwork._runtime.context import Context
    from stepwork._runtime.definition import WorkflowDefinition
    from stepwork._runtime.handler import WorkflowHandler
    from stepwork._stores.protocol import Store

__all__ = ["LaunchedWorkflow", "launch"]


class LaunchedWorkflow(StepOwner, Protocol):
    """What launching a run needs of its workflow (``Workflow`` is one)."""

    @property
    def store(self) -> Store | None:
        """Where the run is journaled, or ``None``."""
        ...

    @property
    def workflow_name(self) -> str:
        """The name the run is journaled under."""
        ...

    @property
    def workflow_version(self) -> str:
        """The version runs started here record."""
        ...

    @property
    def clock(self) -> Clock:
        """The run's source of time."""
        ...

    @property
    def timeout(self) -> float | None:
        """Seconds the run may take, or ``None``."""
        ...


def launch(
    workflow: LaunchedWorkflow,
    definition: WorkflowDefinition,
    context: Context[Any],
    handler: WorkflowHandler,
    start_event: StartEvent | None,
    on_end: Callable[[], None] | None = None,
) -> None:
    """Start the run ``handler`` stands for (``start_event`` ``None``: resume a restored one).

    Raises:
        StateSerializationError: With a store, if the start tick cannot be journaled; the
            context is left as it was, reusable.
    """
    wiring = context.wiring
    # A restored snapshot, or ctx.store state carried over from an earlier run, goes into
    # the run's first tick as its base, so the tick log (and the journal) is the whole run.
    carried = wiring.carry
    restored = base = wiring.take_restored()
    if base is None and carried:
        base = definition.reducer.new_state(handler.run_id, wiring.store.to_json())
    state = definition.reducer.new_state(handler.run_id)

    def finished(stop: Any, error: BaseException | None) -> None:
        handler.complete(stop, error)
        if on_end is not None:
            on_end()

    parent = PARENT_RUN.get()
    journal = None
    if workflow.store is not None:
        # Journals, leases and limits load with the first run that needs them.
        from stepwork._runtime.journal import Journal

        journal = Journal(
            workflow.store,
            handler.run_id,
            workflow.workflow_name,
            version=workflow.workflow_version,
            parent_run_id=parent,
        )
    driver = RunDriver(
        definition, workflow, context, handler.run_id, state, workflow.clock, finished, journal
    )
    if parent is not None:  # a child workflow's journal names its parent
        driver.stamper.meta = parent_meta(parent)
    wiring.attach(driver)
    handler.store = workflow.store
    handler.bind(driver)
    if start_event is not None and definition.limited:
        from stepwork._runtime.limiter import check_limit_keys, remember_start

        check_limit_keys(getattr(workflow, "limits", {}), definition, start_event, handler.run_id)
        remember_start(driver, start_event)
    if journal is not None:
        from stepwork._runtime.lease import hold_new_run

        hold_new_run(driver, handler)  # a durable run belongs to this process's lease
    try:
        driver.start(start_event, workflow.timeout, base)
    except BaseException:
        # The run never started: the context stays as it was, reusable.
        wiring.unstarted(restored, carried)
        raise
