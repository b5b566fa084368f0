"""The ``Workflow`` base class."""

from stepwork._runtime.workflow import Workflow

__all__ = ["Workflow"]
