"""Twin of ``workflows.types``: the type variables of a run's result."""

from stepwork._runtime.result_types import RunResultT, StopEventT

__all__ = ["RunResultT", "StopEventT"]
