"""The JSON codec and its allow-list: every supported value round-trips, nothing else gets in."""

from __future__ import annotations

import doctest
import enum
import json
import uuid
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest
from pydantic import BaseModel

from stepwork._core.errors import ContextSerdeError, StateSerializationError
from stepwork._core.events import (
    Event,
    StartEvent,
    StepFailedEvent,
    StepState,
    StepStateChanged,
    StopEvent,
    UnreconstructedException,
    WorkflowFailedEvent,
)
from stepwork._stores import codec, type_registry
from stepwork._stores.codec import (
    TypeRegistry,
    dump_event,
    dump_value,
    load_event,
    load_value,
)


class Color(enum.Enum):
    RED = "r"


class Level(enum.IntEnum):
    HIGH = 3


class Point(BaseModel):
    x: int
    at: datetime | None = None


class Order(Event):
    item: str


class Outcome(StopEvent):
    note: str = ""


class Boom(Exception):
    pass


class Opaque:
    pass


REGISTRY = TypeRegistry.default().with_types(Color, Level, Point, Order, Outcome, Boom)

ROUND_TRIPS: dict[str, Any] = {
    "int": 1,
    "str": "s",
    "none": None,
    "float": 1.5,
    "bool": True,
    "list with tuple": [1, (2, "3")],
    "nested dict with set": {"a": {"b": {1, 2}}},
    "non-str keys": {1: "x", (1, 2): "y", Color.RED: "z"},
    "dict using a tag as key": {"__set__": 1, "__model__": {"__tuple__": 2}},
    "aware datetime": datetime(2020, 1, 1, 12, 30, tzinfo=UTC),
    "naive datetime": datetime(2020, 1, 1, 12, 30, 1, 5),
    "date": date(2020, 1, 2),
    "time": time(1, 2, 3),
    "timedelta": timedelta(days=-1, seconds=5, microseconds=7),
    "enum": Color.RED,
    "int enum": Level.HIGH,
    "uuid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
    "decimal": Decimal("1.10"),
    "bytes": b"\x00\xff",
    "frozenset": frozenset({"a", "b"}),
    "empty containers": [[], {}, (), set()],
    "model": Point(x=1, at=datetime(2020, 1, 1)),
    "event with typed dynamic fields": Order(item="tea", qty=2, where=Point(x=3), tags={"hot"}),
    "start event": StartEvent(topic="t", n=1),
    "stop event with model result": StopEvent(result=Point(x=4), extra=1),
    "stop subclass": Outcome(note="n", result=[1, 2]),
    "step state changed": StepStateChanged(
        name="n", step_state=StepState.RUNNING, worker_id="w", input_event_name="A"
    ),
    "models in a list": [Point(x=1), Order(item="x")],
}


@pytest.mark.parametrize("name", sorted(ROUND_TRIPS))
def test_round_trip_through_json_text(name: str) -> None:
    value = ROUND_TRIPS[name]
    text = json.dumps(dump_value(value))
    back = load_value(json.loads(text), REGISTRY)
    assert back == value
    assert type(back) is type(value)


def test_dynamic_model_values_keep_their_type() -> None:
    back = load_value(dump_value(Order(item="x", where=Point(x=3))), REGISTRY)
    assert type(back.where) is Point
    stop = load_value(dump_value(StopEvent(result=Point(x=4))), REGISTRY)
    assert type(stop.result) is Point


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (ValueError("v"), ValueError("v")),
        (KeyError("k"), KeyError("k")),
        (Boom("b"), Boom("b")),
    ],
)
def test_exceptions_round_trip(value: BaseException, expected: BaseException) -> None:
    back = load_value(json.loads(json.dumps(dump_value(value))), REGISTRY)
    assert type(back) is type(expected) and back.args == expected.args


def test_exception_outside_allow_list_is_unreconstructed() -> None:
    back = load_value(dump_value(Boom("b")), TypeRegistry.default())
    assert isinstance(back, UnreconstructedException)
    assert back.original_type == f"{__name__}.Boom" and str(back) == "b"


def test_events_with_exception_fields_round_trip() -> None:
    failed = StepFailedEvent(
        step_name="s",
        input_event=Order(item="x", n=1),
        exception=Boom("x"),
        attempts=1,
        elapsed_seconds=0.1,
        failed_at=datetime(2020, 1, 1, tzinfo=UTC),
    )
    back = load_event(json.loads(json.dumps(dump_event(failed))), REGISTRY)
    assert isinstance(back, StepFailedEvent)
    assert back.input_event == Order(item="x", n=1)
    assert type(back.exception) is Boom
    final = load_event(
        dump_event(WorkflowFailedEvent(step_name="s", exception=KeyError("k"))), REGISTRY
    )
    assert isinstance(final.exception, KeyError) and final.exception.args == ("k",)


def test_plain_values_dump_to_themselves() -> None:
    plain = {"a": [1, 2.5, "x", None, True], "b": {"c": {}}}
    assert dump_value(plain) == plain


def test_event_envelope_shape() -> None:
    assert dump_event(Order(item="tea", qty=2)) == {
        "__model__": f"{__name__}.Order",
        "value": {"item": "tea"},
        "data": {"qty": 2},
    }
    assert dump_event(StopEvent(result=1)) == {
        "__model__": "stepwork.events.StopEvent",
        "value": {},
        "result": 1,
    }


