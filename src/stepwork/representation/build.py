"""Twin of ``workflows.representation.build``: ``get_workflow_representation``."""

from stepwork._runtime.representation import get_workflow_representation

__all__ = ["get_workflow_representation"]
