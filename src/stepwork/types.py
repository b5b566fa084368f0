"""Twin of ``workflows.types``: the type variables of a run's result."""

from stepwork._runtime.result_types import RunResultT, StopEventT

__all__ = ["RunResultT", "StopEventT"]

# Public names for the classes exported here (see ``stepwork._core.public_names``).
import sys as _sys

from stepwork._core.public_names import publish_imported as _publish_imported

_publish_imported(_sys.modules)
