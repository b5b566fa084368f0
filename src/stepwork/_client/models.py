"""The shapes the HTTP API returns, as frozen pydantic models (see ``docs/http-api.md``).

Unknown fields are ignored, so a newer server that adds fields does not break an older client.

Example:
    >>> info = RunInfo.model_validate({
    ...     "run_id": "r1", "workflow": "greeter", "status": "completed",
    ...     "created_at": 1.0, "updated_at": 2.0, "result": "Hello, Ada!", "error": None,
    ... })
    >>> info.finished, info.result
    (True, 'Hello, Ada!')
"""

from __future__ import annotations

import builtins
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from stepwork._client.errors import RunFailedError

__all__ = [
    "ChildRun",
    "EventEnvelope",
    "HistoryEntry",
    "RunError",
    "RunInfo",
    "RunStatus",
    "WorkflowInfo",
]

RunStatus = Literal["running", "completed", "failed", "timed_out", "cancelled"]

ModelT = TypeVar("ModelT", bound=BaseModel)


class _Shape(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class RunError(_Shape):
    """Why a run failed.

    Attributes:
        type: The exception's class name.
        message: The exception's message.
        step: The step that raised, when a step did.
        traceback: The step's formatted Python traceback, when a step raised (``None`` for
            other endings, and from servers or journals that did not keep it).
    """

    type: str
    message: str
    step: str | None = None
    traceback: str | None = None


class ChildRun(_Shape):
    """A run that another run's step started (``ctx.run_workflow``, ``ctx.start_workflow``).

    Attributes:
        run_id: The child run's id.
        workflow: The name the server knows its workflow by.
        status: ``running`` until it ends, then how it ended.
    """

    run_id: str
    workflow: str
    status: RunStatus


class RunInfo(_Shape):
    """A run's status and, once it ended, its result or error.

    Attributes:
        run_id: The run's id.
        workflow: The name the server knows the workflow by.
        status: ``running``, ``completed``, ``failed``, ``timed_out`` or ``cancelled``.
        created_at: When the run started (seconds since the epoch).
        updated_at: When its status last changed (seconds since the epoch).
        result: The stop event's ``result`` (a plain ``StopEvent``) or its fields (a subclass);
            ``None`` until the run completes.
        error: Why the run failed, when it did.
        version: The version of the workflow that started the run, when recorded.
        not_continued: Why the server does not continue the run (another version started
            it), else ``None``.
        parent_run_id: The run whose step started this one, for a child run; else ``None``.
        children: The runs this run's steps started, oldest first (``get_run`` fills it in;
            listed runs have none: ``list_runs(parent=run_id)`` lists them).
    """

    run_id: str
    workflow: str
    status: RunStatus
    created_at: float
    updated_at: float
    result: Any = None
    error: RunError | None = None
    version: str | None = None
    not_continued: str | None = None
    parent_run_id: str | None = None
    children: tuple[ChildRun, ...] = ()

    @property
    def finished(self) -> bool:
        """Whether the run has ended (any status but ``running``)."""
        return self.status != "running"

    def raise_for_error(self) -> RunInfo:
        """Raise ``RunFailedError`` if the run ended with an error; else return the run.

        Raises:
            RunFailedError: The run failed, timed out or was cancelled. It carries the error's
                type, message and step, and the step's traceback when the server kept one.

        Example:
            >>> RunInfo(run_id="r1", workflow="w", status="completed", created_at=1.0,
            ...         updated_at=2.0, result=3).raise_for_error().result
            3
        """
        error = self.error
        if error is None:
            return self
        raise RunFailedError(
            error.message,
            run_id=self.run_id,
            step_name=error.step,
            error_type=error.type,
            traceback=error.traceback,
            status=self.status,
        )


class EventEnvelope(_Shape):
    """One event of a run's stream.

    Attributes:
        offset: The event's position in the run's stream; resume after it with ``after=offset``.
        type: The event's class name.
        qualified_name: The event's ``module.ClassName``.
        data: The event's fields (``model_dump(mode="json")``).
        internal: Whether it is one of the engine's bookkeeping events.
        terminal: Whether it ends the stream (stop, failed, timed out or cancelled).
    """

    offset: int
    type: str
    qualified_name: str = ""
    data: dict[str, Any] = Field(default_factory=dict)
    internal: bool = False
    terminal: bool = False

    def as_event(self, cls: builtins.type[ModelT]) -> ModelT:
        """The event's data validated as ``cls`` (for example your ``InputRequiredEvent``).

        Raises:
            pydantic.ValidationError: If the data does not fit ``cls``.

        Example:
            >>> from pydantic import BaseModel
            >>> class Question(BaseModel):
            ...     prompt: str
            >>> envelope = EventEnvelope(offset=3, type="Question", data={"prompt": "Name?"})
            >>> envelope.as_event(Question).prompt
            'Name?'
        """
        return cls.model_validate(self.data)


class WorkflowInfo(_Shape):
    """A workflow the server serves.

    Attributes:
        name: The name to start it by.
        description: Its docstring, if any.
        start_schema: The JSON schema of its start event (what ``input`` must fit).
        graph: Its graph (``WorkflowGraph.to_dict()``).
    """

    name: str
    description: str | None = None
    start_schema: dict[str, Any] = Field(default_factory=dict)
    graph: dict[str, Any] = Field(default_factory=dict)


class HistoryEntry(_Shape):
    """One tick of a journaled run and what it changed (``history()``).

    Attributes:
        seq: The tick's position in the journal (0 is the start); ``fork(at=seq)`` forks here.
        at: When it happened (seconds since the epoch).
        kind: The tick kind (``start``, ``event``, ``step_done``, ...).
        summary: What the tick was, in words.
        effects: What followed from it: steps started, events published, timers, the ending.
        status: The run's status after the tick.
    """

    seq: int
    at: float
    kind: str
    summary: str
    effects: list[str] = Field(default_factory=list)
    status: str = "running"
