"""What a journaled call (``ctx.once``) costs, next to what a step costs.

``python -m benchmarks.once`` measures, in memory, on a SQLite file and on a throwaway
PostgreSQL server (the tests' ``running_server``):

- **per ctx.once call**: one run whose single step makes N journaled calls of a trivial async
  function, minus the same run making none, divided by N. Each call journals one ``TickOnce``
  and waits until it is stored before returning (that wait is the point: the step goes on
  only once the result is durable);
- **per step**: one run of an N-step linear workflow, minus a one-step run, divided by N.

Each figure is the median of ``--repeat`` runs (default 5). Usage:
``python -m benchmarks.once [--calls 200] [--repeat 5] [--json PATH]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from pathlib import Path
from typing import Any

from benchmarks.store_urls import store_urls
from stepwork import Context, Event, StartEvent, StopEvent, Workflow, step


async def _value(n: int) -> int:
    return n


class Calls(Workflow):
    @step
    async def go(self, ctx: Context, ev: StartEvent) -> StopEvent:
        total = 0
        for n in range(ev.calls):
            total += await ctx.once("call", _value, n)
        return StopEvent(result=total)


class Hop(Event):
    left: int


class Steps(Workflow):
    @step
    async def start(self, ev: StartEvent) -> Hop:
        return Hop(left=ev.steps - 1)

    @step
    async def hop(self, ev: Hop) -> Hop | StopEvent:
        return StopEvent(result="done") if ev.left <= 0 else Hop(left=ev.left - 1)


async def _timed(workflow: Workflow, run_id: str, **start: int) -> float:
    began = time.perf_counter()
    await workflow.run(run_id=run_id, **start)
    return time.perf_counter() - began


async def measure(url: str | None, n: int, repeat: int) -> dict[str, Any]:
    """Seconds per ctx.once call and per step on the store at ``url`` (``None``: memory)."""
    calls = Calls(store=url, timeout=None)
    steps = Steps(store=url, timeout=None)
    per_call, per_step = [], []
    for i in range(repeat + 1):  # the first round warms up (opens the store, caches)
        base = await _timed(calls, f"c0-{i}", calls=0)
        full = await _timed(calls, f"cn-{i}", calls=n)
        one = await _timed(steps, f"s1-{i}", steps=1)
        many = await _timed(steps, f"sn-{i}", steps=n)
        if i:
            per_call.append((full - base) / n)
            per_step.append((many - one) / (n - 1))
    for workflow in (calls, steps):
        if workflow.store is not None:
            await workflow.store.close()
    return {
        "per_call": statistics.median(per_call),
        "per_step": statistics.median(per_step),
        "samples": {"per_call": per_call, "per_step": per_step},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    rows: dict[str, Any] = {}
    with store_urls("once") as urls:
        for label, url in urls.items():
            rows[label] = asyncio.run(measure(url, args.calls, args.repeat))
    out = {"calls": args.calls, "repeat": args.repeat, "rows": rows}
    print("| store | per ctx.once call | per step | call / step |")
    print("|---|---|---|---|")
    for label, row in rows.items():
        ratio = row["per_call"] / row["per_step"]
        print(
            f"| {label} | {row['per_call'] * 1e6:.1f} us | {row['per_step'] * 1e6:.1f} us "
            f"| {ratio:.2f} |"
        )
    if args.json is not None:
        args.json.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
