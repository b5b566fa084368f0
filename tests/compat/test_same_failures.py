"""Failing steps: the error the caller sees, retry policies counting executions, and
``@catch_error`` handlers recovering (or not) once retries are spent.
"""

import pytest
from both_libs import Lib, both, drain, names, outcome


@both()
async def test_step_exception_is_reraised_and_the_stream_ends_failed(lib: Lib) -> None:
    class Boom(Exception):
        pass

    class Started(lib.Event):
        pass

    class W(lib.Workflow):
        @lib.step
        async def explode(self, ctx: lib.Context, ev: lib.StartEvent) -> lib.StopEvent:
            ctx.write_event_to_stream(Started())
            raise Boom("kaboom")

    handler = W().run()
    events = await drain(handler)
    with pytest.raises(Boom, match="kaboom"):
        await handler
    assert names(events) == ["Started", "WorkflowFailedEvent"]
    failed = events[-1]
    assert isinstance(failed, lib.WorkflowFailedEvent)
    assert (failed.step_name, failed.attempts) == ("explode", 1)
    assert isinstance(failed, lib.StopEvent)


@both()
async def test_a_non_event_return_value_fails_the_run(lib: Lib) -> None:
    class W(lib.Workflow):
        @lib.step
        async def s(self, ev: lib.StartEvent) -> lib.StopEvent:
            return "oops"  # type: ignore[return-value]

    handler = W().run()
    events = await drain(handler)
    with pytest.raises(lib.WorkflowRuntimeError) as info:
        await handler
    assert "Step function s returned str instead of an Event instance" in str(info.value)
    assert names(events) == ["WorkflowFailedEvent"]
    assert events[0].step_name == "s"


@both()
async def test_stop_after_attempt_three_means_three_executions(lib: Lib) -> None:
    infos: list[tuple[int, str | None]] = []

    class W(lib.Workflow):
        @lib.step(
            retry_policy=lib.retry_policy(
                retry=lib.retry_if_exception_type(ValueError),
                wait=lib.wait_fixed(0),
                stop=lib.stop_after_attempt(3),
            )
        )
        async def flaky(self, ctx: lib.Context, ev: lib.StartEvent) -> lib.StopEvent:
            info = ctx.retry_info()
            last = info.last_exception
            infos.append((info.retry_number, None if last is None else str(last)))
            raise ValueError(f"try {info.retry_number}")

    handler = W().run()
    events = await drain(handler)
    with pytest.raises(ValueError, match="try 2"):
        await handler
    assert infos == [(0, None), (1, "try 0"), (2, "try 1")]
    failed = events[-1]
    assert isinstance(failed, lib.WorkflowFailedEvent)
    assert (failed.step_name, failed.attempts) == ("flaky", 3)


@both()
async def test_a_retried_step_may_succeed(lib: Lib) -> None:
    calls: list[int] = []

    class W(lib.Workflow):
        @lib.step(
            retry_policy=lib.retry_policy(wait=lib.wait_fixed(0), stop=lib.stop_after_attempt(5))
        )
        async def flaky(self, ctx: lib.Context, ev: lib.StartEvent) -> lib.StopEvent:
            info = ctx.retry_info()
            calls.append(info.retry_number)
            if len(calls) < 3:
                raise RuntimeError("not yet")
            assert info.last_failed_at is not None and info.elapsed_seconds >= 0
            return lib.StopEvent(result=type(info.last_exception).__name__)

    assert await W().run() == "RuntimeError"
    assert calls == [0, 1, 2]


