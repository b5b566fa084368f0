"""In-process worker loops beside an API node (``stepwork serve --workers N``).

A node started with ``workers=N`` executes no run itself on request: starting a run enqueues
it (``stepwork._runtime.worker.enqueue``) and returns once it is stored, and ``N`` worker loops
(:class:`~stepwork._runtime.worker.Worker`, each with its own lease owner id) claim runnable
runs of the served workflows from the store, this node's and any other's, exactly as
``stepwork worker`` processes do. The runs they hold are registered with the node, so sends,
cancels and streams of those runs go to them in memory. ``workers=0`` runs no loop: the node
only reads and enqueues.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence

from stepwork._runtime.handler import WorkflowHandler
from stepwork._runtime.lease import LeaseSettings, new_owner
from stepwork._runtime.worker import Worker
from stepwork._runtime.workflow import Workflow
from stepwork._stores.protocol import Store

__all__ = ["WorkerPool"]

_log = logging.getLogger("stepwork.server")


class WorkerPool:
    """``count`` worker loops over ``store``, each executing runs of ``workflows``.

    Args:
        workflows: The served workflows (each journals to ``store``).
        store: The shared store.
        count: How many loops (0: none).
        on_claim: Called with each run a loop starts executing.
        settings: Lease ttl and heartbeat (default: from the environment).
    """

    def __init__(
        self,
        workflows: Sequence[Workflow],
        store: Store,
        count: int,
        on_claim: Callable[[Workflow, WorkflowHandler], None],
        settings: LeaseSettings | None = None,
    ) -> None:
        # One loop per node fires schedules: the others would only lose the race for each slot.
        self.workers = [
            Worker(
                workflows,
                store,
                settings=settings,
                owner=new_owner(),
                on_claim=on_claim,
                fire_schedules=number == 0,
            )
            for number in range(count)
        ]
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        """Start the loops (on the running event loop)."""
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(worker.run(self._stop)) for worker in self.workers]

    async def stop(self) -> None:
        """Stop claiming and hand every unfinished run back (released, nothing written)."""
        self._stop.set()
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            try:
                await task
            except Exception:  # one loop's failure must not keep the others' runs held
                _log.exception("a worker loop failed while handing its runs back")
