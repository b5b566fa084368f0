"""Copying and trimming state values: what ``edit_state`` and the tick log need of them.

Values in ``ctx.store`` may be live objects (a client holding a lock) in a run without a
journal. ``copy_for_edit`` deep-copies a state for ``edit_state()`` but shares what cannot be
copied; ``serialisable_part`` leaves out the dynamic keys that cannot be serialised, for the
in-memory tick log.
"""

from __future__ import annotations

import copy
from typing import Any, TypeVar

from pydantic import BaseModel

from stepwork._core.dict_like import DictLikeModel
from stepwork._core.errors import StateSerializationError
from stepwork._stores.codec import dump_value

__all__ = ["copy_for_edit", "serialisable_part"]

M = TypeVar("M", bound=BaseModel)


def copy_for_edit(state: M) -> M:
    """A deep copy of ``state``; values that cannot be copied (a client holding a lock) are
    shared with the original instead, as LlamaIndex Workflows does."""
    try:
        return state.model_copy(deep=True)
    except (TypeError, copy.Error):
        pass
    draft = state.model_copy()
    for name in type(state).model_fields:
        draft.__dict__[name] = _copy_or_share(getattr(state, name))  # frozen models too
    if isinstance(state, DictLikeModel) and isinstance(draft, DictLikeModel):
        draft._data = {key: _copy_or_share(value) for key, value in state._data.items()}
    return draft


def _copy_or_share(value: Any) -> Any:
    try:
        return copy.deepcopy(value)
    except (TypeError, copy.Error):
        return value


def serialisable_part(state: BaseModel) -> BaseModel:
    """``state`` without the dynamic keys that cannot be serialised (the same object if none)."""
    if not isinstance(state, DictLikeModel):
        return state
    dropped = []
    for key, value in state._data.items():
        try:
            dump_value(value, path=key)
        except StateSerializationError:
            dropped.append(key)
    if not dropped:
        return state
    trimmed = state.model_copy()
    trimmed._data = {k: v for k, v in state._data.items() if k not in dropped}
    return trimmed
