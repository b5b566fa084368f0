"""Resources: descriptors, the manager's caching and nesting, and ``ResourceConfig`` loading.

Annotations are postponed here on purpose, so nested factories exercise the string-annotation path.
"""

from __future__ import annotations

import asyncio
import functools
import json
from pathlib import Path
from typing import Annotated, Any

import pytest
from pydantic import BaseModel

from stepwork._core.errors import ResourceError
from stepwork._definition.resources import ResourceParam, factory_dependencies, resource_param
from stepwork._runtime.resources import resolve_all
from stepwork.resource import (
    Resource,
    ResourceConfig,
    ResourceConfigFileNotFoundError,
    ResourceDefinition,
    ResourceDescriptor,
    ResourceManager,
)

calls: list[str] = []


@pytest.fixture(autouse=True)
def _reset_calls() -> None:
    calls.clear()


def make_token() -> str:
    calls.append("token")
    return f"token-{len(calls)}"


async def make_client(token: Annotated[str, Resource(make_token, cache=False)]) -> dict[str, str]:
    calls.append("client")
    return {"token": token}


def make_service(
    client: Annotated[dict[str, str], Resource(make_client)],
    token: Annotated[str, Resource(make_token, cache=False)],
    retries: int = 3,
) -> tuple[dict[str, str], str, int]:
    return client, token, retries


def cycle_a(b: Annotated[int, Resource(cycle_b)]) -> int:
    return b


def cycle_b(a: Annotated[int, Resource(cycle_a)]) -> int:
    return a


def cycle_top(a: Annotated[int, Resource(cycle_a)]) -> int:
    return a


def self_loop(me: Annotated[int, Resource(self_loop)]) -> int:
    return me


def tolerant(x: Missing = None) -> str:  # type: ignore[name-defined]  # noqa: F821
    return "tolerant"


def unresolvable(x: Missing) -> str:  # type: ignore[name-defined]  # noqa: F821
    return "never"


class Settings(BaseModel):
    host: str
    port: int = 80


SHARED_TOKEN = Resource(make_token, cache=False)


def pair(
    first: Annotated[str, SHARED_TOKEN],
    second: Annotated[str, SHARED_TOKEN],
    settings: Annotated[Settings, ResourceConfig("pair.json")],
) -> tuple[str, str, str]:
    return first, second, settings.host


def write_json(path: Path, data: Any) -> str:
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


# --- caching -------------------------------------------------------------------------------


async def test_cached_resource_is_one_object_per_manager() -> None:
    manager = ResourceManager()
    first = await manager.get(Resource(make_token))
    assert await manager.get(Resource(make_token)) is first
    assert manager.get_all() == {"make_token": first}
    assert await ResourceManager().get(Resource(make_token)) != first  # another manager builds anew


async def test_uncached_resource_is_new_per_resolution_but_shared_within_one() -> None:
    manager = ResourceManager()
    uncached = Resource(make_token, cache=False)
    assert await manager.get(uncached) != await manager.get(uncached)
    values = await manager.resolve_params({"a": uncached, "b": uncached})
    assert values["a"] == values["b"]
    assert manager.get_all() == {}


async def test_closures_with_one_qualname_share_a_cache_entry() -> None:
    def outer() -> Any:
        def inner() -> object:
            return object()

        return inner

    manager = ResourceManager()
    assert await manager.get(Resource(outer())) is await manager.get(Resource(outer()))
    assert list(manager.get_all()) == [
        "test_closures_with_one_qualname_share_a_cache_entry.<locals>.outer.<locals>.inner"
    ]


async def test_set_overrides_a_factory_and_get_all_is_a_copy() -> None:
    manager = ResourceManager()
    await manager.set("make_token", "fake")
    assert await manager.get(Resource(make_token)) == "fake"
    assert await manager.get(Resource(make_token, cache=False)) == "token-1"
    manager.get_all()["make_token"] = "mutated"
    assert manager.get_all() == {"make_token": "fake"}


