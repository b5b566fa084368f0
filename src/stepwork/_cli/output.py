"""Everything the ``stepwork`` command shows: the one module of stepwork that writes output.

Standard output carries what a command produces (events, results, findings, drawings); standard
error carries errors. On a terminal, output is styled with rich and ``run`` shows a live table of
steps; otherwise it is plain text with no escape codes and no line wrapping, one fact per line,
so it can be piped and compared in tests.

Example:
    >>> format_finding_head("never_consumed", "write", "Orphan", "Orphan goes nowhere.")
    'never_consumed (step write, event Orphan): Orphan goes nowhere.'
"""

from __future__ import annotations

import json
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pydantic_core import to_jsonable_python
from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

from stepwork._cli.live import StepBoard
from stepwork._core.events import Event
from stepwork._runtime.tracebacks import ENGINE_DIRS

__all__ = [
    "Output",
    "StepView",
    "event_data",
    "failure_line",
    "format_finding_head",
    "jsonable",
    "step_traceback",
]

_ENGINE_DIRS = ENGINE_DIRS  # frames there are the engine's, not the step's


def jsonable(value: Any) -> Any:
    """``value`` as JSON-ready data; what JSON cannot hold becomes its ``repr``.

    Example:
        >>> jsonable({"when": {1, 2}, "what": object})
        {'when': [1, 2], 'what': "<class 'object'>"}
    """
    return to_jsonable_python(value, fallback=repr)


def event_data(event: Event) -> Any:
    """The fields of ``event`` as JSON-ready data (``model_dump(mode="json")`` when it can)."""
    try:
        return event.model_dump(mode="json")
    except Exception:  # a field pydantic cannot serialise: fall back to repr for that field
        return jsonable(event.model_dump())


def format_finding_head(kind: str, step: str | None, event: str | None, message: str) -> str:
    """The first line of a finding: kind, the step and event concerned, and the message."""
    where = ", ".join(
        part for part in (f"step {step}" if step else "", f"event {event}" if event else "") if part
    )
    return f"{kind} ({where}): {message}" if where else f"{kind}: {message}"


def failure_line(error: BaseException, step: str | None) -> str:
    """One line naming the error's type, the step it came from (when known) and its message.

    Example:
        >>> failure_line(ValueError("bad joke"), "judge")
        "ValueError in step 'judge': bad joke"
    """
    where = f" in step '{step}'" if step else ""
    message = " ".join(part.strip() for part in str(error).splitlines() if part.strip())
    return f"{type(error).__name__}{where}: {message}" if message else type(error).__name__ + where


def step_traceback(error: BaseException) -> str | None:
    """The traceback of an error a step raised, without stepwork's and asyncio's own frames.

    ``None`` when no frame is left: the error did not come from a step's code (a timeout, a
    run that can never finish).

    Example:
        >>> step_traceback(ValueError("never raised")) is None
        True
    """
    summary = traceback.TracebackException.from_exception(error)
    frames = [frame for frame in summary.stack if not frame.filename.startswith(_ENGINE_DIRS)]
    if not frames:
        return None
    summary.stack = traceback.StackSummary.from_list(frames)
    return "".join(summary.format())


class StepView:
    """Where ``run`` reports step changes and events while a run goes on.

    On a terminal, step changes refresh the live table and events are printed above it;
    otherwise each step change is one plain line.
    """

    def __init__(self, output: Output, live: Live | None, *, quiet: bool = False) -> None:
        self._output = output
        self._live = live
        self._quiet = quiet

    def step(self, line: str) -> None:
        """Report a step change (``line`` is its plain-text form)."""
        if self._live is not None:
            self._live.refresh()
        elif not self._quiet:
            self._output.line(line)

    def refresh(self) -> None:
        """Redraw the live table (after the board changed other than by a step change)."""
        if self._live is not None:
            self._live.refresh()

    def event(self, name: str, data: Any) -> None:
        """Report a streamed event by class name and fields."""
        self._output.event(name, data)


