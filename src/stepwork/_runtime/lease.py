"""Holding a run's lease while this process executes it: heartbeats, and stopping on loss.

A durable run is executed under a lease on its store row (``docs/scale-out.md``). The
:class:`LeaseKeeper` renews it every ``heartbeat`` seconds for ``ttl`` seconds, together with
every other lease this process holds on that store (one ``Store.renew_many`` per heartbeat).
When the store says the lease is gone (another process claimed the run: its epoch moved
on), or renewals keep failing until the lease has lapsed by this host's clock, the keeper
calls ``on_lost`` once and stops; :func:`hold_run` wires that to the run's driver, which
stops the run's work at once: its journal refuses every later write and its step tasks are
cancelled. Even a process that missed the loss (paused, partitioned) cannot write: every
journal batch carries the lease's epoch, and the store refuses a stale one in the same
transaction.

Settings: ``ttl`` (default 10 s) and ``heartbeat`` (default 3 s), from
:class:`LeaseSettings`, or ``$STEPWORK_LEASE_TTL`` and ``$STEPWORK_LEASE_HEARTBEAT``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from stepwork._core.errors import LeaseLostError, StoreError, WorkflowConfigurationError
from stepwork._runtime.inbox import InboxReader
from stepwork._runtime.renewals import Renewals, renewals_for
from stepwork._runtime.snapshot import SnapshotWorkflow, registry_for
from stepwork._stores.protocol import Lease, Store

if TYPE_CHECKING:
    from stepwork._runtime.driver import RunDriver

__all__ = [
    "PROCESS_OWNER",
    "claimed_keeper",
    "dead_local_owner",
    "LeaseKeeper",
    "LeaseSettings",
    "hold_new_run",
    "hold_run",
    "new_owner",
]

TTL_ENV = "STEPWORK_LEASE_TTL"
HEARTBEAT_ENV = "STEPWORK_LEASE_HEARTBEAT"


def dead_local_owner(owner: str | None) -> str | None:
    """``owner`` if it names a process on this host that no longer exists, else ``None``.

    A restarted process takes such a process's runs over at once instead of waiting for its
    leases to lapse. A pid that was reused by a new process looks alive: then the run waits
    for the lease to lapse, which is safe.
    """
    if owner is None:
        return None
    rest = owner.split(":")
    if len(rest) < 3 or ":".join(rest[:-2]) != socket.gethostname():
        return None
    try:
        os.kill(int(rest[-2]), 0)
    except ProcessLookupError:
        return owner
    except (ValueError, OSError):
        return None
    return None


def new_owner() -> str:
    """A lease owner id unique to this process: host, pid and a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


PROCESS_OWNER = new_owner()
"""The owner id this process's runs and workers hold leases under (unless given another)."""


@dataclass(frozen=True)
class LeaseSettings:
    """How long a lease lasts and how often it is renewed.

    Attributes:
        ttl: Seconds a lease lasts unless renewed; a dead process's runs are taken over by
            others this long after its last renewal (plus their poll or wake-up).
        heartbeat: Seconds between renewals; must be less than ``ttl`` (a third is usual).

    Raises:
        WorkflowConfigurationError: If ``heartbeat`` is not positive or not less than ``ttl``.

    Example:
        >>> LeaseSettings.from_env({"STEPWORK_LEASE_TTL": "1", "STEPWORK_LEASE_HEARTBEAT": "0.3"})
        LeaseSettings(ttl=1.0, heartbeat=0.3)
    """

    ttl: float = 10.0
    heartbeat: float = 3.0

    def __post_init__(self) -> None:
        if not 0 < self.heartbeat < self.ttl:
            raise WorkflowConfigurationError(
                f"Lease heartbeat {self.heartbeat} s must be positive and shorter than the lease "
                f"ttl {self.ttl} s, or leases lapse between renewals: use e.g. ttl=10, "
                "heartbeat=3."
            )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> LeaseSettings:
        """Settings from ``$STEPWORK_LEASE_TTL`` and ``$STEPWORK_LEASE_HEARTBEAT`` (seconds),
        the defaults where unset.

        Raises:
            WorkflowConfigurationError: If a value is not a number, or they do not fit.
        """
        environ = os.environ if environ is None else environ
        values: dict[str, float] = {}
        for name, field_name in ((TTL_ENV, "ttl"), (HEARTBEAT_ENV, "heartbeat")):
            text = environ.get(name)
            if text:
                try:
                    values[field_name] = float(text)
                except ValueError:
                    raise WorkflowConfigurationError(
                        f"${name} must be a number of seconds, got {text!r}."
                    ) from None
        return cls(**values)


