"""Resources injected into real runs, and nested workflows following their parent."""

from __future__ import annotations

import asyncio
import json
import pathlib
from typing import Annotated

import pytest
from pydantic import BaseModel

from stepwork import (
    Event,
    Resource,
    ResourceConfig,
    StartEvent,
    StopEvent,
    Workflow,
    WorkflowTimeoutError,
    WorkflowValidationError,
    step,
)

built: list[str] = []


class Client:
    def __init__(self, name: str) -> None:
        self.name = name


def make_client() -> Client:
    built.append("client")
    return Client("shared")


async def make_fresh() -> Client:
    return Client("fresh")


class Mid(Event):
    pass


class Settings(BaseModel):
    model: str
    temperature: float


async def test_cached_resources_are_shared_across_steps_and_runs() -> None:
    built.clear()
    seen: list[int] = []

    class W(Workflow):
        @step
        async def a(self, ev: StartEvent, client: Annotated[Client, Resource(make_client)]) -> Mid:
            seen.append(id(client))
            return Mid()

        @step
        async def b(
            self,
            ev: Mid,
            client: Annotated[Client, Resource(make_client)],
            fresh: Annotated[Client, Resource(make_fresh, cache=False)],
        ) -> StopEvent:
            seen.append(id(client))
            return StopEvent(result=(client.name, fresh.name))

    wf = W()
    assert await wf.run() == ("shared", "fresh")
    assert await wf.run() == ("shared", "fresh")
    assert len(set(seen)) == 1 and built == ["client"]


async def test_resource_config_loads_json(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"llm": {"model": "small", "temperature": 0.5}}))

    class W(Workflow):
        @step
        async def s(
            self,
            ev: StartEvent,
            settings: Annotated[Settings, ResourceConfig(str(path), path_selector="llm")],
        ) -> StopEvent:
            return StopEvent(result=settings.model)

    assert await W().run() == "small"


async def test_a_nested_run_is_cancelled_when_the_parent_times_out() -> None:
    child_cancelled = asyncio.Event()

    class Child(Workflow):
        @step
        async def s(self, ev: StartEvent) -> StopEvent:
            try:
                await asyncio.Event().wait()
            finally:
                child_cancelled.set()
            return StopEvent()

    class Parent(Workflow):
        @step
        async def s(self, ev: StartEvent) -> StopEvent:
            return StopEvent(result=await Child(timeout=None).run())

    with pytest.raises(WorkflowTimeoutError, match="Currently active steps: s"):
        await Parent(timeout=0.05).run()
    await asyncio.wait_for(child_cancelled.wait(), 5)


def test_validate_checks_resource_config_files(tmp_path: pathlib.Path) -> None:
    missing = tmp_path / "missing.json"

    class W(Workflow):
        @step
        async def s(
            self, ev: StartEvent, settings: Annotated[Settings, ResourceConfig(str(missing))]
        ) -> StopEvent:
            return StopEvent()

    with pytest.raises(WorkflowValidationError, match="In step 's', parameter 'settings'"):
        W().validate()
    missing.write_text(json.dumps({"model": "m", "temperature": 1}))
    assert W().validate() is False
