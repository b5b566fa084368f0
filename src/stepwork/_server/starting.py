"""Starting a run through the API, whether this server executes it or enqueues it.

A server that executes runs (no ``workers=``) starts the run here and answers once its first
journal write is done. A server with ``workers=N`` executes nothing on request: it stores the
run's start tick, runnable at once (``enqueue``), and answers once that is stored; a worker
loop (here, on another node, or a ``stepwork worker``) claims it. Waiting for the end of a run
executing elsewhere follows the store (``follow.StoreFollower``).
"""

from __future__ import annotations

import asyncio
from typing import Any

from stepwork._core.errors import JournalConflictError
from stepwork._core.events import StartEvent
from stepwork._runtime.context import Context
from stepwork._runtime.worker import enqueue
from stepwork._server.errors import ApiError
from stepwork._server.runs import RunRegistry
from stepwork._server.served import ServedWorkflow
from stepwork._stores.protocol import TERMINAL_STATUSES

__all__ = ["launch_run", "wait_ended"]


async def launch_run(
    registry: RunRegistry,
    entry: ServedWorkflow,
    start_event: StartEvent,
    run_id: str | None,
    ctx: Context[Any] | None = None,
    field: str = "run_id",
) -> str:
    """Start a run of ``entry`` and return its id once it is stored.

    Raises:
        StartEventError: If the start event does not fit the workflow.
        ApiError: 409 if ``run_id`` is taken; 422 ``continue_from`` on a server that
            enqueues; 503 if it could not be stored.
    """
    if registry.executes:
        handler = entry.workflow.run(ctx=ctx, start_event=start_event, run_id=run_id)
        run = await registry.adopt(entry, handler)
        return run.handler.run_id
    if ctx is not None:
        raise ApiError(
            "invalid",
            "continue_from needs a server that executes runs: this one enqueues them for "
            "workers (--workers). Start it through a server without --workers.",
            "continue_from",
        )
    try:
        return await enqueue(entry.workflow, start_event, run_id)
    except JournalConflictError:
        raise ApiError("conflict", f"A run {run_id!r} already exists.", field) from None


async def wait_ended(registry: RunRegistry, run_id: str) -> None:
    """Wait until run ``run_id`` has ended (and its ending is stored).

    Raises:
        ApiError: 503 if the server began shutting down first (the run goes on), or the run
            executing here could not store its ending.
    """
    run = registry.live.get(run_id)
    if run is not None:
        await registry.until_done(run.handler)
        registry.check_stored(run.handler)  # its ending was not stored: no answer to give
        return
    loop = asyncio.get_running_loop()
    stop = loop.create_task(registry.stopping())
    try:
        with registry.follower.watch(run_id) as watch:
            while True:
                watch.clear()
                if (await registry.store.get_run(run_id)).status in TERMINAL_STATUSES:
                    return
                run = registry.live.get(run_id)  # a worker loop here claimed it meanwhile
                if run is not None and not run.handler.done():
                    await registry.until_done(run.handler)
                    continue  # ended, or handed back: the store says which
                changed = loop.create_task(watch.changed())
                await asyncio.wait([changed, stop], return_when=asyncio.FIRST_COMPLETED)
                changed.cancel()
                if stop.done():
                    raise ApiError(
                        "unavailable",
                        f"The server is shutting down; run {run_id!r} goes on elsewhere.",
                    )
    finally:
        stop.cancel()
