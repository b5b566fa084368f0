"""``WorkflowTestRunner``: run a workflow, collect every event it streams, return the result."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from stepwork._core.events import Event, StartEvent
from stepwork._runtime.context import Context
from stepwork._runtime.workflow import Workflow

__all__ = ["WorkflowTestResult", "WorkflowTestRunner"]


@dataclass
class WorkflowTestResult:
    """What a test run produced.

    Attributes:
        collected: Every streamed event, in order (minus excluded types).
        event_types: How many events of each type were collected.
        result: What awaiting the handler returned.
        ctx: The run's context.
    """

    collected: list[Event]
    event_types: dict[type[Event], int]
    result: Any
    ctx: Context[Any]
    ticks: list[Any] = field(default_factory=list)


class WorkflowTestRunner:
    """Runs a workflow to completion for a test.

    Args:
        workflow: The workflow to run.

    Example:
        >>> result = await WorkflowTestRunner(MyFlow()).run(StartEvent(topic="x"))  # doctest: +SKIP
        >>> result.result                                                          # doctest: +SKIP
    """

    def __init__(self, workflow: Workflow) -> None:
        self._workflow = workflow

    async def run(
        self,
        start_event: StartEvent | None = None,
        ctx: Context[Any] | None = None,
        expose_internal: bool = True,
        exclude_events: list[type[Event]] | None = None,
    ) -> WorkflowTestResult:
        """Run to the end and return the collected events and the result.

        Raises:
            Exception: Whatever awaiting the run raises (the step's error, a timeout, ...).
        """
        handler = self._workflow.run(ctx=ctx, start_event=start_event)
        excluded = tuple(exclude_events or ())
        collected = [
            event
            async for event in handler.stream_events(expose_internal=expose_internal)
            if type(event) not in excluded
        ]
        result = await handler
        counts = Counter(type(event) for event in collected)
        return WorkflowTestResult(collected, dict(counts), result, handler.ctx, handler.ticks)
