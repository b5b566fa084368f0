"""Run a workflow for ``stepwork run``: live step view, streamed events, result or error.

The run is streamed with internal events exposed: ``StepStateChanged`` feeds the step view,
``WorkflowFailedEvent`` names the failing step, ``WorkflowIdleEvent`` means the run waits for
input nobody at the command line can give (so it is cancelled), and every other non-internal,
non-terminal event is shown. When a step raised, its traceback (the step's own frames) goes to
standard error before the error line. The return value is the command's exit code: 0 done,
1 failed, 2 bad start arguments.
"""

from __future__ import annotations

from typing import Any

from stepwork._cli.live import StepBoard
from stepwork._cli.output import Output, event_data, failure_line, step_traceback
from stepwork._core.errors import StartEventError, StepworkError
from stepwork._core.events import (
    InputRequiredEvent,
    InternalDispatchEvent,
    StepStateChanged,
    StopEvent,
    WorkflowFailedEvent,
    WorkflowIdleEvent,
)
from stepwork._runtime.workflow import Workflow

__all__ = ["run_workflow"]


async def run_workflow(
    out: Output, workflow: Workflow, kwargs: dict[str, Any], *, as_json: bool = False
) -> int:
    """Run ``workflow`` with start-event fields ``kwargs``, reporting to ``out``; the exit code.

    A run that goes idle waiting for outside input (a person's answer) is cancelled, since
    nobody can answer from the command line.
    """
    try:
        handler = workflow.run(**kwargs)
    except StepworkError as error:
        out.error(failure_line(error, error.step_name))
        return 2 if isinstance(error, StartEventError) else 1
    board = StepBoard()
    failed_step: str | None = None
    waiting_for: str | None = None
    awaited_input: str | None = None
    try:
        with out.step_view(board, quiet=as_json) as view:
            async for event in handler.stream_events(expose_internal=True):
                if isinstance(event, StepStateChanged):
                    view.step(board.apply(event))
                elif isinstance(event, WorkflowFailedEvent):
                    failed_step = event.step_name
                    board.mark_failed(failed_step)
                    view.refresh()
                elif isinstance(event, WorkflowIdleEvent) and waiting_for is None:
                    # Nobody can answer from here: stop instead of waiting for the timeout.
                    waiting_for = awaited_input or "an event sent from outside"
                    await handler.cancel_run()
                elif isinstance(event, StopEvent | InternalDispatchEvent):
                    continue
                else:
                    if isinstance(event, InputRequiredEvent):
                        awaited_input = type(event).__name__
                    if as_json:
                        out.json_line({"type": type(event).__name__, "data": event_data(event)})
                    else:
                        view.event(type(event).__name__, event_data(event))
        result = await handler
    except Exception as error:
        step = failed_step or getattr(error, "step_name", None)
        line = failure_line(error, step)
        message = " ".join(str(error).split())
        if waiting_for is not None:
            line = message = (
                f"the run waits for {waiting_for}, which stepwork run cannot give; stopped"
            )
        trace = step_traceback(error) if step and waiting_for is None else None
        if as_json:
            kind = type(error).__name__
            summary = {"type": kind, "message": message, "step": step}
            out.json_line({"error": summary if trace is None else {**summary, "traceback": trace}})
        elif trace is not None:
            out.traceback(trace)
        out.error(line)
        return 1
    if as_json:
        out.json_line({"result": result})
    else:
        out.result(result)
    return 0
