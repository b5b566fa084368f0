"""The ``@step``, ``@catch_error`` and ``@once`` decorators, and the ``Limit`` steps opt into."""

from stepwork._core.graph import WorkflowGraphCheck
from stepwork._core.limits import Limit
from stepwork._definition.decorators import StepConfig, catch_error, step
from stepwork._runtime.call_outcomes import MAX_JOURNALED_RESULT_BYTES
from stepwork._runtime.once import once

__all__ = [
    "MAX_JOURNALED_RESULT_BYTES",
    "Limit",
    "StepConfig",
    "WorkflowGraphCheck",
    "catch_error",
    "once",
    "step",
]
