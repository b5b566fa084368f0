"""The lease side of ``MemoryStore`` (:class:`MemoryLeases`): claims, renewals, releases,
durable timers and the inbox, over the store's runs.

Every method finishes without awaiting anything, so on one event loop each call is atomic.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from stepwork._core.errors import RunNotFoundError
from stepwork._stores.inbox_rules import no_such_run, run_ended
from stepwork._stores.lease_rules import lease_is_free, renew_lost, version_fits
from stepwork._stores.memory_runs import MemoryRun
from stepwork._stores.protocol import DueTimer, InboxKind, InboxMessage, InboxNotice, Lease
from stepwork._stores.records import decode_record, encode_value

__all__ = ["MemoryLeases"]


class MemoryLeases:
    """The lease, timer and inbox methods of the ``Store`` protocol in memory: what a worker
    uses to hold runs. ``MemoryStore`` is one, and adds the journal and its reads.

    It keeps the runs (``_runs``, by id), numbers inbox messages and finds a run (``_get``)
    for the store's other methods too.

    Args:
        clock: Seconds since the epoch: the "now" of claims, renewals and releases.
    """

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._runs: dict[str, MemoryRun] = {}
        self._message_ids = itertools.count(1)

    async def claim_run(
        self, run_id: str, owner: str, ttl: float, *, take_from: str | None = None
    ) -> Lease | None:
        """Take run ``run_id`` for ``owner`` for ``ttl`` seconds if its lease is free, expired or
        already ``owner``'s, bumping its epoch; ``None`` if someone else holds it.

        Raises:
            RunNotFoundError: If there is no such run.
        """
        run = self._get(run_id)
        now = self._clock()
        mine = run.owner is not None and run.owner in (owner, take_from)
        if not mine and not lease_is_free(run.owner, run.lease_expires, now=now):
            return None
        return self._claim(run_id, run, owner, ttl, now)

    async def claim_runnable(
        self,
        owner: str,
        ttl: float,
        limit: int,
        workflows: Sequence[str] | None = None,
        versions: Mapping[str, str] | None = None,
    ) -> list[Lease]:
        """Claim up to ``limit`` runnable running runs with a free or expired lease, the
        longest waiting first."""
        now = self._clock()
        ready = [
            (run.owner is None, run.runnable_at, run.order, run_id, run)
            for run_id, run in self._runs.items()
            if run.status == "running"
            and run.runnable_at is not None
            and run.runnable_at <= now
            and lease_is_free(run.owner, run.lease_expires, now=now)
            and (workflows is None or run.workflow in workflows)
            and version_fits(run.workflow, run.version, versions)
        ]
        ready.sort(key=lambda item: (item[0], item[1], item[2]))
        return [
            replace(self._claim(run_id, run, owner, ttl, now), workflow=run.workflow)
            for *_, run_id, run in ready[:limit]
        ]

    async def renew(self, lease: Lease, ttl: float) -> Lease:
        """Extend ``lease`` to ``ttl`` seconds from now.

        Raises:
            LeaseLostError: If the run's epoch moved on or the lease was released.
        """
        renewed = (await self.renew_many([lease], ttl))[0]
        if renewed is None:
            raise renew_lost(lease.run_id, lease.owner, lease.epoch)
        return renewed

    async def renew_many(self, leases: Sequence[Lease], ttl: float) -> list[Lease | None]:
        """``renew`` for each of ``leases``: the renewed lease, ``None`` for one lost."""
        expires = self._clock() + ttl
        renewed: list[Lease | None] = []
        for lease in leases:
            run = self._runs.get(lease.run_id)
            if run is None or not run.held_by(lease):
                renewed.append(None)
                continue
            run.lease_expires = expires
            renewed.append(Lease(lease.run_id, lease.owner, lease.epoch, expires))
        return renewed

    async def release(self, lease: Lease, *, idle: bool = False) -> bool:
        """Give the run back; idle: runnable at its earliest timer, else at once. False if
        ``lease`` is no longer the run's."""
        return (await self.release_many([lease], idle=idle))[0]

    async def release_many(self, leases: Sequence[Lease], *, idle: bool = False) -> list[bool]:
        """``release`` for each of ``leases``."""
        released = []
        for lease in leases:
            run = self._runs.get(lease.run_id)
            held = run is not None and run.held_by(lease)
            if run is not None and held:
                run.give_back(idle, self._clock())
            released.append(held)
        return released

    async def due_timers(self, now: float, limit: int | None = None) -> list[DueTimer]:
        """Timers of running runs with ``fire_at <= now``, the earliest first."""
        due = sorted(
            (at, run.order, timer_id, run_id)
            for run_id, run in self._runs.items()
            if run.status == "running"
            for timer_id, at in run.timers.items()
            if at <= now
        )
        chosen = due if limit is None else due[: max(limit, 0)]
        return [DueTimer(run_id, timer_id, at) for at, _, timer_id, run_id in chosen]

    async def next_timer(self, run_id: str) -> float | None:
        """When the run's earliest timer fires; ``None`` if it has none."""
        run = self._runs.get(run_id)
        return None if run is None else min(run.timers.values(), default=None)

    async def deliver(
        self,
        run_id: str,
        kind: InboxKind,
        record: dict[str, Any] | None,
        idempotency_key: str | None,
        at: float,
        *,
        step: str | None = None,
    ) -> None:
        """Store a message in the run's inbox and make the run runnable from ``at``; a
        pending message with the same key stores nothing.

        Raises:
            RunNotFoundError: If there is no such run.
            WorkflowRuntimeError: If the run has ended.
        """
        run = self._runs.get(run_id)
        if run is None:
            raise no_such_run(run_id)
        if run.status != "running":
            raise run_ended(run_id, run.status)
        if idempotency_key is not None and any(
            message.idempotency_key == idempotency_key for message in run.inbox.values()
        ):
            return
        text = None if record is None else encode_value(run_id, record, "inbox record")
        message_id = next(self._message_ids)
        stored = None if text is None else decode_record(run_id, message_id, text, "event")
        run.inbox[message_id] = InboxMessage(
            message_id, run_id, kind, stored, idempotency_key, at, step
        )
        run.runnable_from(at)

    async def load_inbox(self, run_id: str) -> list[InboxMessage]:
        """The run's pending inbox messages, in delivery order."""
        run = self._runs.get(run_id)
        return [] if run is None else [run.inbox[key] for key in sorted(run.inbox)]

    async def with_messages(self, run_ids: Sequence[str]) -> set[str]:
        """Those of ``run_ids`` whose inbox holds a message."""
        return {run_id for run_id in run_ids if (run := self._runs.get(run_id)) and run.inbox}

    def _claim(self, run_id: str, run: MemoryRun, owner: str, ttl: float, now: float) -> Lease:
        previous = run.owner
        run.owner, run.lease_expires, run.epoch = owner, now + ttl, run.epoch + 1
        run.runnable_at = now  # if this lease lapses, the run is claimable at once
        return Lease(run_id, owner, run.epoch, run.lease_expires, previous)

    def _notify(self, notice: InboxNotice, text: str, at: float) -> None:
        """Deliver an append's notice to another run, unless it is gone or ended."""
        target = self._runs.get(notice.run_id)
        if target is None or target.status != "running":
            return
        if any(m.idempotency_key == notice.idempotency_key for m in target.inbox.values()):
            return
        message_id = next(self._message_ids)
        record = decode_record(notice.run_id, message_id, text, "event")
        target.inbox[message_id] = InboxMessage(
            message_id, notice.run_id, "event", record, notice.idempotency_key, at
        )
        target.runnable_from(at)

    def _get(self, run_id: str) -> MemoryRun:
        run = self._runs.get(run_id)
        if run is None:
            raise RunNotFoundError(f"No run {run_id!r} in this store.", run_id=run_id)
        return run
