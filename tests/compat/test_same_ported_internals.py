"""What test suites written for LlamaIndex Workflows reach past the public API for, the same
on both libraries: the graph checks as a list (``representation.validate``), the private
``Workflow`` names such suites call or patch (``_get_steps``, ``_validate``,
``_get_start_event_instance``, ``_validation_result``), a step configuration changed after
decoration, and ``ResourceConfig``/``Resource`` objects used on their own.

Workflows with graph problems are built with ``disable_validation=True``: stepwork refuses to
construct them otherwise (a deliberate difference, docs/porting.md).
"""

import importlib
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from both_libs import Lib, both
from pydantic import BaseModel


def module(lib: Lib, name: str) -> Any:
    return importlib.import_module(f"{'workflows' if lib.name == 'anchor' else 'stepwork'}.{name}")


def configs(workflow: Any) -> dict[str, Any]:
    return {name: func._step_config for name, func in workflow._get_steps().items()}


def cyclic(lib: Lib) -> Any:
    class Loop(lib.Event):
        pass

    class Back(lib.Event):
        pass

    class Island(lib.Event):
        pass

    class Cyclic(lib.Workflow):
        @lib.step
        async def entry(self, ev: lib.StartEvent) -> Loop | lib.StopEvent:
            return Loop()

        @lib.step
        async def there(self, ev: Loop) -> Back:
            return Back()

        @lib.step
        async def back(self, ev: Back) -> Loop:
            return Loop()

        @lib.step
        async def island(self, ev: Island) -> lib.StopEvent:
            return lib.StopEvent()

    return Cyclic(disable_validation=True)


@both()
def test_graph_checks_as_a_list_name_each_check_and_its_steps(lib: Lib) -> None:
    validate = module(lib, "representation.validate")
    workflow = cyclic(lib)
    errors = validate.validate_graph(steps=configs(workflow), start_event_class=lib.StartEvent)
    assert [(e.check, e.message, e.hint, sorted(e.step_names)) for e in errors] == [
        (
            "reachability",
            "Unreachable steps: island",
            "Steps must be reachable from StartEvent or HumanResponseEvent.",
            ["island"],
        ),
        (
            "dead_end",
            "Dead-end steps: back, there",
            "Steps must have a path to StopEvent or InputRequiredEvent.",
            ["back", "there"],
        ),
    ]
    skipped = validate.validate_graph(
        steps=configs(workflow),
        start_event_class=lib.StartEvent,
        skip_checks={"reachability", "dead_end"},
    )
    assert skipped == []


@both()
def test_an_event_nobody_takes_is_one_terminal_event_error(lib: Lib) -> None:
    class Left(lib.Event):
        pass

    class Right(lib.Event):
        pass

    class Dangling(lib.Workflow):
        @lib.step
        async def go(self, ev: lib.StartEvent) -> Left | Right | lib.StopEvent:
            return lib.StopEvent()

    validate = module(lib, "representation.validate")
    errors = validate.validate_graph(
        steps=configs(Dangling(disable_validation=True)), start_event_class=lib.StartEvent
    )
    assert [(e.check, e.message) for e in errors] == [
        ("terminal_event", "Events produced but never consumed: Left, Right")
    ]


@both()
def test_the_step_graph_has_edges_both_ways_and_reachability(lib: Lib) -> None:
    validate = module(lib, "representation.validate")
    workflow = cyclic(lib)
    graph = validate.build_step_graph(configs(workflow), start_event_class=lib.StartEvent)
    loop = next(t for t in graph.event_types if t.__name__ == "Loop")
    island = next(t for t in graph.event_types if t.__name__ == "Island")
    assert graph.step_names == {"entry", "there", "back", "island"}
    assert graph.outgoing[lib.StartEvent] == ["entry"]
    assert graph.outgoing["entry"] == [loop, lib.StopEvent]
    assert {"entry", "there", "back", loop} <= graph.forward_reachable
    assert "island" not in graph.forward_reachable and island not in graph.forward_reachable
    assert {"entry", "island"} <= graph.reverse_reachable
    assert "there" not in graph.reverse_reachable and "back" not in graph.reverse_reachable


