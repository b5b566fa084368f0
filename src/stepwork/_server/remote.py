"""Sends and cancels for runs that execute in another process: through the store's inbox.

An API node that does not execute a run (``stepwork serve --workers 0``, or a run held by
another node's or worker's lease) cannot hand a sent event or a cancellation to the run's
handler. It stores it in the run's inbox instead (``Store.deliver``), durably, and the holder
(or whoever claims the run next: the message makes it runnable) takes it in exactly once, as a
tick deleted with the message (``docs/scale-out.md``).
"""

from __future__ import annotations

import time
from collections.abc import Collection
from typing import Any, Literal

from stepwork._core.errors import RunNotFoundError, StoreError, WorkflowRuntimeError
from stepwork._runtime.lease import dead_local_owner
from stepwork._server.errors import ApiError
from stepwork._stores.lease_rules import lease_is_free
from stepwork._stores.protocol import RunRecord, Store

__all__ = ["DeliveryKind", "deliver_remote", "held_elsewhere"]

DeliveryKind = Literal["event", "cancel"]
"""What is delivered: an event sent into the run, or a request to cancel it."""


def held_elsewhere(record: RunRecord, mine: Collection[str]) -> bool:
    """True if a live process other than the lease owners ``mine`` holds run ``record``
    (as last read): its lease has not lapsed and its owner is not a dead process of this host.
    """
    if record.owner is None or record.owner in mine or dead_local_owner(record.owner):
        return False
    return not lease_is_free(record.owner, record.lease_expires, now=time.time())


async def deliver_remote(
    store: Store,
    run: RunRecord,
    kind: DeliveryKind,
    record: dict[str, Any] | None,
    idempotency_key: str | None,
    at: float,
    *,
    step: str | None = None,
) -> None:
    """Deliver ``record`` (an event record, or ``None`` for a cancel) to run ``run``, which
    executes elsewhere, durably and once per ``idempotency_key``: its inbox takes it, and the
    holder turns it into a tick.

    Raises:
        ApiError: 404 if the run is gone; 409 if it ended meanwhile; 503 ``unavailable`` if
            the store could not store the message (nothing was stored).
    """
    try:
        await store.deliver(run.run_id, kind, record, idempotency_key, at, step=step)
    except RunNotFoundError:
        raise ApiError("not_found", f"No run {run.run_id!r}.") from None
    except WorkflowRuntimeError:
        raise ApiError("conflict", f"Run {run.run_id!r} has already finished.") from None
    except StoreError as error:
        raise ApiError(
            "unavailable", f"Run {run.run_id!r}: the message was not stored: {error}"
        ) from None
