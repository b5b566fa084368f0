"""The event model: ours against LlamaIndex Workflows' ``workflows.events``, snippet for snippet."""

from __future__ import annotations

import copy
import doctest
import pickle
from collections.abc import Callable
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

import pytest
import workflows.events as anchor
from pydantic import BaseModel, PrivateAttr, ValidationError

from stepwork._core import dict_like, event_fields
from stepwork._core import events as ours
from stepwork._core.errors import WorkflowRuntimeError
from stepwork._core.event_fields import TYPE_RESOLVER_CONTEXT_KEY, UnreconstructedException


def outcome(snippet: Callable[[ModuleType], Any], module: ModuleType) -> Any:
    """Run a snippet and describe what happened, comparably across implementations."""
    try:
        return ("ok", snippet(module))
    except Exception as error:  # the error *type family* is what must match
        return ("raised", isinstance(error, KeyError), isinstance(error, AttributeError))


class Models:
    """The same user-defined classes, built on either implementation's base classes."""

    def __init__(self, m: ModuleType) -> None:
        class Ping(m.Event):  # type: ignore[name-defined,misc]
            a: int
            _p: int = PrivateAttr(default=0)

        class Done(m.StopEvent):  # type: ignore[name-defined,misc]
            msg: str

        class Custom(m.StopEvent):  # type: ignore[name-defined,misc]
            def _get_result(self) -> Any:
                return "custom"

        self.Ping, self.Done, self.Custom = Ping, Done, Custom


_models = {id(ours): Models(ours), id(anchor): Models(anchor)}


def models(m: ModuleType) -> Models:
    return _models[id(m)]


