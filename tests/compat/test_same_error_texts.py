"""Error texts ported code may match: the first line of each error is the anchor's sentence.

Code written for LlamaIndex Workflows matches error messages (``pytest.raises(match=...)``, log
filters). stepwork opens each such error with the anchor's sentence and keeps its own fuller
explanation on the lines after it. Graph problems are found when stepwork builds the workflow
and when the anchor validates it; ``first_line`` asks at either moment.
"""

import re
from collections.abc import Callable
from typing import Any

import pytest
from both_libs import Lib, both


def first_line(make: Callable[[], Any]) -> tuple[str, str]:
    """The type name and first line of the error building and validating ``make()`` raises."""
    try:
        make().validate()
    except Exception as error:
        return type(error).__name__, str(error).splitlines()[0]
    raise AssertionError("no error raised")


def graph(lib: Lib, problem: str) -> type:
    class One(lib.Event):
        pass

    class Orphan(lib.Event):
        pass

    class Loop(lib.Event):
        pass

    if problem == "never_consumed":

        class W(lib.Workflow):
            @lib.step
            async def invalid_step(self, ev: lib.StartEvent) -> One:
                return One()

            @lib.step
            async def a_step(self, ev: lib.StartEvent) -> lib.StopEvent:
                return lib.StopEvent()

    elif problem == "never_produced":

        class W(lib.Workflow):  # type: ignore[no-redef]
            @lib.step
            async def a(self, ev: lib.StartEvent) -> lib.StopEvent:
                return lib.StopEvent()

            @lib.step
            async def b(self, ev: Orphan) -> lib.StopEvent:
                return lib.StopEvent()

    elif problem == "accepts_stop":

        class W(lib.Workflow):  # type: ignore[no-redef]
            @lib.step
            async def start_step(self, ev: lib.StartEvent) -> lib.StopEvent:
                return lib.StopEvent()

            @lib.step
            async def bad_step(self, ev: lib.StopEvent) -> lib.StopEvent:
                return lib.StopEvent()

    else:

        class W(lib.Workflow):  # type: ignore[no-redef]
            @lib.step
            async def a(self, ev: lib.StartEvent) -> lib.StopEvent:
                return lib.StopEvent()

            @lib.step
            async def island(self, ev: Loop) -> Loop:
                return Loop()

    return W


GRAPH_HEADLINES = {
    "never_consumed": "The following events are produced but never consumed: One",
    "never_produced": "The following events are consumed but never produced: Orphan",
    "accepts_stop": "Step 'bad_step' cannot accept StopEvent. StopEvent signals the end of the "
    "workflow. Use a different Event type instead.",
}


@pytest.mark.parametrize("problem", sorted(GRAPH_HEADLINES))
@both()
def test_graph_problems_open_with_the_same_sentence(lib: Lib, problem: str) -> None:
    assert first_line(graph(lib, problem)) == ("WorkflowValidationError", GRAPH_HEADLINES[problem])


@both()
def test_unreachable_steps_open_with_graph_validation_failed(lib: Lib) -> None:
    kind, line = first_line(graph(lib, "unreachable"))
    assert kind == "WorkflowValidationError"
    assert line.startswith("Graph validation failed:")


def handlers(lib: Lib, scopes: tuple[list[str] | None, list[str] | None]) -> type:
    class W(lib.Workflow):
        @lib.step
        async def a(self, ev: lib.StartEvent) -> lib.StopEvent:
            return lib.StopEvent(result="ok")

        @lib.catch_error(for_steps=scopes[0])
        async def h1(self, ctx: lib.Context, ev: lib.StepFailedEvent) -> lib.StopEvent:
            return lib.StopEvent(result="one")

        @lib.catch_error(for_steps=scopes[1])
        async def h2(self, ctx: lib.Context, ev: lib.StepFailedEvent) -> lib.StopEvent:
            return lib.StopEvent(result="two")

    return W


HANDLER_HEADLINES = [
    (
        (None, None),
        "Only one wildcard @catch_error handler is allowed per workflow, found 2: h1, h2",
    ),
    ((["a"], ["a"]), "Step 'a' is claimed by two @catch_error handlers: 'h1' and 'h2'."),
    ((["h2"], ["a"]), "@catch_error handler 'h1' cannot cover another handler step 'h2'."),
    ((["nope"], ["a"]), "@catch_error handler 'h1' lists unknown step 'nope' in for_steps."),
]


