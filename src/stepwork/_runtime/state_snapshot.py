"""A state store's content in LlamaIndex Workflows' snapshot form, and back.

The form, as ``Context.to_dict()["state"]``::

    {"store_type": "in_memory", "state_type": "DictState",
     "state_module": "stepwork._runtime.state_store",
     "state_data": {"_data": {"count": "2"}}}          # one JSON string per key

For a typed state, ``state_data`` is one JSON string
(``{"__is_pydantic": true, "value": {...}, "qualified_name": "app.MyState"}``). Values go
through a serializer from ``stepwork.context``, so loading never imports a module unless the
caller chose ``PickleSerializer``. The older stepwork form (``state_type`` as a qualified name
and ``state_data`` with ``value``/``data``) still loads.
"""

from __future__ import annotations

import warnings
from typing import Any

from pydantic import BaseModel

from stepwork._core.dict_like import DictLikeModel
from stepwork._core.errors import ContextSerdeError, StateSerializationError
from stepwork._runtime.serializers import BaseSerializer, JsonSerializer
from stepwork._runtime.state_store import DictState, UnserializableKeyWarning
from stepwork._stores.codec import TypeRegistry, load_model_body

__all__ = ["KNOWN_UNSERIALIZABLE_KEYS", "serializer_for", "state_from_dict", "state_to_dict"]

KNOWN_UNSERIALIZABLE_KEYS = ("memory",)
"""Keys left out of a snapshot, with a warning, when they do not serialise (as the anchor does)."""


def serializer_for(serializer: BaseSerializer | None, registry: TypeRegistry) -> BaseSerializer:
    """``serializer`` (default ``JsonSerializer()``) extended with the types in ``registry``."""
    chosen = serializer if serializer is not None else JsonSerializer()
    if isinstance(chosen, JsonSerializer):
        return chosen.with_types(*registry)
    return chosen


def state_to_dict(state: BaseModel, serializer: BaseSerializer | None) -> dict[str, Any]:
    """``state`` in the anchor's snapshot form.

    Raises:
        StateSerializationError: If a key other than ``memory``, or a typed state, cannot be
            serialised; the message names the key and the value's type.
    """
    chosen = serializer if serializer is not None else JsonSerializer()
    state_type = type(state)
    if isinstance(state, DictLikeModel):
        data: dict[str, str] = {}
        for key, value in state._data.items():
            try:
                data[key] = chosen.serialize(value)
            except (StateSerializationError, ValueError, TypeError) as error:
                if key in KNOWN_UNSERIALIZABLE_KEYS:
                    warnings.warn(
                        f"Skipping serialization of known unserializable key: {key} -- This is "
                        "expected but will require this item to be set manually after "
                        "deserialization.",
                        UnserializableKeyWarning,
                        stacklevel=3,
                    )
                    continue
                raise StateSerializationError(
                    f"Failed to serialize state value for key {key}: {type(value).__name__} "
                    f"cannot be serialised ({error}). Store JSON-compatible values or pydantic "
                    "models, or snapshot with serializer=PickleSerializer() for trusted data."
                ) from error
        fields = state.model_dump(mode="json", exclude={"_data"}) if state_type.model_fields else {}
        body: Any = {"_data": data, **({"_fields": fields} if fields else {})}
    else:
        try:
            body = chosen.serialize(state)
        except (StateSerializationError, ValueError, TypeError) as error:
            raise StateSerializationError(
                f"Failed to serialize state of type {state_type.__name__}: {error}"
            ) from error
    return {
        "store_type": "in_memory",
        "state_type": state_type.__name__,
        "state_module": state_type.__module__,
        "state_data": body,
    }


def state_from_dict(
    data: dict[str, Any], serializer: BaseSerializer | None, registry: TypeRegistry | None = None
) -> BaseModel:
    """Rebuild a state from :func:`state_to_dict` output (or stepwork's older form).

    Raises:
        ContextSerdeError: If the data is malformed or names a class that may not be loaded.
    """
    registry = (registry or TypeRegistry.default()).with_types(DictState)
    chosen = serializer_for(serializer, registry)
    try:
        body = data["state_data"]
        if "state_module" not in data and "store_type" not in data:
            return _load_stepwork_form(data, registry)
        if isinstance(body, dict):
            state_type = _dict_state_type(data, registry)
            values = {key: chosen.deserialize(text) for key, text in body.get("_data", {}).items()}
            state = state_type.model_validate(body.get("_fields", {}))
            state._data.update(values)
            return state
        loaded = chosen.deserialize(body)
    except ContextSerdeError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise ContextSerdeError(
            f"State data is malformed ({error!r}): expected the output of Context.to_dict()."
        ) from error
    if not isinstance(loaded, BaseModel):
        raise ContextSerdeError(f"State data holds {type(loaded).__name__}, not a state model.")
    return loaded


def _dict_state_type(data: dict[str, Any], registry: TypeRegistry) -> type[DictLikeModel]:
    name = data.get("state_type", "DictState")
    found = registry.resolve(f"{data.get('state_module', '')}.{name}") or registry.resolve(name)
    if found is None or not issubclass(found, DictLikeModel):
        return DictState
    return found


def _load_stepwork_form(data: dict[str, Any], registry: TypeRegistry) -> BaseModel:
    state_type = registry.lookup(data["state_type"])
    if not (isinstance(state_type, type) and issubclass(state_type, BaseModel)):
        raise ContextSerdeError(f"State type {data['state_type']!r} is not a pydantic model.")
    loaded: BaseModel = load_model_body(state_type, data["state_data"], registry)
    return loaded