SNIPPETS: dict[str, Callable[[ModuleType], Any]] = {
    # dynamic fields and the mapping API
    "attr and item": lambda m: (lambda e: (e.a, e.b, e["b"], e._p))(models(m).Ping(a=1, b=2, _p=5)),
    "dynamic dict": lambda m: models(m).Ping(a=1, b=2, _p=5)._data,
    "declared is not an item": lambda m: models(m).Ping(a=1)["a"],
    "missing attribute": lambda m: models(m).Ping(a=1).zz,
    "missing item": lambda m: m.Event()["zz"],
    "get": lambda m: (lambda e: (e.get("a"), e.get("b"), e.get("zz"), e.get("zz", 9)))(
        models(m).Ping(a=1, b=2)
    ),
    "contains len iter": lambda m: (lambda e: ("b" in e, "a" in e, len(e), list(e)))(
        models(m).Ping(a=1, b=2, c=3)
    ),
    "keys values items": lambda m: (lambda e: (list(e.keys()), list(e.values()), list(e.items())))(
        m.Event(x=1, y=2)
    ),
    "to_dict is _data": lambda m: (lambda e: e.to_dict() is e._data)(m.Event(x=1)),
    "bool of empty": lambda m: (bool(m.Event()), len(m.Event())),
    "dict()": lambda m: dict(m.Event(x=1, y=2)),
    "writes": lambda m: (
        lambda e: (e.__setitem__("c", 3), setattr(e, "d", 4), setattr(e, "a", 9), e._data, e.a)
    )(models(m).Ping(a=1)),
    "replace _data": lambda m: (lambda e: (setattr(e, "_data", {"q": 1}), e.q))(m.Event()),
    # dumps and round trips
    "dump": lambda m: models(m).Ping(a=1, b=2).model_dump(),
    "dump json": lambda m: models(m).Ping(a=1, b=2).model_dump_json(),
    "dump without dynamic": lambda m: models(m).Ping(a=1).model_dump(),
    "dump nested models": lambda m: m.Event(
        x=models(m).Ping(a=1), t=datetime(2020, 1, 1)
    ).model_dump(),
    "dump nested json": lambda m: m.Event(x=models(m).Ping(a=1), s={1, 2}).model_dump(mode="json"),
    "validate dump": lambda m: (lambda e: (e.a, e._data, e._p))(
        models(m).Ping.model_validate({"a": 1, "_data": {"b": 2}})
    ),
    "construct from dump": lambda m: models(m).Ping(**{"a": 1, "_data": {"b": 2}})._data,
    "validate json": lambda m: models(m).Ping.model_validate_json('{"a":1,"_data":{"b":2}}')._data,
    "validate mixed": lambda m: m.Event.model_validate({"_data": {"x": 1}, "y": 2})._data,
    "validate private": lambda m: (lambda e: (e._p, e._data))(
        models(m).Ping.model_validate({"a": 1, "_p": 3, "z": 1})
    ),
    "missing field": lambda m: models(m).Ping(b=1),
    "equality": lambda m: (
        m.Event(x=1) == m.Event(x=1),
        m.Event(x=1) == m.Event(x=2),
        models(m).Ping(a=1) == models(m).Ping(a=1),
    ),
    "repr and str": lambda m: (repr(models(m).Ping(a=1, b=2)), str(models(m).Ping(a=1, b=2))),
    "pickle": lambda m: pickle.loads(pickle.dumps(models(m).Ping(a=2, w=3)))._data,
    "deepcopy": lambda m: copy.deepcopy(models(m).Ping(a=2, w=3))._data,
    "nested field": lambda m: (lambda h: (type(h).__name__, h._data))(
        type("H", (BaseModel,), {"__annotations__": {"e": m.Event}})
        .model_validate({"e": {"_data": {"x": 1}}})
        .e
    ),
    # StopEvent
    "stop result": lambda m: (lambda s: (s.result, s._result, s.extra, s._data))(
        m.StopEvent(result=5, extra=3)
    ),
    "stop dump": lambda m: (
        m.StopEvent(result=5, extra=3).model_dump(),
        m.StopEvent().model_dump(),
    ),
    "stop str repr": lambda m: (
        str(m.StopEvent(result=5)),
        str(m.StopEvent()),
        repr(m.StopEvent(result=5, extra=3)),
        repr(m.StopEvent()),
    ),
    "stop validate": lambda m: (lambda s: (s.result, s._data))(
        m.StopEvent.model_validate({"result": 7, "q": 1})
    ),
    "stop subclass": lambda m: (lambda s: (repr(s), str(s), s.model_dump(), s._data))(
        models(m).Done(msg="hi", result={"a": 1}, other=2)
    ),
    "stop subclass round trip": lambda m: (
        models(m).Done.model_validate(models(m).Done(msg="x", result=[1]).model_dump()).result
    ),
    "custom _get_result": lambda m: (
        models(m).Custom(result=1).result,
        str(models(m).Custom(result=1)),
    ),
    "stop equality": lambda m: (
        m.StopEvent(result=1) == m.StopEvent(result=1),
        m.StopEvent(result=1) == m.StopEvent(result=2),
    ),
    # framework events
    "timed out": lambda m: (lambda e: (repr(e), e.model_dump(), str(e)))(
        m.WorkflowTimedOutEvent(timeout=1, active_steps=["a"])
    ),
    "cancelled": lambda m: (
        repr(m.WorkflowCancelledEvent()),
        m.WorkflowCancelledEvent().model_dump(),
    ),
    "failed": lambda m: (lambda e: (repr(e), e.model_dump(mode="json"), e.result))(
        m.WorkflowFailedEvent(step_name="s", exception=ValueError("boom"))
    ),
    "failed rebuilds builtins": lambda m: repr(
        m.WorkflowFailedEvent.model_validate(
            {
                "step_name": "s",
                "exception": {"exception_type": "builtins.ValueError", "exception_message": "v"},
            }
        ).exception
    ),
    "failed unknown type": lambda m: repr(
        m.WorkflowFailedEvent.model_validate(
            {
                "step_name": "s",
                "exception": {"exception_type": "no.such.Error", "exception_message": "v"},
            }
        ).exception
    ),
    "step state changed": lambda m: (lambda e: (repr(e), e.model_dump(mode="json")))(
        m.StepStateChanged(name="n", step_state="running", worker_id="w", input_event_name="A")
    ),
    "unhandled": lambda m: m.UnhandledEvent(
        event_type="A", qualified_name="m.A", idle=True
    ).model_dump(),
    "start": lambda m: (
        repr(m.StartEvent(x=1)),
        m.StartEvent(x=1).model_dump(),
        str(m.StartEvent()),
    ),
    "hitl": lambda m: (
        repr(m.InputRequiredEvent(prefix="p")),
        m.HumanResponseEvent(response="r").response,
    ),
    "step state enum": lambda m: ([s.value for s in m.StepState], m.StepState.RUNNING == "running"),
    "serialization schema": lambda m: m.Event.model_json_schema(mode="serialization"),
    "unreconstructed": lambda m: (lambda u: (repr(u), str(u), u.args, u.original_type))(
        m.UnreconstructedException("msg", original_type="a.B")
    ),
}


