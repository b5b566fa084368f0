"""Arguments and behaviours at the edges of the API, the same on both libraries.

The constructor's positional order, ``validate()``'s resource checks, ``cancel_run(timeout=)``,
error classes built with several arguments and kept apart from ``OSError``, ``verbose`` output,
free-function steps that take the workflow as ``self``, and finished runs that leave nothing
alive behind a timer a step scheduled.
"""

import asyncio
import gc
import importlib
import json
import weakref
from pathlib import Path
from typing import Annotated, Any

import pytest
from both_libs import Lib, both
from pydantic import BaseModel


def module(lib: Lib, name: str) -> Any:
    return importlib.import_module(f"{'workflows' if lib.name == 'anchor' else 'stepwork'}.{name}")


class Mid(BaseModel):
    pass


def simple(lib: Lib) -> type:
    class W(lib.Workflow):
        @lib.step
        async def only(self, ev: lib.StartEvent) -> lib.StopEvent:
            return lib.StopEvent(result="done")

    return W


@both()
def test_constructor_arguments_keep_their_positions(lib: Lib) -> None:
    # timeout, disable_validation, verbose, resource_manager, num_concurrent_runs, runtime,
    # workflow_name, skip_graph_checks, serializer
    workflow = simple(lib)(12.0, False, False, None, 2, None, "named", {"dead_end"}, None)
    assert workflow.workflow_name == "named"
    assert workflow._timeout == 12.0
    assert workflow.serializer is None
    serializer = module(lib, "context").JsonSerializer()
    assert simple(lib)(serializer=serializer).serializer is serializer


@both()
def test_graph_check_names_are_a_literal_in_decorators(lib: Lib) -> None:
    check = module(lib, "decorators").WorkflowGraphCheck
    assert set(check.__args__) == {"reachability", "terminal_event", "dead_end"}


@both()
def test_errors_take_several_arguments_and_a_timeout_is_not_an_os_error(lib: Lib) -> None:
    for name in (
        "WorkflowValidationError",
        "WorkflowConfigurationError",
        "WorkflowRuntimeError",
        "WorkflowTimeoutError",
        "WorkflowCancelledByUser",
        "ContextStateError",
        "ContextSerdeError",
    ):
        error = getattr(lib, name)("what", "why", 3)
        assert error.args == ("what", "why", 3)
    assert not issubclass(lib.WorkflowTimeoutError, OSError)
    try:
        raise lib.WorkflowTimeoutError("late")
    except OSError:  # network-style handlers must not swallow a run's timeout
        pytest.fail("WorkflowTimeoutError was caught as an OSError")
    except lib.WorkflowTimeoutError:
        pass


@both()
async def test_verbose_progress_goes_to_stdout(
    lib: Lib, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await simple(lib)(verbose=True).run() == "done"
    captured = capsys.readouterr()
    assert "only" in captured.out
    assert captured.err == ""


@both()
async def test_cancel_run_takes_a_timeout(lib: Lib) -> None:
    started = asyncio.Event()

    class Slow(lib.Workflow):
        @lib.step
        async def wait(self, ev: lib.StartEvent) -> lib.StopEvent:
            started.set()
            await asyncio.Event().wait()
            return lib.StopEvent()

    handler = Slow(timeout=10).run()
    await started.wait()
    await handler.cancel_run(timeout=2.0)
    with pytest.raises(lib.WorkflowCancelledByUser):
        await handler


@both()
async def test_a_free_function_step_may_take_the_workflow_as_self(lib: Lib) -> None:
    class Half(lib.Event):
        pass

    class W(lib.Workflow):
        @lib.step
        async def begin(self, ev: lib.StartEvent) -> Half:
            return Half()

    def finish(self, ev: Half) -> lib.StopEvent:
        return lib.StopEvent(result=type(self).__name__)

    decorated = lib.step(workflow=W)(finish)
    config = decorated._step_config
    assert (config.accepted_events, config.event_name, config.return_types) == (
        [Half],
        "ev",
        [lib.StopEvent],
    )
    if lib.name == "stepwork":
        assert await W().run() == "W"
    else:  # the anchor accepts the step but calls it without the workflow
        with pytest.raises(TypeError, match="self"):
            await W().run()


class FileData(BaseModel):
    file: str
    permission_mode: str


def configured(lib: Lib, path: str, factory_calls: list[str] | None = None) -> type:
    resource = module(lib, "resource")

    def get_operator(
        config: Annotated[FileData, resource.ResourceConfig(config_file=path)],
    ) -> str:
        if factory_calls is not None:
            factory_calls.append(config.file)
        return config.file

    class W(lib.Workflow):
        @lib.step
        def start_step(
            self,
            ev: lib.StartEvent,
            operator: Annotated[str, resource.Resource(get_operator)],
        ) -> lib.StopEvent:
            return lib.StopEvent(result=operator)

    return W


@both()
def test_validate_checks_nested_config_files_and_builds_resources_on_request(
    lib: Lib, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    calls: list[str] = []
    # A file name per stage: the anchor keeps what it once read from a path.
    with pytest.raises(lib.WorkflowValidationError, match=r"(?s)parameter 'operator'.*none.json"):
        configured(lib, "none.json")(disable_validation=True).validate()
    Path("partial.json").write_text(json.dumps({"file": "a.txt"}))
    with pytest.raises(lib.WorkflowValidationError, match=r"(?s)operator.*permission_mode"):
        configured(lib, "partial.json")(disable_validation=True).validate(
            validate_resource_configs=True, validate_resources=False
        )
    Path("config.json").write_text(json.dumps({"file": "a.txt", "permission_mode": "r"}))
    workflow = configured(lib, "config.json", calls)(disable_validation=True)
    workflow.validate()
    assert calls == []
    workflow.validate(validate_resources=True)
    assert calls == ["a.txt"]


@both()
def test_validate_names_the_step_of_a_failing_factory(lib: Lib) -> None:
    resource = module(lib, "resource")

    def failing() -> str:
        raise RuntimeError("Factory failed!")

    class W(lib.Workflow):
        @lib.step
        def start_step(
            self, ev: lib.StartEvent, value: Annotated[str, resource.Resource(failing)]
        ) -> lib.StopEvent:
            return lib.StopEvent()

    with pytest.raises(Exception, match=r"step 'start_step', parameter 'value'.*Factory failed"):
        W(disable_validation=True).validate(validate_resources=True)


@both()
async def test_a_timer_left_by_a_step_does_not_keep_the_workflow_alive(lib: Lib) -> None:
    handles: list[asyncio.TimerHandle] = []

    class Tiny(lib.Workflow):
        @lib.step
        async def only(self, ev: lib.StartEvent) -> lib.StopEvent:
            handles.append(asyncio.get_running_loop().call_later(3600, lambda: None))
            return lib.StopEvent(result="done")

    async def one_run() -> weakref.ref[Any]:
        workflow = Tiny()
        handler = workflow.run()
        # Read the stream to its end, as WorkflowTestRunner does, then the result.
        assert [type(ev).__name__ async for ev in handler.stream_events()] == ["StopEvent"]
        assert await handler == "done"
        return weakref.ref(workflow)

    try:
        refs = [await one_run() for _ in range(3)]
        gc.collect()
        assert [ref() for ref in refs] == [None, None, None]
    finally:
        for handle in handles:
            handle.cancel()
