"""Three real ``stepwork worker`` processes share a one-second schedule: every slot between the
first and the last starts exactly one run (no gap, no second start), on SQLite and PostgreSQL.

Each worker reports at SIGTERM how many slots it fired; their sum must equal the runs stored,
so no two workers both counted a slot as theirs."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from stepwork._core.schedule_slots import slot_run_id
from stepwork._stores.schedule_protocol import Schedule, schedules_of
from stepwork._stores.url import store_from_url

HERE = Path(__file__).parent
SLOTS = 3

pytestmark = pytest.mark.slow


def start_worker(url: str, log: Path) -> subprocess.Popen[str]:
    """A worker process on ``url`` (wait for it with :func:`ready`)."""
    env = {**os.environ, "PYTHONPATH": str(HERE)}
    with log.open("w") as stderr:
        return subprocess.Popen(
            [sys.executable, "-m", "stepwork", "worker", str(HERE / "schedule_flow.py"),
             "--store", url, "--poll", "0.5", "--lease-ttl", "2", "--heartbeat", "0.5"],
            stdout=subprocess.PIPE, stderr=stderr, text=True, env=env,
        )  # fmt: skip


def ready(child: subprocess.Popen[str], log: Path) -> None:
    """Returns once the worker says it is ready."""
    assert child.stdout is not None
    assert "ready" in child.stdout.readline(), log.read_text()


async def test_three_workers_fire_each_slot_exactly_once(store_url: str, tmp_path: Path) -> None:
    store = store_from_url(store_url)
    await store.open()
    workers = [start_worker(store_url, tmp_path / f"w{n}.log") for n in range(3)]
    try:
        for n, child in enumerate(workers):  # started together, to start faster
            ready(child, tmp_path / f"w{n}.log")
        record = await schedules_of(store).add(
            Schedule("beat", "beat", every=timedelta(seconds=1), start={"n": 1}, missed="all")
        )
        first = record.next_at or 0
        wanted = [slot_run_id("beat", first + 1000 * n) for n in range(SLOTS)]
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # a state in the store, polled
            runs = {run.run_id: run for run in await store.list_runs()}
            if all(run_id in runs and runs[run_id].status == "completed" for run_id in wanted):
                break
            await asyncio.sleep(0.1)
        fired = 0
        for n, child in enumerate(workers):
            child.send_signal(signal.SIGTERM)
            assert child.wait(timeout=30) == 0, (tmp_path / f"w{n}.log").read_text()
            assert child.stdout is not None
            stopped = child.stdout.read()
            fired += int(re.search(r"(\d+) schedule slots fired", stopped).group(1))  # type: ignore[union-attr]
        runs = {run.run_id: run for run in await store.list_runs()}
        last = (await schedules_of(store).get("beat")).last_slot or 0
        every_slot = [slot_run_id("beat", slot) for slot in range(first, last + 1, 1000)]
        assert sorted(runs) == every_slot  # each slot from the first to the last, no gap
        assert len(every_slot) >= SLOTS and fired == len(runs)  # and each fired by one worker
        for run_id in wanted:
            assert runs[run_id].status == "completed" and runs[run_id].result["result"] == 1
    finally:
        for child in workers:
            if child.poll() is None:
                child.kill()
                child.wait()
            if child.stdout is not None:
                child.stdout.close()
        await store.close()
