"""Where stepwork differs on purpose: each test asserts each library's own behaviour, so the
difference is written down (and noticed if either side changes) rather than skipped.

The reasons are in docs/porting.md: graph problems fail at construction, ``wait_for_event``
suspends instead of re-running the step, a run that can never finish fails at once.
"""

import asyncio

import pytest
from both_libs import ANCHOR, Lib, both, drain, names, outcome


def _graph_problem(lib: Lib, kind: str) -> type:
    class B(lib.Event):
        pass

    class C(lib.Event):
        pass

    if kind == "produced_never_consumed":

        class W(lib.Workflow):
            @lib.step
            async def s(self, ev: lib.StartEvent) -> lib.StopEvent | B:
                return lib.StopEvent(result="ran")

    elif kind == "consumed_never_produced":

        class W(lib.Workflow):  # type: ignore[no-redef]
            @lib.step
            async def s(self, ev: lib.StartEvent) -> lib.StopEvent:
                return lib.StopEvent(result="ran")

            @lib.step
            async def t(self, ev: B) -> lib.StopEvent:
                return lib.StopEvent()

    elif kind == "accepts_stop":

        class W(lib.Workflow):  # type: ignore[no-redef]
            @lib.step
            async def s(self, ev: lib.StartEvent) -> lib.StopEvent:
                return lib.StopEvent(result="ran")

            @lib.step
            async def t(self, ev: lib.StopEvent) -> lib.StopEvent:
                return lib.StopEvent()

    else:

        class W(lib.Workflow):  # type: ignore[no-redef]
            @lib.step
            async def s(self, ev: lib.StartEvent) -> lib.StopEvent | B:
                return lib.StopEvent(result="ran")

            @lib.step
            async def t(self, ev: B) -> C:
                return C()

            @lib.step
            async def u(self, ev: C) -> B:
                return B()

    return W


GRAPH_PROBLEMS = {
    "produced_never_consumed": "B",
    "consumed_never_produced": "never produced|no step produces",
    "accepts_stop": "Step 't' cannot accept StopEvent",
    "dead_end": r"\[dead_end\]",
}


@pytest.mark.parametrize("kind", sorted(GRAPH_PROBLEMS))
@both()
async def test_difference_graph_problems_fail_at_construction_in_stepwork(
    lib: Lib, kind: str
) -> None:
    """Anchor: ``W()`` works and ``run()`` raises. stepwork: ``W()`` raises, listing all."""
    workflow_class = _graph_problem(lib, kind)
    if lib is ANCHOR:
        wf = workflow_class()
        with pytest.raises(lib.WorkflowValidationError, match=GRAPH_PROBLEMS[kind]):
            wf.run()
    else:
        with pytest.raises(lib.WorkflowValidationError, match=GRAPH_PROBLEMS[kind]):
            workflow_class()
    assert await workflow_class(disable_validation=True).run() == "ran"


@both()
async def test_difference_wait_for_event_does_not_rerun_the_step_in_stepwork(lib: Lib) -> None:
    """Anchor: code before ``wait_for_event`` runs twice. stepwork: once (step suspended)."""

    class Reply(lib.HumanResponseEvent):
        text: str

    before: list[int] = []

    class W(lib.Workflow):
        @lib.step
        async def s(self, ctx: lib.Context, ev: lib.StartEvent) -> lib.StopEvent:
            before.append(1)
            reply = await ctx.wait_for_event(Reply, waiter_event=lib.InputRequiredEvent())
            return lib.StopEvent(result=reply.text)

    handler = W(timeout=5).run()
    async for ev in handler.stream_events():
        if isinstance(ev, lib.InputRequiredEvent):
            # Anchor: the step has left; stepwork: it is suspended, so it still runs.
            assert await handler.ctx.running_steps() == ([] if lib is ANCHOR else ["s"])
            await handler.send_event(Reply(text="ok"))
    assert await handler == "ok"
    assert len(before) == (2 if lib is ANCHOR else 1)


