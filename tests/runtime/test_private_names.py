"""LlamaIndex Workflows' private names kept for ported test suites answer from stepwork's own
machinery: the class's added steps and version, the run state's queues (``BrokerState``), a
resource's kind, a step config's ``catch_error_max_recoveries``."""

from typing import Any

import pytest

from stepwork import Context, Event, StartEvent, StepFailedEvent, StopEvent, Workflow, step
from stepwork.context import JsonSerializer
from stepwork.decorators import catch_error
from stepwork.errors import WorkflowValidationError
from stepwork.resource import Resource
from stepwork.runtime.types.internal_state import BrokerState, EventAttempt


class Ping(Event):
    n: int = 0


class Flow(Workflow):
    @step
    async def a(self, ev: StartEvent) -> Ping:
        return Ping(n=1)

    @step
    async def b(self, ev: Ping) -> StopEvent:
        return StopEvent(result=ev.n)

    @catch_error
    async def rescue(self, ctx: Context, ev: StepFailedEvent) -> StopEvent:
        return StopEvent(result="rescued")


async def test_added_steps_and_the_version_are_the_class_s_own() -> None:
    class Grows(Workflow):
        @step
        async def entry(self, ev: StartEvent) -> StopEvent:
            return StopEvent(result="entry")

    workflow = Grows()
    assert Grows._step_functions == {} and Grows._step_functions_version == 0
    assert await workflow.run() == "entry"
    assert workflow._validated_version == 0

    @step(workflow=Grows)
    async def extra(ev: Ping) -> StopEvent:
        return StopEvent(result="extra")

    assert Grows._step_functions == {"extra": extra}
    assert workflow._step_functions_version == Grows._step_functions_version == 1
    assert set(workflow._get_steps()) == {"entry", "extra"}
    with pytest.raises(WorkflowValidationError, match="consumed but never produced: Ping"):
        await workflow.run()


def test_step_config_max_recoveries_has_the_anchor_s_name_too() -> None:
    config = Flow()._get_steps()["rescue"]._step_config
    config.catch_error_max_recoveries = 3
    assert config.max_recoveries == 3


def test_a_resource_says_whether_its_factory_is_async() -> None:
    async def remote() -> int:
        return 1

    assert Resource(remote)._is_async is True
    assert Resource(dict)._is_async is False


def test_queued_attempts_round_trip_through_the_run_state_codec() -> None:
    workflow = Flow()
    state = BrokerState.from_workflow(workflow)
    assert set(state.workers) == {"a", "b", "rescue"}
    state.workers["b"].queue.append(
        EventAttempt(
            event=Ping(n=7),
            attempts=2,
            first_attempt_at=100.0,
            last_exception=ValueError("boom"),
            last_failed_at=123.5,
            recovery_counts={"rescue": 1},
        )
    )
    data = state.to_serialized(JsonSerializer())
    restored = BrokerState.from_serialized(data, workflow, JsonSerializer())
    [attempt] = restored.workers["b"].queue
    assert attempt.event == Ping(n=7)
    assert (attempt.attempts, attempt.first_attempt_at, attempt.last_failed_at) == (2, 100.0, 123.5)
    assert isinstance(attempt.last_exception, ValueError) and str(attempt.last_exception) == "boom"
    assert attempt.recovery_counts == {"rescue": 1}
    run_state: Any = restored.to_run_state()
    [delivery] = run_state.steps["b"].queue
    assert delivery.step == "b" and delivery.recoveries == (("rescue", 1),)
