"""LlamaIndex instrumentation tags inside steps, for code that reads them.

LlamaIndex Workflows runs each step with ``llama_index_instrumentation``'s
``active_instrument_tags`` holding the caller's tags (those active when ``run()`` was called)
plus ``llamaindex.run_id`` and the step's input event. stepwork does the same, but only when
that package is already imported by the program: code that reads the tags must import it, and
a program that does not pays nothing (stepwork never imports it itself).
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["caller_tags", "tag_step"]

_DISPATCHER = "llama_index_instrumentation.dispatcher"
_SUMMARY_LIMIT = 200


def caller_tags() -> dict[str, Any] | None:
    """The instrumentation tags active now (call from ``run()``), or ``None`` if not in use."""
    module = sys.modules.get(_DISPATCHER)
    if module is None:
        return None
    return dict(module.active_instrument_tags.get())


def tag_step(caller: dict[str, Any] | None, run_id: str, payload: Any) -> None:
    """Set the tags for the step about to run in the current task (a no-op if not in use)."""
    module = sys.modules.get(_DISPATCHER)
    if module is None:
        return
    summary = repr(payload)
    module.active_instrument_tags.set(
        {
            **(caller or {}),
            "llamaindex.run_id": run_id,
            "llamaindex.step.input_event": type(payload).__name__,
            "llamaindex.step.input_summary": summary[:_SUMMARY_LIMIT],
        }
    )
