"""Corruption is contained and named, on every backend (the ``store`` fixture's).

A deleted row (a gap, or a missing last record), a row that is not a record, and a run row
whose result or error is not JSON are each reported as ``JournalCorruptError`` naming the run,
the kind of record and its seq/offset; the other runs, and the readable part of the run
before the damage, are read as usual.
"""

from __future__ import annotations

import pickle

import pytest

from stepwork._core.errors import JournalCorruptError
from stepwork._stores.protocol import JournalBatch, Store

from .test_conformance import event, events, make_run, ticks
from .vandal import delete_row, insert_row, write_row, write_run


async def corrupt_error(store: Store, call: str, *args: object) -> JournalCorruptError:
    with pytest.raises(JournalCorruptError) as caught:
        await getattr(store, call)(*args)
    return caught.value


@pytest.mark.parametrize("missing", [0, 2, 4])
async def test_a_deleted_tick_row_is_named_by_run_and_seq(store: Store, missing: int) -> None:
    await make_run(store, "hurt", n_ticks=5)
    await make_run(store, "fine", n_ticks=5)
    await delete_row(store, "hurt", "ticks", missing)

    error = await corrupt_error(store, "load_ticks", "hurt")
    assert (error.run_id, error.record, error.seq) == ("hurt", "tick", missing)
    assert f"run 'hurt', tick record seq {missing}: it is missing" in str(error)
    if missing:
        assert f"Workflow.fork('hurt', at={missing})" in str(error)  # what to do about it
    else:
        assert "Nothing before it can be forked" in str(error)
    # Reading from just before the hole still finds it; reading past it, or only up to it, not.
    assert (await corrupt_error(store, "load_ticks", "hurt", missing - 1)).seq == missing
    assert await store.load_ticks("hurt", missing) == ticks(missing + 1, 4 - missing)
    assert await store.load_ticks("hurt", -1, missing) == ticks(0, missing)
    assert await store.load_ticks("fine") == ticks(0, 5)


async def test_a_deleted_event_row_is_named_by_run_and_offset(store: Store) -> None:
    await make_run(store, "hurt", n_events=4)
    await delete_row(store, "hurt", "events", 1)

    error = await corrupt_error(store, "load_events", "hurt")
    assert (error.run_id, error.record, error.seq) == ("hurt", "event", 1)
    assert "event record offset 1: it is missing (the records go from offset 0 to offset 2)" in (
        str(error)
    )
    assert (await corrupt_error(store, "load_events", "hurt", 0, 1)).seq == 1  # a page of one
    assert await store.load_events("hurt", -1, 1) == [(0, event(0))]
    assert await store.load_events("hurt", 1) == [(2, event(2)), (3, event(3))]


async def test_a_deleted_last_row_is_found_against_the_runs_count(store: Store) -> None:
    await make_run(store, "hurt", n_ticks=3, n_events=2)
    await delete_row(store, "hurt", "ticks", 2)
    await delete_row(store, "hurt", "events", 1)

    assert (await corrupt_error(store, "load_ticks", "hurt")).seq == 2
    assert (await corrupt_error(store, "load_ticks", "hurt", 1)).seq == 2
    assert (await corrupt_error(store, "load_events", "hurt")).seq == 1
    assert (await corrupt_error(store, "load_events", "hurt", -1, 5)).seq == 1
    assert await store.load_ticks("hurt", 2) == []  # nothing is asked for there


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('{"kind": "tim', "not valid JSON"),
        ("[1, 2]", "expected a JSON object"),
        ('{"at": 1.0}', "no 'kind'"),
    ],
)
async def test_a_garbage_tick_row_is_named_and_the_rest_of_the_store_works(
    store: Store, text: str, problem: str
) -> None:
    await make_run(store, "hurt")
    await make_run(store, "fine")
    await write_row(store, "hurt", "ticks", 1, text)

    error = await corrupt_error(store, "load_ticks", "hurt")
    assert (error.run_id, error.record, error.seq) == ("hurt", "tick", 1)
    assert "run 'hurt', tick record seq 1" in str(error) and problem in str(error)
    assert await store.load_ticks("hurt", 1) == ticks(2, 1)
    assert await store.load_ticks("fine") == ticks(0, 3)
    await store.append(JournalBatch("fine", 3, ticks(3, 1), 2, events(2, 1)))
    assert (await store.get_run("fine")).ticks == 4


async def test_a_garbage_event_row_is_named_by_offset(store: Store) -> None:
    await make_run(store, "hurt", n_events=3)
    await write_row(store, "hurt", "events", 2, '{"__model__": "E", "val')
    error = await corrupt_error(store, "load_events", "hurt")
    assert (error.record, error.seq) == ("event", 2)
    assert await store.load_events("hurt", -1, 2) == [(0, event(0)), (1, event(1))]


@pytest.mark.parametrize(
    ("column", "text", "problem"),
    [
        ("result", "{not json", "its result is not valid JSON"),
        ("error", '{"type": "Ty', "its error is not valid JSON"),
        ("error", "[1]", "its error is a JSON list, not an object"),
    ],
)
async def test_a_bad_run_row_is_listed_with_its_error_not_raised(
    store: Store, column: str, text: str, problem: str
) -> None:
    await make_run(store, "fine")
    await make_run(store, "hurt")
    await store.append(
        JournalBatch("hurt", 3, ticks(3, 1), status="completed", result={"value": 1})
    )
    await write_run(store, "hurt", column, text)  # type: ignore[arg-type]

    listed = {run.run_id: run for run in await store.list_runs()}
    assert set(listed) == {"fine", "hurt"}
    assert listed["fine"].corrupt is None
    hurt = listed["hurt"]
    assert hurt.corrupt is not None and (hurt.result, hurt.error) == (None, None)
    assert (hurt.status, hurt.ticks) == ("completed", 4)
    assert (hurt.corrupt.run_id, hurt.corrupt.record, hurt.corrupt.seq) == ("hurt", "run", None)
    assert problem in str(hurt.corrupt) and "Store.delete_run('hurt')" in str(hurt.corrupt)
    got = await store.get_run("hurt")
    assert str(got.corrupt) == str(hurt.corrupt)
    assert await store.load_ticks("hurt") == ticks(0, 4)  # its journal is still readable
    assert await store.delete_run("hurt") is True


def test_the_error_keeps_what_it_names_across_processes() -> None:
    error = JournalCorruptError("gone", run_id="r", record="tick", seq=3)
    copy = pickle.loads(pickle.dumps(error))
    assert (type(copy), str(copy), copy.run_id, copy.record, copy.seq) == (
        JournalCorruptError,
        "gone",
        "r",
        "tick",
        3,
    )


async def test_a_record_stored_past_the_runs_count_is_named(store: Store) -> None:
    await make_run(store, "hurt", n_ticks=2)
    await insert_row(store, "hurt", "ticks", 2, '{"kind":"timer","at":1.0,"timer_id":"x"}')
    error = await corrupt_error(store, "load_ticks", "hurt")
    assert (error.record, error.seq) == ("tick", 2)
    assert "it is stored, but the run's row counts only 2 tick records" in str(error)
    assert await store.load_ticks("hurt", -1, 2) == ticks(0, 2)