@both()
async def test_difference_a_run_that_can_never_finish(lib: Lib) -> None:
    """Anchor: hangs until the run timeout. stepwork: fails at once with WorkflowStalledError."""

    class A(lib.Event):
        pass

    class W(lib.Workflow):
        @lib.step
        async def s(self, ev: lib.StartEvent) -> A | None:
            return None

        @lib.step
        async def t(self, ev: A) -> lib.StopEvent:
            return lib.StopEvent()

    handler = W(timeout=0.2).run()
    events = await drain(handler)
    if lib is ANCHOR:
        with pytest.raises(lib.WorkflowTimeoutError, match="No steps active"):
            await handler
        assert names(events) == ["WorkflowTimedOutEvent"]
    else:
        with pytest.raises(lib.WorkflowStalledError, match="can never finish") as info:
            await handler
        assert "step 's' returned None" in str(info.value)
        assert isinstance(info.value, lib.WorkflowRuntimeError)
        assert names(events) == ["WorkflowFailedEvent"] and events[0].step_name == "s"


@both()
async def test_difference_get_stop_event_after_a_failure_or_timeout(lib: Lib) -> None:
    """Anchor: ``None`` unless the run completed or was cancelled. stepwork: always the end."""

    class W(lib.Workflow):
        @lib.step
        async def s(self, ev: lib.StartEvent) -> lib.StopEvent:
            if ev.mode == "fail":
                raise ValueError("x")
            if ev.mode == "hang":
                await asyncio.Event().wait()
            return lib.StopEvent(result=1)

    seen = {}
    for mode, timeout in (("ok", None), ("fail", None), ("hang", 0.1)):
        handler = W(timeout=timeout).run(mode=mode)
        await outcome(handler)
        seen[mode] = type(handler.get_stop_event()).__name__
    if lib is ANCHOR:
        assert seen == {"ok": "StopEvent", "fail": "NoneType", "hang": "NoneType"}
    else:
        assert seen == {
            "ok": "StopEvent",
            "fail": "WorkflowFailedEvent",
            "hang": "WorkflowTimedOutEvent",
        }


@both()
async def test_difference_start_event_plus_keyword_arguments(lib: Lib) -> None:
    """Anchor: the keyword arguments are ignored (logged). stepwork: StartEventError."""

    class W(lib.Workflow):
        @lib.step
        async def s(self, ev: lib.StartEvent) -> lib.StopEvent:
            return lib.StopEvent(result=dict(ev.items()))

    if lib is ANCHOR:
        assert await W().run(start_event=lib.StartEvent(a=1), b=2) == {"a": 1}
    else:
        with pytest.raises(lib.StartEventError, match="not both") as info:
            W().run(start_event=lib.StartEvent(a=1), b=2)
        assert isinstance(info.value, lib.WorkflowRuntimeError)
        assert isinstance(info.value, ValueError)


@both()
async def test_difference_parallel_retries_draw_their_own_jitter_in_stepwork(lib: Lib) -> None:
    # The anchor seeds a retry from run, step and attempt number, so invocations of one step
    # failing together draw the same "random" delay and retry in lockstep. stepwork draws a
    # new seed for every failure (the delay is journaled, so replay needs no seed).
    seeds: list[int | None] = []

    class Recording:
        def next(
            self, elapsed_time: float, attempts: int, error: Exception, seed: int | None = None
        ) -> float | None:
            seeds.append(seed)
            return 0.0 if attempts < 2 else None

    class Job(lib.Event):
        n: int

    class Done(lib.Event):
        n: int

    failed: set[int] = set()

    class FanOut(lib.Workflow):
        @lib.step
        async def spread(self, ctx: lib.Context, ev: lib.StartEvent) -> Job | None:
            for n in range(3):
                ctx.send_event(Job(n=n))
            return None

        @lib.step(retry_policy=Recording(), num_workers=3)
        async def flaky(self, ev: Job) -> Done:
            if ev.n not in failed:
                failed.add(ev.n)
                raise ConnectionError("rate limited")
            return Done(n=ev.n)

        @lib.step
        async def gather(self, ctx: lib.Context, ev: Done) -> lib.StopEvent | None:
            done = ctx.collect_events(ev, [Done] * 3)
            return None if done is None else lib.StopEvent(result=len(done))

    assert await FanOut().run() == 3
    assert len(seeds) == 3
    assert len(set(seeds)) == (1 if lib.name == "anchor" else 3)
