"""Real ``stepwork worker`` processes sharing one store: two workers share the runs, a
SIGKILLed worker's runs are finished by the other within lease + 1 s, every run ends exactly
once with the right result, and SIGTERM stops a worker cleanly."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from stepwork import StartEvent
from stepwork._runtime.worker import enqueue
from stepwork._stores.protocol import Store
from stepwork._stores.url import store_from_url

from .worker_flow import Work

HERE = Path(__file__).parent
TTL = 1.0
RUNS = 24

pytestmark = pytest.mark.slow


def start_worker(url: str, log: Path) -> subprocess.Popen[str]:
    """A worker process on ``url``; returns once it says it is ready."""
    env = {**os.environ, "PYTHONPATH": str(HERE)}
    with log.open("w") as stderr:
        child = subprocess.Popen(
            [sys.executable, "-m", "stepwork", "worker", str(HERE / "worker_flow.py"),
             "--store", url, "--concurrency", "4", "--lease-ttl", str(TTL), "--heartbeat", "0.3",
             "--poll", "0.2"],
            stdout=subprocess.PIPE, stderr=stderr, text=True, env=env,
        )  # fmt: skip
    assert child.stdout is not None
    line = child.stdout.readline()
    assert "ready" in line, log.read_text()
    return child


async def wait_for(store: Store, check: object, deadline: float) -> float:
    """Poll the store (a state, not a guess) until ``check(runs)``; when it held."""
    while time.monotonic() < deadline:
        runs = await store.list_runs()
        if check(runs):  # type: ignore[operator]
            return time.monotonic()
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out; runs: {[(r.run_id, r.status, r.owner) for r in runs]}")


async def test_a_killed_workers_runs_are_finished_by_the_other(
    store_url: str, tmp_path: Path
) -> None:
    workflow = Work(store=store_url, timeout=None, workflow_name="work")
    ids = [await enqueue(workflow, StartEvent(n=n), f"run-{n:02}") for n in range(RUNS)]
    store = store_from_url(store_url)
    await store.open()
    one = start_worker(store_url, tmp_path / "one.log")
    two = None
    try:
        marker = f":{one.pid}:"
        await wait_for(
            store,
            lambda runs: any(r.status == "running" and marker in (r.owner or "") for r in runs),
            time.monotonic() + 30,
        )
        two = start_worker(store_url, tmp_path / "two.log")
        one.send_signal(signal.SIGKILL)
        one.wait()
        killed = time.monotonic()
        orphans = {
            r.run_id: r.epoch
            for r in await store.list_runs(status=["running"])
            if marker in (r.owner or "")
        }
        assert orphans, "the killed worker held no runs"
        taken = await wait_for(
            store,
            lambda runs: all(
                r.epoch > orphans[r.run_id] or r.status != "running"
                for r in runs
                if r.run_id in orphans
            ),
            time.monotonic() + 30,
        )
        assert taken - killed <= TTL + 1.0, f"takeover took {taken - killed:.2f} s"
        await wait_for(
            store, lambda runs: all(r.status != "running" for r in runs), time.monotonic() + 60
        )
        runs = {r.run_id: r for r in await store.list_runs()}
        assert sorted(runs) == ids
        for n, run_id in enumerate(ids):
            assert runs[run_id].status == "completed", runs[run_id]
            assert runs[run_id].result["result"] == n * 6, runs[run_id].result
            ticks = await store.load_ticks(run_id)
            assert sum(t["kind"] == "step_done" and t.get("output") is not None for t in ticks) >= 3
        two.send_signal(signal.SIGTERM)
        assert two.wait(timeout=30) == 0, (tmp_path / "two.log").read_text()
        assert two.stdout is not None and "stopped" in two.stdout.read()
    finally:
        for child in (one, two):
            if child is None:
                continue
            if child.poll() is None:
                child.kill()
                child.wait()
            if child.stdout is not None:
                child.stdout.close()
        await store.close()
        assert workflow.store is not None
        await workflow.store.close()


async def test_a_worker_paused_past_its_lease_is_fenced_when_it_continues(
    store_url: str, tmp_path: Path
) -> None:
    workflow = Work(store=store_url, timeout=None, workflow_name="work")
    ids = [await enqueue(workflow, StartEvent(n=n), f"run-{n:02}") for n in range(8)]
    store = store_from_url(store_url)
    await store.open()
    one = start_worker(store_url, tmp_path / "one.log")
    two = None
    try:
        marker = f":{one.pid}:"
        await wait_for(
            store,
            lambda runs: any(r.status == "running" and marker in (r.owner or "") for r in runs),
            time.monotonic() + 30,
        )
        one.send_signal(signal.SIGSTOP)  # paused mid-run, past its lease
        two = start_worker(store_url, tmp_path / "two.log")
        await wait_for(
            store, lambda runs: all(r.status == "completed" for r in runs), time.monotonic() + 60
        )
        written = {r.run_id: (r.ticks, r.events) for r in await store.list_runs()}
        one.send_signal(signal.SIGCONT)  # it goes on where it was: every write it tries is fenced
        one.send_signal(signal.SIGTERM)
        assert one.wait(timeout=30) == 0, (tmp_path / "one.log").read_text()
        runs = {r.run_id: r for r in await store.list_runs()}
        assert {run_id: (r.ticks, r.events) for run_id, r in runs.items()} == written
        for n, run_id in enumerate(ids):
            assert (runs[run_id].status, runs[run_id].result["result"]) == ("completed", n * 6)
    finally:
        for child in (one, two):
            if child is None:
                continue
            if child.poll() is None:
                child.kill()
                child.wait()
            if child.stdout is not None:
                child.stdout.close()
        await store.close()
        assert workflow.store is not None
        await workflow.store.close()
