"""The compatibility serializers round-trip values and refuse what they must."""

from __future__ import annotations

import threading

import pytest
from pydantic import BaseModel

from stepwork.context import JsonPickleSerializer, JsonSerializer, PickleSerializer
from stepwork.errors import ContextSerdeError, StateSerializationError


class Point(BaseModel):
    x: int


def test_json_round_trip_with_allowed_types() -> None:
    serializer = JsonSerializer(allowed_types=[Point])
    value = {"p": Point(x=1), "t": (1, 2), "s": {3}}
    assert serializer.deserialize(serializer.serialize(value)) == value


def test_json_refuses_classes_outside_the_allow_list() -> None:
    text = JsonSerializer(allowed_types=[Point]).serialize(Point(x=1))
    with pytest.raises(ContextSerdeError, match="allow"):
        JsonSerializer().deserialize(text)
    assert JsonSerializer().with_types(Point).deserialize(text) == Point(x=1)


def test_json_refuses_what_json_cannot_hold_and_bad_text() -> None:
    with pytest.raises(StateSerializationError):
        JsonSerializer().serialize(threading.Lock())
    with pytest.raises(ContextSerdeError, match="Not JSON"):
        JsonSerializer().deserialize("{nope")


def test_pickle_serializer_falls_back_to_pickle_only_when_needed() -> None:
    serializer = PickleSerializer()
    assert serializer.serialize([1, 2]) == "[1, 2]"
    value = complex(1, 2)
    assert serializer.deserialize(serializer.serialize(value)) == value
    assert JsonPickleSerializer is PickleSerializer
