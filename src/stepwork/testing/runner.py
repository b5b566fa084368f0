"""Twin of ``workflows.testing.runner``: ``WorkflowTestRunner`` and ``WorkflowTestResult``."""

from stepwork._runtime.testing import WorkflowTestResult, WorkflowTestRunner

__all__ = ["WorkflowTestResult", "WorkflowTestRunner"]

# Public names for the classes exported here (see ``stepwork._core.public_names``).
import sys as _sys

from stepwork._core.public_names import publish_imported as _publish_imported

_publish_imported(_sys.modules)
