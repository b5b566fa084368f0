"""Twin of ``workflows.context.context``: the ``Context`` class."""

from stepwork._runtime.context import Context
from stepwork._runtime.state_store import MODEL_T

__all__ = ["MODEL_T", "Context"]
