"""The event model: what steps receive and return, and the events the framework emits.

Invariants:
- Every event is a ``DictLikeModel``: declared pydantic fields plus free-form dynamic fields.
- ``StopEvent`` keeps its result in the private ``_result``; its dump carries declared fields
  plus ``"result"`` (when not ``None``) and never the dynamic fields.
- Termination events (timed out, cancelled, failed, idle released) are ``StopEvent``
  subclasses so that loops over a run's stream end on them; the engine's bookkeeping events
  (step state changes, idle, unhandled) are ``InternalDispatchEvent`` subclasses so that
  streams can hide them.
- Exceptions and nested events inside events dump to JSON without failing and load back only
  through an allow-list (see ``event_fields``).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from enum import Enum
from typing import Any

from pydantic import (
    Field,
    PrivateAttr,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    model_serializer,
)

from stepwork._core.dict_like import FIELDS_ONLY_CONTEXT_KEY, DictLikeModel
from stepwork._core.event_fields import (
    SerializableEvent,
    SerializableException,
    UnreconstructedException,
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
    "WaitTimedOut",
    "WorkflowCancelledEvent",
    "WorkflowFailedEvent",
    "WorkflowIdleEvent",
    "WorkflowTimedOutEvent",
]


class Event(DictLikeModel):
    """Base class of every event passed between steps.

    Subclasses declare typed pydantic fields; any other keyword becomes a dynamic field,
    reachable as an attribute and through the mapping API.

    Example:
        >>> class Greeting(Event):
        ...     name: str
        >>> ev = Greeting(name="Ada", mood="curious")
        >>> ev.name, ev.mood, ev["mood"], ev.model_dump()
        ('Ada', 'curious', 'curious', {'name': 'Ada', '_data': {'mood': 'curious'}})
    """


EventType = type[Event]
"""The type of an event class, as used in step signatures and routing tables."""


class StartEvent(Event):
    """The event a run starts with; ``workflow.run(**kwargs)`` builds one from its kwargs."""


class StopEvent(Event):
    """The event that ends a run; its ``result`` is what awaiting the run returns.

    Args:
        result: The run's result (kept in the private ``_result``).
        **kwargs: Declared fields of a subclass, or dynamic fields.

    Example:
        >>> ev = StopEvent(result=42)
        >>> ev.result, str(ev), ev.model_dump()
        (42, '42', {'result': 42})
    """

    _result: Any = PrivateAttr(default=None)

    def __init__(self, result: Any = None, **kwargs: Any) -> None:
        if "result" in type(self).__pydantic_fields__:
            kwargs["result"] = result
        super().__init__(**kwargs)
        if result is not None:
            # Straight into pydantic's private dict: the generic setattr path costs more than
            # building the whole event.
            private = self.__pydantic_private__
            if private is not None:
                private["_result"] = result
            else:
                self._result = result

    @classmethod
    def _routed_keys(cls) -> tuple[str, ...]:
        return () if "result" in cls.__pydantic_fields__ else ("result",)

    def _absorb_special_keys(self, extra: dict[str, Any]) -> None:
        private = self.__pydantic_private__
        if "result" in extra and private is not None:
            private["_result"] = extra.pop("result")
        super()._absorb_special_keys(extra)

    def _get_result(self) -> Any:
        """Return the result; subclasses override this to compute it."""
        return self._result

    @property
    def result(self) -> Any:
        """The run's result."""
        return self._get_result()

    @result.setter
    def result(self, value: Any) -> None:
        self._result = value

    @model_serializer(mode="wrap")
    def custom_model_dump(
        self, handler: SerializerFunctionWrapHandler, info: SerializationInfo
    ) -> dict[str, Any]:
        out: dict[str, Any] = handler(self)
        extra = self.__pydantic_extra__
        if extra:
            for key in extra:
                out.pop(key, None)
        result = self._result
        context = info.context
        if result is not None and not (context and context.get(FIELDS_ONLY_CONTEXT_KEY)):
            out["result"] = result
        return out

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        yield from self._data.items()
        yield from self.model_dump().items()

    def __str__(self) -> str:
        return str(self._result)


