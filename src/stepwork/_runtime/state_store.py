"""``ctx.store``: a run's state, read and written by dotted path, journaled on every commit.

Every write goes through one commit point. In a *strict* store (the store of a journaled run)
the new state is first checked to serialise, so a value the journal could not hold is refused
at the write, naming its key and type, and the state stays as it was. A store that is not
strict (a run without ``store=``, or a store built directly) accepts any value, as LlamaIndex
Workflows does: only :meth:`InMemoryStateStore.to_dict` (a snapshot) must serialise it. Writers
are serialised by a loop-independent lock; ``edit_state()`` holds it for the whole block and
works on an isolated deep copy that readers do not see until it commits.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from contextlib import AbstractAsyncContextManager
from contextvars import ContextVar
from types import TracebackType
from typing import Any, Generic, Protocol, runtime_checkable

from pydantic import BaseModel, ValidationError
from typing_extensions import TypeVar

from stepwork._core.dict_like import DictLikeModel
from stepwork._core.errors import (
    ContextSerdeError,
    ContextStateError,
    StateSerializationError,
    StateStoreError,
)
from stepwork._core.event_fields import qualified_name
from stepwork._runtime.state_paths import MISSING, assign_path, read_path, split_path
from stepwork._runtime.state_values import copy_for_edit, serialisable_part
from stepwork._runtime.writer_lock import WriterLock
from stepwork._stores.codec import TypeRegistry, dump_model_body, dump_value, load_model_body
from stepwork._stores.finite import refuse_non_finite

__all__ = [
    "MODEL_T",
    "DictState",
    "InMemoryStateStore",
    "StateStore",
    "UnserializableKeyWarning",
    "infer_state_type",
]


class DictState(DictLikeModel):
    """The default run state: free-form keys, as ``state["k"]`` or ``state.k``.

    Example:
        >>> state = DictState(count=1)
        >>> state["count"], state.count
        (1, 1)
    """


MODEL_T = TypeVar("MODEL_T", bound=BaseModel, default=DictState)


class UnserializableKeyWarning(Warning):
    """A snapshot left out a state key that is known not to serialise (``memory``)."""


@runtime_checkable
class StateStore(Protocol[MODEL_T]):
    """What a run's state store offers (``ctx.store``), as LlamaIndex Workflows names it."""

    @property
    def state_type(self) -> type[MODEL_T]:
        """The class of the state model."""

    async def get_state(self) -> MODEL_T:
        """A shallow copy of the state."""

    async def set_state(self, state: MODEL_T) -> None:
        """Replace the state (or merge a parent-type instance into it)."""

    async def get(self, path: str, default: Any = ...) -> Any:
        """The value at dotted ``path``."""

    async def set(self, path: str, value: Any) -> None:
        """Write ``value`` at dotted ``path``."""

    async def clear(self) -> None:
        """Reset the state to a default instance of its type."""

    def edit_state(self) -> AbstractAsyncContextManager[MODEL_T]:
        """A block that edits the state and commits it on exit."""

    def to_dict(self, serializer: Any = None) -> dict[str, Any]:
        """The state as a JSON-ready dict."""


# Stores (by id) whose edit_state block encloses the current task: their writers must raise.
_EDITING: ContextVar[frozenset[int]] = ContextVar("stepwork_editing_stores", default=frozenset())

_NO_DEFAULT: Any = ...


