"""A fan-in killed with SIGKILL right after a collect tick is durable resumes to one right end.

The ``gather`` invocation that made the collect was in flight, so the resumed run runs it again
from the top: its collect must get the answer the journal recorded (the released parts, or "not
yet") instead of stalling on an emptied buffer or buffering its part twice.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

from collect_flow import RUN_ID, FanInFlow  # noqa: E402


def run_and_kill_at_collect(url: str, log: Path, kill_at: int) -> None:
    """Run the flow in a child that SIGKILLs itself once ``kill_at`` collect ticks are stored."""
    errors = log.with_suffix(".stderr")
    with errors.open("wb") as stderr:
        child = subprocess.run(
            [sys.executable, str(HERE / "collect_flow.py"), url, str(log), str(kill_at)],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            check=False,
            timeout=60,
        )
    assert child.returncode == -signal.SIGKILL, errors.read_text()


# What the gather log holds after the kill, then what the resumed run adds to it.
SCENARIOS = {
    # Part 1's collect released nothing: its re-run is told "not yet" and does not add part 1
    # again (which would release [1, 1, 2]).
    1: (["gather 1 None"], ["gather 1 None", "gather 2 None", "gather 3 [1, 2, 3]"]),
    # Part 3's collect released all three: its re-run gets the same list (not a stall).
    3: (["gather 1 None", "gather 2 None", "gather 3 [1, 2, 3]"], ["gather 3 [1, 2, 3]"]),
}


@pytest.mark.parametrize("kill_at", sorted(SCENARIOS))
async def test_a_fan_in_killed_after_a_collect_tick_resumes_to_one_right_ending(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store_url: str, kill_at: int
) -> None:
    log = tmp_path / "gather.log"
    run_and_kill_at_collect(store_url, log, kill_at)
    before, rerun = SCENARIOS[kill_at]
    assert log.read_text().splitlines() == before

    monkeypatch.setenv("COLLECT_LOG", str(log))
    monkeypatch.delenv("COLLECT_BLOCK_AT", raising=False)
    workflow = FanInFlow(store=store_url, timeout=30)
    store = workflow.store
    assert store is not None
    await store.open()
    kinds = [(t["kind"], t.get("step")) for t in await store.load_ticks(RUN_ID)]
    # The crash point is the one this test is about: the last collect is stored, its step's
    # step_done is not.
    assert kinds.count(("collect", None)) == kill_at
    assert kinds.count(("step_done", "gather")) == kill_at - 1

    assert await workflow.resume(RUN_ID) == [1, 2, 3]
    assert log.read_text().splitlines() == before + rerun

    record = await store.get_run(RUN_ID)
    assert record.status == "completed"
    events = [event for _, event in await store.load_events(RUN_ID)]
    # One ending, read once by a follower of the stream.
    assert [e["__model__"] for e in events].count("stepwork.events.StopEvent") == 1
    ticks = await store.load_ticks(RUN_ID)
    assert sum(t["kind"] == "step_done" and t.get("step") == "gather" for t in ticks) == 3
    # Resuming the ended run again returns its result and runs nothing.
    again = FanInFlow(store=store_url, timeout=30)
    assert await again.resume(RUN_ID) == [1, 2, 3]
    assert log.read_text().splitlines() == before + rerun
    for each in (store, again.store):
        assert each is not None
        await each.close()
