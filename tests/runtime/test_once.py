"""``ctx.once``: journaled calls inside a step, in one process (in memory and on SQLite).

The multi-process checks (SIGKILL right after a journaled call) are in
``tests/durable/test_once_processes.py``.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

import stepwork
from stepwork import (
    Context,
    JournaledCallError,
    JournaledCallMismatchError,
    JournaledResultTooLargeError,
    StartEvent,
    StopEvent,
    Workflow,
    step,
)
from stepwork.errors import ContextStateError, StateSerializationError


class Quote(BaseModel):
    """A result type no step signature names: found because its module is imported."""

    price: float
    currency: str


class OddError(Exception):
    """Neither stepwork's nor a builtin: comes back from a journal as JournaledCallError."""


class Calls:
    """Counts real calls, outside the engine."""

    def __init__(self) -> None:
        self.made: list[str] = []

    def quote(self, item: str) -> Quote:  # sync: runs in a worker thread
        self.made.append(f"quote {item}")
        return Quote(price=9.5, currency="EUR")

    async def llm(self, prompt: str, *, loud: bool = False) -> str:
        self.made.append(f"llm {prompt}")
        return prompt.upper() if loud else prompt


class Shop(Workflow):
    """Two journaled calls, then a wait that a test answers or interrupts."""

    def __init__(self, calls: Calls, gate: asyncio.Event | None = None, **kw: Any) -> None:
        super().__init__(timeout=None, **kw)
        self.calls = calls
        self.gate = gate
        self.reached = asyncio.Event()

    @step
    async def buy(self, ctx: Context, ev: StartEvent) -> StopEvent:
        quote = await ctx.once("quote", self.calls.quote, "book")
        text = await ctx.once("llm", self.calls.llm, "hi", loud=True)
        self.reached.set()
        if self.gate is not None:
            await self.gate.wait()
        return StopEvent(result={"quote": quote, "text": text, "key": ctx.step_key})


async def test_calls_run_once_and_their_outcomes_are_journaled_in_the_tick_log() -> None:
    calls = Calls()
    handler = Shop(calls).run()
    result = await handler
    assert result["quote"] == Quote(price=9.5, currency="EUR") and result["text"] == "HI"
    assert calls.made == ["quote book", "llm hi"]
    once_ticks = [tick for tick in handler.ticks if tick.kind == "once"]
    assert [(t.number, t.name) for t in once_ticks] == [(0, "quote"), (1, "llm")]
    assert once_ticks[1].outcome == {"value": "HI"}


async def test_a_snapshot_restore_returns_journaled_results_without_calling_again() -> None:
    calls, gate = Calls(), asyncio.Event()
    workflow = Shop(calls, gate)
    handler = workflow.run()
    await workflow.reached.wait()
    snapshot = json.loads(json.dumps(handler.ctx.to_dict()))
    await handler.cancel_run()

    again = Shop(calls)  # no gate: the restored step runs through
    result = await again.run(ctx=Context.from_dict(again, snapshot))
    assert calls.made == ["quote book", "llm hi"]  # nothing called twice
    assert result["quote"] == Quote(price=9.5, currency="EUR") and result["text"] == "HI"


async def test_a_resumed_durable_run_returns_journaled_results(tmp_path: Path) -> None:
    calls, gate = Calls(), asyncio.Event()
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    workflow = Shop(calls, gate, store=url)
    handler = workflow.run(run_id="shop-1")
    await workflow.reached.wait()
    key = None
    # Let go of the run here as a crashed process would (nothing more is written).
    driver = handler.driver
    assert driver is not None
    driver.detach(RuntimeError("simulated crash"))
    handler.cancel()

    history = await workflow.history("shop-1")
    assert [e.summary for e in history if e.kind == "once"] == [
        "invocation 0 call #1 'quote' returned",
        "invocation 0 call #2 'llm' returned",
    ]
    resumed = Shop(calls, store=url)
    result = await resumed.resume("shop-1")
    key = result["key"]
    assert calls.made == ["quote book", "llm hi"]
    assert result["quote"] == Quote(price=9.5, currency="EUR") and result["text"] == "HI"
    assert key.startswith("shop-1:buy:")
    await workflow.store.close()  # type: ignore[union-attr]
    await resumed.store.close()  # type: ignore[union-attr]


