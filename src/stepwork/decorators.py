"""The ``@step`` and ``@catch_error`` decorators."""

from stepwork._core.graph import WorkflowGraphCheck
from stepwork._definition.decorators import StepConfig, catch_error, step

__all__ = ["StepConfig", "WorkflowGraphCheck", "catch_error", "step"]
