"""``ctx.store``: ours against the anchor's in-memory store, plus journaling and locking."""

from __future__ import annotations

import asyncio
import doctest
import json
import threading
from collections.abc import Awaitable, Callable
from types import ModuleType
from typing import Any

import pytest
import workflows.context.state_store as anchor
from pydantic import BaseModel

from stepwork._core.errors import (
    ContextSerdeError,
    ContextStateError,
    StateSerializationError,
    StateStoreError,
)
from stepwork._runtime import state_store as ours
from stepwork._runtime import writer_lock
from stepwork._runtime.state_store import DictState, InMemoryStateStore, infer_state_type
from stepwork._runtime.writer_lock import WriterLock
from stepwork._stores.codec import TypeRegistry


class User(BaseModel):
    name: str = "n"
    tags: list[str] = []


class Profile(BaseModel):
    count: int = 0
    user: User = User()
    notes: dict[str, Any] = {}


class RichProfile(Profile):
    extra: int = 1


class Other(BaseModel):
    other: int = 0


class NoDefaults(BaseModel):
    x: int


class Opaque:
    pass


def dict_store(m: ModuleType, **values: Any) -> Any:
    return m.InMemoryStateStore(m.DictState(**values))


async def describe(coro: Awaitable[Any]) -> Any:
    """What a call did, comparably across implementations (error family, not class)."""
    try:
        result = await coro
    except Exception as error:
        return ("raised", isinstance(error, ValueError), isinstance(error, RuntimeError))
    if isinstance(result, BaseModel):
        return ("model", type(result).__name__, result.model_dump())
    return ("ok", result)


Scenario = Callable[[ModuleType], Awaitable[list[Any]]]


async def paths(m: ModuleType) -> list[Any]:
    s = dict_store(m)
    return [
        await describe(s.set("a.b.c", 1)),
        await describe(s.get("a")),
        await describe(s.get("a.b.c")),
        await describe(s.get("a.x")),
        await describe(s.get("a.x", default=None)),
        await describe(s.set("", 1)),
        await describe(s.get("")),
        await describe(s.set("lst", [1, [2, 3]])),
        await describe(s.get("lst.1.0")),
        await describe(s.get("lst.5")),
        await describe(s.get("lst.-1")),
        await describe(s.set("lst.0", 9)),
        await describe(s.get("lst")),
        await describe(s.get(".".join(["a"] * 1001))),
        await describe(s.set(".".join(["a"] * 1001), 1)),
        await describe(s.get(".".join(["a"] * 1000), default=5)),
    ]


async def sharing(m: ModuleType) -> list[Any]:
    s = dict_store(m, a={"b": 1})
    shared = await s.get("a")
    shared["new"] = 2
    state = await s.get_state()
    return [await describe(s.get("a.new")), state is not await s.get_state(), state.a]


async def typed_paths(m: ModuleType) -> list[Any]:
    s = m.InMemoryStateStore(RichProfile())
    return [
        s.state_type.__name__,
        await describe(s.get("user.name")),
        await describe(s.get("count")),
        await describe(s.set("user.name", "z")),
        await describe(s.get("user")),
        await describe(s.set("newfield", 1)),
        await describe(s.set("notes.k.j", 1)),
        await describe(s.get("notes")),
    ]


async def replace_state(m: ModuleType) -> list[Any]:
    s = dict_store(m)
    t = m.InMemoryStateStore(RichProfile())
    return [
        await describe(s.set_state({"x": 1})),
        await describe(s.set_state(Profile())),
        await describe(s.set_state(m.DictState(q=1))),
        await describe(s.get("q")),
        await describe(t.set_state(Profile(count=7))),
        await describe(t.get_state()),
        await describe(t.set_state(Other())),
        await describe(t.set_state(m.DictState())),
        await describe(t.clear()),
        await describe(t.get_state()),
        await describe(m.InMemoryStateStore(NoDefaults(x=1)).clear()),
    ]


async def editing(m: ModuleType) -> list[Any]:
    s = dict_store(m, a=1)
    seen: list[Any] = []
    async with s.edit_state() as draft:
        draft["a"] = 2
        draft.b = 3
        seen += [await describe(s.get("a")), await describe(s.get("b", None))]
        seen += [await describe(s.set("a", 5)), await describe(s.set_state(m.DictState()))]
        seen += [await describe(s.clear())]
        try:
            async with s.edit_state():
                seen.append("nested entered")
        except RuntimeError:
            seen.append("nested refused")
    seen.append(await describe(s.get_state()))
    with pytest.raises(KeyError):
        async with s.edit_state() as draft:
            draft["a"] = 100
            raise KeyError("abandon")
    seen.append(await describe(s.get_state()))
    async with s.edit_state() as draft:
        pass
    seen.append(draft is not await s.get_state())
    return seen