@pytest.mark.parametrize("name", sorted(SNIPPETS))
def test_matches_anchor(name: str) -> None:
    snippet = SNIPPETS[name]
    assert outcome(snippet, ours) == outcome(snippet, anchor)


FAMILY = [
    ("StartEvent", "Event"),
    ("StopEvent", "Event"),
    ("InputRequiredEvent", "Event"),
    ("HumanResponseEvent", "Event"),
    ("InternalDispatchEvent", "Event"),
    ("WorkflowTimedOutEvent", "StopEvent"),
    ("WorkflowCancelledEvent", "StopEvent"),
    ("WorkflowFailedEvent", "StopEvent"),
    ("IdleReleasedEvent", "StopEvent"),
    ("StepFailedEvent", "Event"),
    ("StepStateChanged", "InternalDispatchEvent"),
    ("WorkflowIdleEvent", "InternalDispatchEvent"),
    ("UnhandledEvent", "InternalDispatchEvent"),
    ("CollectionReleaseEvent", "Event"),
]


@pytest.mark.parametrize(("name", "parent"), FAMILY)
def test_family_tree_and_fields_match_anchor(name: str, parent: str) -> None:
    mine, theirs = getattr(ours, name), getattr(anchor, name)
    assert mine.__mro__[1].__name__ == theirs.__mro__[1].__name__ == parent
    assert list(mine.model_fields) == list(theirs.model_fields)
    for field, info in mine.model_fields.items():
        if (name, field) == ("UnhandledEvent", "idle"):
            continue  # deliberately defaulted to False; the anchor requires it
        other = theirs.model_fields[field]
        assert info.is_required() == other.is_required(), field
        if not info.is_required():
            assert info.get_default(call_default_factory=True) == other.get_default(
                call_default_factory=True
            )


class Boom(Exception):
    pass


class Ping(ours.Event):
    a: int


class Resolver:
    def __init__(self, *classes: type) -> None:
        self.by_name = {event_fields.qualified_name(c): c for c in classes}

    def resolve(self, name: str) -> type | None:
        return self.by_name.get(name)


def test_step_failed_event_round_trip_through_json() -> None:
    failed = ours.StepFailedEvent(
        step_name="s",
        input_event=Ping(a=1, z=2),
        exception=Boom("x"),
        attempts=2,
        elapsed_seconds=0.5,
        failed_at=datetime(2020, 1, 1, tzinfo=UTC),
    )
    dumped = failed.model_dump(mode="json")
    assert dumped["input_event"] == {
        "__is_pydantic": True,
        "value": {"a": 1, "_data": {"z": 2}},
        "qualified_name": f"{__name__}.Ping",
    }
    assert dumped["exception"] == {"exception_type": f"{__name__}.Boom", "exception_message": "x"}
    context = {TYPE_RESOLVER_CONTEXT_KEY: Resolver(Ping, Boom)}
    back = ours.StepFailedEvent.model_validate(dumped, context=context)
    assert back.input_event == Ping(a=1, z=2)
    assert type(back.exception) is Boom and str(back.exception) == "x"
    # Without an allow-list entry the exception class is not rebuilt, and nothing is imported.
    bare = ours.StepFailedEvent.model_validate(dumped)
    assert isinstance(bare.exception, UnreconstructedException)
    assert bare.exception.original_type == f"{__name__}.Boom"
    assert bare.input_event == Ping(a=1, z=2)  # an already-defined Event subclass is found


