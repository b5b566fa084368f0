"""LlamaIndex instrumentation tags inside steps, for code that reads them.

LlamaIndex Workflows runs each step with ``llama_index_instrumentation``'s
``active_instrument_tags`` holding the caller's tags (those active when ``run()`` was called)
plus ``llamaindex.run_id`` and the step's input event. stepwork does the same, but only when
that package is already imported by the program: code that reads the tags must import it, and
a program that does not pays nothing (stepwork never imports it itself).
"""

from __future__ import annotations

import reprlib
import sys
from typing import Any

from pydantic import BaseModel

from stepwork._core.events import StopEvent

__all__ = ["DISPATCHER", "caller_tags", "summary", "tag_step"]

DISPATCHER = "llama_index_instrumentation.dispatcher"
"""The module whose ``active_instrument_tags`` steps are tagged in, once a program imports it."""
_SUMMARY_LIMIT = 200
_SHORT = reprlib.Repr()
_SHORT.maxstring = _SHORT.maxother = 40


def caller_tags() -> dict[str, Any] | None:
    """The instrumentation tags active now (call from ``run()``), or ``None`` if not in use."""
    module = sys.modules.get(DISPATCHER)
    if module is None:
        return None
    return dict(module.active_instrument_tags.get())


def tag_step(caller: dict[str, Any] | None, run_id: str, payload: Any) -> None:
    """Set the tags for the step about to run in the current task (a no-op if not in use)."""
    module = sys.modules.get(DISPATCHER)
    if module is None:
        return
    module.active_instrument_tags.set(
        {
            **(caller or {}),
            "llamaindex.run_id": run_id,
            "llamaindex.step.input_event": type(payload).__name__,
            "llamaindex.step.input_summary": summary(payload),
        }
    )


def summary(payload: Any) -> str:
    """``Name(field=value, ...)`` with each value cut short, so a large event costs little."""
    if not isinstance(payload, BaseModel):
        return _SHORT.repr(payload)[:_SUMMARY_LIMIT]
    values = dict(payload.__dict__)
    if isinstance(payload, StopEvent) and "result" not in values:
        values = {"result": payload.result, **values}  # kept private, shown by the anchor
    values.update(payload.__pydantic_extra__ or {})
    inner = ", ".join(f"{key}={_SHORT.repr(value)}" for key, value in values.items())
    return f"{type(payload).__name__}({inner})"[:_SUMMARY_LIMIT]
