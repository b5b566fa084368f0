"""Value serializers with LlamaIndex Workflows' names, for code that uses them directly.

stepwork's own snapshots and journals always use the JSON codec with an allow-list; these
classes exist so that ``from workflows.context import JsonSerializer`` ports unchanged and so
that a value can be turned into a string and back explicitly. Only :class:`PickleSerializer`
ever unpickles, and only when you construct it yourself.

Example:
    >>> from stepwork.context import JsonSerializer
    >>> serializer = JsonSerializer()
    >>> serializer.deserialize(serializer.serialize({"a": (1, 2)}))
    {'a': (1, 2)}
"""

from __future__ import annotations

import base64
import json
import pickle
from abc import ABC, abstractmethod
from collections.abc import Iterable
from typing import Any

from stepwork._core.errors import ContextSerdeError, StateSerializationError
from stepwork._stores.codec import dump_value, load_value
from stepwork._stores.type_registry import TypeRegistry

__all__ = ["BaseSerializer", "JsonPickleSerializer", "JsonSerializer", "PickleSerializer"]

_PICKLE_TAG = "__pickle__"


class BaseSerializer(ABC):
    """Turns values into strings and back."""

    @abstractmethod
    def serialize(self, value: Any) -> str:
        """``value`` as a string."""

    @abstractmethod
    def deserialize(self, value: str) -> Any:
        """The value a string from :meth:`serialize` stands for."""


class JsonSerializer(BaseSerializer):
    """JSON through stepwork's codec; classes load only from an allow-list.

    Args:
        allowed_types: Classes (pydantic models, events, enums, exceptions) that may be loaded,
            besides the framework's events.

    Raises:
        StateSerializationError: From :meth:`serialize`, for a value JSON cannot hold.
        ContextSerdeError: From :meth:`deserialize`, for malformed data or a class that is not
            allowed.
    """

    def __init__(self, *, allowed_types: Iterable[type] | None = None) -> None:
        self._registry = TypeRegistry.default().with_types(*(allowed_types or ()))

    def with_types(self, *classes: type) -> JsonSerializer:
        """A copy that may also load ``classes``."""
        copy = type(self)()
        copy._registry = self._registry.with_types(*classes)
        return copy

    def serialize(self, value: Any) -> str:
        """``value`` as a JSON string."""
        return json.dumps(dump_value(value, label="value"))

    def deserialize(self, value: str) -> Any:
        """The value a JSON string from :meth:`serialize` stands for."""
        try:
            data = json.loads(value)
        except json.JSONDecodeError as error:
            raise ContextSerdeError(f"Not JSON from JsonSerializer.serialize(): {error}") from error
        return load_value(data, self._registry)


class PickleSerializer(JsonSerializer):
    """JSON where possible, base64 pickle otherwise. Unpickling runs code: trusted data only."""

    def serialize(self, value: Any) -> str:
        """``value`` as JSON, or as a tagged base64 pickle when JSON cannot hold it."""
        try:
            return super().serialize(value)
        except StateSerializationError:
            encoded = base64.b64encode(pickle.dumps(value)).decode("ascii")
            return json.dumps({_PICKLE_TAG: encoded})

    def deserialize(self, value: str) -> Any:
        """The value a string from :meth:`serialize` stands for."""
        data = json.loads(value)
        if isinstance(data, dict) and set(data) == {_PICKLE_TAG}:
            return pickle.loads(base64.b64decode(data[_PICKLE_TAG]))
        return super().deserialize(value)


JsonPickleSerializer = PickleSerializer
