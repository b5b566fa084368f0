"""The chaos test's workflow: fan-out and fan-in both ways, retried failures, step timeouts,
and (once stepwork has them) human waits and durable sleeps, every step execution recorded in
a side-effect ledger outside the engine.

The ledger is a file of its own (``$STEPWORK_CHAOS_LEDGER``): each step execution appends
one line ``[step_key, step, pid, started]`` before it does anything else, so the test
can compare what ran with what the journal says finished. Its counts also drive the failures:
an invocation fails (or overruns its timeout) until the ledger holds enough executions of its
``step_key``, so every run fails and retries whatever the kills do, and its result never
depends on them.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections import Counter
from typing import Annotated

from stepwork import (
    All,
    Collect,
    Context,
    Event,
    HumanResponseEvent,
    InputRequiredEvent,
    StartEvent,
    StopEvent,
    Workflow,
    step,
)
from stepwork.errors import StepTimeoutError
from stepwork.retry_policy import (
    retry_if_exception_type,
    retry_policy,
    stop_after_attempt,
    wait_exponential_jitter,
)

LEDGER_ENV = "STEPWORK_CHAOS_LEDGER"


class Ledger:
    """The side-effect ledger: an append-only file of JSON lines ``[step_key, step, pid,
    started]``, each written with one ``O_APPEND`` write and fsync'd.

    No locks: a worker SIGSTOPped in the middle of recording holds nothing the others wait
    for (a SQLite ledger's write lock would stall every other worker until it went on).
    Each process follows the file from where it last read to count executions per key.
    """

    def __init__(self, path: str) -> None:
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self.reader = open(path, "rb")  # kept open for the process's life
        self.partial = b""
        self.counts: Counter[str] = Counter()

    def add(self, key: str, step_name: str, started: float) -> int:
        """Append one execution; how many the ledger now holds for ``key``."""
        line = json.dumps([key, step_name, os.getpid(), started]) + "\n"
        os.write(self.fd, line.encode())
        os.fsync(self.fd)
        data = self.partial + self.reader.read()
        *lines, self.partial = data.split(b"\n")
        for done in lines:
            self.counts[json.loads(done)[0]] += 1
        return self.counts[key]


def read_ledger(path: str) -> list[tuple[str, str, int, float]]:
    """Every execution the ledger holds (a torn last line, from a SIGKILL, left out)."""
    with open(path, "rb") as file:
        lines = file.read().split(b"\n")
    return [tuple(json.loads(line)) for line in lines[:-1]]  # type: ignore[misc]


_ledgers: dict[int, Ledger] = {}


def record(ctx: Context, step_name: str) -> int:
    """Record one execution of the current step in the ledger, stamped with when it started;
    how many the ledger now holds for this ``step_key`` (this one included)."""
    started = time.time()  # first: writing to the ledger takes a moment
    key = ctx.step_key
    ledger = _ledgers.get(os.getpid())
    if ledger is None:  # one per process (a forked child opens its own)
        ledger = _ledgers[os.getpid()] = Ledger(os.environ[LEDGER_ENV])
    return ledger.add(key, step_name, started)


class Flaky(Exception):
    """A failure the retry policy retries."""


RETRY = retry_policy(
    retry=retry_if_exception_type((Flaky, StepTimeoutError)),
    wait=wait_exponential_jitter(initial=0.02, max=0.2, jitter=0.05),
    stop=stop_after_attempt(6),
)


class Part(Event):
    n: int
    i: int


class PartDone(Event):
    n: int
    value: int


class Piece(Event):
    n: int
    j: int
    count: int


class PieceDone(Event):
    value: int
    count: int


class Summed(Event):
    n: int
    total: int


class Tallied(Event):
    total: int


def parts_of(n: int) -> int:
    """How many ``Part`` events run ``n`` fans out (typed fan-out, ``list[...]`` fan-in)."""
    return 2 + n % 3


def pieces_of(n: int) -> int:
    """How many ``Piece`` events run ``n`` sends (``send_event`` fan-out, ``collect_events``)."""
    return 1 + n % 4


def expected(n: int, workflow: str = "chaos") -> dict[str, int]:
    """The result run ``n`` of ``workflow`` must end with."""
    if workflow == "chaos_human":
        return {"n": n, "answer": answer_for(n)}
    if workflow == "chaos_sleep":
        return {"n": n, "slept": 1}
    summed = sum((n + 1) * (i + 1) for i in range(parts_of(n)))
    tallied = sum(n * 10 + j for j in range(pieces_of(n)))
    return {"n": n, "summed": summed, "tallied": tallied}


class Chaos(Workflow):
    """Start ``n`` -> ``expected(n)``: two fan-outs joined, with failures and timeouts."""

    @step
    async def split(self, ctx: Context, ev: StartEvent) -> list[Part]:
        record(ctx, "split")
        return [Part(n=ev.n, i=i) for i in range(parts_of(ev.n))]

    @step
    async def deal(self, ctx: Context, ev: StartEvent) -> Piece:
        record(ctx, "deal")
        count = pieces_of(ev.n)
        for j in range(count - 1):
            ctx.send_event(Piece(n=ev.n, j=j, count=count))
        return Piece(n=ev.n, j=count - 1, count=count)

    @step(num_workers=4, retry_policy=RETRY)
    async def work(self, ctx: Context, ev: Part) -> PartDone:
        executions = record(ctx, "work")
        await asyncio.sleep(0.3)  # work, not synchronisation: runs are in flight when killed
        if executions <= (ev.n + ev.i) % 3:  # 0, 1 or 2 failures before it succeeds
            raise Flaky(f"part {ev.i} of run {ev.n}, execution {executions}")
        return PartDone(n=ev.n, value=(ev.n + 1) * (ev.i + 1))

    @step
    async def gather(self, ctx: Context, done: Annotated[list[PartDone], Collect(All())]) -> Summed:
        record(ctx, "gather")
        return Summed(n=done[0].n, total=sum(d.value for d in done))

    @step(num_workers=4, retry_policy=RETRY, timeout=1.0)
    async def piece(self, ctx: Context, ev: Piece) -> PieceDone:
        executions = record(ctx, "piece")
        if executions == 1 and (ev.n + ev.j) % 3 == 0:
            await asyncio.sleep(30)  # overruns the step timeout: cancelled, then retried
        await asyncio.sleep(0.3)
        return PieceDone(value=ev.n * 10 + ev.j, count=ev.count)

    @step
    async def tally(self, ctx: Context, ev: PieceDone) -> Tallied | None:
        record(ctx, "tally")
        got = ctx.collect_events(ev, [PieceDone] * ev.count)
        if got is None:
            return None
        return Tallied(total=sum(d.value for d in got if isinstance(d, PieceDone)))

    @step
    async def finish(self, ctx: Context, ev: Summed | Tallied) -> StopEvent | None:
        record(ctx, "finish")
        got = ctx.collect_events(ev, [Summed, Tallied])
        if got is None:
            return None
        summed, tallied = got
        assert isinstance(summed, Summed) and isinstance(tallied, Tallied)
        return StopEvent(result={"n": summed.n, "summed": summed.total, "tallied": tallied.total})


class Ask(InputRequiredEvent):
    """A question to the person (the test), published once per run."""

    n: int


class Answer(HumanResponseEvent):
    """The person's answer, delivered from outside through the store."""

    value: int


def answer_for(n: int) -> int:
    """What the person answers run ``n``."""
    return n * 7


class ChaosHuman(Workflow):
    """Start ``n`` -> waits for a person's ``Answer`` -> ``expected(n, "chaos_human")``."""

    @step
    async def ask(self, ctx: Context, ev: StartEvent) -> StopEvent:
        record(ctx, "ask")
        answer = await ctx.wait_for_event(Answer, waiter_event=Ask(n=ev.n), timeout=None)
        return StopEvent(result={"n": ev.n, "answer": answer.value})


class ChaosSleep(Workflow):
    """Start ``n`` -> a durable sleep -> ``expected(n, "chaos_sleep")``."""

    @step
    async def nap(self, ctx: Context, ev: StartEvent) -> StopEvent:
        record(ctx, "nap")
        sleep = getattr(ctx, "sleep", None)  # a durable sleep, once stepwork has one
        assert sleep is not None, "the chaos test plays durable sleeps only with ctx.sleep"
        await sleep(0.5)
        return StopEvent(result={"n": ev.n, "slept": 1})


workflows = {
    "chaos": Chaos(timeout=None, workflow_name="chaos"),
    "chaos_human": ChaosHuman(timeout=None, workflow_name="chaos_human"),
    "chaos_sleep": ChaosSleep(timeout=None, workflow_name="chaos_sleep"),
}
