"""Testing helpers: run a workflow and collect its events; control time.

Twin of ``workflows.testing``; ``stepwork.testing.runner`` mirrors ``workflows.testing.runner``.

Example:
    >>> from stepwork.testing import ManualClock, WorkflowTestRunner
"""

from stepwork._runtime.clock import ManualClock
from stepwork._runtime.testing import WorkflowTestResult, WorkflowTestRunner

__all__ = ["ManualClock", "WorkflowTestResult", "WorkflowTestRunner"]

# Public names for the classes exported here (see ``stepwork._core.public_names``).
import sys as _sys

import stepwork.testing.runner as _runner_module  # noqa: F401 (published below)
from stepwork._core.public_names import publish_imported as _publish_imported

_publish_imported(_sys.modules)