def two_steps(lib: Lib) -> Any:
    class Two(lib.Workflow):
        @lib.step
        async def ok(self, ev: lib.StartEvent) -> lib.StopEvent:
            return lib.StopEvent(result="ok")

        @lib.step
        async def other(self, ev: lib.StartEvent) -> None:
            return None

    return Two


@both()
def test_validate_checks_the_steps_get_steps_returns(lib: Lib) -> None:
    workflow = two_steps(lib)()
    only_other = {"other": workflow._get_steps()["other"]}
    workflow._get_steps = lambda: only_other
    with pytest.raises(lib.WorkflowConfigurationError, match="has no @step that returns"):
        workflow._validate()
    workflow = two_steps(lib)()
    workflow._get_steps = lambda: {}
    with pytest.raises(lib.WorkflowConfigurationError, match="'Two' has no configured steps"):
        workflow._validate()
    valid = two_steps(lib)()
    assert valid._validate() is False
    valid._get_steps = lambda: {}
    assert valid._validate() is False  # kept from the first check until a step is added


@both()
def test_a_step_config_changed_after_decoration_fails_validate(lib: Lib) -> None:
    class Guarded(lib.Workflow):
        @lib.step
        async def a(self, ev: lib.StartEvent) -> lib.StopEvent:
            return lib.StopEvent(result="ok")

        @lib.catch_error
        async def rescue(self, ev: lib.StepFailedEvent) -> lib.StopEvent:
            return lib.StopEvent(result="caught")

    workflow = Guarded()
    assert workflow._get_steps()["rescue"]._step_config.catch_error_max_recoveries == 1
    workflow._get_steps()["rescue"]._step_config.catch_error_max_recoveries = 0
    with pytest.raises(lib.WorkflowValidationError, match="max_recoveries"):
        workflow.validate()


@both()
def test_the_start_event_is_built_from_keywords_and_extra_keywords_are_logged(
    lib: Lib, caplog: pytest.LogCaptureFixture
) -> None:
    class Custom(lib.StartEvent):
        field: str

    workflow = two_steps(lib)()
    workflow._start_event_class = Custom
    given = Custom(field="x")
    with caplog.at_level(logging.WARNING):
        assert workflow._get_start_event_instance(given, ignored=True) is given
    assert "These keyword arguments will be ignored" in caplog.text
    assert type(workflow._get_start_event_instance(None, field="y")) is Custom
    with pytest.raises(lib.WorkflowRuntimeError, match="Failed creating a start event"):
        workflow._get_start_event_instance(None, wrong="z")


@both()
async def test_the_validation_result_is_kept_from_the_first_run(lib: Lib) -> None:
    workflow = two_steps(lib)()
    assert workflow._validation_result is None
    assert await workflow.run() == "ok"
    first = workflow._validation_result
    assert first is not None
    assert await workflow.run() == "ok"
    assert workflow._validation_result is first


class Messages(BaseModel):
    messages: list[str]


@both()
def test_a_resource_config_can_be_repointed_and_called(
    lib: Lib, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("app.json").write_text(
        json.dumps({"a": {"messages": ["one"]}, "b": {"messages": ["two"]}, "c": ["x"]})
    )
    config = module(lib, "resource").ResourceConfig(config_file="app.json", path_selector="a")
    config.cls_factory = Messages
    assert config.name == "app.json.a"
    assert config.call() == Messages(messages=["one"])
    config.path_selector = "b"
    assert config.name == "app.json.b"
    assert config.call() == Messages(messages=["two"])
    config.path_selector = "c"
    with pytest.raises(ValueError, match=r"^Expected dictionary for .+app\.json at path c, got"):
        config.call()
    config.path_selector = "b.missing.deeper"
    with pytest.raises(ValueError, match=r"app\.json at path b\.missing, got: <class 'NoneType'>"):
        config.call()


@both()
async def test_a_resource_is_resolved_through_a_manager_with_call(lib: Lib) -> None:
    resource = module(lib, "resource")
    built: list[int] = []

    def make() -> int:
        built.append(1)
        return len(built)

    shared = resource.Resource(make)
    manager = resource.ResourceManager()
    assert shared._is_async is False
    assert await shared.call(manager) == 1
    assert await shared.call(manager) == 2  # call() builds anew; the manager's copy is apart
    assert await manager.get(shared) == 3
    assert await manager.get(shared) == 3
