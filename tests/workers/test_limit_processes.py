"""Three real worker processes share named limits through their store (SQLite file and
PostgreSQL): a counter kept outside the engine never sees more invocations at once than the
limit allows, and a SIGKILLed holder's slot is reclaimed once its lease has expired."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from stepwork import LimitKeyError, StartEvent
from stepwork._runtime.worker import enqueue
from stepwork._stores.protocol import RunRecord, Store
from stepwork._stores.url import store_from_url

from .limit_flow import Shared, Solo

HERE = Path(__file__).parent
TTL = 1.0

pytestmark = pytest.mark.slow


def start_worker(url: str, counter: Path, log: Path) -> subprocess.Popen[str]:
    """A worker process on ``url`` serving ``limit_flow.py``; returns once it is ready."""
    child = spawn_worker(url, counter, log)
    assert child.stdout is not None
    assert "ready" in child.stdout.readline(), log.read_text()
    return child


def spawn_worker(url: str, counter: Path, log: Path) -> subprocess.Popen[str]:
    """A worker process on ``url`` serving ``limit_flow.py``, starting up."""
    env = {**os.environ, "PYTHONPATH": str(HERE), "LIMIT_COUNTER": str(counter)}
    with log.open("w") as stderr:
        child = subprocess.Popen(
            [sys.executable, "-m", "stepwork", "worker", str(HERE / "limit_flow.py"),
             "--store", url, "--concurrency", "4", "--lease-ttl", str(TTL), "--heartbeat", "0.3",
             "--poll", "0.2"],
            stdout=subprocess.PIPE, stderr=stderr, text=True, env=env,
        )  # fmt: skip
    return child


def stop(children: list[subprocess.Popen[str]]) -> None:
    for child in children:
        if child.poll() is None:
            child.kill()
            child.wait()
        if child.stdout is not None:
            child.stdout.close()


async def wait_for(store: Store, check: Callable[[list[RunRecord]], bool], seconds: float) -> None:
    """Look at the runs (a state, not a guess) until ``check(runs)`` holds."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        runs = await store.list_runs()
        if check(runs):
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out; runs: {[(r.run_id, r.status) for r in runs]}")


async def until(check: Callable[[], bool]) -> None:
    """Wait for a state (``check()`` true), looking every 20 ms; the test timeout bounds it."""
    while True:
        if check():
            return
        await asyncio.sleep(0.02)


async def test_three_workers_never_run_more_than_the_limit_at_once(
    store_url: str, tmp_path: Path
) -> None:
    counter = tmp_path / "counter"
    workflow = Shared(store=store_url, timeout=None, workflow_name="shared")
    for n in range(6):
        await enqueue(workflow, StartEvent(n=n), f"run-{n}")
    store = store_from_url(store_url)
    await store.open()
    workers: list[subprocess.Popen[str]] = []
    try:
        # Started together (each takes a moment to import); all three serve the runs.
        workers = [spawn_worker(store_url, counter, tmp_path / f"w{i}.log") for i in range(3)]
        for worker in workers:
            assert worker.stdout is not None and "ready" in worker.stdout.readline()
        await wait_for(store, lambda runs: all(r.status != "running" for r in runs), 60)
        runs = {r.run_id: r for r in await store.list_runs()}
        for n in range(6):
            assert runs[f"run-{n}"].status == "completed", runs[f"run-{n}"].error
            assert runs[f"run-{n}"].result["result"] == sum(n * 10 + i for i in range(4))
        now, most, started = (int(x) for x in counter.read_text().split())
        assert (now, started) == (0, 24)
        assert most == 3  # the limit, reached (24 calls, 3 workers x 4 runs) and never passed
    finally:
        stop(workers)
        await store.close()
        assert workflow.store is not None
        await workflow.store.close()


async def test_a_killed_holders_slot_is_reclaimed_after_its_lease(
    store_url: str, tmp_path: Path
) -> None:
    counter = tmp_path / "counter"
    held = Path(f"{counter}.held")
    workflow = Solo(store=store_url, timeout=None, workflow_name="solo")
    store = store_from_url(store_url)
    await store.open()
    workers: list[subprocess.Popen[str]] = []
    try:
        workers.append(start_worker(store_url, counter, tmp_path / "one.log"))
        await enqueue(workflow, StartEvent(n=1, tenant="acme"), "holder")
        await until(held.exists)  # the holder's step has its slot, and hangs
        assert int(await asyncio.to_thread(held.read_text)) == workers[0].pid
        workers.append(start_worker(store_url, counter, tmp_path / "two.log"))
        await enqueue(workflow, StartEvent(n=2, tenant="acme"), "waiter")
        workers[0].send_signal(signal.SIGKILL)
        workers[0].wait()
        killed = time.monotonic()
        # The waiter gets the dead holder's slot once the holder's lease has expired, and
        # the holder's run is taken over and finished too.
        await wait_for(store, lambda runs: all(r.status == "completed" for r in runs), 30)
        took = time.monotonic() - killed
        assert took <= TTL + 2.5, f"the slot came back after {took:.2f} s"
        assert {r.run_id: r.result["result"] for r in await store.list_runs()} == {
            "holder": 1,
            "waiter": 2,
        }
        with pytest.raises(LimitKeyError, match="no 'tenant' field"):
            await enqueue(workflow, StartEvent(n=3), "no-tenant")
    finally:
        stop(workers)
        await store.close()
        assert workflow.store is not None
        await workflow.store.close()
