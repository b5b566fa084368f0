"""The memory of runs waiting for a person in one ``stepwork worker`` (``make bench-scale``).

``runs`` runs of ``scale_flow.Asks`` are enqueued on PostgreSQL; one worker executes them until
each waits for its answer. Measured twice: with idle release (``--idle-after 0.5``: a run that
only waits is let go, its memory with it) and with every run held (``--idle-after -1``). The
figure is the worker's resident memory (``VmRSS``) once every run waits, over the same worker
idle before the runs came; its peak (``VmHWM``) too.

Both workers run with long leases (600 s, renewed every 200 s): a worker holding 10,000 runs
renews each lease with a statement of its own every heartbeat, and at the default 3 s that
alone (over 3,000 renewals a second) swamps two shared cores until leases lapse. This
measures memory, not renewals.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

FLOW = Path(__file__).resolve().parent / "scale_flow.py"
_WAITING = "SELECT count(*) FROM events WHERE record LIKE '%InputRequiredEvent%'"
_RELEASED = "SELECT count(*) FROM runs WHERE status = 'running' AND owner IS NULL"


def _memory_kib(pid: int) -> dict[str, int]:
    """``VmRSS`` and ``VmHWM`` of process ``pid``, in KiB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0])
    return fields


async def _enqueue_all(url: str, runs: int) -> None:
    from benchmarks.scale_flow import Asks
    from stepwork import StartEvent
    from stepwork._runtime.worker import enqueue
    from stepwork._stores.url import store_from_url

    store = store_from_url(url)
    flow = Asks(store=store, timeout=None, workflow_name="asks")
    await store.open()
    gate = asyncio.Semaphore(50)

    async def one(n: int) -> None:
        async with gate:
            await enqueue(flow, StartEvent(n=n), run_id=f"a{n}")

    try:
        await asyncio.gather(*(one(n) for n in range(runs)))
    finally:
        await store.close()


async def _until_waiting(url: str, runs: int, released: bool, within: float = 900) -> float:
    """Poll the database until every run waits (and, with ``released``, is held by nobody)."""
    import asyncpg  # type: ignore[import-untyped]

    connection = await asyncpg.connect(url)
    deadline = time.monotonic() + within
    try:
        while time.monotonic() < deadline:
            waiting = await connection.fetchval(_WAITING)
            if waiting >= runs and (not released or await connection.fetchval(_RELEASED) >= runs):
                return time.monotonic()
            await asyncio.sleep(0.5)  # a benchmark reading a state, not a test synchronising
    finally:
        await connection.close()
    raise RuntimeError(f"the {runs} runs were not all waiting after {within} s")


def waiting_memory(url: str, runs: int, *, release: bool) -> dict[str, Any]:
    """The worker's memory once ``runs`` runs wait for a person, released or held."""
    command = [sys.executable, "-m", "stepwork", "worker", str(FLOW), "--store", url]
    command += ["--concurrency", "200" if release else str(runs + 10)]
    command += ["--idle-after", "0.5" if release else "-1", "--poll", "0.5"]
    command += ["--lease-ttl", "600", "--heartbeat", "200"]
    worker = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert worker.stdout is not None
        line = worker.stdout.readline()
        if "ready" not in line:
            raise RuntimeError(f"a stepwork worker did not start: {line!r}")
        idle = _memory_kib(worker.pid)["VmRSS"]
        started = time.monotonic()
        asyncio.run(_enqueue_all(url, runs))
        ended = asyncio.run(_until_waiting(url, runs, release))
        memory = _memory_kib(worker.pid)
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=120)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
    return {
        "idle_mib": idle / 1024,
        "waiting_mib": memory["VmRSS"] / 1024,
        "over_idle_mib": (memory["VmRSS"] - idle) / 1024,
        "peak_mib": memory["VmHWM"] / 1024,
        "seconds": ended - started,
    }
