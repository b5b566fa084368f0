"""Taking over a run with 100,000 journaled ticks: with checkpoints, and folding every tick.

``python -m benchmarks.takeover [--ticks 100000] [--repeat 5]`` builds, on SQLite and on a
throwaway PostgreSQL (the one the tests start), one run that journals about ``--ticks`` ticks
(rounds of a 1,000-member fan-out) and then waits for a person. A fresh child process then
resumes it, as a worker taking it over would: claim, load the latest checkpoint and the ticks
after it, fold, start (published events stay in the store until a reader asks). The child
reports the time from ``resume()`` to the run being live (its driver started), and the
ticks it loaded; the median of ``--repeat`` children is printed. The same run is measured
again after its checkpoint is deleted: every tick folded, as every takeover did before.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from stepwork import (
    Event,
    HumanResponseEvent,
    InputRequiredEvent,
    StartEvent,
    StopEvent,
    Workflow,
    step,
)
from stepwork._stores.url import store_from_url

ROOT = Path(__file__).resolve().parents[1]
MEMBERS = 1000


class Round(Event):
    n: int


class Member(Event):
    round: int
    i: int


class Done(Event):
    round: int


class Ask(InputRequiredEvent):
    pass


class Answer(HumanResponseEvent):
    word: str


class Long(Workflow):
    """Rounds of a fan-out of MEMBERS events to a 100-worker step, gathered, then a person."""

    rounds = 1

    @step
    async def begin(self, ev: StartEvent) -> Round:
        return Round(n=0)

    @step
    async def fan(self, ev: Round) -> list[Member]:
        return [Member(round=ev.n, i=i) for i in range(MEMBERS)]

    @step(num_workers=100)
    async def work(self, ev: Member) -> Done:
        return Done(round=ev.round)

    @step
    async def gather(self, evs: list[Done]) -> Round | Ask:
        n = evs[0].round + 1 if evs else 0
        return Round(n=n) if n < self.rounds else Ask()

    @step
    async def finish(self, ev: Answer) -> StopEvent:
        return StopEvent(result=ev.word)


async def build(url: str, ticks: int) -> dict[str, int]:
    """Journal one run of about ``ticks`` ticks that ends waiting for a person."""
    workflow = Long(store=url, timeout=None)
    workflow.rounds = max(1, ticks // (MEMBERS + 3))
    handler = workflow.run(run_id="long")
    async for event in handler.stream_events():
        if isinstance(event, Ask):
            break
    store = workflow.store
    assert store is not None
    record = await store.get_run("long")
    checkpoint = await store.load_checkpoint("long")
    await store.close()
    return {
        "ticks": record.ticks,
        "events": record.events,
        "checkpoint": -1 if checkpoint is None else checkpoint.seq,
    }


async def take_over(url: str) -> dict[str, Any]:
    """Resume the run in this fresh process: how long until it is live, and what it read.

    The process that held the run is gone (same host, its pid no longer exists), so the run is
    taken over at once, as after a crash; the next child takes it from this one the same way.
    """
    store = store_from_url(url)
    await store.open()
    loaded: list[int] = []
    load_ticks = store.load_ticks

    async def counting(run_id: str, after_seq: int = -1, limit: int | None = None) -> Any:
        records = await load_ticks(run_id, after_seq, limit)
        loaded.append(len(records))
        return records

    store.load_ticks = counting  # type: ignore[method-assign]
    workflow = Long(store=url, timeout=None)
    workflow.use_store(store)
    began = time.perf_counter()
    handler = workflow.resume("long")
    # Claimed, checkpoint and tail folded, driver started:
    await asyncio.wait_for(handler._driver_ready(), 120)
    seconds = time.perf_counter() - began
    if handler.done():
        handler.result()  # raises what went wrong
    await store.close()
    return {"seconds": seconds, "ticks_loaded": sum(loaded)}


async def forget_checkpoint(url: str) -> None:
    """Delete the run's checkpoint (what a journal written before checkpoints looks like)."""
    if url.startswith("sqlite"):
        import sqlite3

        db = sqlite3.connect(url.removeprefix("sqlite:///"))
        with db:
            db.execute("DELETE FROM checkpoints")
        db.close()
        return
    import asyncpg

    connection = await asyncpg.connect(url)
    await connection.execute("DELETE FROM checkpoints")
    await connection.close()


def child(url: str, *build: str) -> dict[str, Any]:
    """Take the run over in a fresh process (or, with ``build``, build it in one, so the
    builder is gone when the first taker claims the run)."""
    what = ["--build", *build] if build else []
    output = subprocess.run(
        [sys.executable, "-m", "benchmarks.takeover", *what, "--child", url],
        check=True, capture_output=True, text=True, cwd=ROOT, timeout=1200,
    ).stdout  # fmt: skip
    result: dict[str, Any] = json.loads(output.splitlines()[-1])
    return result


def measure(url: str, ticks: int, repeat: int) -> dict[str, Any]:
    """Build the run, then time takeovers with its checkpoint and with every tick folded."""
    began = time.perf_counter()
    report: dict[str, Any] = {"built": child(url, str(ticks))}
    report["built"]["seconds"] = round(time.perf_counter() - began, 1)
    for label in ("checkpoint", "full fold"):
        if label == "full fold":
            asyncio.run(forget_checkpoint(url))
        samples = [child(url) for _ in range(repeat)]
        report[label] = {
            "median_s": round(statistics.median(s["seconds"] for s in samples), 4),
            "ticks_loaded": [s["ticks_loaded"] for s in samples],
            "samples_s": [round(s["seconds"], 4) for s in samples],
        }
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--build", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build:
        sys.stdout.write(json.dumps(asyncio.run(build(args.child, args.build))) + "\n")
        return
    if args.child:
        sys.stdout.write(json.dumps(asyncio.run(take_over(args.child))) + "\n")
        return
    sys.path.insert(0, str(ROOT / "tests"))
    from stores.pg_server import running_server

    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'long.db'}"
        results["sqlite"] = measure(url, args.ticks, args.repeat)
    with running_server() as server:
        server.psql("CREATE DATABASE takeover")
        results["postgres"] = measure(server.dsn("takeover"), args.ticks, args.repeat)
    sys.stdout.write(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
