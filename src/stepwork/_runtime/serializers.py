"""Value serializers with LlamaIndex Workflows' names and shapes.

``serialize_value`` writes pydantic models the way the anchor does
(``{"__is_pydantic": true, "value": ..., "qualified_name": "mod.Cls"}``), JSON values as they
are, and other values stepwork's codec can hold (tuples, sets, datetimes, enums, ...) with the
codec's tags. Loading a class by name goes through :meth:`JsonSerializer.resolve_class`: the
allow-list (framework events, ``allowed_types``, and for snapshots the workflow's declared
types), plus ``Event`` subclasses whose module is already imported. :class:`JsonSerializer`
never imports a module named by data; :class:`PickleSerializer`, which you choose explicitly
for trusted data, imports classes by name and unpickles.

Example:
    >>> from stepwork.context import JsonSerializer
    >>> serializer = JsonSerializer()
    >>> serializer.deserialize(serializer.serialize({"a": (1, 2)}))
    {'a': (1, 2)}
"""

from __future__ import annotations

import base64
import importlib
import json
import pickle
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import PydanticSerializationError

from stepwork._core.errors import ContextSerdeError, StateSerializationError
from stepwork._core.event_fields import qualified_name
from stepwork._stores.codec import dump_value, is_tagged, load_value
from stepwork._stores.type_registry import TypeRegistry

__all__ = ["BaseSerializer", "JsonPickleSerializer", "JsonSerializer", "PickleSerializer"]

_PICKLE_TAG = "__pickle__"
_PYDANTIC_TAG = "__is_pydantic"
_JSON_SCALARS = (str, int, float, bool, type(None))


class BaseSerializer(ABC):
    """Turns values into strings and back."""

    @abstractmethod
    def serialize(self, value: Any) -> str:
        """``value`` as a string."""

    @abstractmethod
    def deserialize(self, value: str) -> Any:
        """The value a string from :meth:`serialize` stands for."""

    @contextmanager
    def validation_context(self) -> Iterator[None]:
        """A block in which pydantic validation may rebuild nested values (no-op here)."""
        yield


class JsonSerializer(BaseSerializer):
    """JSON in LlamaIndex Workflows' shape; classes load only from an allow-list.

    Args:
        allowed_types: Classes (pydantic models, events, enums, exceptions) that may be loaded,
            besides the framework's events and ``Event`` subclasses already imported.

    Raises:
        StateSerializationError: From :meth:`serialize`, for a value JSON cannot hold (a
            ``ValueError``).
        ContextSerdeError: From :meth:`deserialize`, for malformed data or a class that is not
            allowed.
    """

    def __init__(self, *, allowed_types: Iterable[type] | None = None) -> None:
        self._allowed = tuple(allowed_types or ())
        self._registry = TypeRegistry.default().with_types(*self._allowed)

    def with_types(self, *classes: type) -> JsonSerializer:
        """A copy that may also load ``classes``."""
        return type(self)(allowed_types=(*self._allowed, *classes))

    def resolve_class(self, qualified_name: str) -> type[Any]:
        """The class called ``qualified_name`` (``module.QualName``), without importing.

        Raises:
            ContextSerdeError: If the class is neither allowed nor an already-imported
                ``Event`` subclass.
        """
        return self._registry.lookup(qualified_name)

    def serialize_value(self, value: Any) -> Any:
        """``value`` as JSON-ready data (see the module docstring for the shape).

        Raises:
            StateSerializationError: If the value cannot be written as JSON.
        """
        if isinstance(value, _JSON_SCALARS):
            return value
        if isinstance(value, BaseModel):
            try:
                dumped = value.model_dump(mode="json")
            except (PydanticSerializationError, ValueError, TypeError) as error:
                raise StateSerializationError(
                    f"Failed to serialize value: {type(value)}: {error}"
                ) from error
            return {
                _PYDANTIC_TAG: True,
                "value": dumped,
                "qualified_name": qualified_name(type(value)),
            }
        if type(value) is list:
            return [self.serialize_value(item) for item in value]
        if type(value) is dict and all(type(key) is str for key in value):
            if _PYDANTIC_TAG in value:  # a plain dict that looks like a model: escape it
                return {"__dict__": {k: dump_value(v, label="value") for k, v in value.items()}}
            return {key: self.serialize_value(item) for key, item in value.items()}
        return dump_value(value, label="value")

    def deserialize_value(self, data: Any) -> Any:
        """The value :meth:`serialize_value` output stands for.

        Raises:
            ContextSerdeError: If the data names a class that may not be loaded, or no longer
                validates against it.
        """
        if type(data) is list:
            return [self.deserialize_value(item) for item in data]
        if type(data) is not dict:
            return data
        if data.get(_PYDANTIC_TAG) is True and "qualified_name" in data:
            cls = self.resolve_class(data["qualified_name"])
            if not (isinstance(cls, type) and issubclass(cls, BaseModel)):
                raise ContextSerdeError(f"Type {data['qualified_name']!r} is not a pydantic model.")
            try:
                return cls.model_validate(data.get("value") or {})
            except ValidationError as error:
                raise ContextSerdeError(
                    f"Stored {data['qualified_name']} no longer validates: {error}"
                ) from error
        if is_tagged(data):
            return load_value(data, _ResolvingRegistry(self))
        return {key: self.deserialize_value(item) for key, item in data.items()}

    def serialize(self, value: Any) -> str:
        """``value`` as a JSON string."""
        return json.dumps(self.serialize_value(value))

    def deserialize(self, value: str) -> Any:
        """The value a JSON string from :meth:`serialize` stands for."""
        try:
            data = json.loads(value)
        except json.JSONDecodeError as error:
            raise ContextSerdeError(f"Not JSON from JsonSerializer.serialize(): {error}") from error
        return self.deserialize_value(data)


