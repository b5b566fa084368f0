"""The run handler returned by ``Workflow.run``."""

from stepwork._runtime.handler import WorkflowHandler

__all__ = ["WorkflowHandler"]
