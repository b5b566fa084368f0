"""The run ``Context``, its state store, and value serializers.

Twin of ``workflows.context``; its submodules (``context``, ``serializers``, ``state_store``,
``external_context``, ``internal_context``, ``pre_context``) mirror the anchor's module paths.
"""

from stepwork._runtime.context import Context
from stepwork._runtime.serializers import (
    BaseSerializer,
    JsonPickleSerializer,
    JsonSerializer,
    PickleSerializer,
)
from stepwork._runtime.state_store import DictState, InMemoryStateStore

__all__ = [
    "BaseSerializer",
    "Context",
    "DictState",
    "InMemoryStateStore",
    "JsonPickleSerializer",
    "JsonSerializer",
    "PickleSerializer",
]
