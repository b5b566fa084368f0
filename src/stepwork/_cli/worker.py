"""``stepwork worker MODULE --store URL``: execute a module's durable runs from a shared store.

Workers claim runnable runs of the module's workflows (as ``stepwork serve`` finds them),
continue them under leases and renew those; several workers, in several processes or on several
hosts (PostgreSQL) or on one host (SQLite), share the work, and a dead worker's runs are taken
over by the others once its leases lapse. SIGTERM or Ctrl-C hands unfinished runs back.

It prints ``worker OWNER ready`` once it listens, and ``worker OWNER stopped`` on exit.
"""

from __future__ import annotations

import asyncio
import signal
from typing import Annotated

import typer

from stepwork._cli.output import Output
from stepwork._cli.serve import _load
from stepwork._cli.target import TargetError, describe_exception
from stepwork._core.errors import StepworkError
from stepwork._runtime.lease import PROCESS_OWNER, LeaseSettings
from stepwork._runtime.worker import Worker
from stepwork._stores.url import store_from_url

__all__ = ["worker_command"]


def worker_command(
    module: Annotated[
        str, typer.Argument(help="MODULE (dotted name or .py path), or MODULE:Workflow.")
    ],
    store: Annotated[
        str, typer.Option(help="The shared journal's URL (sqlite:/// or postgresql://).")
    ],
    concurrency: Annotated[int, typer.Option(help="The most runs executed at once.")] = 10,
    lease_ttl: Annotated[
        float | None,
        typer.Option(help="Seconds a lease lasts (default $STEPWORK_LEASE_TTL or 10)."),
    ] = None,
    heartbeat: Annotated[
        float | None,
        typer.Option(help="Seconds between renewals (default $STEPWORK_LEASE_HEARTBEAT or 3)."),
    ] = None,
    poll: Annotated[
        float, typer.Option(help="Seconds between claims when nothing wakes it.")
    ] = 1.0,
    idle_after: Annotated[
        float,
        typer.Option(
            help="Seconds a run only waits (for a person, an event or a timer) before it is "
            "released from memory; negative: never."
        ),
    ] = 1.0,
) -> None:
    """Execute runnable runs from a shared store, under leases, until SIGTERM."""
    out = Output()
    try:
        workflows = list(_load(module).values())
        defaults = LeaseSettings.from_env()
        settings = LeaseSettings(
            ttl=lease_ttl if lease_ttl is not None else defaults.ttl,
            heartbeat=heartbeat if heartbeat is not None else defaults.heartbeat,
        )
        worker = Worker(
            workflows,
            store_from_url(store),
            concurrency=concurrency,
            settings=settings,
            poll=poll,
            idle_after=None if idle_after < 0 else idle_after,
        )
    except TargetError as error:
        out.error(str(error))
        raise typer.Exit(2) from None
    except Exception as error:  # a bad store URL or settings: one line, no traceback
        out.error(f"cannot start a worker for {module}: {describe_exception(error)}")
        raise typer.Exit(2) from None
    try:
        asyncio.run(_serve(worker, out))
    except StepworkError as error:
        out.error(f"worker {PROCESS_OWNER} failed: {error}")
        raise typer.Exit(1) from None
    out.write(
        f"worker {PROCESS_OWNER} stopped ({worker.finished} runs ended here, "
        f"{worker.released_idle} released idle, "
        f"{0 if worker.firer is None else worker.firer.fired} schedule slots fired)"
    )


async def _serve(worker: Worker, out: Output) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    names = ", ".join(sorted(worker.by_name))
    out.write(f"worker {PROCESS_OWNER} ready: {names} (concurrency {worker.concurrency})")
    try:
        await worker.run(stop)
    finally:
        await worker.store.close()
