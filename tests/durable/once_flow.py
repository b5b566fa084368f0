"""A durable workflow with journaled calls and a child, for SIGKILL tests.

Run as a script (``python once_flow.py STORE_URL COUNTER KILL_AT``) it starts run ``once-1``
and SIGKILLs itself at ``KILL_AT``: ``after-quote`` (right after the journaled call ``quote``
returned), ``in-child`` (right after the child's own journaled call), ``after-child`` (right
after the child's result came back) or ``after-email``. Every real call appends a line to
the ``COUNTER`` file (fsync'd), outside the engine.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from stepwork import Context, StartEvent, StopEvent, Workflow, step


def count(what: str) -> str:
    with Path(os.environ["ONCE_COUNTER"]).open("a") as file:
        file.write(what + "\n")
        file.flush()
        os.fsync(file.fileno())
    return what


def maybe_kill(point: str) -> None:
    if os.environ.get("ONCE_KILL_AT") == point:
        os.kill(os.getpid(), signal.SIGKILL)


class Child(Workflow):
    @step
    async def work(self, ctx: Context, ev: StartEvent) -> StopEvent:
        done = await ctx.once("child-work", count, f"child-work {ctx.step_key.rsplit(':', 2)[0]}")
        maybe_kill("in-child")
        return StopEvent(result=f"{done} for {ev.n}")


class Parent(Workflow):
    @step
    async def go(self, ctx: Context, ev: StartEvent) -> StopEvent:
        quote = await ctx.once("quote", count, "quote")
        maybe_kill("after-quote")
        child = await ctx.run_workflow(Child(timeout=None), n=len(quote))
        maybe_kill("after-child")
        email = await ctx.once("email", count, "email")
        maybe_kill("after-email")
        return StopEvent(result=[quote, child, email])


async def main(url: str) -> None:
    await Parent(store=url, timeout=None).run(run_id="once-1")


if __name__ == "__main__":
    os.environ["ONCE_COUNTER"] = sys.argv[2]
    os.environ["ONCE_KILL_AT"] = sys.argv[3]
    asyncio.run(main(sys.argv[1]))
