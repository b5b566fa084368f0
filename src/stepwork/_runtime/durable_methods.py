"""The durable side of ``Workflow``: its store, resuming runs, and time travel.

Kept apart from ``workflow.py`` so that module stays about defining and running workflows.
The methods take ``self`` as a ``DurableWorkflow`` (the protocol ``durable.py`` needs), so
this mixin does not import ``Workflow``. Resuming and time travel load on first use: a
program that only runs workflows in memory never imports them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from stepwork._core.events import Event
from stepwork._runtime.handler import WorkflowHandler
from stepwork._stores.protocol import Store

if TYPE_CHECKING:
    from stepwork._runtime.context import Context
    from stepwork._runtime.durable import DurableWorkflow
    from stepwork._runtime.time_travel import HistoryEntry, ReplayReport

__all__ = ["DurableMethods"]


class DurableMethods:
    """Methods ``Workflow`` gains for durable runs (mixed into ``Workflow``)."""

    _store: Store | None

    @property
    def store(self) -> Store | None:
        """Where runs are journaled, or ``None`` for in-memory runs (close it when done)."""
        return self._store

    def use_store(self, store: Store) -> None:
        """Journal this workflow's runs to ``store`` from now on (a server serving it does).

        Runs already started keep the store they journal to.
        """
        self._store = store

    def resume(self: DurableWorkflow, run_id: str) -> WorkflowHandler:
        """Continue run ``run_id`` from this workflow's store; returns its handler at once.

        Steps whose results were journaled are not run again; steps that were running when
        the process stopped run again from the top (see ``Context.step_key``). A finished run's
        handler completes with its recorded ending.

        Raises:
            WorkflowRuntimeError: If the workflow was built without a store. Awaiting the handler
                raises ``RunNotFoundError`` for an unknown run and ``JournalCorruptError`` for
                a journal with a missing or unreadable record, or without its start tick
                (a run is never resumed from part of its journal).
        """

        from stepwork._runtime.durable import resume_run

        return resume_run(self, run_id)

    async def load_context(self: DurableWorkflow, run_id: str) -> Context[Any]:
        """A new context holding the final ``ctx.store`` state of finished run ``run_id``;
        ``run(ctx=...)`` with it starts a new run that continues from that state (journaled
        with the new run, so it survives a crash like any other).

        Example:
            >>> ctx = await wf.load_context("order-42")           # doctest: +SKIP
            >>> handler = wf.run(ctx=ctx, run_id="order-42-again")  # doctest: +SKIP

        Raises:
            WorkflowRuntimeError: Without a store. ``RunNotFoundError`` for an unknown run.
            ContextStateError: If the run has not finished or is another workflow's.
        """

        from stepwork._runtime.durable import load_context

        return await load_context(self, run_id)

    async def history(self: DurableWorkflow, run_id: str) -> list[HistoryEntry]:
        """One entry per journaled tick of run ``run_id``, with what each changed.

        Raises:
            WorkflowRuntimeError: Without a store. ``RunNotFoundError`` for an unknown run;
                ``JournalCorruptError`` naming the first tick that is missing or unreadable.
        """

        from stepwork._runtime.time_travel import run_history

        return await run_history(self, run_id)

    async def replay(self: DurableWorkflow, run_id: str) -> ReplayReport:
        """Rebuild a journaled run with today's code, without calling steps, and report where
        the code now disagrees with the journal (e.g. a step that no longer exists).

        Raises:
            WorkflowRuntimeError: Without a store. ``RunNotFoundError`` for an unknown run.
        """

        from stepwork._runtime.time_travel import replay_run

        return await replay_run(self, run_id)

    def fork(
        self: DurableWorkflow,
        run_id: str,
        *,
        at: int,
        state_patch: Mapping[str, Any] | None = None,
        events: Sequence[Event] | None = None,
        new_run_id: str | None = None,
    ) -> WorkflowHandler:
        """Start a new run from run ``run_id`` as it was after its first ``at`` ticks.

        ``state_patch`` sets ``ctx.store`` keys (dotted paths) and ``events`` are sent into the
        new run before it continues. Returns the new run's handler at once.

        Raises:
            WorkflowRuntimeError: Without a store. Awaiting the handler raises
                ``RunNotFoundError`` for an unknown run, ``ValueError`` for ``at`` outside the
                journal, ``JournalCorruptError`` when one of the first ``at`` ticks is missing
                or unreadable (only those are read, so a fork from before damage works).
        """

        from stepwork._runtime.time_travel import fork_run

        return fork_run(
            self,
            run_id,
            at=at,
            state_patch=state_patch,
            events=events,
            new_run_id=new_run_id,
        )

    async def resume_all(self: DurableWorkflow) -> list[WorkflowHandler]:
        """Resume every unfinished run of this workflow in its store.

        Raises:
            WorkflowRuntimeError: If the workflow was built without a store.
        """

        from stepwork._runtime.durable import resume_all

        return await resume_all(self)