async def test_sync_and_async_factories_and_coroutine_returning_lambdas() -> None:
    async def fetch() -> str:
        return "fetched"

    manager = ResourceManager()
    assert await manager.get(Resource(make_token)) == "token-1"
    assert await manager.get(Resource(make_client)) == {"token": "token-2"}
    assert await manager.get(Resource(lambda: fetch(), cache=False)) == "fetched"


# --- nesting and cycles --------------------------------------------------------------------


async def test_nested_resources_resolve_recursively_from_string_annotations() -> None:
    manager = ResourceManager()
    client, token, retries = await manager.get(Resource(make_service))
    # The uncached token is built once for the whole resolution and shared by both consumers.
    assert client == {"token": "token-1"}
    assert (token, retries) == ("token-1", 3)
    assert calls == ["token", "client"]
    _, second_token, _ = await manager.get(Resource(make_service, cache=False))
    assert second_token == "token-3"
    assert calls == ["token", "client", "token"]  # the cached client was not rebuilt


async def test_factories_can_take_configs_and_share_one_descriptor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_json(tmp_path / "pair.json", {"host": "configured"})
    monkeypatch.chdir(tmp_path)
    manager = ResourceManager()
    assert await manager.get(Resource(pair)) == ("token-1", "token-1", "configured")
    assert manager.get_all()["pair.json"] == Settings(host="configured")


@pytest.mark.parametrize(
    ("factory", "chain"),
    [
        (cycle_a, "cycle_a -> cycle_b -> cycle_a"),
        (cycle_top, "cycle_top -> cycle_a -> cycle_b -> cycle_a"),
        (self_loop, "self_loop -> self_loop"),
    ],
)
async def test_circular_dependencies_name_the_chain(factory: Any, chain: str) -> None:
    manager = ResourceManager()
    with pytest.raises(ValueError, match=f"^Circular resource dependency detected: {chain}\\."):
        await manager.get(Resource(factory))
    assert await manager.get(Resource(make_token)) == "token-1"  # the manager is still usable


async def test_factory_errors_propagate_unchanged_and_are_not_cached() -> None:
    attempts: list[int] = []

    def flaky() -> str:
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("first call fails")
        return "ok"

    manager = ResourceManager()
    with pytest.raises(RuntimeError, match="first call fails"):
        await manager.get(Resource(flaky))
    assert await manager.get(Resource(flaky)) == "ok"


async def test_unresolvable_annotations_fail_clearly_unless_defaulted() -> None:
    manager = ResourceManager()
    assert await manager.get(Resource(tolerant)) == "tolerant"
    with pytest.raises(ResourceError, match="parameter 'x' of resource factory 'unresolvable'"):
        await manager.get(Resource(unresolvable))


# --- single flight -------------------------------------------------------------------------


async def test_concurrent_misses_build_a_cached_resource_once() -> None:
    started, release = asyncio.Event(), asyncio.Event()

    async def slow() -> object:
        calls.append("slow")
        started.set()
        await release.wait()
        return object()

    manager = ResourceManager()
    builder = asyncio.create_task(manager.get(Resource(slow)))
    await started.wait()
    waiter = asyncio.create_task(manager.get(Resource(slow)))
    release.set()
    first, second = await asyncio.gather(builder, waiter)
    assert first is second
    assert calls == ["slow"]


async def test_waiters_see_the_builders_failure_and_a_later_call_retries() -> None:
    started, release = asyncio.Event(), asyncio.Event()

    async def broken() -> object:
        calls.append("broken")
        started.set()
        await release.wait()
        raise LookupError("backend down")

    manager = ResourceManager()
    builder = asyncio.create_task(manager.get(Resource(broken)))
    await started.wait()
    waiter = asyncio.create_task(manager.get(Resource(broken)))
    release.set()
    results = await asyncio.gather(builder, waiter, return_exceptions=True)
    assert [type(r) for r in results] == [LookupError, LookupError]
    assert calls == ["broken"]
    with pytest.raises(LookupError):
        await manager.get(Resource(broken))
    assert calls == ["broken", "broken"]


