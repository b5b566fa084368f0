"""Taking over a run with 100,000 journaled ticks: with checkpoints, and folding every tick.

``python -m benchmarks.takeover [--ticks 100000] [--repeat 5]`` builds, on SQLite and on a
throwaway PostgreSQL (the one the tests start), one run that journals about ``--ticks`` ticks
(rounds of a 1,000-member fan-out) and then waits for a person. A fresh child process then
resumes it, as a worker taking it over would: claim, load the latest checkpoint and the ticks
after it, fold, load the published events, start. The child reports the time from
``resume()`` to the run being live (its driver ready), and the ticks it loaded; the median of
``--repeat`` children is printed. The same run is measured again after its checkpoint is
deleted, which is what every takeover cost before checkpoints (a full fold).
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
    workflow.rounds = max(1, ticks // (2 * MEMBERS + 4))
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
    """Resume the run in this (fresh) process; how long until it is live, and what it read."""
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
    while handler.driver is None and not handler.done():
        await asyncio.sleep(0.0005)  # a benchmark probe, not synchronisation under test
    seconds = time.perf_counter() - began
    await handler.send_event(Answer(word="ok"))
    assert await handler == "ok"
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


def child(url: str, repeat: int, copy: Path | None) -> list[dict[str, Any]]:
    """Take the run over in ``repeat`` fresh processes (each from a pristine copy on SQLite,
    since taking over and answering finishes the run)."""
    results = []
    for _ in range(repeat):
        target = url
        if copy is not None:
            fresh = copy.with_name(f"try-{len(results)}.db")
            fresh.write_bytes(copy.read_bytes())
            target = f"sqlite:///{fresh}"
        output = subprocess.run(
            [sys.executable, "-m", "benchmarks.takeover", "--child", target],
            check=True, capture_output=True, text=True, cwd=ROOT,
        ).stdout  # fmt: skip
        results.append(json.loads(output.splitlines()[-1]))
    return results


def measure(url: str, ticks: int, repeat: int, copy: Path | None) -> dict[str, Any]:
    """Build the run, then time takeovers with the checkpoint and without it."""
    built = asyncio.run(build(url, ticks))
    report: dict[str, Any] = {"built": built}
    for label in ("checkpoint", "full fold"):
        if label == "full fold":
            asyncio.run(forget_checkpoint(url if copy is None else f"sqlite:///{copy}"))
        if copy is None:  # PostgreSQL: rebuild per take-over, since each finishes the run
            samples = []
            for index in range(repeat):
                database = f"takeover_{label.replace(' ', '_')}_{index}"
                samples += _pg_sample(url, database, ticks, label == "full fold")
        else:
            samples = child(url, repeat, copy)
        report[label] = {
            "median_s": statistics.median(s["seconds"] for s in samples),
            "ticks_loaded": samples[0]["ticks_loaded"],
            "samples_s": [round(s["seconds"], 4) for s in samples],
        }
    return report


def _pg_sample(url: str, database: str, ticks: int, full: bool) -> list[dict[str, Any]]:
    server = _PG["server"]
    server.psql(f"CREATE DATABASE {database}")
    target = server.dsn(database)
    try:
        asyncio.run(build(target, ticks))
        if full:
            asyncio.run(forget_checkpoint(target))
        return child(target, 1, None)
    finally:
        server.psql(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")


_PG: dict[str, Any] = {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        sys.stdout.write(json.dumps(asyncio.run(take_over(args.child))) + "\n")
        return
    sys.path.insert(0, str(ROOT / "tests"))
    from stores.pg_server import running_server

    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / "long.db"
        results["sqlite"] = measure(f"sqlite:///{copy}", args.ticks, args.repeat, copy)
    with running_server() as server:
        _PG["server"] = server
        results["postgres"] = measure(server.dsn(), args.ticks, args.repeat, None)
    sys.stdout.write(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