class LeaseKeeper:
    """Holds one lease until stopped or lost; its renewals go with every other lease this
    process holds on the same store (:mod:`stepwork._runtime.renewals`): one statement per
    heartbeat for them all.

    Args:
        store: The store holding the lease.
        lease: The lease as claimed.
        settings: Its ttl and heartbeat.
        on_lost: Called once, on the event loop, when the lease is lost.
        clock: This host's clock, to tell when a lease whose renewals failed has lapsed.
    """

    def __init__(
        self,
        store: Store,
        lease: Lease,
        settings: LeaseSettings,
        on_lost: Callable[[LeaseLostError], None],
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.lease = lease
        self.settings = settings
        self.lost: LeaseLostError | None = None
        self.on_lost = on_lost
        """Called once, on the event loop, when the lease is lost."""
        self._clock = clock
        self._task: asyncio.Task[None] | None = None  # waits for ``after``, then joins
        self._renewals: Renewals | None = None
        self.active: Callable[[], bool] = lambda: True
        """Checked before each renewal: once False (the run was let go here), the keeper
        stops and releases the run, so another process may continue it at once."""
        self.on_renewed: Callable[[], None] = lambda: None
        """Called after a renewal that found messages in the run's inbox (the holder looks
        in it then)."""

    def check(self) -> LeaseLostError | None:
        """``None`` while this process may act for the run; else why not: the lease was lost,
        or it lapsed by this host's clock with no renewal since (the process stalled, or the
        store was slow), so another process may have taken the run over already."""
        if self.lost is not None:
            return self.lost
        if self._clock() < self.lease.expires:
            return None
        return LeaseLostError(
            f"Run {self.lease.run_id!r}: this process's lease lapsed with no renewal (the "
            "process stalled, or the store answered too slowly); another process may be "
            "running the run, so this one stopped its work rather than start a step. Give "
            "leases a longer ttl if this happens often.",
            run_id=self.lease.run_id,
        )

    def start(self, after: Awaitable[None] | None = None) -> None:
        """Start heartbeats (once ``after`` is done, e.g. the run's row is written)."""
        if after is None:
            self._join()
        else:
            self._task = asyncio.get_running_loop().create_task(self._join_after(after))

    async def stop(self, *, release: bool = False, idle: bool = False) -> None:
        """Stop renewing; with ``release``, give the run back (see ``Store.release``)."""
        lease = self.let_go()
        if release and lease is not None:
            with contextlib.suppress(StoreError):  # unreleased, it lapses after ttl anyway
                await self.store.release(lease, idle=idle)

    def let_go(self) -> Lease | None:
        """Stop renewing; the lease to release (``None`` if it was lost), so a caller letting
        many runs go releases them together (``Store.release_many``)."""
        self.cancel()
        return None if self.lost is not None else self.lease

    def cancel(self) -> None:
        """Stop renewing without waiting (from a callback); the lease lapses after ttl."""
        if self._task is not None:
            self._task.cancel()
            self._task = None
        renewals, self._renewals = self._renewals, None
        if renewals is not None:
            renewals.leave(self)

    async def _join_after(self, after: Awaitable[None]) -> None:
        await after
        self._task = None
        self._join()

    def _join(self) -> None:
        self._renewals = renewals_for(self.store, self.settings)
        self._renewals.join(self)

    # What ``Renewals`` tells this keeper after each beat (see ``renewals.Held``).

    def renewed(self, lease: Lease, messages: bool) -> None:
        """The lease was renewed as ``lease``; look in the inbox if ``messages`` wait."""
        self.lease = lease
        if messages:
            self.on_renewed()

    def renewal_failed(self, error: StoreError) -> None:
        """The store failed: keep the lease until it lapses by this host's clock."""
        if self._clock() < self.lease.expires:
            return  # the database may come back before the lease lapses
        lost = LeaseLostError(
            f"Run {self.lease.run_id!r}: the lease could not be renewed before it "
            f"lapsed ({error}); another process may have taken the run over, so this "
            "process stopped its work.",
            run_id=self.lease.run_id,
        )
        lost.__cause__ = error
        self.lose(lost)

    def lose(self, error: LeaseLostError) -> None:
        """The lease is lost: stop renewing, and tell ``on_lost`` (once)."""
        self.cancel()
        if self.lost is None:
            self.lost = error
            self.on_lost(error)


def claimed_keeper(store: Store, lease: Lease, settings: LeaseSettings | None) -> LeaseKeeper:
    """A keeper renewing a just-claimed ``lease`` at once, before its run is read and folded
    (which may take longer than the lease lasts when many runs are claimed together); hand it
    to :func:`hold_run` as ``keeper``. Lost meanwhile, ``hold_run`` raises."""

    def lost(error: LeaseLostError) -> None:
        pass  # hold_run finds it in ``keeper.lost``

    keeper = LeaseKeeper(store, lease, settings or LeaseSettings.from_env(), lost)
    keeper.start()
    return keeper


def hold_run(
    driver: RunDriver,
    lease: Lease,
    settings: LeaseSettings,
    done: asyncio.Future[object],
    *,
    look_now: bool = True,
    keeper: LeaseKeeper | None = None,
) -> LeaseKeeper:
    """Execute ``driver``'s run under ``lease``: its journal writes are fenced by the lease's
    epoch, heartbeats renew it until ``done`` (the run's handler) completes, and losing it
    stops the run's work at once and fails ``done`` with ``LeaseLostError``. Messages in the
    run's inbox are taken in as ticks (at once with ``look_now``, then after each renewal and
    whenever ``journal.check_inbox`` is called).

    ``keeper``: one renewing ``lease`` since the claim (:func:`claimed_keeper`), adopted
    with the lease as it last renewed it.

    Raises:
        WorkflowConfigurationError: If the driver has no journal (an in-memory run takes no
            lease).
        LeaseLostError: If ``keeper`` lost the lease already.
    """
    journal = driver.journal
    if journal is None:
        raise WorkflowConfigurationError("Only a durable run (one with a store) holds a lease.")
    if keeper is not None:
        if keeper.lost is not None:
            raise keeper.lost
        lease = keeper.lease
    journal.lease = lease
    driver.stamper.epoch = lease.epoch  # each tick's envelope names the epoch it was written in

    def lost(error: LeaseLostError) -> None:
        if journal.failure is None:
            journal.failure = error  # nothing staged from now on is written
        driver.lease_lost(error)

    if keeper is None:
        keeper = LeaseKeeper(journal.store, lease, settings, lost)
        keeper.start(after=journal.written(1))  # renewals begin once the run's row exists
    else:
        keeper.on_lost = lost
    keeper.active = lambda: journal.failure is None
    driver.lease_check = keeper.check
    # Outside input to the run waits in the store's inbox: take it in at the claim, on a
    # notification, and after each renewal.
    reader = InboxReader(driver, lambda: registry_for(cast(SnapshotWorkflow, driver.workflow)))
    journal.check_inbox = reader.look
    keeper.on_renewed = reader.look
    if look_now:
        reader.look()

    def ended(_: object) -> None:
        keeper.cancel()
        reader.stop()
        journal.check_inbox = journal.let_go = None

    def let_go() -> Lease | None:
        reader.stop()
        journal.check_inbox = journal.let_go = None
        return keeper.let_go()

    journal.let_go = let_go

    done.add_done_callback(ended)
    return keeper


def hold_new_run(driver: RunDriver, done: asyncio.Future[object]) -> LeaseKeeper | None:
    """Hold a new durable run (``driver`` has a journal) under a lease of this process from
    its first write on, with :meth:`LeaseSettings.from_env`; ``None`` for an in-memory run."""
    if driver.journal is None:
        return None
    settings = LeaseSettings.from_env()
    lease = Lease(driver.run_id, PROCESS_OWNER, 1, time.time() + settings.ttl)
    return hold_run(driver, lease, settings, done, look_now=False)  # a new run has no messages
