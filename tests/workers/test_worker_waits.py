"""Real ``stepwork worker`` processes and runs that wait: people answer runs that no worker
holds through the store's inbox (from this test, a third process), and durable sleeps survive
a SIGKILL of the worker that held them. Every run ends once, with the right result."""

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

from stepwork import StartEvent
from stepwork._runtime.worker import enqueue
from stepwork._stores.codec import dump_event
from stepwork._stores.protocol import RunRecord, Store
from stepwork._stores.url import store_from_url

from .worker_flow import Asks, Naps, Reply

HERE = Path(__file__).parent
TTL = 1.0

pytestmark = pytest.mark.slow


def start_worker(url: str, log: Path, *extra: str) -> subprocess.Popen[str]:
    """A worker process on ``url``; returns once it says it is ready."""
    env = {**os.environ, "PYTHONPATH": str(HERE)}
    with log.open("w") as stderr:
        child = subprocess.Popen(
            [sys.executable, "-m", "stepwork", "worker", str(HERE / "worker_flow.py"),
             "--store", url, "--concurrency", "4", "--lease-ttl", str(TTL), "--heartbeat", "0.3",
             "--poll", "0.2", *extra],
            stdout=subprocess.PIPE, stderr=stderr, text=True, env=env,
        )  # fmt: skip
    assert child.stdout is not None
    line = child.stdout.readline()
    assert "ready" in line, log.read_text()
    return child


def stop_all(*children: subprocess.Popen[str] | None) -> None:
    for child in children:
        if child is None:
            continue
        if child.poll() is None:
            child.kill()
            child.wait()
        if child.stdout is not None:
            child.stdout.close()


async def wait_for(store: Store, check: Callable[[list[RunRecord]], bool], what: str) -> None:
    """Poll the store (a state, not a guess) until ``check(runs)`` holds."""
    deadline = time.monotonic() + 60
    while not check(runs := await store.list_runs()):
        assert time.monotonic() < deadline, (
            f"{what}: {[(r.run_id, r.status, r.owner) for r in runs]}"
        )
        await asyncio.sleep(0.05)


async def test_people_answer_released_runs_through_the_inbox(
    store_url: str, tmp_path: Path
) -> None:
    flow = Asks(store=store_url, timeout=None, workflow_name="asks")
    ids = [await enqueue(flow, StartEvent(n=n), f"ask-{n}") for n in range(8)]
    store = store_from_url(store_url)
    await store.open()
    one = two = None
    try:
        one = start_worker(store_url, tmp_path / "one.log", "--idle-after", "0.1")
        two = start_worker(store_url, tmp_path / "two.log", "--idle-after", "0.1")
        # 8 runs, concurrency 4 each: only releasing the waiting ones lets all of them start.
        await wait_for(
            store,
            lambda runs: all(
                r.ticks > 1 and r.owner is None and r.runnable_at is None for r in runs
            ),
            "every run waits, held by no worker",
        )
        for n, run_id in enumerate(ids):
            await store.deliver(run_id, "event", dump_event(Reply(n=n)), f"answer-{n}", time.time())
            # A retry of the same answer (same key) takes no effect.
            await store.deliver(
                run_id, "event", dump_event(Reply(n=99)), f"answer-{n}", time.time()
            )
        await wait_for(store, lambda runs: all(r.status == "completed" for r in runs), "answered")
        for n, run_id in enumerate(ids):
            record = await store.get_run(run_id)
            assert record.result["result"] == n * 1000 + n
            ticks = await store.load_ticks(run_id)
            assert [t.get("idempotency_key") for t in ticks if t["kind"] == "event"] == [
                f"answer-{n}"
            ]
            assert await store.load_inbox(run_id) == []
        one.send_signal(signal.SIGTERM)
        two.send_signal(signal.SIGTERM)
        for child, log in ((one, "one.log"), (two, "two.log")):
            assert child.wait(timeout=30) == 0, (tmp_path / log).read_text()
            assert child.stdout is not None and "released idle" in child.stdout.read()
    finally:
        stop_all(one, two)
        await store.close()
        assert flow.store is not None
        await flow.store.close()


async def test_durable_sleeps_survive_a_killed_worker(store_url: str, tmp_path: Path) -> None:
    flow = Naps(store=store_url, timeout=None, workflow_name="naps")
    nap = 1.5
    ids = [await enqueue(flow, StartEvent(n=n, nap=nap), f"nap-{n}") for n in range(4)]
    started = time.time()
    store = store_from_url(store_url)
    await store.open()
    one = two = None
    try:
        # Worker one keeps what it claims (no idle release), so its death strands the sleeps.
        one = start_worker(store_url, tmp_path / "one.log", "--idle-after", "-1")
        marker = f":{one.pid}:"
        await wait_for(
            store,
            lambda runs: all(marker in (r.owner or "") and r.ticks > 1 for r in runs),
            "worker one holds every sleeping run",
        )
        for run_id in ids:
            assert await store.next_timer(run_id) is not None  # the sleep is a stored timer
        one.send_signal(signal.SIGKILL)
        one.wait()
        two = start_worker(store_url, tmp_path / "two.log")
        await wait_for(store, lambda runs: all(r.status == "completed" for r in runs), "woke")
        for n, run_id in enumerate(ids):
            record = await store.get_run(run_id)
            assert record.result["result"] == n
            # Wall-clock: it slept its time, counted from when it first began (not from the
            # takeover), and the step's result was journaled once.
            assert record.updated_at - started >= nap
            ticks = await store.load_ticks(run_id)
            assert sum(t["kind"] == "step_done" and t.get("step") == "nap" for t in ticks) == 1
    finally:
        stop_all(one, two)
        await store.close()
        assert flow.store is not None
        await flow.store.close()
