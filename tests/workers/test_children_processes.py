"""Children in a fleet of real ``stepwork worker`` processes (SQLite file and PostgreSQL): a
child runs on any worker while its parent waits durably, so one worker of ``--concurrency 1``
finishes a parent of three children; cancelling the parent cancels its children; SIGKILLing
the worker that holds the parent while its child runs still ends both once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from stepwork import StartEvent
from stepwork._runtime.inbox import deliver_cancel, deliver_event
from stepwork._runtime.worker import enqueue
from stepwork._stores.protocol import RunRecord, Store
from stepwork._stores.url import store_from_url

from .children_flow import Go, Parent

HERE = Path(__file__).parent
FLOWS = HERE / "children_flow.py"
TTL = 1.0

pytestmark = pytest.mark.slow


@contextmanager
def workers(
    url: str, logs: Path, *targets: tuple[str, list[str]]
) -> Iterator[list[subprocess.Popen[str]]]:
    """One worker process per ``(target, extra options)``, each ready; all killed at the end."""
    started: list[subprocess.Popen[str]] = []
    env = {**os.environ, "PYTHONPATH": str(HERE)}
    try:
        for number, (target, extra) in enumerate(targets):
            started.append(start(url, logs / f"w{number}.log", target, extra, env))
        yield started
    finally:
        for child in started:
            if child.poll() is None:
                child.kill()
                child.wait()
            if child.stdout is not None:
                child.stdout.close()


def start(
    url: str, log: Path, target: str, extra: list[str], env: dict[str, str]
) -> subprocess.Popen[str]:
    """A worker process serving ``target``; returns once it says it is ready."""
    with log.open("w") as stderr:
        child = subprocess.Popen(
            [sys.executable, "-m", "stepwork", "worker", target, "--store", url,
             "--lease-ttl", str(TTL), "--heartbeat", "0.3", "--poll", "0.1", *extra],
            stdout=subprocess.PIPE, stderr=stderr, text=True, env=env,
        )  # fmt: skip
    assert child.stdout is not None
    line = child.stdout.readline()
    assert "ready" in line, log.read_text()
    return child


async def until(store: Store, check: Callable[[list[RunRecord]], bool], what: str) -> None:
    """Read the store (a state, not a guess) until ``check(runs)`` holds."""
    deadline = time.monotonic() + 30
    while not check(runs := await store.list_runs()):
        assert time.monotonic() < deadline, f"{what}: {[(r.run_id, r.status) for r in runs]}"
        await asyncio.sleep(0.02)


def ended(run_id: str) -> Callable[[list[RunRecord]], bool]:
    return lambda runs: any(r.run_id == run_id and r.status != "running" for r in runs)


async def writers(store: Store, run_id: str) -> set[str]:
    """The pids that wrote run ``run_id``'s ticks after its start tick (from the envelopes)."""
    ticks = await store.load_ticks(run_id)
    return {t["env"]["writer"].split(":")[1] for t in ticks[1:] if "writer" in t.get("env", {})}


async def test_one_worker_of_concurrency_1_finishes_a_parent_of_three_children(
    store_url: str, tmp_path: Path
) -> None:
    flow = Parent(store=store_url, timeout=None, workflow_name="parent")
    store = store_from_url(store_url)
    await store.open()
    try:
        options = ["--concurrency", "1", "--idle-after", "0.05"]
        with workers(store_url, tmp_path, (str(FLOWS), options)):
            await enqueue(flow, StartEvent(count=3), "p1")
            await until(store, ended("p1"), "the parent ends")
            parent = await store.get_run("p1")
            assert parent.status == "completed", parent.error
            assert parent.result is not None and parent.result["result"]["sum"] == 60
            children = await store.list_runs(parent="p1")
            assert [c.status for c in children] == ["completed"] * 3
            # Children that wait forever, then the parent is cancelled: so are they.
            await enqueue(flow, StartEvent(count=2, hold=True), "p2")
            await until(
                store,
                lambda runs: len([r for r in runs if r.parent_run_id == "p2"]) == 2,
                "children",
            )
            await deliver_cancel(store, "p2")
            await until(
                store,
                lambda runs: all(
                    r.status == "cancelled" for r in runs if "p2" in (r.run_id, r.parent_run_id)
                ),
                "the parent and its children are cancelled",
            )
    finally:
        await store.close()
        assert flow.store is not None
        await flow.store.close()


async def test_the_parents_worker_killed_while_its_child_runs(
    store_url: str, tmp_path: Path
) -> None:
    flow = Parent(store=store_url, timeout=None, workflow_name="parent")
    store = store_from_url(store_url)
    await store.open()
    ledger = tmp_path / "ledger"
    parents, children = str(HERE / "children_parents.py"), str(HERE / "children_children.py")
    try:
        with workers(
            store_url,
            tmp_path,
            (parents, ["--idle-after", "-1"]),
            (children, ["--idle-after", "-1"]),
        ) as (
            parent_worker,
            child_worker,
        ):
            await enqueue(flow, StartEvent(count=1, hold=True, ledger=str(ledger)), "p")
            await until(store, lambda runs: any(r.parent_run_id == "p" for r in runs), "child")
            [child] = await store.list_runs(parent="p")
            await until(store, lambda _: ledger.exists(), "the child's step runs")
            held = await store.get_run("p")
            assert held.owner is not None and f":{parent_worker.pid}:" in held.owner
            parent_worker.send_signal(signal.SIGKILL)
            parent_worker.wait()
            logs = tmp_path / "again"
            logs.mkdir()
            with workers(store_url, logs, (parents, [])) as [again]:
                await deliver_event(store, child.run_id, Go(n=0))
                await until(store, ended("p"), "the parent ends")
                record = await store.get_run("p")
                assert record.status == "completed", record.error
                assert record.result is not None and record.result["result"]["sum"] == 10
                assert (await store.get_run(child.run_id)).status == "completed"
                # The child ran once, in the child worker; the parent in the parent workers.
                assert ledger.read_text().splitlines() == [
                    f"{child.run_id}:work:0 {child_worker.pid}"
                ]
                assert await writers(store, child.run_id) == {str(child_worker.pid)}
                assert await writers(store, "p") == {str(parent_worker.pid), str(again.pid)}
                events = await store.load_events("p")
                stops = [r for _, r in events if r.get("__model__") == "stepwork.events.StopEvent"]
                assert len(stops) == 1
    finally:
        await store.close()
        assert flow.store is not None
        await flow.store.close()
