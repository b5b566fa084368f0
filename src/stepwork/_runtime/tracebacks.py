"""A failed step's traceback as text: what the journal keeps and every view shows.

The engine's own frames that lead into a step (the driver, the invoker, asyncio) say nothing
about the step and change with every stepwork release, so they are left out: the text starts
at the first frame outside stepwork and asyncio. Frames after it are kept whoever owns them
(a step that calls ``ctx`` and fails inside stepwork shows that call). Causes and contexts are
kept whole.
"""

from __future__ import annotations

import asyncio
import sys
import traceback
from pathlib import Path

__all__ = ["ENGINE_DIRS", "TRACEBACK_LIMIT", "format_traceback"]

#: Folders whose frames are the engine's, not the step's.
ENGINE_DIRS = tuple(
    str(Path(module.__file__).resolve().parent) + "/"
    for module in (sys.modules["stepwork"], asyncio)
    if module.__file__
)

#: Tracebacks longer than this keep their last characters only (the frames nearest the raise).
TRACEBACK_LIMIT = 32_000


def format_traceback(error: BaseException) -> str | None:
    """``error``'s traceback as text (with its causes), from the step's first own frame.

    ``None`` for an error that was never raised (a step timeout made by the driver). When no
    frame lies outside the engine the whole stack is kept. A text longer than
    ``TRACEBACK_LIMIT`` characters keeps its end, where the error was raised.

    Example:
        >>> format_traceback(ValueError("never raised")) is None
        True
    """
    if error.__traceback__ is None:
        return None
    summary = traceback.TracebackException.from_exception(error)
    frames = list(summary.stack)
    first_own = next(
        (i for i, frame in enumerate(frames) if not frame.filename.startswith(ENGINE_DIRS)), 0
    )
    summary.stack = traceback.StackSummary.from_list(frames[first_own:])
    text = "".join(summary.format())
    if len(text) > TRACEBACK_LIMIT:
        cut = len(text) - TRACEBACK_LIMIT
        text = f"[... {cut} characters of the traceback left out ...]\n" + text[cut:]
    return text