SCENARIOS: dict[str, Scenario] = {
    "paths": paths,
    "sharing": sharing,
    "typed paths": typed_paths,
    "replace state": replace_state,
    "editing": editing,
}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
async def test_matches_anchor(name: str) -> None:
    assert await SCENARIOS[name](ours) == await SCENARIOS[name](anchor)


@pytest.mark.parametrize(
    ("call", "error", "text"),
    [
        (lambda s: s.get("nope"), StateStoreError, "Path 'nope' not found in state"),
        (lambda s: s.set("", 1), StateStoreError, "Path cannot be empty"),
        (lambda s: s.get("a." * 1000 + "a"), StateStoreError, "exceeds 1000 segments"),
        (lambda s: s.set("n.deeper", 1), StateStoreError, "'n' holds a int"),
        (lambda s: s.set("lst.7", 1), StateStoreError, "not an index"),
        (lambda s: s.set_state(Other()), StateStoreError, "State must be of type DictState"),
        (lambda s: s.set("bad", Opaque()), StateSerializationError, "state key 'bad'"),
        (lambda s: s.set("d.bad", {"x": Opaque()}), StateSerializationError, "state key 'd.bad.x'"),
    ],
)
async def test_error_messages(
    call: Callable[[Any], Awaitable[Any]], error: type[Exception], text: str
) -> None:
    store = InMemoryStateStore(DictState(n=1, lst=[0], d={}), strict=True)
    before = store.to_json()
    with pytest.raises(error, match=text.replace(".", r"\.")):
        await call(store)
    assert store.to_json() == before


async def test_clear_without_defaults_explains() -> None:
    with pytest.raises(StateStoreError, match="defaults for all fields"):
        await InMemoryStateStore(NoDefaults(x=1)).clear()


async def test_writer_inside_edit_is_a_context_state_error() -> None:
    store = InMemoryStateStore(DictState())
    async with store.edit_state():
        with pytest.raises(ContextStateError, match="writer called inside edit_state"):
            await store.set("a", 1)
        other = InMemoryStateStore(DictState())
        await other.set("a", 1)  # only the edited store is locked against its own writers
    assert await other.get("a") == 1


class TestJournaling:
    async def test_every_committed_write_reaches_the_hook(self) -> None:
        commits: list[dict[str, Any]] = []
        store = InMemoryStateStore(DictState(), on_commit=commits.append, strict=True)
        await store.set("a", 1)
        await store.set_state(DictState(b=2))
        async with store.edit_state() as draft:
            draft["c"] = 3
        await store.clear()
        assert [c["state_data"].get("data") for c in commits] == [
            {"a": 1},
            {"b": 2},
            {"b": 2, "c": 3},
            None,
        ]
        assert commits[-1] == store.to_json()

    async def test_unserialisable_write_is_refused_before_commit(self) -> None:
        commits: list[dict[str, Any]] = []
        store = InMemoryStateStore(DictState(a=1), on_commit=commits.append, strict=True)
        for write in (
            store.set("a", Opaque()),
            store.set("x.y", Opaque()),
            store.set_state(DictState(a=Opaque())),
        ):
            with pytest.raises(StateSerializationError):
                await write
        with pytest.raises(StateSerializationError, match="state key 'a'"):
            async with store.edit_state() as draft:
                draft["a"] = Opaque()
        assert commits == []
        assert await store.get("a") == 1 and await store.get("x", None) is None

    async def test_write_is_rolled_back_when_the_state_no_longer_serialises(self) -> None:
        commits: list[dict[str, Any]] = []
        store = InMemoryStateStore(DictState(), on_commit=commits.append, strict=True)
        await store.set("items", [])
        (await store.get("items")).append(Opaque())  # mutated behind the store's back
        with pytest.raises(StateSerializationError, match=r"state key 'items\.0'"):
            await store.set("new.deep", 1)
        assert await store.get("new", None) is None
        assert len(commits) == 1

    async def test_failed_edit_block_does_not_commit(self) -> None:
        commits: list[dict[str, Any]] = []
        store = InMemoryStateStore(DictState(a=1), on_commit=commits.append, strict=True)
        with pytest.raises(ZeroDivisionError):
            async with store.edit_state() as draft:
                draft["a"] = 1 / 0
        assert commits == [] and await store.get("a") == 1


