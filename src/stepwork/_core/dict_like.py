"""``DictLikeModel``: a pydantic model that also carries free-form "dynamic" fields.

Invariants:
- Declared fields behave exactly as in pydantic; everything else a caller passes lands in the
  dynamic fields, which are pydantic's ``__pydantic_extra__`` dict (``extra="allow"``). Letting
  pydantic-core collect them keeps construction close to a plain model's cost.
- ``_data`` *is* that dict: the mapping API, attribute fallback and ``to_dict()`` all share it.
- ``model_dump()`` nests dynamic fields under ``"_data"`` (only when non-empty), and validation
  unnests a ``"_data"`` key again, so dumps round-trip in python and JSON mode.
- Keys naming a private attribute (``_p``) are routed to that attribute, never to ``_data``.
"""

from __future__ import annotations

from collections.abc import Callable, ItemsView, Iterator, KeysView, ValuesView
from typing import Any, ClassVar

from pydantic import (
    BaseModel,
    ConfigDict,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    model_serializer,
)
from pydantic_core import PydanticUndefined

__all__ = ["FIELDS_ONLY_CONTEXT_KEY", "DictLikeModel"]

#: Serialisation-context flag: dump declared fields only (no ``_data``, no stop ``result``).
#: The codec sets it because it encodes those values itself, with type information.
FIELDS_ONLY_CONTEXT_KEY = "stepwork_fields_only"

_IMMUTABLE_DEFAULTS = (type(None), bool, int, float, str, bytes, frozenset)


