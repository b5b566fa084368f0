"""Twin of ``workflows.context.state_store``: ``DictState``, ``InMemoryStateStore`` and friends."""

from stepwork._runtime.state_store import (
    MODEL_T,
    DictState,
    InMemoryStateStore,
    StateStore,
    UnserializableKeyWarning,
    infer_state_type,
)

__all__ = [
    "MODEL_T",
    "DictState",
    "InMemoryStateStore",
    "StateStore",
    "UnserializableKeyWarning",
    "infer_state_type",
]