@pytest.mark.parametrize(
    ("type_name", "message", "rebuilt_as", "args"),
    [
        ("builtins.KeyError", "'k'", KeyError, ("k",)),  # str(KeyError) quotes; undone
        ("builtins.ValueError", "v", ValueError, ("v",)),
        ("stepwork._core.errors.WorkflowRuntimeError", "r", WorkflowRuntimeError, ("r",)),
        ("subprocess.CalledProcessError", "c", None, ("c",)),  # not allowed without a resolver
        ("os.nope.X", "n", None, ("n",)),
    ],
)
def test_exception_loading(
    type_name: str, message: str, rebuilt_as: type | None, args: tuple[str, ...]
) -> None:
    stored = {"exception_type": type_name, "exception_message": message}
    loaded = event_fields.load_exception(stored)
    assert loaded.args == args
    if rebuilt_as is not None:
        assert type(loaded) is rebuilt_as
    else:
        assert isinstance(loaded, UnreconstructedException)
        assert loaded.original_type == type_name
        # It dumps under the original name, so another round trip loses nothing more.
        assert event_fields.dump_exception(loaded) == stored


@pytest.mark.parametrize("bad", ["text", 5, {"x": 1}])
def test_bad_exception_field_is_a_validation_error(bad: Any) -> None:
    with pytest.raises(ValidationError, match="exception_type"):
        ours.WorkflowFailedEvent(step_name="s", exception=bad)


def test_unknown_nested_event_type_is_refused() -> None:
    data = {"__is_pydantic": True, "value": {}, "qualified_name": "nowhere.Thing"}
    with pytest.raises(ValidationError, match="not an allowed event class"):
        ours.CollectionReleaseEvent.model_validate({"events": [data]})


def test_result_is_settable_and_private_attrs_are_routed() -> None:
    stop = ours.StopEvent(result=1)
    stop.result = 2
    assert stop.result == 2 and stop._data == {}
    ping = Ping(a=1)
    ping._hidden = 3  # an unknown underscore name is a dynamic field, not a __dict__ entry
    assert ping["_hidden"] == 3 and "_hidden" not in ping.__dict__


def test_model_construct_matches_validated_construction() -> None:
    fields = {
        "name": "n",
        "step_state": ours.StepState.RUNNING,
        "worker_id": "w",
        "input_event_name": "A",
    }
    built = ours.StepStateChanged.model_construct(**fields)
    assert built == ours.StepStateChanged(**fields)
    assert built.model_dump() == ours.StepStateChanged(**fields).model_dump()
    stop = ours.StopEvent.model_construct(result=3)
    assert stop.result == 3 and stop._data == {}


def test_fast_private_init_keeps_defaults_independent() -> None:
    class Holder(ours.Event):
        _items: list[int] = PrivateAttr(default_factory=list)
        _label: str = PrivateAttr(default="x")

    first, second = Holder(), Holder()
    first._items.append(1)
    assert second._items == [] and first._label == second._label == "x"

    class WithHook(ours.Event):
        _seen: int = PrivateAttr(default=0)

        def model_post_init(self, context: Any, /) -> None:
            super().model_post_init(context)
            self._seen += 1

    hooked = WithHook(_seen=5)
    assert hooked._seen == 6 and hooked._data == {}


@pytest.mark.parametrize("module", [dict_like, ours, event_fields])
def test_docstring_examples_run(module: ModuleType) -> None:
    failures, _ = doctest.testmod(module)
    assert failures == 0