class DictLikeModel(BaseModel):
    """A pydantic model with declared fields plus a dict of dynamic fields.

    Keyword arguments that are not declared fields become dynamic fields, reachable as
    attributes (``m.k``) and through a mapping API that covers dynamic fields only.

    Example:
        >>> m = DictLikeModel(k=1)
        >>> m.k, m["k"], m.get("missing"), len(m)
        (1, 1, None, 1)
        >>> m.model_dump()
        {'_data': {'k': 1}}
    """

    model_config = ConfigDict(arbitrary_types_allowed=True, extra="allow")

    # Input keys that must not stay in the dynamic fields; recomputed for every subclass.
    _special_keys: ClassVar[frozenset[str]] = frozenset({"_data"})

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        cls._special_keys = frozenset({"_data", *cls.__private_attributes__, *cls._routed_keys()})
        _install_fast_private_init(cls)

    @classmethod
    def _routed_keys(cls) -> tuple[str, ...]:
        """Extra input keys that ``_absorb_special_keys`` of this class handles."""
        return ()

    def model_post_init(self, context: Any, /) -> None:
        """Route ``_data`` and private-attribute keys out of the dynamic fields."""
        extra = self.__pydantic_extra__
        if extra and not self._special_keys.isdisjoint(extra):
            self._absorb_special_keys(extra)

    def _absorb_special_keys(self, extra: dict[str, Any]) -> None:
        private = self.__pydantic_private__
        nested = extra.pop("_data", None)
        if private is not None:
            for name in self.__private_attributes__:
                if name in extra:
                    private[name] = extra.pop(name)
        if isinstance(nested, dict):
            # Nested keys first, then loose ones: the order a dump/validate round trip had.
            rest = dict(extra)
            extra.clear()
            extra.update(nested)
            extra.update(rest)

    @property
    def _data(self) -> dict[str, Any]:
        extra = self.__pydantic_extra__
        if extra is None:  # only on instances built around validation, e.g. by __new__
            extra = {}
            object.__setattr__(self, "__pydantic_extra__", extra)
        return extra

    @_data.setter
    def _data(self, value: dict[str, Any]) -> None:
        object.__setattr__(self, "__pydantic_extra__", value)

    def __getattr__(self, name: str) -> Any:
        # Reached only when normal lookup failed: fields live in __dict__ and never get here.
        extra = object.__getattribute__(self, "__pydantic_extra__")
        if extra is not None and name in extra:
            return extra[name]
        private = object.__getattribute__(self, "__pydantic_private__")
        if private is not None and name in private:
            return private[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        # pydantic would put an unknown ``_x`` into the instance __dict__; keep it dynamic.
        if (
            name[:1] == "_"
            and name[:2] != "__"
            and name not in self.__private_attributes__
            and not hasattr(type(self), name)
        ):
            self._data[name] = value
        else:
            super().__setattr__(name, value)

    @model_serializer(mode="wrap")
    def custom_model_dump(
        self, handler: SerializerFunctionWrapHandler, info: SerializationInfo
    ) -> dict[str, Any]:
        out: dict[str, Any] = handler(self)
        extra = self.__pydantic_extra__
        if extra:
            # pydantic inlines extras at the top level; the dump shape nests them.
            nested = {key: out.pop(key) for key in extra if key in out}
            context = info.context
            if nested and not (context and context.get(FIELDS_ONLY_CONTEXT_KEY)):
                out["_data"] = nested
        return out

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        # Dynamic fields are left out of repr() and str(), like declared ``repr=False`` fields.
        values = self.__dict__
        for key, field in type(self).__pydantic_fields__.items():
            if field.repr and key in values:
                yield key, values[key]
        for key, computed in type(self).__pydantic_computed_fields__.items():
            if computed.repr:
                yield key, getattr(self, key)

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._data[key] = value

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __len__(self) -> int:
        return len(self._data)

    def __iter__(self) -> Iterator[str]:  # type: ignore[override]
        return iter(self._data)

    def __bool__(self) -> bool:
        return True

    def get(self, key: str, default: Any = None) -> Any:
        """Return dynamic field ``key``, or ``default`` when it is not set."""
        return self._data.get(key, default)

    def keys(self) -> KeysView[str]:
        """Return the names of the dynamic fields."""
        return self._data.keys()

    def values(self) -> ValuesView[Any]:
        """Return the values of the dynamic fields."""
        return self._data.values()

    def items(self) -> ItemsView[str, Any]:
        """Return ``(name, value)`` pairs of the dynamic fields."""
        return self._data.items()

    def to_dict(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """Return the dynamic fields' dict itself (mutations show on the model).

        Arguments are accepted and ignored, as LlamaIndex Workflows does.
        """
        return self._data


def _install_fast_private_init(cls: type[DictLikeModel]) -> None:
    """Replace pydantic's generic private-attribute setup with a precomputed one.

    pydantic wraps ``model_post_init`` to build ``__pydantic_private__`` by asking every
    private attribute for its default, which costs more than validating the fields. When the
    wrapped hook is ours and every default is immutable or a plain factory, we can build the
    dict directly. Anything unusual keeps pydantic's behaviour.
    """
    hook = cls.__dict__.get("model_post_init")
    wrapped = getattr(hook, "__wrapped__", None)
    ours = DictLikeModel.model_post_init
    if wrapped is not ours and getattr(wrapped, "__wrapped__", None) is not ours:
        return
    statics: dict[str, Any] = {}
    factories: list[tuple[str, Callable[[], Any]]] = []
    for name, attr in cls.__private_attributes__.items():
        if attr.default_factory is not None:
            if attr.default_factory_takes_validated_data:
                return
            factories.append((name, attr.default_factory))  # type: ignore[arg-type]
        elif attr.default is PydanticUndefined:
            continue
        elif isinstance(attr.default, _IMMUTABLE_DEFAULTS):
            statics[name] = attr.default
        else:
            return

    def fast_post_init(self: DictLikeModel, context: Any, /) -> None:
        if object.__getattribute__(self, "__pydantic_private__") is None:
            private = dict(statics)
            for name, factory in factories:
                private[name] = factory()
            object.__setattr__(self, "__pydantic_private__", private)
        ours(self, context)

    fast_post_init.__wrapped__ = ours  # type: ignore[attr-defined]
    cls.model_post_init = fast_post_init  # type: ignore[method-assign]