class InMemoryStateStore(Generic[MODEL_T]):
    """A run's state held in memory, journaled through ``on_commit``.

    Args:
        initial_state: The state to start from (a ``DictState`` or a typed pydantic model).
        on_commit: Called with the state's JSON (see :meth:`to_json`) after every committed
            write.
        strict: Refuse, at the write, a value that cannot be serialised (journaled runs).

    Example:
        >>> import asyncio
        >>> store = InMemoryStateStore(DictState())
        >>> asyncio.run(store.set("user.name", "Ada"))
        >>> asyncio.run(store.get("user"))
        {'name': 'Ada'}
    """

    def __init__(
        self,
        initial_state: MODEL_T,
        *,
        on_commit: Callable[[dict[str, Any]], None] | None = None,
        strict: bool = False,
    ) -> None:
        self._state = initial_state
        self.on_commit = on_commit
        """Called with the state's JSON after every committed write (``Context`` journals it)."""
        self.strict = strict
        self._lock = WriterLock()
        self.journaled = False
        """True while the state belongs to a journaled run: NaN and infinities are refused
        then (JSON cannot hold them); a run without a store keeps them in memory."""

    @property
    def state_type(self) -> type[MODEL_T]:
        """The class of the state model."""
        return type(self._state)

    async def get_state(self) -> MODEL_T:
        """Return a shallow copy of the state (nested values are shared with the store)."""
        return self._state.model_copy()

    async def get(self, path: str, default: Any = _NO_DEFAULT) -> Any:
        """Return the value at dotted ``path`` (``""`` is the state itself).

        Values are shared with the store, not copied.

        Raises:
            StateStoreError: If the path does not exist and no ``default`` was given, or the
                path is longer than 1000 segments.
        """
        found = read_path(self._state, split_path(path, allow_empty=True))
        if found is MISSING:
            if default is _NO_DEFAULT:
                raise StateStoreError(f"Path {path!r} not found in state")
            return default
        return found

    async def set(self, path: str, value: Any) -> None:
        """Write ``value`` at dotted ``path``, creating missing intermediate dicts.

        Raises:
            StateSerializationError: In a strict store, if ``value`` cannot be serialised; in a
                journaled run, if it holds NaN or an infinity (the state is unchanged).
            StateStoreError: If the path is empty or cannot be written.
            ContextStateError: If called inside this store's ``edit_state()`` block.
        """
        self._refuse_inside_edit("set")
        segments = split_path(path, allow_empty=False)
        if self.strict:
            dump_value(value, path=path)
        if self.journaled:
            refuse_non_finite(value, path=path)
        async with self._lock:
            undo = assign_path(self._state, segments, value)
            if self.on_commit is not None:
                try:
                    payload = self._payload_of(self._state)
                except ContextSerdeError:
                    undo()
                    raise
                if payload is not None:
                    self.on_commit(payload)

    async def set_state(self, state: MODEL_T) -> None:
        """Replace the state, or merge a parent-type instance's fields into it.

        Raises:
            StateStoreError: If ``state`` is neither the state's type (or a subclass) nor a
                parent type of it.
            StateSerializationError: If the new state cannot be serialised.
            ContextStateError: If called inside this store's ``edit_state()`` block.
        """
        self._refuse_inside_edit("set_state")
        current_type = type(self._state)
        if isinstance(state, current_type):
            candidate = state
        elif isinstance(state, BaseModel) and issubclass(current_type, type(state)):
            updates = {name: getattr(state, name) for name in type(state).model_fields}
            candidate = self._state.model_copy(update=updates)
            if isinstance(state, DictLikeModel) and isinstance(candidate, DictLikeModel):
                candidate._data = dict(state._data)
        else:
            raise StateStoreError(
                f"State must be of type {current_type.__name__} or a parent type, got "
                f"{type(state).__name__}"
            )
        async with self._lock:
            self._commit(candidate)

    async def clear(self) -> None:
        """Reset the state to a fresh default instance of its type.

        Raises:
            StateStoreError: If the state type has fields without defaults.
            ContextStateError: If called inside this store's ``edit_state()`` block.
        """
        self._refuse_inside_edit("clear")
        try:
            fresh = type(self._state)()
        except ValidationError as error:
            raise StateStoreError(
                "State must have defaults for all fields: "
                f"{type(self._state).__name__}() fails ({error.error_count()} missing or "
                "invalid). Give every field of the state model a default."
            ) from error
        async with self._lock:
            self._commit(fresh)

    def edit_state(self) -> _EditSession[MODEL_T]:
        """Edit the state in a block: ``async with store.edit_state() as state: ...``.

        The block gets an isolated deep copy, committed when the block exits without an
        exception; readers see the old state until then. Other writers wait for the block.
        Calling a writer of this store inside the block raises ``ContextStateError``.
        """
        return _EditSession(self._open_edit, self._close_edit, id(self))

    def to_json(self) -> dict[str, Any]:
        """Return ``{"state_type": "module.QualName", "state_data": ...}`` for the state.

        This is the journal's form. A store that is not strict leaves out keys that cannot be
        serialised.

        Raises:
            StateSerializationError: If the state cannot be serialised (in a store that is not
                strict: a typed state whose fields cannot).
        """
        try:
            return self._json_of(self._state)
        except StateSerializationError:
            if self.strict:
                raise
            return self._json_of(serialisable_part(self._state))

    def to_dict(self, serializer: Any = None) -> dict[str, Any]:
        """The state in LlamaIndex Workflows' snapshot form (``store_type: "in_memory"``).

        ``DictState`` keys are serialised one by one (``state_data["_data"][key]`` is a JSON
        string); a typed state is one string. The key ``memory`` is left out with an
        :class:`UnserializableKeyWarning` when it does not serialise, as in the anchor.

        Args:
            serializer: A serializer from ``stepwork.context`` (default ``JsonSerializer()``).

        Raises:
            StateSerializationError: If another key, or a typed state, cannot be serialised;
                the message names the key and its type.
        """
        from stepwork._runtime.state_snapshot import state_to_dict

        return state_to_dict(self._state, serializer)

    @classmethod
    def from_dict(
        cls, serialized: dict[str, Any], serializer: Any = None
    ) -> InMemoryStateStore[Any]:
        """Rebuild a store from :meth:`to_dict` output.

        Raises:
            ContextSerdeError: If the data is malformed or names a class that may not be loaded.
        """
        from stepwork._runtime.state_snapshot import state_from_dict

        return InMemoryStateStore(state_from_dict(serialized, serializer))

    @classmethod
    def from_json(
        cls,
        data: dict[str, Any],
        registry: TypeRegistry,
        *,
        on_commit: Callable[[dict[str, Any]], None] | None = None,
    ) -> InMemoryStateStore[Any]:
        """Rebuild a store from :meth:`to_json` output.

        Raises:
            ContextSerdeError: If the data is malformed or names a type outside ``registry``.
        """
        registry = registry.with_types(DictState)
        try:
            state_type = registry.lookup(data["state_type"])
            body = data["state_data"]
        except (KeyError, TypeError) as error:
            raise ContextSerdeError(
                f"State data is malformed ({error!r}): expected the output of to_json()."
            ) from error
        if not (isinstance(state_type, type) and issubclass(state_type, BaseModel)):
            raise ContextSerdeError(f"State type {data['state_type']!r} is not a pydantic model.")
        return InMemoryStateStore(load_model_body(state_type, body, registry), on_commit=on_commit)

    @staticmethod
    def _json_of(state: BaseModel) -> dict[str, Any]:
        return {"state_type": qualified_name(type(state)), "state_data": dump_model_body(state)}

    def _payload_of(self, state: BaseModel) -> dict[str, Any] | None:
        try:
            return self._json_of(state)  # a strict store refuses the state before installing it
        except StateSerializationError:
            if self.strict:
                raise
        try:
            return self._json_of(serialisable_part(state))
        except StateSerializationError:
            return None  # a typed state holding live objects: not recorded in the tick log

    def _commit(self, state: MODEL_T) -> None:
        payload = self._payload_of(state)
        if self.journaled:
            refuse_non_finite(state)
        self._state = state
        if self.on_commit is not None and payload is not None:
            self.on_commit(payload)

    async def _open_edit(self) -> MODEL_T:
        self._refuse_inside_edit("edit_state")
        await self._lock.acquire()
        try:
            return copy_for_edit(self._state)
        except BaseException:
            self._lock.release()
            raise

    def _close_edit(self, draft: MODEL_T | None) -> None:
        try:
            if draft is not None:
                self._commit(draft)
        finally:
            self._lock.release()

    def _refuse_inside_edit(self, method: str) -> None:
        if id(self) in _EDITING.get():
            raise ContextStateError(
                f"writer called inside edit_state: mutate the yielded state instead "
                f"(store.{method}() was called inside the store's edit_state() block)."
            )


