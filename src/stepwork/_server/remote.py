"""Delivering an event or a cancellation to a run that executes in another process.

An API node that does not execute a run (``stepwork serve --workers 0``, or a run held by
another node's or worker's lease) cannot hand a sent event or a cancellation to the run's
handler. It has to put it in the store, durably, for the holder to consume exactly once
(``Store.deliver``). Until that store method exists this is the one place that would call it,
and it refuses with a clear 503.
"""

from __future__ import annotations

import time
from collections.abc import Collection
from typing import Any, Literal

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
) -> None:
    """Deliver ``record`` (an event record, or ``None`` for a cancel) to run ``run``, which
    executes elsewhere, durably and once per ``idempotency_key``.

    Raises:
        ApiError: 503 ``unavailable``: this build cannot deliver to a run another process
            executes yet.
    """
    del store, record, idempotency_key, at  # wired to Store.deliver once it exists
    holder = f"held by {run.owner}" if run.owner else "not executing in this node"
    what = "an event" if kind == "event" else "a cancellation"
    raise ApiError(
        "unavailable",
        f"Run {run.run_id!r} is {holder}; this node cannot deliver {what} to a run another "
        "process executes yet (durable delivery through the store is not in this build). "
        "Send it through a node that executes runs (stepwork serve without --workers 0).",
    )