async def test_a_waiter_builds_itself_when_the_builder_is_cancelled() -> None:
    started = asyncio.Event()

    async def hangs_first_time() -> str:
        calls.append("build")
        if len(calls) == 1:
            started.set()
            await asyncio.Event().wait()  # never set: only cancellation ends it
        return "built by the waiter"

    manager = ResourceManager()
    builder = asyncio.create_task(manager.get(Resource(hangs_first_time)))
    await started.wait()
    waiter = asyncio.create_task(manager.get(Resource(hangs_first_time)))
    builder.cancel()
    assert await waiter == "built by the waiter"
    with pytest.raises(asyncio.CancelledError):
        await builder


# --- resolve_all ---------------------------------------------------------------------------


async def test_resolve_all_fast_path_only_when_everything_is_cached() -> None:
    manager = ResourceManager()
    params: dict[str, ResourceDescriptor] = {"token": Resource(make_token)}
    assert manager.cached_values(params) is None
    assert await resolve_all(manager, params) == {"token": "token-1"}
    assert manager.cached_values(params) == {"token": "token-1"}
    assert await resolve_all(manager, params) == {"token": "token-1"}
    mixed = {**params, "fresh": Resource(make_token, cache=False)}
    assert manager.cached_values(mixed) is None
    assert await resolve_all(manager, mixed) == {"token": "token-1", "fresh": "token-2"}


# --- descriptors ---------------------------------------------------------------------------


def test_resource_param_recognises_descriptors_and_ignores_other_metadata() -> None:
    token = Resource(make_token)
    assert resource_param(Annotated[str, "doc", token]) == ResourceParam(token, str)
    assert resource_param(Annotated[str, "doc"]) is None
    assert resource_param(str) is None
    config = ResourceConfig("app.json")
    bound = resource_param(Annotated[Settings, config])
    assert bound is not None
    assert isinstance(bound.descriptor, ResourceConfig)
    assert (bound.descriptor.cls_factory, bound.type, config.cls_factory) == (
        Settings,
        Settings,
        None,
    )


def test_factory_dependencies_cover_partials_classes_callables_and_varargs() -> None:
    class Client:
        def __init__(self, token: Annotated[str, Resource(make_token)], *args: Any) -> None:
            self.token = token

    class Factory:
        def __call__(self, token: Annotated[str, Resource(make_token)], **kw: Any) -> str:
            return token

    def with_plain(token: Annotated[str, Resource(make_token)], plain: int) -> str:
        return token

    for factory in (Client, Factory(), functools.partial(with_plain, plain=1)):
        assert list(factory_dependencies(factory)) == ["token"]
    assert Resource(Factory()).name == "Factory"
    assert Resource(functools.partial(with_plain, plain=1)).name == "partial"


def test_positional_only_injection_and_non_callables_are_rejected() -> None:
    def positional(token: Annotated[str, Resource(make_token)], /) -> str:
        return token

    with pytest.raises(ResourceError, match="positional-only"):
        factory_dependencies(positional)
    with pytest.raises(ResourceError, match="needs a callable"):
        Resource(42)  # type: ignore[arg-type]


def test_resource_definition_records_a_parameter() -> None:
    definition = ResourceDefinition(
        name="cfg", resource=ResourceConfig("a.json"), type_annotation=int
    )
    assert (definition.name, definition.resource.name, definition.type_annotation) == (
        "cfg",
        "a.json",
        int,
    )


# --- ResourceConfig ------------------------------------------------------------------------


async def test_config_loads_with_and_without_selector_and_is_always_cached(tmp_path: Path) -> None:
    path = write_json(
        tmp_path / "app.json", {"host": "top", "db": {"main": {"host": "db", "port": 5}}}
    )
    manager = ResourceManager()
    top = ResourceConfig(path).bind(Settings)
    nested = ResourceConfig(path, path_selector="db.main").bind(Settings)
    assert await manager.get(top) == Settings(host="top")
    assert await manager.get(nested) == Settings(host="db", port=5)
    write_json(tmp_path / "app.json", {"host": "changed"})
    assert (await manager.get(top)).host == "top"  # cached: the file is not read again
    assert set(manager.get_all()) == {path, f"{path}.db.main"}