@both()
async def test_a_retried_fan_in_step_is_given_the_list_its_failed_attempt_collected(
    lib: Lib,
) -> None:
    class Part(lib.Event):
        n: int

    seen: list[tuple[int, list[int] | None]] = []

    class W(lib.Workflow):
        @lib.step
        async def fan(self, ctx: lib.Context, ev: lib.StartEvent) -> Part | None:
            for n in (1, 2, 3):
                ctx.send_event(Part(n=n))
            return None

        @lib.step(
            retry_policy=lib.retry_policy(wait=lib.wait_fixed(0), stop=lib.stop_after_attempt(3))
        )
        async def gather(self, ctx: lib.Context, ev: Part) -> lib.StopEvent | None:
            got = ctx.collect_events(ev, [Part, Part, Part])
            numbers = None if got is None else [part.n for part in got]
            seen.append((ev.n, numbers))
            if numbers is None:
                return None
            if sum(answer is not None for _, answer in seen) == 1:
                raise RuntimeError("the first attempt after the release fails")
            return lib.StopEvent(result=numbers)

    assert await W().run() == [1, 2, 3]
    # The retry collected nothing new: it was handed the list again (not a stall).
    assert seen == [(1, None), (2, None), (3, [1, 2, 3]), (3, [1, 2, 3])]


@both()
async def test_retry_condition_that_does_not_match_fails_at_once(lib: Lib) -> None:
    calls: list[int] = []

    class W(lib.Workflow):
        @lib.step(
            retry_policy=lib.retry_policy(
                retry=lib.retry_if_exception_type(KeyError),
                wait=lib.wait_fixed(0),
                stop=lib.stop_after_attempt(5),
            )
        )
        async def s(self, ev: lib.StartEvent) -> lib.StopEvent:
            calls.append(1)
            raise ValueError("not retried")

    with pytest.raises(ValueError, match="not retried"):
        await W().run()
    assert calls == [1]


@both()
async def test_constant_delay_maximum_attempts_counts_executions(lib: Lib) -> None:
    calls: list[int] = []
    with pytest.warns(DeprecationWarning, match="ConstantDelayRetryPolicy is deprecated"):
        policy = lib.ConstantDelayRetryPolicy(delay=0, maximum_attempts=2)

    class W(lib.Workflow):
        @lib.step(retry_policy=policy)
        async def s(self, ev: lib.StartEvent) -> lib.StopEvent:
            calls.append(1)
            raise ValueError("always")

    with pytest.raises(ValueError):
        await W().run()
    assert len(calls) == 2


@both()
async def test_catch_error_recovers_a_failed_step(lib: Lib) -> None:
    class W(lib.Workflow):
        @lib.step
        async def explode(self, ev: lib.StartEvent) -> lib.StopEvent:
            raise KeyError("gone")

        @lib.catch_error
        async def recover(self, ev: lib.StepFailedEvent) -> lib.StopEvent:
            return lib.StopEvent(
                result=(
                    ev.step_name,
                    type(ev.exception).__name__,
                    ev.attempts,
                    type(ev.input_event).__name__,
                )
            )

    handler = W().run()
    events = await drain(handler)
    assert names(events) == ["StopEvent"]
    assert await handler == ("explode", "KeyError", 1, "StartEvent")


@both()
async def test_catch_error_gives_up_after_max_recoveries(lib: Lib) -> None:
    class Again(lib.Event):
        pass

    handled: list[str] = []

    class W(lib.Workflow):
        @lib.step
        async def explode(self, ev: lib.StartEvent | Again) -> lib.StopEvent:
            raise KeyError(type(ev).__name__)

        @lib.catch_error(max_recoveries=2)
        async def recover(self, ev: lib.StepFailedEvent) -> Again:
            handled.append(str(ev.exception))
            return Again()

    handler = W().run()
    events = await drain(handler)
    with pytest.raises(KeyError):
        await handler
    assert handled == ["'StartEvent'", "'Again'"]
    assert names(events) == ["WorkflowFailedEvent"]
    assert events[-1].step_name == "explode"


@both()
async def test_scoped_catch_error_handlers_win_over_the_wildcard(lib: Lib) -> None:
    class A(lib.Event):
        pass

    class W(lib.Workflow):
        @lib.step
        async def first(self, ev: lib.StartEvent) -> A:
            return A()

        @lib.step
        async def second(self, ev: A) -> lib.StopEvent:
            raise ValueError("second")

        @lib.catch_error(for_steps=["second"])
        async def scoped(self, ev: lib.StepFailedEvent) -> lib.StopEvent:
            return lib.StopEvent(result=f"scoped:{ev.step_name}")

        @lib.catch_error
        async def wildcard(self, ev: lib.StepFailedEvent) -> lib.StopEvent:
            return lib.StopEvent(result=f"wildcard:{ev.step_name}")

    assert await W().run() == "scoped:second"


