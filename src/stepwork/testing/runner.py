"""Twin of ``workflows.testing.runner``: ``WorkflowTestRunner`` and ``WorkflowTestResult``."""

from stepwork._runtime.testing import WorkflowTestResult, WorkflowTestRunner

__all__ = ["WorkflowTestResult", "WorkflowTestRunner"]
