"""Workflow versions: what the hash covers, that a run records its version, that a worker of
another version leaves the run alone, and that resuming it names both versions."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from stepwork import Event, StartEvent, StopEvent, Workflow, step
from stepwork._runtime.worker import Worker, enqueue
from stepwork._stores.sqlite import SqliteStore
from stepwork.errors import WorkflowVersionError


class Middle(Event):
    n: int


class Two(Workflow):
    @step
    async def first(self, ev: StartEvent) -> Middle:
        return Middle(n=ev.n + 1)

    @step
    async def last(self, ev: Middle) -> StopEvent:
        return StopEvent(result=ev.n * 10)


class TwoWithMoreWorkers(Workflow):
    @step
    async def first(self, ev: StartEvent) -> Middle:
        return Middle(n=ev.n + 1)

    @step(num_workers=8)
    async def last(self, ev: Middle) -> StopEvent:
        return StopEvent(result=ev.n * 10)


class TwoWithAnotherBody(Workflow):
    @step
    async def first(self, ev: StartEvent) -> Middle:
        return Middle(n=ev.n + 2)  # only the body differs

    @step
    async def last(self, ev: Middle) -> StopEvent:
        return StopEvent(result=ev.n * 10)


class Declared(Two):
    version = "2024-06"


def test_the_hash_follows_the_steps_signatures_and_config_and_a_declared_version_wins() -> None:
    assert Two().workflow_version == Two().workflow_version
    assert Two().workflow_version.startswith("sha-")
    assert TwoWithMoreWorkers().workflow_version != Two().workflow_version
    assert TwoWithAnotherBody().workflow_version == Two().workflow_version  # declare one
    assert Declared().workflow_version == "2024-06"
    assert Two(version="v9").workflow_version == "v9"


async def test_a_worker_leaves_a_run_of_another_version_and_resuming_it_names_both(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    old = Two(store=url, timeout=None, workflow_name="two", version="v1")
    await enqueue(old, StartEvent(n=1), "r1")
    store = SqliteStore(tmp_path / "runs.db")
    await store.open()
    assert (await store.get_run("r1")).version == "v1"
    new = Two(store=store, timeout=None, workflow_name="two", version="v2")
    worker = Worker([new], store, poll=0.05)
    with caplog.at_level(logging.WARNING, logger="stepwork.worker"):
        await worker._report_other_versions()  # what each loop does every SCAN_PERIOD
        await worker._report_other_versions()  # logged once per run
        await worker._claim()
    assert worker.running == {} and worker.reported == {"r1"}
    assert (await store.get_run("r1")).epoch == 0  # never claimed
    assert caplog.text.count("started by version 'v1'") == 1
    assert "serves version 'v2'" in caplog.text
    with pytest.raises(WorkflowVersionError, match=r"version 'v1'.*version 'v2'") as caught:
        await new.resume("r1")
    assert (caught.value.recorded, caught.value.serving) == ("v1", "v2")
    assert await old.resume("r1") == 20  # the version that started it continues it
    assert (await store.get_run("r1")).status == "completed"
    await store.close()
    assert old.store is not None
    await old.store.close()
