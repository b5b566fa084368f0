"""The run ``Context`` and its state store."""

from stepwork._runtime.context import Context
from stepwork._runtime.state_store import DictState, InMemoryStateStore

__all__ = ["Context", "DictState", "InMemoryStateStore"]