class Fails(Workflow):
    """Journals an error, then stops at a gate so a restore re-runs the step."""

    def __init__(self, error: Exception, gate: asyncio.Event | None = None) -> None:
        super().__init__(timeout=None)
        self.error = error
        self.gate = gate
        self.reached = asyncio.Event()
        self.made = 0

    def boom(self) -> None:
        self.made += 1
        raise self.error

    @step
    async def go(self, ctx: Context, ev: StartEvent) -> StopEvent:
        try:
            await ctx.once("boom", self.boom)
        except Exception as error:
            caught: Exception = error
        self.reached.set()
        if self.gate is not None:
            await self.gate.wait()
        return StopEvent(result=caught)


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (KeyError("sku"), KeyError),  # a builtin comes back as itself
        (ContextStateError("ours"), ContextStateError),  # so does one of stepwork's
        (OddError("strange"), JournaledCallError),  # anything else: named, with its type
    ],
)
async def test_a_journaled_error_is_raised_again_on_a_rerun(
    error: Exception, expected: type[Exception]
) -> None:
    gate = asyncio.Event()
    workflow = Fails(error, gate)
    handler = workflow.run()
    await workflow.reached.wait()
    snapshot = handler.ctx.to_dict()
    await handler.cancel_run()
    assert workflow.made == 1

    again = Fails(RuntimeError("must not be called"))
    raised = await again.run(ctx=Context.from_dict(again, snapshot))
    assert again.made == 0
    assert type(raised) is expected
    if isinstance(raised, JournaledCallError):
        assert raised.error_type.endswith("test_once.OddError")
        assert "strange" in str(raised) and raised.step_name == "go"
    else:
        assert str(raised) == str(error)


class Changed(Workflow):
    """Makes ``names`` journaled calls in order (a deploy changes the order)."""

    def __init__(self, names: list[str], gate: asyncio.Event | None = None) -> None:
        super().__init__(timeout=None)
        self.names = names
        self.gate = gate
        self.reached = asyncio.Event()

    @step
    async def go(self, ctx: Context, ev: StartEvent) -> StopEvent:
        for name in self.names:
            await ctx.once(name, str, name)
        self.reached.set()
        if self.gate is not None:
            await self.gate.wait()
        return StopEvent(result="done")


async def test_a_rerun_making_other_calls_fails_naming_both() -> None:
    old = Changed(["charge", "email"], asyncio.Event())
    handler = old.run()
    await old.reached.wait()
    snapshot = handler.ctx.to_dict()
    await handler.cancel_run()

    new = Changed(["charge", "refund"])
    with pytest.raises(JournaledCallMismatchError) as caught:
        await new.run(ctx=Context.from_dict(new, snapshot))
    message = str(caught.value)
    assert "#2 as 'refund'" in message and "holds 'email'" in message
    assert caught.value.step_name == "go"


ONE_RETRY = stepwork.retry_policy(wait=stepwork.wait_fixed(0), stop=stepwork.stop_after_attempt(2))


class Retried(Workflow):
    """Fails after its journaled call on the first attempt: the retry calls again."""

    def __init__(self) -> None:
        super().__init__(timeout=None)
        self.made = 0

    def count(self) -> int:
        self.made += 1
        return self.made

    @step(retry_policy=ONE_RETRY)
    async def go(self, ctx: Context, ev: StartEvent) -> StopEvent:
        made = await ctx.once("count", self.count)
        if made == 1:
            raise ValueError("first attempt fails")
        return StopEvent(result=made)


async def test_a_retry_after_a_failure_calls_again() -> None:
    assert await Retried().run() == 2


class Misuse(Workflow):
    def __init__(self, make: Any) -> None:
        super().__init__(timeout=None)
        self.make = make

    @step
    async def go(self, ctx: Context, ev: StartEvent) -> StopEvent:
        return StopEvent(result=await ctx.once("big", self.make))


async def test_a_result_too_large_to_journal_is_refused() -> None:
    with pytest.raises(JournaledResultTooLargeError, match=r"at most 1,048,576 bytes"):
        await Misuse(lambda: "x" * (stepwork.MAX_JOURNALED_RESULT_BYTES + 1)).run()
    # Just under the limit is fine.
    assert len(await Misuse(lambda: "x" * 1_000_000).run()) == 1_000_000


async def test_a_result_that_is_not_json_is_refused_naming_the_call() -> None:
    with pytest.raises(StateSerializationError, match=r"ctx.once\('big'\)"):
        await Misuse(lambda: object()).run()


async def test_once_outside_a_step_says_where_it_belongs() -> None:
    handler = Shop(Calls()).run()
    with pytest.raises(ContextStateError, match="only available from within a step"):
        await handler.ctx.once("x", lambda: 1)
    await handler


@stepwork.once("llm")
async def complete(prompt: str) -> str:
    COMPLETED.append(prompt)
    return prompt[::-1]


COMPLETED: list[str] = []


class Decorated(Workflow):
    @step
    async def go(self, ctx: Context, ev: StartEvent) -> StopEvent:
        first = await complete("abc")
        second = await complete("xyz")
        return StopEvent(result=[first, second])


async def test_the_decorator_journals_a_helper_inside_steps_and_calls_it_plainly_outside() -> None:
    COMPLETED.clear()
    handler = Decorated(timeout=None).run()
    assert await handler == ["cba", "zyx"]
    assert [(t.number, t.name) for t in handler.ticks if t.kind == "once"] == [
        (0, "llm"),
        (1, "llm"),
    ]
    assert await complete("plain") == "nialp"
    assert COMPLETED == ["abc", "xyz", "plain"]
