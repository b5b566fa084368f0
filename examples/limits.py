"""Named limits shared by several processes, per-tenant limits, and "retry after N s".

    python examples/limits.py

Three processes (this one and two it starts) each run a workflow that fans out four calls
to a pretend language model. The model's step opts into ``Limit(concurrency=2)``, and the
runs share a SQLite journal (``limits.db`` next to ``ORDER_DB``, default: the current
directory), so at most two calls run at once across all three processes. Each call appends
``+``/``-`` lines to a file outside the engine, from which the most calls at once is counted.
Then a step told "429: retry after 0.2 s" raises ``stepwork.RetryAfter``, and its retry
starts no earlier; and a limit keyed by tenant refuses a run that names no tenant.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path
from typing import ClassVar

from stepwork import (
    Event,
    Limit,
    LimitKeyError,
    RetryAfter,
    StartEvent,
    StopEvent,
    Workflow,
    step,
)
from stepwork.retry_policy import retry_policy, stop_after_attempt, wait_fixed

DATABASE = Path(os.environ.get("ORDER_DB", "runs.db")).with_name("limits.db")
LOG = DATABASE.with_suffix(".calls")  # one "+" or "-" line per call start and end


class Document(Event):
    text: str


class Summary(Event):
    text: str


class Summaries(Workflow):
    limits: ClassVar[dict[str, Limit]] = {"llm": Limit(concurrency=2)}  # for every process

    @step
    async def split(self, ev: StartEvent) -> list[Document]:
        return [Document(text=f"{ev.name} part {n}") for n in range(4)]

    @step(limit="llm", num_workers=4)
    async def summarise(self, ev: Document) -> Summary:
        with LOG.open("a") as log:  # O_APPEND: whole lines from every process
            log.write("+\n")
        await asyncio.sleep(0.1)  # the model thinking
        with LOG.open("a") as log:
            log.write("-\n")
        return Summary(text=ev.text.upper())

    @step
    async def gather(self, evs: list[Summary]) -> StopEvent:
        return StopEvent(result=len(evs))


class PerTenant(Workflow):
    # One call at a time per value of the start event's `tenant` field.
    limits: ClassVar[dict[str, Limit]] = {"tenant": Limit(concurrency=1, key="tenant")}

    @step(limit="tenant")
    async def call(self, ev: StartEvent) -> StopEvent:
        return StopEvent(result=f"served {ev.tenant}")


ATTEMPTS: list[float] = []


class Provider(Workflow):
    @step(retry_policy=retry_policy(wait=wait_fixed(0.01), stop=stop_after_attempt(3)))
    async def call(self, ev: StartEvent) -> StopEvent:
        ATTEMPTS.append(time.monotonic())
        if len(ATTEMPTS) == 1:
            raise RetryAfter(0.2, "429 Too Many Requests", jitter=0.05)
        return StopEvent(result="answered")


async def one_process(name: str) -> int:
    return await Summaries(store=f"sqlite:///{DATABASE}", timeout=30).run(name=name)


async def main() -> None:
    for stale in (DATABASE, LOG):
        stale.unlink(missing_ok=True)
    others = [
        await asyncio.create_subprocess_exec(sys.executable, __file__, "--child", f"child-{n}")
        for n in (1, 2)
    ]
    print(f"this process summarised {await one_process('parent')} parts")
    assert [await child.wait() for child in others] == [0, 0]
    now = most = 0
    for line in LOG.read_text().split():
        now += 1 if line == "+" else -1
        most = max(most, now)
    print(f"calls: {LOG.read_text().count('+')}, most at once across 3 processes: {most}")

    print(f"result: {await Provider(timeout=10).run()}")
    print(f"retry waited at least 0.2 s: {ATTEMPTS[1] - ATTEMPTS[0] >= 0.2}")

    print(await PerTenant(timeout=10).run(tenant="acme"))
    try:
        await PerTenant(timeout=10).run()
    except LimitKeyError as error:
        print(f"LimitKeyError: {str(error).split('. ')[0]}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        asyncio.run(one_process(sys.argv[2]))
    else:
        asyncio.run(main())
