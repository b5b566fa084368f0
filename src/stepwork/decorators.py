"""The ``@step`` and ``@catch_error`` decorators."""

from stepwork._definition.decorators import StepConfig, catch_error, step

__all__ = ["StepConfig", "catch_error", "step"]