class Output:
    """The command's standard output and standard error, with helpers for each kind of line."""

    def __init__(self) -> None:
        # Markup, emoji codes and highlighting are off: event data and messages are shown as
        # they are, never interpreted ("[kind]" is not a style tag here).
        options: dict[str, Any] = {"soft_wrap": True, "markup": False, "emoji": False}
        self.stdout = Console(highlight=False, **options)
        self.stderr = Console(stderr=True, highlight=False, **options)

    @property
    def is_terminal(self) -> bool:
        """Whether standard output is a terminal (styles and the live view are used)."""
        return self.stdout.is_terminal

    def line(self, text: str | Text) -> None:
        """Print one line to standard output."""
        self.stdout.print(text)

    def write(self, text: str) -> None:
        """Write ``text`` to standard output exactly, ending it with a newline if it has none."""
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        sys.stdout.flush()

    def json_line(self, data: Any) -> None:
        """Write ``data`` as one line of JSON to standard output."""
        self.write(json.dumps(jsonable(data), ensure_ascii=False))

    def error(self, message: str) -> None:
        """Print ``error: message`` to standard error."""
        self.stderr.print(Text.assemble(("error:", "bold red"), " ", message))

    def traceback(self, text: str) -> None:
        """Print a step's traceback to standard error, exactly as it is."""
        self.stderr.print(Text(text.rstrip("\n"), style="dim"))

    def table(self, table: Table) -> None:
        """Print a table; off a terminal, as wide as it needs (one row per line, for pipes)."""
        if self.is_terminal:
            self.stdout.print(table)
            return
        wide = Console(highlight=False, markup=False, emoji=False, width=10_000, no_color=True)
        with wide.capture() as captured:
            wide.print(table)
        self.write("\n".join(line.rstrip() for line in captured.get().splitlines()))

    def event(self, name: str, data: Any) -> None:
        """Print a streamed event: ``event Name {json fields}``."""
        fields = json.dumps(jsonable(data), ensure_ascii=False)
        self.line(Text.assemble(("event ", "dim"), (name, "cyan"), " ", (fields, "dim")))

    def result(self, value: Any) -> None:
        """Print a run's result: ``result: text`` (strings as they are, other values' repr)."""
        text = value if isinstance(value, str) else repr(value)
        self.line(Text.assemble(("result:", "bold green"), " ", text))

    def check_ok(self, spec: str) -> None:
        """Print the line of a workflow with no findings."""
        self.line(Text.assemble((spec, "bold"), ": ", ("ok", "green")))

    def check_failed(self, spec: str, count: int) -> None:
        """Print the heading line of a workflow with ``count`` findings."""
        noun = "finding" if count == 1 else "findings"
        self.line(Text.assemble((spec, "bold"), ": ", (f"{count} {noun}", "red")))

    def finding(
        self, kind: str, step: str | None, event: str | None, message: str, hint: str
    ) -> None:
        """Print one finding: its kind, step, event and message, then its hint."""
        self.line(Text("  " + format_finding_head(kind, step, event, message)))
        if hint:
            self.line(Text.assemble("    ", ("hint:", "yellow"), " ", hint))

    def wrote(self, path: str, what: str) -> None:
        """Say that ``what`` was written to ``path``."""
        self.line(f"wrote {what} to {path}")

    @contextmanager
    def step_view(self, board: StepBoard, *, quiet: bool = False) -> Iterator[StepView]:
        """A live table of ``board`` while the block runs (on a terminal), else plain lines.

        Args:
            board: The steps to show.
            quiet: Show no step changes at all (for JSON output).
        """
        if quiet or not self.is_terminal:
            yield StepView(self, None, quiet=quiet)
            return
        with Live(board, console=self.stdout, refresh_per_second=12, transient=False) as live:
            yield StepView(self, live)