class _EditSession(Generic[MODEL_T]):
    """The async context manager behind :meth:`InMemoryStateStore.edit_state`.

    It holds the store's own open and close steps, not the store, so the store's lock and
    state stay the store's business.
    """

    __slots__ = ("_close", "_draft", "_open", "_outer", "_store_id")

    def __init__(
        self,
        open_edit: Callable[[], Awaitable[MODEL_T]],
        close_edit: Callable[[MODEL_T | None], None],
        store_id: int,
    ) -> None:
        self._open = open_edit
        self._close = close_edit
        self._store_id = store_id

    async def __aenter__(self) -> MODEL_T:
        self._draft = await self._open()
        self._outer = _EDITING.get()
        _EDITING.set(self._outer | {self._store_id})
        return self._draft

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        _EDITING.set(self._outer)
        self._close(self._draft if exc_type is None else None)


def infer_state_type(types: Iterable[type]) -> type[BaseModel]:
    """Pick the run's state type from the ``Context[T]`` annotations of its steps.

    ``DictState`` annotations are neutral. The others must form one inheritance chain; the
    most derived wins. With none, the state type is ``DictState``.

    Raises:
        StateStoreError: If the types are not all on one inheritance chain, or one is not a
            pydantic model.
    """
    chosen: type[BaseModel] = DictState
    seen: list[type] = []
    for candidate in types:
        if candidate is DictState or candidate in seen:
            continue
        if not (isinstance(candidate, type) and issubclass(candidate, BaseModel)):
            raise StateStoreError(
                f"State type {candidate!r} is not a pydantic model; Context[T] needs a "
                "BaseModel subclass with defaults for every field."
            )
        seen.append(candidate)
        if chosen is DictState or issubclass(candidate, chosen):
            chosen = candidate
        elif not issubclass(chosen, candidate):
            names = ", ".join(t.__name__ for t in seen)
            raise StateStoreError(
                "Multiple state types are not in a compatible inheritance hierarchy. All state "
                f"types must share a common inheritance chain. Found: {names}"
            )
    return chosen