@pytest.mark.parametrize(("scopes", "headline"), HANDLER_HEADLINES)
@both()
def test_catch_error_problems_open_with_the_same_sentence(
    lib: Lib, scopes: tuple[list[str] | None, list[str] | None], headline: str
) -> None:
    assert first_line(handlers(lib, scopes)) == ("WorkflowValidationError", headline)


@pytest.mark.parametrize("kind", ["StartEvent", "StopEvent"])
@both()
def test_two_start_or_stop_types_say_how_many(lib: Lib, kind: str) -> None:
    class MyStart(lib.StartEvent):
        pass

    class MyStop(lib.StopEvent):
        pass

    def make() -> Any:
        class W(lib.Workflow):
            @lib.step
            async def a(self, ev: lib.StartEvent) -> lib.StopEvent:
                return lib.StopEvent()

            if kind == "StartEvent":

                @lib.step
                async def b(self, ev: MyStart) -> lib.StopEvent:
                    return lib.StopEvent()

            else:

                @lib.step
                async def b(self, ev: lib.StartEvent) -> MyStop:
                    return MyStop()

        return W()

    error_type, line = first_line(make)
    assert error_type == "WorkflowConfigurationError"
    assert line.startswith(f"Only one type of {kind} is allowed per workflow, found 2")


@both()
def test_add_step_refuses_a_plain_function_and_a_taken_name_alike(lib: Lib) -> None:
    class W(lib.Workflow):
        @lib.step
        def foo_step(self, ev: lib.StartEvent) -> lib.StopEvent:
            return lib.StopEvent()

    def another_step(ev: lib.StartEvent) -> lib.StopEvent:
        return lib.StopEvent()

    with pytest.raises(lib.WorkflowValidationError) as plain:
        W.add_step(another_step)
    assert str(plain.value).splitlines()[0] == (
        "Step function another_step is missing the `@step` decorator."
    )
    with pytest.raises(lib.WorkflowValidationError) as taken:

        @lib.step(workflow=W)
        def foo_step(ev: lib.StartEvent) -> lib.StopEvent:
            return lib.StopEvent()

    assert str(taken.value).splitlines()[0] == (
        "A step foo_step is already part of this workflow, please choose another name."
    )


@both()
def test_a_free_function_without_a_workflow_is_refused_alike(lib: Lib) -> None:
    with pytest.raises(lib.WorkflowValidationError) as error:

        @lib.step()
        def f(ev: lib.StartEvent) -> lib.StopEvent:
            return lib.StopEvent()

    assert str(error.value).splitlines()[0] == (
        "To decorate f please pass a workflow class to the @step decorator."
    )


@both()
async def test_a_wrong_start_event_object_is_a_value_error_with_the_same_sentence(
    lib: Lib,
) -> None:
    class W(lib.Workflow):
        @lib.step
        async def only(self, ev: lib.StartEvent) -> lib.StopEvent:
            return lib.StopEvent(result="done")

    with pytest.raises(ValueError, match=re.escape("must be an instance of 'StartEvent'")):
        W().run(start_event="not a StartEvent")


@both()
def test_with_events_missing_both_ways_the_unproduced_ones_come_first(lib: Lib) -> None:
    class Draft(lib.Event):
        pass

    class Typo(lib.Event):
        pass

    class Broken(lib.Workflow):
        @lib.step
        async def write(self, ev: lib.StartEvent) -> Draft:
            return Draft()

        @lib.step
        async def proofread(self, ev: Typo) -> lib.StopEvent:
            return lib.StopEvent()

    assert first_line(Broken) == (
        "WorkflowValidationError",
        "The following events are consumed but never produced: Typo",
    )


@both()
def test_a_catch_error_handler_for_another_event_is_refused_at_decoration(lib: Lib) -> None:
    with pytest.raises(lib.WorkflowValidationError) as error:

        @lib.catch_error
        async def bad_handler(self: Any, ctx: lib.Context, ev: lib.StartEvent) -> lib.StopEvent:
            return lib.StopEvent()

    assert str(error.value).splitlines()[0] == (
        "@catch_error handler 'bad_handler' must accept StepFailedEvent as its event parameter."
    )
