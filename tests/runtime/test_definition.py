"""Bad definitions and bad input get named errors at the earliest moment, naming what to fix."""

from __future__ import annotations

from typing import Annotated

import pytest

from stepwork import (
    Collect,
    Context,
    Event,
    StartEvent,
    StopEvent,
    Take,
    Workflow,
    WorkflowConfigurationError,
    WorkflowValidationError,
    step,
)
from stepwork.errors import StartEventError


class A(Event):
    pass


class B(Event):
    pass


class Typed(StartEvent):
    n: int


def test_step_without_event_parameter_fails_at_decoration() -> None:
    with pytest.raises(
        WorkflowValidationError,
        match="Step 's' must have at least one parameter annotated as type Event",
    ):

        class W(Workflow):
            @step
            async def s(self, ctx: Context) -> StopEvent:
                return StopEvent()


def test_step_without_return_annotation_fails_at_decoration() -> None:
    with pytest.raises(WorkflowValidationError, match="Step 's' has no return annotation"):

        class W(Workflow):
            @step
            async def s(self, ev: StartEvent):  # type: ignore[no-untyped-def]
                return StopEvent()


def test_non_event_parameter_is_named() -> None:
    with pytest.raises(WorkflowValidationError, match="parameter 'count' is annotated"):

        class W(Workflow):
            @step
            async def s(self, ev: StartEvent, count: int) -> StopEvent:
                return StopEvent()


@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
def test_num_workers_must_be_a_positive_integer(bad: object) -> None:
    with pytest.raises(
        WorkflowValidationError, match="num_workers must be an integer greater than 0"
    ):
        step(num_workers=bad)  # type: ignore[arg-type]


def test_free_function_needs_a_workflow() -> None:
    async def loose(ev: StartEvent) -> StopEvent:
        return StopEvent()

    with pytest.raises(WorkflowValidationError, match="please pass a workflow class"):
        step(loose)


def test_missing_start_step_is_a_configuration_error_at_construction() -> None:
    class W(Workflow):
        @step
        async def s(self, ev: A) -> StopEvent:
            return StopEvent()

    with pytest.raises(WorkflowConfigurationError, match="has no @step that accepts StartEvent"):
        W()


def test_two_start_types_are_a_configuration_error() -> None:
    class Other(StartEvent):
        pass

    class W(Workflow):
        @step
        async def s(self, ev: Typed) -> StopEvent:
            return StopEvent()

        @step
        async def t(self, ev: Other) -> StopEvent:
            return StopEvent()

    with pytest.raises(WorkflowConfigurationError, match="Only one type of StartEvent"):
        W()


def test_graph_problems_are_all_listed_at_construction_with_steps_and_events() -> None:
    class W(Workflow):
        @step
        async def s(self, ev: StartEvent) -> A | StopEvent:
            return StopEvent()

        @step
        async def orphan(self, ev: B) -> StopEvent:
            return StopEvent()

    with pytest.raises(WorkflowValidationError) as caught:
        W()
    message = str(caught.value)
    assert "A is produced by step 's' but no step accepts it" in message
    assert "Step 'orphan' accepts B, which no step produces" in message
    assert "Step 'orphan' is unreachable" in message
    kinds = {f.kind for f in W.check()}
    assert {"never_consumed", "never_produced", "reachability"} <= kinds


def test_accepting_stop_event_is_rejected() -> None:
    class W(Workflow):
        @step
        async def s(self, ev: StartEvent) -> StopEvent:
            return StopEvent()

        @step
        async def t(self, ev: StopEvent) -> StopEvent:
            return StopEvent()

    with pytest.raises(WorkflowValidationError, match="Step 't' cannot accept StopEvent"):
        W()
    W(disable_validation=True)


def test_dead_end_is_reported() -> None:
    class W(Workflow):
        @step
        async def s(self, ev: StartEvent) -> A | StopEvent:
            return StopEvent()

        @step
        async def loop(self, ev: A) -> A:
            return A()

    with pytest.raises(WorkflowValidationError, match=r"\[dead_end\] Step 'loop'"):
        W()


def test_check_returns_nothing_for_a_sound_workflow() -> None:
    class W(Workflow):
        @step
        async def s(self, ev: StartEvent) -> StopEvent:
            return StopEvent()

    assert W.check() == []


async def test_start_event_kwargs_that_do_not_validate() -> None:
    class W(Workflow):
        @step
        async def s(self, ev: Typed) -> StopEvent:
            return StopEvent(result=ev.n)

    with pytest.raises(StartEventError, match="Failed creating a start event of type 'Typed'"):
        W().run(n="not a number")
    assert await W().run(n=3) == 3
    assert await W().run(start_event=Typed(n=4)) == 4


async def test_start_event_of_the_wrong_type() -> None:
    class W(Workflow):
        @step
        async def s(self, ev: Typed) -> StopEvent:
            return StopEvent()

    with pytest.raises(StartEventError, match="starts from Typed; got StartEvent"):
        W().run(start_event=StartEvent())
    with pytest.raises(StartEventError, match="not both"):
        W().run(start_event=Typed(n=1), n=2)


async def test_postponed_annotations_and_local_classes_resolve() -> None:
    class Local(Event):
        value: int

    class W(Workflow):
        @step
        async def s(self, ev: StartEvent) -> Local:
            return Local(value=2)

        @step
        async def t(self, ev: Local) -> StopEvent:
            return StopEvent(result=ev.value)

    assert await W().run() == 2


async def test_union_parameters_and_joins_and_take() -> None:
    class W(Workflow):
        @step
        async def s(self, ev: StartEvent) -> list[A]:
            return [A(), A(), A()]

        @step
        async def first_two(self, items: Annotated[list[A], Collect(Take(2))]) -> StopEvent:
            return StopEvent(result=len(items))

    assert await W().run() == 2


async def test_joins_bind_one_event_per_parameter() -> None:
    class W(Workflow):
        @step
        async def s(self, ev: StartEvent) -> A | B | None:
            return None if False else A()

        @step
        async def s2(self, ev: A) -> B:
            return B()

        @step
        async def j(self, a: A, b: B) -> StopEvent:
            return StopEvent(result=(type(a).__name__, type(b).__name__))

    assert await W().run() == ("A", "B")
