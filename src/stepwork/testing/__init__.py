"""Testing helpers: run a workflow and collect its events; control time.

Twin of ``workflows.testing``; ``stepwork.testing.runner`` mirrors ``workflows.testing.runner``.

Example:
    >>> from stepwork.testing import ManualClock, WorkflowTestRunner
"""

from stepwork._runtime.clock import ManualClock
from stepwork._runtime.testing import WorkflowTestResult, WorkflowTestRunner

__all__ = ["ManualClock", "WorkflowTestResult", "WorkflowTestRunner"]
