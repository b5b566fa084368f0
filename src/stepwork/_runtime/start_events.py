"""The start event a run of a workflow starts from, built from ``start_event`` or its fields.

Shared by ``Workflow.run`` and by children enqueued for a worker fleet
(``queued_children.py``), which store the start event without running the workflow here.
"""

from __future__ import annotations

from typing import Any

from stepwork._core.errors import StartEventError
from stepwork._core.events import StartEvent

__all__ = ["start_event_for"]


def start_event_for(
    workflow: Any,
    start_event: StartEvent | None,
    kwargs: dict[str, Any],
    expected: type[StartEvent] | None = None,
) -> StartEvent:
    """``start_event`` checked against ``workflow``'s start event type (``expected`` when
    given), or one built from ``kwargs``.

    Raises:
        StartEventError: If both or a wrong type are given, or ``kwargs`` do not build one.
    """
    expected = expected or workflow.start_event_class
    if start_event is not None:
        if kwargs:
            raise StartEventError(
                f"Pass either start_event or keyword arguments, not both (got "
                f"{', '.join(sorted(kwargs))})."
            )
        if not isinstance(start_event, expected):
            raise StartEventError(
                f"The 'start_event' argument must be an instance of '{expected.__name__}'.\n"
                f"Workflow '{workflow.workflow_name}' starts from {expected.__name__}; got "
                f"{type(start_event).__name__}. Pass {expected.__name__}(...) or its fields "
                "as keyword arguments."
            )
        return start_event
    try:
        return expected(**kwargs)
    except ValueError as error:
        raise StartEventError(
            f"Failed creating a start event of type '{expected.__name__}' with the keyword "
            f"arguments: {kwargs!r}. {error}"
        ) from error