async def test_config_paths_are_relative_to_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_json(tmp_path / "rel.json", {"host": "here"})
    config = ResourceConfig("rel.json").bind(Settings)
    monkeypatch.chdir(tmp_path)
    assert await ResourceManager().get(config) == Settings(host="here")


def test_config_rejects_non_json_files_at_construction() -> None:
    for name in ("app.yaml", "APP.JSON"):
        with pytest.raises(ValueError, match="only loads JSON files"):
            ResourceConfig(name)


async def test_config_missing_file_fails_lazily(tmp_path: Path) -> None:
    config = ResourceConfig(str(tmp_path / "absent.json")).bind(Settings)  # constructing is fine
    with pytest.raises(ResourceConfigFileNotFoundError, match="No such file") as info:
        await ResourceManager().get(config)
    assert isinstance(info.value, FileNotFoundError)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("data", "selector", "message"),
    [
        ({"db": 3}, "db", "at path 'db', got int"),
        ({"db": "x"}, "db.main", "at path 'db', got str"),
        ([1, 2], "db", "at path '', got list"),
        ({"db": {}}, "db.main", "No key 'main' in .* at 'db'"),
        ({}, "db", "No key 'db' in .* at the top level"),
    ],
)
async def test_config_selector_errors_name_the_path(
    tmp_path: Path, data: Any, selector: str, message: str
) -> None:
    config = ResourceConfig(write_json(tmp_path / "c.json", data), path_selector=selector)
    with pytest.raises(ResourceError, match=message):
        await ResourceManager().get(config.bind(Settings))


async def test_config_validation_errors_name_file_and_field(tmp_path: Path) -> None:
    path = write_json(tmp_path / "bad.json", {"db": {"host": 5, "port": "x"}})
    config = ResourceConfig(path, path_selector="db").bind(Settings)
    with pytest.raises(ResourceError) as info:
        await ResourceManager().get(config)
    text = str(info.value)
    assert "bad.json" in text and "'db'" in text and "Settings" in text
    assert "host: Input should be a valid string" in text
    assert "port: Input should be a valid integer" in text


async def test_config_needs_valid_json_and_a_model_type(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{nope", encoding="utf-8")
    with pytest.raises(ResourceError, match=r"Invalid JSON in .*broken\.json"):
        await ResourceManager().get(ResourceConfig(str(broken)).bind(Settings))
    good = write_json(tmp_path / "good.json", {"host": "h"})
    for model in (None, int):
        with pytest.raises(ResourceError, match="must annotate a pydantic model"):
            await ResourceManager().get(ResourceConfig(good).bind(model))


# --- compared with LlamaIndex Workflows ------------------------------------------------------


async def test_cache_keys_and_cycle_messages_match_the_anchor(tmp_path: Path) -> None:
    anchor = pytest.importorskip("workflows.resource")
    ours, theirs = ResourceManager(), anchor.ResourceManager()
    await ours.get(Resource(make_token))
    await theirs.get(anchor.Resource(make_token))
    path = write_json(tmp_path / "app.json", {"db": {"host": "h"}})
    await ours.get(ResourceConfig(path, path_selector="db").bind(Settings))
    config = anchor.ResourceConfig(path, path_selector="db")
    config.set_type_annotation(Settings)
    await theirs.get(config)
    assert set(ours.get_all()) == set(theirs.get_all())
    assert str(await _cycle_error(ours, Resource)).startswith(
        str(await _cycle_error(theirs, anchor.Resource))
    )


async def _cycle_error(manager: Any, resource: Any) -> ValueError:
    # Real (not string) annotations, so each library sees its own descriptor type.
    def top(a: int) -> int:
        return a

    def first(b: int) -> int:
        return b

    def second(a: int) -> int:
        return a

    top.__annotations__["a"] = Annotated[int, resource(first)]
    first.__annotations__["b"] = Annotated[int, resource(second)]
    second.__annotations__["a"] = Annotated[int, resource(first)]
    with pytest.raises(ValueError, match="Circular resource dependency detected") as info:
        await manager.get(resource(top))
    return info.value