class TestSnapshots:
    async def test_dict_state_with_nested_models_round_trips(self) -> None:
        store = InMemoryStateStore(DictState())
        await store.set("profile", Profile(count=2, user=User(name="Ada", tags=["x"])))
        await store.set("seen", {1, 2})
        await store.set("plain", {"k": [1, "two"]})
        data = json.loads(json.dumps(store.to_json()))
        assert data["state_type"] == "stepwork.context.state_store.DictState"
        back = InMemoryStateStore.from_json(data, TypeRegistry.default().with_types(Profile, User))
        assert await back.get("profile") == Profile(count=2, user=User(name="Ada", tags=["x"]))
        # Snapshots written before public names carry the private path: still read.
        data["state_type"] = "stepwork._runtime.state_store.DictState"
        old = InMemoryStateStore.from_json(data, TypeRegistry.default().with_types(Profile, User))
        assert old.state_type is DictState and await old.get("plain.k.1") == "two"
        assert await back.get("seen") == {1, 2}
        assert await back.get("plain.k.1") == "two"

    async def test_typed_state_round_trips(self) -> None:
        store = InMemoryStateStore(RichProfile(count=3))
        await store.set("notes.k", [1])
        data = json.loads(json.dumps(store.to_json()))
        back = InMemoryStateStore.from_json(data, TypeRegistry.default().with_types(RichProfile))
        assert back.state_type is RichProfile
        assert await back.get_state() == RichProfile(count=3, notes={"k": [1]})

    @pytest.mark.parametrize(
        "data",
        [
            {"state_type": "somewhere.Secret", "state_data": {"value": {}}},
            {"state_data": {}},
            {"state_type": "stepwork._core.events.StepState", "state_data": {}},
        ],
    )
    def test_bad_snapshots_are_serde_errors(self, data: dict[str, Any]) -> None:
        with pytest.raises(ContextSerdeError):
            InMemoryStateStore.from_json(data, TypeRegistry.default())


@pytest.mark.parametrize(
    ("types", "expected"),
    [
        ([], DictState),
        ([DictState, DictState], DictState),
        ([Profile], Profile),
        ([Profile, DictState, RichProfile], RichProfile),
        ([RichProfile, Profile], RichProfile),
        ([Profile, Other], None),
        ([RichProfile, Profile, Other], None),
        ([int], None),
    ],
)
def test_infer_state_type(types: list[type], expected: type | None) -> None:
    if expected is None:
        with pytest.raises(StateStoreError) as caught:
            infer_state_type(types)
        for cls in types:
            if cls is not DictState and cls is not Profile:
                assert cls.__name__ in str(caught.value)
    else:
        assert infer_state_type(types) is expected


async def test_writers_wait_for_an_edit_block() -> None:
    store = InMemoryStateStore(DictState(n=0))
    inside = asyncio.Event()
    release = asyncio.Event()

    async def editor() -> None:
        async with store.edit_state() as draft:
            draft["n"] = 1
            inside.set()
            await release.wait()

    task = asyncio.create_task(editor())
    await inside.wait()
    writer = asyncio.create_task(store.set("m", 2))
    await asyncio.sleep(0)
    assert not writer.done()
    assert await store.get("n") == 0  # readers still see the committed state
    release.set()
    await asyncio.gather(task, writer)
    assert (await store.get("n"), await store.get("m")) == (1, 2)  # no lost update


async def test_store_usable_from_a_worker_thread_with_its_own_loop() -> None:
    store = InMemoryStateStore(DictState())
    waiting = threading.Event()
    errors: list[BaseException] = []

    async def write_from_thread() -> None:
        write = asyncio.create_task(store.set("from_thread", 1))
        await asyncio.sleep(0)  # one turn: the write runs until it queues for the lock
        waiting.set()
        await write

    def worker() -> None:
        try:
            asyncio.run(write_from_thread())
        except BaseException as error:  # surfaced below
            errors.append(error)

    thread = threading.Thread(target=worker)
    async with store.edit_state() as draft:
        draft["from_loop"] = 1
        thread.start()
        await asyncio.to_thread(waiting.wait)
        assert store._lock.locked() and len(store._lock._waiters) == 1
    await asyncio.to_thread(thread.join)
    assert errors == []
    assert (await store.get("from_loop"), await store.get("from_thread")) == (1, 1)
    await store.set("after", 1)  # the lock is not bound to the thread's loop


async def test_writer_lock_hands_over_in_order_and_survives_cancellation() -> None:
    lock = WriterLock()
    order: list[str] = []
    await lock.acquire()

    async def take(name: str) -> None:
        async with lock:
            order.append(name)

    first = asyncio.create_task(take("first"))
    cancelled = asyncio.create_task(take("cancelled"))
    last = asyncio.create_task(take("last"))
    await asyncio.sleep(0)
    cancelled.cancel()
    lock.release()
    await asyncio.gather(first, last, cancelled, return_exceptions=True)
    assert order == ["first", "last"] and not lock.locked()
    with pytest.raises(RuntimeError, match="not held"):
        lock.release()


@pytest.mark.parametrize("module", [ours, writer_lock])
def test_docstring_examples_run(module: ModuleType) -> None:
    failures, _ = doctest.testmod(module)
    assert failures == 0
