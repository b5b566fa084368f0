"""Sends and cancels for runs another process executes: through the store's inbox.

A run whose lease is alive in another process (a worker, another server) is not resumed here
(that would fail: the other process holds it). The request is stored in the run's inbox
instead (``Store.deliver``), and the holder takes it in exactly once (``docs/scale-out.md``).
"""

from __future__ import annotations

import time

from stepwork._core.errors import RunNotFoundError, WorkflowRuntimeError
from stepwork._core.events import Event
from stepwork._runtime.inbox import deliver_cancel, deliver_event
from stepwork._runtime.lease import PROCESS_OWNER, dead_local_owner
from stepwork._server.errors import ApiError
from stepwork._stores.lease_rules import lease_is_free
from stepwork._stores.protocol import RunRecord, Store

__all__ = ["cancel_elsewhere", "held_elsewhere", "send_elsewhere"]


def held_elsewhere(record: RunRecord) -> bool:
    """True if another live process holds running run ``record``'s lease."""
    owner = record.owner
    return (
        record.status == "running"
        and owner is not None
        and owner != PROCESS_OWNER
        and not lease_is_free(owner, record.lease_expires, now=time.time())
        and dead_local_owner(owner) is None
    )


async def send_elsewhere(
    store: Store, record: RunRecord, event: Event, step: str | None, key: str | None
) -> None:
    """Store ``event`` in the run's inbox.

    Raises:
        ApiError: 404 if the run is gone, 409 if it has ended meanwhile.
    """
    try:
        await deliver_event(store, record.run_id, event, step, key)
    except RunNotFoundError:
        raise ApiError("not_found", f"No run {record.run_id!r}.") from None
    except WorkflowRuntimeError:
        raise ApiError("conflict", f"Run {record.run_id!r} has already finished.") from None


async def cancel_elsewhere(store: Store, record: RunRecord) -> None:
    """Store a cancellation in the run's inbox.

    Raises:
        ApiError: 404 if the run is gone, 409 if it has ended meanwhile.
    """
    try:
        await deliver_cancel(store, record.run_id)
    except RunNotFoundError:
        raise ApiError("not_found", f"No run {record.run_id!r}.") from None
    except WorkflowRuntimeError:
        raise ApiError("conflict", f"Run {record.run_id!r} had already ended.") from None
