"""The memory of runs waiting for a person in one ``stepwork worker`` (``make bench-scale``).

``runs`` runs of ``scale_flow.Asks`` are enqueued on PostgreSQL; one worker executes them until
each waits for its answer. Measured twice: with idle release (``--idle-after 0.5``: a run that
only waits is let go, its memory with it) and with every run held (``--idle-after -1``). The
figure is the worker's resident memory (``VmRSS``) once every run waits, over the same worker
idle before the runs came; its peak (``VmHWM``) too.

Both workers run with the default lease (10 s, renewed every 3 s): a worker renews every
lease it holds on the store with one statement per heartbeat. Held, the worker is then watched
for ``hold`` seconds (longer than a lease): its CPU, the database's transactions a second,
and whether any lease lapsed (none may: a lapsed lease is one the worker failed to renew).
"""

from __future__ import annotations

import asyncio
import os
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


_LAPSED = "SELECT count(*) FROM runs WHERE owner IS NOT NULL AND lease_expires < $1::float8"
_COMMITS = "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"


def _cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds process ``pid`` has used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _watch_held(url: str, pid: int, hold: float) -> dict[str, Any]:
    """Over ``hold`` seconds of a worker holding its runs: its CPU share, the database's
    commits a second, the leases lapsed at the end, and the highest epoch (1: none retaken)."""
    import asyncpg

    connection = await asyncpg.connect(url)
    try:
        cpu, commits, started = _cpu_seconds(pid), await connection.fetchval(_COMMITS), time.time()
        await asyncio.sleep(hold)  # a benchmark's observation window
        seconds = time.time() - started
        return {
            "hold_seconds": seconds,
            "worker_cpu_percent": 100 * (_cpu_seconds(pid) - cpu) / seconds,
            "commits_per_second": (await connection.fetchval(_COMMITS) - commits) / seconds,
            "lapsed_leases": await connection.fetchval(_LAPSED, time.time()),
            "max_epoch": await connection.fetchval("SELECT max(epoch) FROM runs"),
        }
    finally:
        await connection.close()


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


def waiting_memory(
    url: str,
    runs: int,
    *,
    release: bool,
    lease: tuple[float, float] | None = None,
    hold: float = 15.0,
) -> dict[str, Any]:
    """The worker's memory once ``runs`` runs wait for a person, released or held (then
    watched for ``hold`` seconds); ``lease``: (ttl, heartbeat), the defaults when ``None``."""
    command = [sys.executable, "-m", "stepwork", "worker", str(FLOW), "--store", url]
    command += ["--concurrency", "200" if release else str(runs + 10)]
    command += ["--idle-after", "0.5" if release else "-1", "--poll", "0.5"]
    if lease is not None:
        command += ["--lease-ttl", str(lease[0]), "--heartbeat", str(lease[1])]
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
        held = {} if release else asyncio.run(_watch_held(url, worker.pid, hold))
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
        **held,
    }
