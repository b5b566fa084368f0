"""Serializers and event dumps: the same programs on the anchor and on stepwork.

``JsonSerializer`` writes the anchor's shapes and loads ``Event`` subclasses that are already
imported without their being declared; only ``PickleSerializer`` imports a module named by
the data (a deliberate difference, asserted on both sides).
"""

from __future__ import annotations

import sys
import types
from typing import Any

import pytest
from compat_libraries import library
from pydantic import BaseModel

both = pytest.mark.parametrize(
    "lib",
    [
        pytest.param(library("workflows"), id="anchor"),
        pytest.param(library("stepwork"), id="stepwork"),
    ],
)
Lib = Any


class Ping(BaseModel):
    """Not an event: only an allow-list (or PickleSerializer) may load it by name."""

    n: int = 0


@both
def test_an_imported_event_class_loads_by_name_without_being_declared(lib: Lib) -> None:
    module = types.ModuleType(f"_porting_events_{lib.name}")
    exec(f"from {lib.name}.events import Event\nclass Shout(Event):\n    text: str\n", vars(module))
    sys.modules[module.__name__] = module
    try:
        serializer = lib.JsonSerializer()
        text = serializer.serialize(module.Shout(text="hi", extra=1))
        loaded = serializer.deserialize(text)
        assert type(loaded) is module.Shout and (loaded.text, loaded.extra) == ("hi", 1)
        value = serializer.serialize_value(module.Shout(text="x"))
        assert value["__is_pydantic"] is True and value["value"]["text"] == "x"
        assert serializer.deserialize_value(value).text == "x"
        assert serializer.resolve_class(f"{module.__name__}.Shout") is module.Shout
    finally:
        del sys.modules[module.__name__]


@both
def test_pickle_serializer_loads_classes_by_importing_their_module(lib: Lib) -> None:
    serializer = lib.PickleSerializer()
    text = serializer.serialize(Ping(n=3))
    assert serializer.deserialize(text) == Ping(n=3)
    assert serializer.resolve_class(f"{__name__}.Ping") is Ping


def test_difference_json_serializer_loads_other_classes_only_when_allowed() -> None:
    """The anchor imports whatever class the data names; stepwork's JSON loads only allowed
    classes and ``Event`` subclasses already imported (``Ping`` is a plain model)."""
    anchor, ours = library("workflows"), library("stepwork")
    assert anchor.JsonSerializer().deserialize(
        anchor.JsonSerializer().serialize(Ping(n=1))
    ) == Ping(n=1)
    text = ours.JsonSerializer().serialize(Ping(n=1))
    with pytest.raises(ValueError, match="allow-list"):
        ours.JsonSerializer().deserialize(text)
    assert ours.JsonSerializer(allowed_types=[Ping]).deserialize(text) == Ping(n=1)


@both
def test_event_to_dict_takes_and_ignores_dump_arguments(lib: Lib) -> None:
    class Note(lib.Event):
        title: str = "t"

    note = Note(body="b")
    assert note.to_dict() == {"body": "b"}
    assert note.to_dict(exclude={"title"}, mode="json") == {"body": "b"}
    assert callable(Note.custom_model_dump)
    assert note.model_dump() == {"title": "t", "_data": {"body": "b"}}
