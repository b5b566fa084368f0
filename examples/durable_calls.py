"""Journaled calls and a child workflow surviving a crash (``ctx.once``, ``ctx.run_workflow``).

    python examples/durable_calls.py

A step asks a (pretend) language model for a summary through ``ctx.once``, then runs a child
workflow that translates it. The first process is killed (SIGKILL) right after the model
answered; this process then resumes the run from its journal. The model is not asked again
(its answer was journaled) and the child runs once. The run is journaled in ``calls.db``
next to ``ORDER_DB`` (default: the current directory).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import stepwork
from stepwork import Context, StartEvent, StopEvent, Workflow, step

DATABASE = Path(os.environ.get("ORDER_DB", "runs.db")).with_name("calls.db")
CALLS = DATABASE.with_suffix(".calls")  # counts real model calls, outside the engine


@stepwork.once("llm")  # inside a step, every call is journaled; outside, a plain call
async def ask_model(prompt: str) -> str:
    with CALLS.open("a") as file:
        file.write(prompt + "\n")
    return "Durable steps keep their side effects."


class Translate(Workflow):
    @step
    async def translate(self, ev: StartEvent) -> StopEvent:
        return StopEvent(result=f"[fr] {ev.text}")


class Report(Workflow):
    @step
    async def write(self, ctx: Context, ev: StartEvent) -> StopEvent:
        summary = await ask_model(f"Summarise {ev.topic}")
        if os.environ.get("CALLS_CRASH"):
            os.kill(os.getpid(), signal.SIGKILL)  # the answer is journaled: die right here
        french = await ctx.run_workflow(Translate(timeout=None), text=summary)
        return StopEvent(result={"summary": summary, "french": french})


async def start() -> None:
    await Report(store=f"sqlite:///{DATABASE}", timeout=None).run(run_id="report-1", topic="x")


async def resume() -> None:
    workflow = Report(store=f"sqlite:///{DATABASE}", timeout=None)
    result = await workflow.resume("report-1")
    print(f"result: {result['french']}")
    print(f"the model was asked {len(CALLS.read_text().splitlines())} time(s)")
    for entry in await workflow.history("report-1"):
        if entry.kind == "once":
            print(f"history: {entry.summary}")
    assert workflow.store is not None
    await workflow.store.close()


if __name__ == "__main__":
    if sys.argv[1:] == ["--crash"]:
        asyncio.run(start())
    else:
        for leftover in (DATABASE, CALLS):
            leftover.unlink(missing_ok=True)
        env = {**os.environ, "CALLS_CRASH": "1"}
        first = subprocess.run([sys.executable, __file__, "--crash"], env=env, check=False)
        print(f"first process ended with signal {-first.returncode}, after the model answered")
        asyncio.run(resume())
