"""Events a caller outside the process may not send into a run: the ones stepwork reserves.

A ``StopEvent`` (or a subclass, such as ``WorkflowFailedEvent``) sent from outside would end
the run with a result, or a failure, that no step produced; a ``StartEvent`` would start it
again; a ``StepFailedEvent`` or ``CollectionReleaseEvent`` would forge the engine's own
bookkeeping. So ``POST /runs/{id}/events`` and the events of a fork refuse them (422 naming the
type) unless the workflow lists the class in ``Workflow.externally_sendable``. The engine's
dispatch events (``InternalDispatchEvent``) are never sendable (``ServedWorkflow.event``).

Example:
    >>> from stepwork import StopEvent, Workflow
    >>> reserved_reason(StopEvent, Workflow)
    'it ends the run'
    >>> class Stoppable(Workflow):
    ...     externally_sendable = (StopEvent,)
    >>> reserved_reason(StopEvent, Stoppable) is None
    True
"""

from __future__ import annotations

from typing import Any

from stepwork._core.events import CollectionReleaseEvent, StartEvent, StepFailedEvent, StopEvent
from stepwork._server.errors import ApiError
from stepwork._server.served import ServedWorkflow

__all__ = ["check_sendable", "reserved_reason"]

_REASONS: tuple[tuple[type, str], ...] = (
    (StopEvent, "it ends the run"),
    (StartEvent, "it starts a run"),
    (StepFailedEvent, "only the engine reports step failures"),
    (CollectionReleaseEvent, "only the engine releases collected events"),
)


def reserved_reason(cls: type, workflow: Any) -> str | None:
    """Why ``cls`` may not be sent into a run of ``workflow`` from outside, or ``None``.

    ``workflow`` is the workflow instance or class; its ``externally_sendable`` lists the
    reserved classes it accepts anyway.
    """
    if cls in tuple(getattr(workflow, "externally_sendable", ())):
        return None
    for reserved, reason in _REASONS:
        if issubclass(cls, reserved):
            return reason
    return None


def check_sendable(entry: ServedWorkflow, type_name: str, field: str) -> None:
    """Refuse sending the event class named ``type_name`` into a run of ``entry``.

    Unknown names pass: :meth:`ServedWorkflow.event` reports them.

    Raises:
        ApiError: 422 naming ``field`` if the class is reserved for stepwork.
    """
    cls = entry.registry.resolve(type_name)
    if not isinstance(cls, type):
        return
    reason = reserved_reason(cls, entry.workflow)
    if reason is not None:
        raise ApiError(
            "invalid",
            f"{cls.__name__} cannot be sent into a run of '{entry.name}' from outside: "
            f"{reason}. A workflow that means to accept it lists the class in "
            f"externally_sendable (class {type(entry.workflow).__name__}(Workflow): "
            f"externally_sendable = ({cls.__name__},)).",
            field,
        )
