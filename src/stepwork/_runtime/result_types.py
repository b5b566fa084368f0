"""Type variables for what a run returns, under LlamaIndex Workflows' names."""

from __future__ import annotations

from typing import Any

from typing_extensions import TypeVar

from stepwork._core.events import StopEvent

__all__ = ["RunResultT", "StopEventT"]

StopEventT = TypeVar("StopEventT", bound=StopEvent)
"""A ``StopEvent`` subclass a run ends with."""

RunResultT = TypeVar("RunResultT", default=Any)
"""What awaiting a run's handler returns."""
