"""Reading runs for the server: stored records, ``RunInfo``, and what cannot be read.

The read side of the run registry (``runs.RunRegistry``, which starts, resumes, registers and
lets go of runs, owns the table of runs live in this process and keeps the reasons runs could
not be resumed). :class:`RunReads` is handed both as read-only mappings and never changes them,
so every question here is answered from the store and from what the registry has recorded, and
answering one starts, resumes or registers nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from stepwork._core.errors import JournalCorruptError, RunNotFoundError
from stepwork._runtime.context import Context
from stepwork._runtime.handler import WorkflowHandler
from stepwork._runtime.versions import not_continued
from stepwork._server import live as live_runs
from stepwork._server.errors import ApiError, from_corrupt
from stepwork._server.served import ServedWorkflow
from stepwork._server.shapes import run_info
from stepwork._stores.protocol import TERMINAL_STATUSES, RunRecord, Store

__all__ = ["LiveRun", "RunReads"]


@dataclass
class LiveRun:
    """A run executing in this process.

    Attributes:
        served: Its workflow.
        handler: Its handler.
        created_at: When this process started or resumed it.
        frames: Encoded stream frames by ``(offset, format)``, shared by its readers.
    """

    served: ServedWorkflow
    handler: WorkflowHandler
    created_at: float
    frames: dict[tuple[int, str], bytes] = field(default_factory=dict)


class RunReads:
    """Answers about the runs of ``served`` workflows journaled in ``store``.

    Args:
        store: The journal of every run.
        served: The served workflows, by served name.
        live: The runs executing in this process, by run id (kept by the registry).
        unresumable: Why runs could not be read back when resumed here, by run id (kept by
            the registry).
    """

    def __init__(
        self,
        store: Store,
        served: Mapping[str, ServedWorkflow],
        live: Mapping[str, LiveRun],
        unresumable: Mapping[str, BaseException],
    ) -> None:
        self.store = store
        self.served = served
        self.live = live
        self.unresumable = unresumable
        self._by_journal = {entry.journal_name: entry for entry in served.values()}

    def workflow(self, name: str) -> ServedWorkflow:
        """The workflow served as ``name``.

        Raises:
            ApiError: 404 if there is none.
        """
        entry = self.served.get(name)
        if entry is None:
            known = ", ".join(sorted(self.served)) or "none"
            raise ApiError("not_found", f"No workflow {name!r} (served: {known}).")
        return entry

    def served_for(self, record: RunRecord) -> ServedWorkflow | None:
        """The served workflow a stored run belongs to, if this server serves it."""
        return self._by_journal.get(record.workflow)

    def by_journal_name(self, journal_name: str) -> ServedWorkflow:
        """The served workflow whose runs are journaled as ``journal_name`` (one served here).

        Raises:
            KeyError: If no served workflow journals under that name.
        """
        return self._by_journal[journal_name]

    def journal_names(self, names: Sequence[str]) -> list[str]:
        """The journal names of workflows given by their served names (others unchanged)."""
        return [self.served[n].journal_name if n in self.served else n for n in names]

    async def record(self, run_id: str) -> RunRecord:
        """The stored run ``run_id``, or a placeholder for a live run not yet written.

        Raises:
            ApiError: 404 if there is no such run.
        """
        try:
            return await self.store.get_run(run_id)
        except RunNotFoundError:
            run = self.live.get(run_id)
            if run is None:
                raise ApiError("not_found", f"No run {run_id!r}.") from None
            at = run.created_at
            return RunRecord(run_id, run.served.journal_name, "running", at, at)

    def corruption(self, record: RunRecord) -> JournalCorruptError | None:
        """Why run ``record`` cannot be read, if it cannot: its row is unreadable, or its
        journal could not be read back when it was resumed here."""
        if record.corrupt is not None:
            return record.corrupt
        broken = self.unresumable.get(record.run_id)
        return broken if isinstance(broken, JournalCorruptError) else None

    def info(self, record: RunRecord) -> dict[str, Any]:
        """``RunInfo`` of a stored run (with the reason, if it cannot be read or resumed)."""
        entry = self.served_for(record)
        if entry is None:
            info = run_info(record, record.workflow, None)
        else:
            info = run_info(record, entry.name, entry.registry)
            info["not_continued"] = not_continued(record, entry.workflow.workflow_version)
        broken = record.corrupt or self.unresumable.get(record.run_id)
        if broken is not None and info["error"] is None:
            info["error"] = {
                "type": type(broken).__name__,
                "message": str(broken),
                "step": None,
                "traceback": None,
            }
        return info

    async def info_of(self, run_id: str) -> dict[str, Any]:
        """``RunInfo`` of run ``run_id``.

        Raises:
            ApiError: 404 if there is no such run; 409 ``journal_corrupt`` if it cannot be read.
        """
        record = await self.record(run_id)
        broken = self.corruption(record)
        if broken is not None:
            raise from_corrupt(broken)
        return self.info(record)

    async def ensure_absent(self, run_id: str) -> None:
        """Refuse a new run id that is taken.

        Raises:
            ApiError: 409 if a run ``run_id`` exists.
        """
        exists = run_id in self.live
        if not exists:
            try:
                await self.store.get_run(run_id)
                exists = True
            except RunNotFoundError:
                pass
        if exists:
            raise ApiError("conflict", f"A run {run_id!r} already exists.", "run_id")

    async def finished_context(self, entry: ServedWorkflow, run_id: str) -> Context[Any]:
        """A context holding the final state of finished run ``run_id`` of ``entry``.

        Raises:
            ApiError: 404 if there is no such run; 409 if it has not finished or belongs to
                another workflow.
        """
        try:
            record = await self.store.get_run(run_id)
        except RunNotFoundError:
            if run_id not in self.live:
                raise ApiError("not_found", f"No run {run_id!r}.", "continue_from") from None
            record = await self.record(run_id)  # started here, not yet written: running
        if record.workflow != entry.journal_name:
            raise ApiError(
                "conflict",
                f"Run {run_id!r} is a run of {self.info(record)['workflow']!r}, not of "
                f"{entry.name!r}: only a run of the same workflow can be continued.",
                "continue_from",
            )
        live = self.live.get(run_id)
        if record.status not in TERMINAL_STATUSES or (
            live is not None and not live_runs.is_finished(live.handler)
        ):
            raise ApiError(
                "conflict",
                f"Run {run_id!r} has not finished; only a finished run can be continued.",
                "continue_from",
            )
        try:
            return await entry.workflow.load_context(run_id)
        except JournalCorruptError as error:
            raise from_corrupt(error, "continue_from") from None