class InputRequiredEvent(Event):
    """Returned by a step to ask the caller for input; always published to the stream."""


class HumanResponseEvent(Event):
    """Sent by the caller to answer an ``InputRequiredEvent``; needs no producing step."""


class InternalDispatchEvent(Event):
    """Base of the engine's bookkeeping events, hidden from streams unless asked for."""


class WorkflowTimedOutEvent(StopEvent):
    """Ends a run that exceeded its timeout.

    Attributes:
        timeout: The timeout that was exceeded, in seconds.
        active_steps: Names of the steps that were still running.
    """

    timeout: float
    active_steps: list[str]


class WorkflowCancelledEvent(StopEvent):
    """Ends a run that its caller cancelled."""


class WorkflowFailedEvent(StopEvent):
    """Ends a run whose step failed for good (retries exhausted or none allowed).

    Attributes:
        step_name: The step that failed.
        exception: The exception it raised (rebuilt, or an ``UnreconstructedException``,
            after a round trip through JSON).
        attempts: How many attempts were made, or ``None`` when not a step failure.
        elapsed_seconds: Seconds from the first attempt to the final failure, or ``None``.
    """

    step_name: str
    exception: SerializableException
    attempts: int | None = None
    elapsed_seconds: float | None = None


class IdleReleasedEvent(StopEvent):
    """The result of a run that was released from memory while idle; never published."""


class StepFailedEvent(Event):
    """What a ``@catch_error`` handler receives once a step has failed for good (retries used up).

    Built by the reducer as the handler's input; it is not published to the stream.

    Attributes:
        step_name: The step that failed.
        input_event: The event the step was running on.
        exception: The exception it raised.
        attempts: Attempts made so far, this one included.
        elapsed_seconds: Seconds since the first attempt.
        failed_at: When this attempt failed.
    """

    step_name: str
    input_event: SerializableEvent
    exception: SerializableException
    attempts: int
    elapsed_seconds: float
    failed_at: datetime


class StepState(Enum):
    """Where a step worker is in its life cycle, as reported by ``StepStateChanged``."""

    PREPARING = "preparing"
    RUNNING = "running"
    NOT_RUNNING = "not_running"


class StepStateChanged(InternalDispatchEvent):
    """Published when a step worker starts or stops running.

    Attributes:
        name: The step's name.
        step_state: The new state.
        worker_id: Which of the step's workers changed state.
        input_event_name: Name of the event the worker is running on.
        output_event_name: Name of the event it returned, once it has.
    """

    name: str
    step_state: StepState
    worker_id: str
    input_event_name: str
    output_event_name: str | None = None


class WorkflowIdleEvent(InternalDispatchEvent):
    """Published when a run is quiescent: nothing runs and it waits for outside input."""


class WaitTimedOut(InternalDispatchEvent):
    """What a ``ctx.wait_for_event`` whose timeout fired is answered with (it then raises
    ``TimeoutError``), and what ends a ``ctx.sleep``. Never published, never sent: kept as
    the wait's answer, so a step that runs again after a resume is not made to wait anew."""


class UnhandledEvent(InternalDispatchEvent):
    """Published when an event matched no step and no waiter.

    Attributes:
        event_type: The event's class name.
        qualified_name: The event's ``module.QualName``.
        step_name: The step it was sent to, when it was targeted.
        idle: Whether the run was idle when the event went unhandled.
    """

    event_type: str
    qualified_name: str
    step_name: str | None = None
    idle: bool = False


class CollectionReleaseEvent(Event):
    """Internal trigger of a fan-in step: the collected events, released together.

    Attributes:
        events: The collected events, in release order.
        stream_id: The fan-out stream they were collected from.
        binding_id: The collect binding that released them.
    """

    events: list[SerializableEvent] = Field(default_factory=list)
    stream_id: str = ""
    binding_id: str = ""