class _ResolvingRegistry(TypeRegistry):
    """A registry view that resolves through a serializer's :meth:`resolve_class`."""

    __slots__ = ("_serializer",)

    def __init__(self, serializer: JsonSerializer) -> None:
        super().__init__()
        self._serializer = serializer

    def lookup(self, name: str) -> type:
        return self._serializer.resolve_class(name)


class PickleSerializer(JsonSerializer):
    """JSON where possible, base64 pickle otherwise; imports classes named by the data.

    Unpickling and importing run code: use it for trusted data only.
    """

    def resolve_class(self, qualified_name: str) -> type[Any]:
        """The class called ``qualified_name``, importing its module if needed.

        Raises:
            ContextSerdeError: If no module path of the name leads to a class.
        """
        try:
            return super().resolve_class(qualified_name)
        except ContextSerdeError:
            pass
        module_name, _, attribute = qualified_name.rpartition(".")
        while module_name:
            try:
                found: Any = importlib.import_module(module_name)
            except ImportError:
                module_name, _, head = module_name.rpartition(".")
                attribute = f"{head}.{attribute}"
                continue
            for part in attribute.split("."):
                found = getattr(found, part, None)
            if isinstance(found, type):
                return found
            break
        raise ContextSerdeError(f"Cannot import a class called {qualified_name!r}.")

    def serialize_value(self, value: Any) -> Any:
        """``value`` as JSON-ready data, or a tagged base64 pickle when JSON cannot hold it."""
        try:
            return super().serialize_value(value)
        except StateSerializationError:
            try:
                encoded = base64.b64encode(pickle.dumps(value)).decode("ascii")
            except (pickle.PicklingError, TypeError, AttributeError) as error:
                raise StateSerializationError(
                    f"Failed to serialize value: {type(value)}: {error}"
                ) from error
            return {_PICKLE_TAG: encoded}

    def deserialize_value(self, data: Any) -> Any:
        """The value a :meth:`serialize_value` result stands for."""
        if type(data) is dict and set(data) == {_PICKLE_TAG}:
            return pickle.loads(base64.b64decode(data[_PICKLE_TAG]))
        return super().deserialize_value(data)


JsonPickleSerializer = PickleSerializer
