"""Events: what steps receive and return, plus the framework's own events.

Example:
    >>> from stepwork.events import Event
    >>> class Joke(Event):
    ...     text: str
    >>> Joke(text="knock knock", rating=3)["rating"]
    3
"""

from stepwork._core.events import (
    CollectionReleaseEvent,
    DictLikeModel,
    Event,
    EventType,
    HumanResponseEvent,
    IdleReleasedEvent,
    InputRequiredEvent,
    InternalDispatchEvent,
    SerializableEvent,
    SerializableException,
    StartEvent,
    StepFailedEvent,
    StepState,
    StepStateChanged,
    StopEvent,
    UnhandledEvent,
    UnreconstructedException,
    WorkflowCancelledEvent,
    WorkflowFailedEvent,
    WorkflowIdleEvent,
    WorkflowTimedOutEvent,
)

__all__ = [
    "CollectionReleaseEvent",
    "DictLikeModel",
    "Event",
    "EventType",
    "HumanResponseEvent",
    "IdleReleasedEvent",
    "InputRequiredEvent",
    "InternalDispatchEvent",
    "SerializableEvent",
    "SerializableException",
    "StartEvent",
    "StepFailedEvent",
    "StepState",
    "StepStateChanged",
    "StopEvent",
    "UnhandledEvent",
    "UnreconstructedException",
    "WorkflowCancelledEvent",
    "WorkflowFailedEvent",
    "WorkflowIdleEvent",
    "WorkflowTimedOutEvent",
]
