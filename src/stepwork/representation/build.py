"""Twin of ``workflows.representation.build``: ``get_workflow_representation``."""

from stepwork._runtime.representation import get_workflow_representation

__all__ = ["get_workflow_representation"]

# Public names for the classes exported here (see ``stepwork._core.public_names``).
import sys as _sys

from stepwork._core.public_names import publish_imported as _publish_imported

_publish_imported(_sys.modules)
