"""Kill a durable run with SIGKILL inside each step, resume it, and check nothing is lost or
done twice: finished steps never run again, the result is the uninterrupted one, and a reader
following by offset sees every event exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from stepwork.events import StopEvent

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

from order_flow import OrderFlow  # noqa: E402

EXPECTED = "shipped book for 42 (charged=True)"


def run_until_blocked(url: str, log: Path, block_at: str) -> None:
    """Start the flow in a child process and SIGKILL it once it is inside ``block_at``."""
    errors = log.with_suffix(".stderr")
    with errors.open("wb") as stderr:
        child = subprocess.Popen(
            [sys.executable, str(HERE / "order_flow.py"), url, str(log), block_at],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
        try:
            # The step logs its name (fsync'd) before blocking: wait for that line, not time.
            while True:
                lines = log.read_text().splitlines() if log.exists() else []
                if any(line.split()[0] == block_at for line in lines):
                    break
                if child.poll() is not None:
                    raise AssertionError(f"the child died: {errors.read_text()}")
                os.sched_yield()
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait()


@pytest.mark.parametrize("block_at", ["reserve", "charge", "ship"])
async def test_killed_in_a_step_resumes_without_redoing_finished_steps(
    tmp_path: Path, block_at: str, monkeypatch: pytest.MonkeyPatch, store_url: str
) -> None:
    log = tmp_path / "steps.log"
    run_until_blocked(store_url, log, block_at)
    before = log.read_text().splitlines()

    monkeypatch.setenv("ORDER_LOG", str(log))
    monkeypatch.delenv("ORDER_BLOCK_AT", raising=False)
    workflow = OrderFlow(store=store_url, timeout=None)
    handler = workflow.resume("order-42")
    assert await handler == EXPECTED

    steps = [line.split()[0] for line in log.read_text().splitlines()]
    # Each step ran once, except the one killed in flight, which ran again after the resume.
    assert steps.count(block_at) == 2
    for name in {"reserve", "charge", "ship"} - {block_at}:
        assert steps.count(name) == 1, (name, steps)
    # The re-run of the killed step saw the same idempotency key.
    keys = [line for line in log.read_text().splitlines() if line.startswith("charge")]
    assert len(set(keys)) == 1
    assert before == log.read_text().splitlines()[: len(before)]

    events = [(o, ev) async for o, ev in handler.follow_events(0, expose_internal=True)]
    offsets = [offset for offset, _ in events]
    assert offsets == sorted(set(offsets))
    assert offsets == list(range(offsets[0], offsets[0] + len(offsets)))
    progress = [ev.get("progress") for _, ev in events if not isinstance(ev, StopEvent)]
    if block_at != "reserve":
        # Events of steps that finished before the kill were stored once and are read once.
        assert progress.count("reserved") == 1
    assert isinstance(events[-1][1], StopEvent)
    assert workflow.store is not None
    await workflow.store.close()


async def test_resuming_a_finished_run_returns_its_result_without_running(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store_url: str
) -> None:
    log = tmp_path / "steps.log"
    monkeypatch.setenv("ORDER_LOG", str(log))
    workflow = OrderFlow(store=store_url, timeout=None)
    assert await workflow.run(run_id="done-1", item="pen") == EXPECTED.replace("book", "pen")
    runs_before = log.read_text()
    second = OrderFlow(store=store_url, timeout=None)
    assert await second.resume("done-1") == EXPECTED.replace("book", "pen")
    assert log.read_text() == runs_before
    for each in (workflow, second):
        assert each.store is not None
        await each.store.close()


def run_and_kill_after(url: str, log: Path, ticks: int) -> None:
    """Run the flow in a child that SIGKILLs itself once ``ticks`` ticks are journaled."""
    errors = log.with_suffix(".stderr")
    with errors.open("wb") as stderr:
        child = subprocess.run(
            [sys.executable, str(HERE / "order_flow.py"), url, str(log), "none", str(ticks)],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            check=False,
            timeout=60,
        )
    assert child.returncode == -signal.SIGKILL, errors.read_text()


async def stored(url: str, run_id: str) -> tuple[list[dict[str, object]], list[object]]:
    workflow = OrderFlow(store=url, timeout=None)
    store = workflow.store
    assert store is not None
    await store.open()
    ticks = await store.load_ticks(run_id)
    events = await store.load_events(run_id)
    await store.close()
    return ticks, events


async def test_a_crash_after_any_tick_resumes_to_the_same_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store_url: str
) -> None:
    monkeypatch.setenv("ORDER_LOG", str(tmp_path / "reference.log"))
    reference = OrderFlow(store="memory://", timeout=None)
    assert await reference.run(run_id="ref", item="book") == EXPECTED
    total = len(await reference.history("ref"))
    for limit in range(1, total):
        url = (
            store_url
            if "sqlite" not in store_url
            else store_url.replace("runs.db", f"runs-{limit}.db")
        )
        if "sqlite" not in store_url:
            # One PostgreSQL database for every crash point: start each from an empty journal.
            workflow = OrderFlow(store=store_url, timeout=None)
            assert workflow.store is not None
            await workflow.store.open()
            await workflow.store.delete_run("order-42")
            await workflow.store.close()
        log = tmp_path / f"steps-{limit}.log"
        run_and_kill_after(url, log, limit)
        ticks_before, events_before = await stored(url, "order-42")
        assert len(ticks_before) >= limit

        monkeypatch.setenv("ORDER_LOG", str(log))
        workflow = OrderFlow(store=url, timeout=None)
        handler = workflow.resume("order-42")
        assert await handler == EXPECTED, limit

        finished = {str(t.get("step")) for t in ticks_before if t["kind"] == "step_done"}
        runs = [line.split()[0] for line in log.read_text().splitlines()]
        for name in ("reserve", "charge", "ship"):
            expected = 1 if name in finished else (1, 2)
            count = runs.count(name)
            assert count == expected if name in finished else count in expected, (
                limit,
                name,
                runs,
            )
        _, events_after = await stored(url, "order-42")
        assert events_after[: len(events_before)] == events_before, limit
        assert [offset for offset, _ in events_after] == list(range(len(events_after)))
        assert workflow.store is not None
        await workflow.store.close()
