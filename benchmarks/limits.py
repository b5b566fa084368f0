"""What holding a slot of a named limit costs a step.

``python -m benchmarks.limits`` measures, in memory, on a SQLite file and on a throwaway
PostgreSQL server (the tests' ``running_server``), one run of an N-step linear workflow
minus a one-step run, divided by N, twice: with plain steps, and with every step opting into
``Limit(concurrency=4)`` (one acquire and one release transaction per step, never waiting: a
linear run holds at most one slot). The difference is the cost of a slot per step.

Each figure is the median of ``--repeat`` runs (default 5). Usage:
``python -m benchmarks.limits [--steps 200] [--repeat 5] [--json PATH]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from pathlib import Path
from typing import Any, ClassVar

from benchmarks.store_urls import store_urls
from stepwork import Event, Limit, StartEvent, StopEvent, Workflow, step


class Hop(Event):
    left: int


class Plain(Workflow):
    @step
    async def start(self, ev: StartEvent) -> Hop:
        return Hop(left=ev.steps - 1)

    @step
    async def hop(self, ev: Hop) -> Hop | StopEvent:
        return StopEvent(result="done") if ev.left <= 0 else Hop(left=ev.left - 1)


class Limited(Workflow):
    limits: ClassVar[dict[str, Limit]] = {"bench": Limit(concurrency=4)}

    @step(limit="bench")
    async def start(self, ev: StartEvent) -> Hop:
        return Hop(left=ev.steps - 1)

    @step(limit="bench")
    async def hop(self, ev: Hop) -> Hop | StopEvent:
        return StopEvent(result="done") if ev.left <= 0 else Hop(left=ev.left - 1)


async def _timed(workflow: Workflow, run_id: str, steps: int) -> float:
    began = time.perf_counter()
    await workflow.run(run_id=run_id, steps=steps)
    return time.perf_counter() - began


async def measure(url: str | None, n: int, repeat: int) -> dict[str, Any]:
    """Seconds per plain step and per limited step on the store at ``url`` (``None``: memory)."""
    flows = {"plain": Plain(store=url, timeout=None), "limited": Limited(store=url, timeout=None)}
    samples: dict[str, list[float]] = {"plain": [], "limited": []}
    for i in range(repeat + 1):  # the first round warms up (opens the store, caches)
        for label, flow in flows.items():
            one = await _timed(flow, f"{label}-1-{i}", 1)
            many = await _timed(flow, f"{label}-n-{i}", n)
            if i:
                samples[label].append((many - one) / (n - 1))
    for flow in flows.values():
        if flow.store is not None:
            await flow.store.close()
    return {label: statistics.median(values) for label, values in samples.items()} | {
        "samples": samples
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    rows: dict[str, Any] = {}
    with store_urls("limits") as urls:
        for label, url in urls.items():
            rows[label] = asyncio.run(measure(url, args.steps, args.repeat))
    out = {"steps": args.steps, "repeat": args.repeat, "rows": rows}
    print("| store | per plain step | per limited step | slot cost per step |")
    print("|---|---|---|---|")
    for label, row in rows.items():
        plain, limited = row["plain"], row["limited"]
        print(
            f"| {label} | {plain * 1e6:.1f} us | {limited * 1e6:.1f} us "
            f"| {(limited - plain) * 1e6:.1f} us |"
        )
    if args.json is not None:
        args.json.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
