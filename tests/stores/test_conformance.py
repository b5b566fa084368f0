"""The journal store contract (``stepwork._stores.protocol``), checked on every backend.

Rules pinned here that the protocol leaves open: ``created_after``/``created_before`` are
exclusive bounds; a record that is not a JSON object (a tick without a string ``kind``), or
holds a value JSON cannot carry, is refused with ``StoreError`` and nothing is stored; a batch
with no ticks (or no events) does not check ``first_seq`` (or ``first_offset``).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from typing import Any

import pytest

from stepwork._core.errors import JournalConflictError, RunNotFoundError, StoreError
from stepwork._stores.protocol import JournalBatch, RunRecord, Store


def tick(n: int) -> dict[str, Any]:
    return {"kind": "timer", "at": n + 0.5, "timer_id": f"t{n}", "extra": {"n": [n, None, True]}}


def event(n: int) -> dict[str, Any]:
    return {"__model__": "stepwork.events.Event", "value": {"n": n, "text": "héllo ✓ \u0001"}}


def ticks(first: int, count: int) -> list[dict[str, Any]]:
    return [tick(n) for n in range(first, first + count)]


def events(first: int, count: int) -> list[dict[str, Any]]:
    return [event(n) for n in range(first, first + count)]


async def make_run(store: Store, run_id: str, n_ticks: int = 3, n_events: int = 2) -> None:
    await store.create_run(run_id, "flow", created_at=1000.0)
    await store.append(JournalBatch(run_id, 0, ticks(0, n_ticks), 0, events(0, n_events)))


async def test_a_store_is_a_store(store: Store) -> None:
    assert isinstance(store, Store)
    await store.open()  # opening again is harmless


async def test_create_append_load_round_trip(store: Store) -> None:
    await store.create_run("r1", "flow", created_at=1000.0)
    run = await store.get_run("r1")
    assert (run.run_id, run.workflow, run.status, run.created_at) == (
        "r1",
        "flow",
        "running",
        1000.0,
    )
    assert (run.ticks, run.events, run.result, run.error) == (0, 0, None, None)
    assert await store.load_ticks("r1") == []
    assert await store.load_events("r1") == []

    await store.append(JournalBatch("r1", 0, ticks(0, 3), 0, events(0, 2)))
    await store.append(JournalBatch("r1", 3, ticks(3, 2)))  # no events: offsets unchecked
    await store.append(JournalBatch("r1", 0, [], 2, events(2, 1)))  # no ticks: seq unchecked

    assert await store.load_ticks("r1") == ticks(0, 5)
    assert await store.load_ticks("r1", after_seq=2) == ticks(3, 2)
    assert await store.load_ticks("r1", after_seq=4) == []
    assert await store.load_events("r1") == list(enumerate(events(0, 3)))
    run = await store.get_run("r1")
    assert (run.ticks, run.events, run.status) == (5, 3, "running")
    assert run.updated_at >= run.created_at


async def test_stored_records_cannot_be_changed_through_references(store: Store) -> None:
    record = tick(0)
    await store.create_run("r1", "flow", created_at=1.0)
    await store.append(JournalBatch("r1", 0, [record], 0, [event(0)]))
    record["extra"]["n"].append("changed")
    loaded = await store.load_ticks("r1")
    loaded[0]["extra"]["n"].append("changed too")
    (await store.load_events("r1"))[0][1]["value"]["n"] = -1
    assert await store.load_ticks("r1") == [tick(0)]
    assert await store.load_events("r1") == [(0, event(0))]


async def test_creating_a_run_twice_conflicts(store: Store) -> None:
    await make_run(store, "r1")
    with pytest.raises(JournalConflictError):
        await store.create_run("r1", "other", created_at=2.0)
    assert (await store.get_run("r1")).workflow == "flow"


@pytest.mark.parametrize(
    ("first_seq", "first_offset"),
    [(2, 2), (0, 2), (4, 2), (3, 1), (3, 3), (3, 0)],
    ids=["seq-overlap", "seq-rewrite", "seq-gap", "offset-overlap", "offset-gap", "offset-rewrite"],
)
async def test_overlaps_and_gaps_conflict_and_store_nothing(
    store: Store, first_seq: int, first_offset: int
) -> None:
    await make_run(store, "r1", n_ticks=3, n_events=2)
    new_ticks, new_events = ticks(first_seq, 2), events(first_offset, 2)
    bad = JournalBatch("r1", first_seq, new_ticks, first_offset, new_events, "completed", {"x": 1})
    with pytest.raises(JournalConflictError) as caught:
        await store.append(bad)
    assert caught.value.run_id == "r1"
    assert await store.load_ticks("r1") == ticks(0, 3)
    assert await store.load_events("r1") == list(enumerate(events(0, 2)))
    run = await store.get_run("r1")
    assert (run.ticks, run.events, run.status, run.result) == (3, 2, "running", None)
    await store.append(JournalBatch("r1", 3, ticks(3, 1), 2, events(2, 1)))  # still appendable


async def test_a_batch_with_a_bad_event_offset_leaves_its_ticks_unstored(store: Store) -> None:
    await make_run(store, "r1", n_ticks=1, n_events=1)
    with pytest.raises(JournalConflictError):
        await store.append(JournalBatch("r1", 1, ticks(1, 50), 5, events(5, 1)))
    assert await store.load_ticks("r1") == ticks(0, 1)
    assert (await store.get_run("r1")).ticks == 1


async def test_appending_to_an_unknown_run_conflicts(store: Store) -> None:
    with pytest.raises(JournalConflictError) as caught:
        await store.append(JournalBatch("ghost", 0, ticks(0, 1)))
    assert caught.value.run_id == "ghost"
    with pytest.raises(RunNotFoundError):
        await store.get_run("ghost")


@pytest.mark.parametrize(
    "bad",
    [
        {"kind": "timer", "at": math.nan},
        {"kind": "timer", "value": object()},
        {"at": 1.0},
        {"kind": 3},
        ["kind", "timer"],
    ],
    ids=["nan", "object", "no-kind", "kind-not-str", "not-an-object"],
)
async def test_records_that_are_not_json_objects_are_refused(store: Store, bad: Any) -> None:
    await make_run(store, "r1", n_ticks=1, n_events=0)
    with pytest.raises(StoreError) as caught:
        await store.append(JournalBatch("r1", 1, [tick(1), bad]))
    assert caught.value.run_id == "r1"
    with pytest.raises(StoreError):
        await store.append(JournalBatch("r1", 1, [tick(1)], 0, ["not an object"]))  # type: ignore[list-item]
    assert await store.load_ticks("r1") == ticks(0, 1)
    assert await store.load_events("r1") == []


async def test_status_updates_carry_result_or_error(store: Store) -> None:
    for run_id in ("ok", "bad", "quiet"):
        await store.create_run(run_id, "flow", created_at=1.0)
    result = {"__model__": "stepwork.events.StopEvent", "result": [1, "two", {"three": 3.0}]}
    await store.append(JournalBatch("ok", 0, ticks(0, 2), 0, events(0, 1), "completed", result))
    error = {"type": "ValueError", "message": "no ✓", "step": "parse"}
    await store.append(JournalBatch("bad", 0, ticks(0, 1), status="failed", error=error))
    await store.append(JournalBatch("quiet", 0, [], status="cancelled"))

    ok, bad, quiet = [await store.get_run(run_id) for run_id in ("ok", "bad", "quiet")]
    assert (ok.status, ok.result, ok.error, ok.ticks, ok.events) == (
        "completed",
        result,
        None,
        2,
        1,
    )
    assert (bad.status, bad.result, bad.error, bad.ticks) == ("failed", None, error, 1)
    assert (quiet.status, quiet.result, quiet.error, quiet.ticks) == ("cancelled", None, None, 0)
    assert ok.updated_at >= ok.created_at


async def test_list_runs_filters_and_orders_newest_first(store: Store) -> None:
    plan = [("a1", "alpha", 100.0), ("b1", "beta", 200.0), ("a2", "alpha", 300.0)]
    plan += [("b2", "beta", 400.0), ("a3", "alpha", 500.0)]
    for run_id, workflow, created in plan:
        await store.create_run(run_id, workflow, created_at=created)
    await store.append(JournalBatch("a2", 0, ticks(0, 1), status="completed", result=None))
    await store.append(JournalBatch("b2", 0, ticks(0, 1), status="failed", error={"type": "E"}))

    def ids(runs: list[RunRecord]) -> list[str]:
        assert all(isinstance(run, RunRecord) for run in runs)
        return [run.run_id for run in runs]

    assert ids(await store.list_runs()) == ["a3", "b2", "a2", "b1", "a1"]
    assert ids(await store.list_runs(status=["running"])) == ["a3", "b1", "a1"]
    assert ids(await store.list_runs(status=["completed", "failed"])) == ["b2", "a2"]
    assert ids(await store.list_runs(status=[])) == []
    assert ids(await store.list_runs(workflow=["beta"])) == ["b2", "b1"]
    assert ids(await store.list_runs(workflow=["alpha", "beta"], limit=2)) == ["a3", "b2"]
    assert ids(await store.list_runs(created_after=200.0)) == ["a3", "b2", "a2"]
    assert ids(await store.list_runs(created_before=300.0)) == ["b1", "a1"]
    between = await store.list_runs(created_after=100.0, created_before=500.0)
    assert ids(between) == ["b2", "a2", "b1"]
    assert ids(await store.list_runs(workflow=["alpha"], status=["running"], limit=1)) == ["a3"]
    assert ids(await store.list_runs(limit=0)) == []
    assert ids(await store.list_runs(workflow=["gamma"])) == []
    listed = {run.run_id: run for run in await store.list_runs()}
    assert (listed["b2"].status, listed["b2"].error, listed["b2"].ticks) == (
        "failed",
        {"type": "E"},
        1,
    )


async def test_list_runs_pages_with_offset_and_searches_id_and_error_text(store: Store) -> None:
    for n in range(6):
        await store.create_run(f"Run-{n}", "flow", created_at=float(n))
    await store.append(
        JournalBatch("Run-2", 0, ticks(0, 1), status="failed", error={"message": "50%_off"})
    )

    async def ids(**filters: Any) -> list[str]:
        return [run.run_id for run in await store.list_runs(**filters)]

    assert await ids(limit=2) == ["Run-5", "Run-4"]
    assert await ids(limit=2, offset=2) == ["Run-3", "Run-2"]
    assert await ids(offset=5) == ["Run-0"]
    assert await ids(offset=6) == []
    assert await ids(text="run-3") == ["Run-3"]  # ASCII case is ignored
    assert await ids(text="%_OFF") == ["Run-2"]  # the error's text; % and _ are literal
    assert await ids(text="5_%") == []
    assert await ids(text="run", status=["running"], limit=2, offset=1) == ["Run-4", "Run-3"]


async def test_load_events_after_an_offset_with_a_limit(store: Store) -> None:
    await make_run(store, "r1", n_ticks=1, n_events=10)
    assert await store.load_events("r1", after_offset=3, limit=4) == [
        (n, event(n)) for n in range(4, 8)
    ]
    assert [offset for offset, _ in await store.load_events("r1", after_offset=7)] == [8, 9]
    assert await store.load_events("r1", after_offset=9) == []
    assert await store.load_events("r1", limit=0) == []
    assert [offset for offset, _ in await store.load_events("r1", limit=2)] == [0, 1]


async def test_delete_removes_the_run_and_only_it(store: Store) -> None:
    await make_run(store, "r1")
    await make_run(store, "r2")
    assert await store.delete_run("r1") is True
    assert await store.delete_run("r1") is False
    with pytest.raises(RunNotFoundError):
        await store.get_run("r1")
    with pytest.raises(RunNotFoundError):
        await store.load_ticks("r1")
    assert await store.load_ticks("r2") == ticks(0, 3)
    assert [run.run_id for run in await store.list_runs()] == ["r2"]
    await store.create_run("r1", "flow", created_at=5.0)  # the id is free again, from seq 0
    await store.append(JournalBatch("r1", 0, ticks(0, 1), 0, events(0, 1)))
    assert await store.load_events("r1") == [(0, event(0))]


async def test_prune_deletes_only_finished_runs_last_updated_before_the_cutoff(
    store: Store,
) -> None:
    for run_id in ("done-old", "failed-old", "running-old", "done-new"):
        await make_run(store, run_id)
    await store.append(JournalBatch("done-old", 3, ticks(3, 1), status="completed"))
    await store.append(JournalBatch("failed-old", 3, [], status="failed", error={"type": "E"}))
    await asyncio.sleep(0.02)
    cutoff = time.time()
    await asyncio.sleep(0.02)
    await store.append(JournalBatch("done-new", 3, ticks(3, 1), status="timed_out"))
    await store.append(JournalBatch("running-old", 3, ticks(3, 1)))

    assert await store.prune(finished_before=cutoff - 3600) == 0
    assert await store.prune(finished_before=cutoff) == 2
    remaining = {run.run_id for run in await store.list_runs()}
    assert remaining == {"running-old", "done-new"}
    assert await store.prune(finished_before=time.time() + 3600) == 1
    assert [run.run_id for run in await store.list_runs()] == ["running-old"]
    with pytest.raises(RunNotFoundError):
        await store.load_events("done-new")


async def test_size_counts_runs_ticks_events_and_bytes(store: Store) -> None:
    empty = await store.size()
    assert set(empty) == {"runs", "ticks", "events", "bytes"}
    assert (empty["runs"], empty["ticks"], empty["events"]) == (0, 0, 0)
    await make_run(store, "r1", n_ticks=3, n_events=2)
    await make_run(store, "r2", n_ticks=400, n_events=0)
    size = await store.size()
    assert (size["runs"], size["ticks"], size["events"]) == (2, 403, 2)
    assert all(isinstance(value, int) for value in size.values())
    assert size["bytes"] > 0 and size["bytes"] >= empty["bytes"]


async def test_unknown_runs_raise_run_not_found(store: Store) -> None:
    for call in (
        store.get_run("ghost"),
        store.load_ticks("ghost"),
        store.load_events("ghost"),
    ):
        with pytest.raises(RunNotFoundError) as caught:
            await call
        assert caught.value.run_id == "ghost"
        assert isinstance(caught.value, KeyError)
        assert "ghost" in str(caught.value)
    assert await store.delete_run("ghost") is False


async def test_fifty_runs_appended_concurrently_all_land_intact(store: Store) -> None:
    async def write(n: int) -> None:
        run_id = f"run-{n:02d}"
        await store.create_run(run_id, "flow", created_at=float(n))
        for part in range(5):
            batch = JournalBatch(run_id, part * 4, ticks(part * 4, 4), part, events(part, 1))
            await store.append(batch)
        await store.append(JournalBatch(run_id, 20, [], status="completed", result={"n": n}))

    await asyncio.gather(*(write(n) for n in range(50)))
    runs = await store.list_runs()
    assert [run.run_id for run in runs] == [f"run-{n:02d}" for n in reversed(range(50))]
    for run in runs:
        assert (run.status, run.ticks, run.events) == ("completed", 20, 5)
        assert run.result == {"n": int(run.run_id[-2:])}
        assert await store.load_ticks(run.run_id) == ticks(0, 20)
        assert await store.load_events(run.run_id) == list(enumerate(events(0, 5)))


async def test_racing_appends_at_the_same_seq_store_exactly_one(store: Store) -> None:
    await store.create_run("r1", "flow", created_at=1.0)
    outcomes = await asyncio.gather(
        *(store.append(JournalBatch("r1", 0, ticks(0, 3))) for _ in range(5)),
        return_exceptions=True,
    )
    assert sum(outcome is None for outcome in outcomes) == 1
    assert all(isinstance(o, JournalConflictError) for o in outcomes if o is not None)
    assert await store.load_ticks("r1") == ticks(0, 3)


async def test_a_restarted_store_sees_the_journal(make_store: Callable[[], Store]) -> None:
    first = make_store()
    await first.open()
    await make_run(first, "r1")
    await first.append(JournalBatch("r1", 3, ticks(3, 1), status="completed", result={"x": 1}))
    await make_run(first, "r2")
    await first.close()

    second = make_store()
    await second.open()
    assert await second.load_ticks("r1") == ticks(0, 4)
    assert (await second.get_run("r1")).result == {"x": 1}
    await second.append(JournalBatch("r2", 3, ticks(3, 1), 2, events(2, 1)))

    third = make_store()  # a second process, open at the same time, sees the appends
    await third.open()
    assert await third.load_ticks("r2") == ticks(0, 4)
    with pytest.raises(JournalConflictError):
        await third.append(JournalBatch("r2", 3, ticks(3, 1)))
    assert [run.run_id for run in await third.list_runs()] == ["r2", "r1"]

    await second.close()
    await second.open()  # a closed store opens again
    assert (await second.size())["ticks"] == 8