@pytest.mark.parametrize(
    ("value", "path", "where"),
    [
        (Opaque(), "a.b", "state key 'a.b'"),
        ({"x": [1, Opaque()]}, "k", "state key 'k.x.1'"),
        (Order(item="x", bad=Opaque()), "e", "state key 'e.bad'"),
        (Point.model_construct(x=Opaque()), "p", "state key 'p.x'"),
        (StopEvent(result=Opaque()), "s", "state key 's.result'"),
        ({Opaque(): 1}, "m", "state key 'm'"),
    ],
)
def test_unsupported_values_are_refused_naming_the_path(value: Any, path: str, where: str) -> None:
    with pytest.raises(StateSerializationError) as caught:
        dump_value(value, path=path)
    message = str(caught.value)
    assert where in message
    assert f"{__name__}.Opaque" in message
    assert "pydantic model" in message  # says what to do instead
    assert isinstance(caught.value, ValueError)


def test_event_dump_errors_name_the_event_field() -> None:
    with pytest.raises(StateSerializationError, match=r"event field 'Order\.bad'"):
        dump_event(Order(item="x", bad=Opaque()))


@pytest.mark.parametrize(
    "data",
    [
        {"__model__": "elsewhere.Secret", "value": {}},
        {"__enum__": "elsewhere.Mode", "value": 1},
        {"__model__": "os.system", "value": {}},
    ],
)
def test_unknown_types_are_refused_not_imported(data: dict[str, Any]) -> None:
    with pytest.raises(ContextSerdeError, match="with_types") as caught:
        load_value(data, REGISTRY)
    assert data.get("__model__", data.get("__enum__")) in str(caught.value)


@pytest.mark.parametrize(
    "data",
    [
        {"__tuple__": 5},
        {"__datetime__": "not a date"},
        {"__model__": f"{__name__}.Point", "value": {"x": "no"}},
    ],
)
def test_malformed_data_is_a_serde_error(data: dict[str, Any]) -> None:
    with pytest.raises(ContextSerdeError):
        load_value(data, REGISTRY)


def test_load_event_refuses_non_events() -> None:
    with pytest.raises(ContextSerdeError, match="not an Event"):
        load_event(dump_value(Point(x=1)), REGISTRY)
    with pytest.raises(ContextSerdeError, match="Expected a dumped event"):
        load_event([1], REGISTRY)
    with pytest.raises(TypeError):
        dump_event(Point(x=1))  # type: ignore[arg-type]


class TestTypeRegistry:
    def test_default_knows_framework_types(self) -> None:
        registry = TypeRegistry.default()
        for cls in (StartEvent, StopEvent, StepFailedEvent, StepState, UnreconstructedException):
            assert cls in registry
            assert registry.lookup(f"{cls.__module__}.{cls.__qualname__}") is cls
        assert Order not in registry
        assert TypeRegistry.default() is registry

    def test_with_types_returns_an_extended_copy(self) -> None:
        base = TypeRegistry.default()
        extended = base.with_types(Order)
        assert Order in extended and Order not in base
        assert len(extended) == len(base) + 1

    def test_bare_names_resolve_unless_ambiguous(self) -> None:
        registry = TypeRegistry().with_types(Order)
        assert registry.lookup("__main__.Order") is Order
        assert registry.lookup("Order") is Order
        clash = type("Order", (Event,), {"__module__": "other.place"})
        both = registry.with_types(clash)
        assert both.lookup(f"{__name__}.Order") is Order
        assert both.lookup("other.place.Order") is clash
        with pytest.raises(ContextSerdeError, match="ambiguous"):
            both.lookup("third.Order")

    def test_only_classes_are_accepted(self) -> None:
        with pytest.raises(TypeError):
            TypeRegistry().with_types("Order")  # type: ignore[arg-type]


@pytest.mark.parametrize("module", [codec, type_registry])
def test_docstring_examples_run(module: Any) -> None:
    failures, _ = doctest.testmod(module)
    assert failures == 0


class NeedsTwo(Exception):
    def __init__(self, a: str, b: str) -> None:
        super().__init__(a, b)


class Name(str):
    pass


def test_allowed_exception_that_cannot_be_rebuilt_is_unreconstructed() -> None:
    registry = REGISTRY.with_types(NeedsTwo)
    back = load_value(dump_value(NeedsTwo("a", "b")), registry)
    assert isinstance(back, UnreconstructedException)
    assert back.original_type == f"{__name__}.NeedsTwo"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Name("ada"), "ada"),  # a str subclass is stored as its plain value
        ({1, "a", 2.5}, {1, "a", 2.5}),  # unorderable members still round-trip
        ([Level.HIGH, True], [Level.HIGH, True]),
    ],
)
def test_lossy_or_unusual_values(value: Any, expected: Any) -> None:
    back = load_value(json.loads(json.dumps(dump_value(value))), REGISTRY)
    assert back == expected and type(back) is type(expected)


def test_collection_release_event_round_trips_its_events() -> None:
    from stepwork._core.events import CollectionReleaseEvent

    released = CollectionReleaseEvent(events=[Order(item="a"), StartEvent(x=1)], stream_id="s")
    assert released.model_dump(mode="json")["events"][0] == {
        "__is_pydantic": True,
        "value": {"item": "a"},
        "qualified_name": f"{__name__}.Order",
    }
    back = load_event(json.loads(json.dumps(dump_event(released))), REGISTRY)
    assert back == released
