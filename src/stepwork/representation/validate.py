"""Twin of ``workflows.representation.validate``: graph checks as a list of errors.

Example:
    >>> from stepwork.representation.validate import validate_graph
    >>> steps = {n: f._step_config for n, f in wf._get_steps().items()}   # doctest: +SKIP
    >>> validate_graph(steps, start_event_class=wf.start_event_class)      # doctest: +SKIP
    []
"""

from stepwork._definition.graph_validation import (
    GraphValidationError,
    StepGraph,
    build_step_graph,
    validate_graph,
)

__all__ = ["GraphValidationError", "StepGraph", "build_step_graph", "validate_graph"]