@both()
async def test_catch_error_runs_after_retries_are_exhausted(lib: Lib) -> None:
    class W(lib.Workflow):
        @lib.step(
            retry_policy=lib.retry_policy(wait=lib.wait_fixed(0), stop=lib.stop_after_attempt(3))
        )
        async def s(self, ev: lib.StartEvent) -> lib.StopEvent:
            raise ValueError("v")

        @lib.catch_error
        async def recover(self, ctx: lib.Context, ev: lib.StepFailedEvent) -> lib.StopEvent:
            return lib.StopEvent(
                result=(ev.attempts, ev.step_name, ev.elapsed_seconds >= 0, ev.failed_at.tzinfo)
            )

    attempts, step_name, positive, tz = await W().run()
    assert (attempts, step_name, positive, tz is not None) == (3, "s", True, True)


@both()
async def test_a_failing_catch_error_handler_fails_the_run(lib: Lib) -> None:
    class W(lib.Workflow):
        @lib.step
        async def s(self, ev: lib.StartEvent) -> lib.StopEvent:
            raise ValueError("step")

        @lib.catch_error
        async def recover(self, ev: lib.StepFailedEvent) -> lib.StopEvent:
            raise KeyError("handler")

    handler = W().run()
    events = await drain(handler)
    with pytest.raises(KeyError, match="handler"):
        await handler
    assert [(type(e).__name__, e.step_name) for e in events] == [("WorkflowFailedEvent", "recover")]


@both()
async def test_a_failing_fan_out_member_fails_the_run(lib: Lib) -> None:
    class Item(lib.Event):
        n: int

    class W(lib.Workflow):
        @lib.step
        async def fan(self, ev: lib.StartEvent) -> list[Item]:
            return [Item(n=n) for n in range(3)]

        @lib.step
        async def work(self, ev: Item) -> Item | None:
            if ev.n == 1:
                raise KeyError("one")
            return None

        @lib.step
        async def gather(self, items: list[Item]) -> lib.StopEvent:
            return lib.StopEvent(result=len(items))

    handler = W().run()
    events = await drain(handler)
    with pytest.raises(KeyError):
        await handler
    assert [(type(e).__name__, e.step_name) for e in events] == [("WorkflowFailedEvent", "work")]


@both()
async def test_failed_event_dump(lib: Lib) -> None:
    class W(lib.Workflow):
        @lib.step
        async def s(self, ev: lib.StartEvent) -> lib.StopEvent:
            raise ValueError("bad")

    handler = W().run()
    events = await drain(handler)
    with pytest.raises(ValueError):
        await handler
    dump = events[-1].model_dump(mode="json")
    assert dump.pop("elapsed_seconds") >= 0
    assert dump == {
        "step_name": "s",
        "exception": {"exception_type": "builtins.ValueError", "exception_message": "bad"},
        "attempts": 1,
    }
    assert type(events[-1].exception) is ValueError


@both()
async def test_a_failing_empty_collector_is_recovered(lib: Lib) -> None:
    class Item(lib.Event):
        n: int

    class W(lib.Workflow):
        @lib.step
        async def fan(self, ev: lib.StartEvent) -> list[Item]:
            return []

        @lib.step
        async def gather(self, items: list[Item]) -> lib.StopEvent:
            raise ValueError("empty")

        @lib.catch_error
        async def recover(self, ev: lib.StepFailedEvent) -> lib.StopEvent:
            return lib.StopEvent(result=(ev.step_name, str(ev.exception)))

    assert await outcome(W(timeout=0.3).run()) == ("ok", ("gather", "empty"))
