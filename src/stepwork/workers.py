"""Durable runs executed by workers: put runs in the store, and run a worker in your program.

``stepwork worker MODULE --store URL`` runs a :class:`Worker` in a process of its own; a
:class:`Worker` in your own program does the same beside your code (and fires the store's
schedules of the workflows it serves). :func:`enqueue` stores a run for any worker to claim and
returns once it is durable; nothing runs in the calling process. See ``docs/scale-out.md``.

Example:
    >>> import asyncio
    >>> from stepwork import StartEvent, StopEvent, Workflow, step
    >>> from stepwork.stores import MemoryStore
    >>> from stepwork.workers import Worker, enqueue
    >>> class Hello(Workflow):
    ...     @step
    ...     async def hi(self, ev: StartEvent) -> StopEvent:
    ...         return StopEvent(result="hi")
    >>> async def main() -> tuple[str, str]:
    ...     store = MemoryStore()
    ...     flow = Hello(store=store)
    ...     run_id = await enqueue(flow, StartEvent(), "hello-1")
    ...     queued = (await store.get_run(run_id)).status
    ...     stop = asyncio.Event()
    ...     worker = Worker([flow], store)  # worker.run(stop) claims and executes it
    ...     return queued, type(worker).__module__
    >>> asyncio.run(main())
    ('running', 'stepwork.workers')
"""

from stepwork._runtime.lease import LeaseSettings
from stepwork._runtime.worker import Worker, enqueue

__all__ = ["LeaseSettings", "Worker", "enqueue"]

# Public names for the classes exported here (see ``stepwork._core.public_names``).
import sys as _sys

from stepwork._core.public_names import publish_imported as _publish_imported

_publish_imported(_sys.modules)
