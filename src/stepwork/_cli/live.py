"""The live step view of ``stepwork run``: which steps run now, how often each ran, what came out.

:class:`StepBoard` folds ``StepStateChanged`` events into per-step counts. On a terminal it is
drawn as a table that refreshes while the run goes on (a spinner beside each running step); when
output is not a terminal, each change becomes one plain line instead (:meth:`StepBoard.apply`
returns it). It never prints: ``stepwork._cli.output`` does.

Example:
    >>> from stepwork.events import StepState, StepStateChanged
    >>> board = StepBoard()
    >>> board.apply(StepStateChanged(
    ...     name="write", step_state=StepState.RUNNING, worker_id="0", input_event_name="Topic"))
    'step write started'
    >>> board.apply(StepStateChanged(
    ...     name="write", step_state=StepState.NOT_RUNNING, worker_id="0",
    ...     input_event_name="Topic", output_event_name="<class 'poems.Line'>"))
    'step write finished -> Line'
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rich.console import RenderableType
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from stepwork._core.events import StepState, StepStateChanged

__all__ = ["StepBoard", "StepRow", "event_class_name"]

_CLASS_REPR = re.compile(r"<class '([\w.]+)'>")


def event_class_name(text: str | None) -> str | None:
    """The bare class name in a step's reported output (``"<class 'm.Line'>"`` -> ``Line``).

    ``None`` when the step returned nothing (``NoneType``) or did not report an output.

    Example:
        >>> event_class_name("<class 'stepwork._core.events.StopEvent'>")
        'StopEvent'
        >>> event_class_name("<class 'NoneType'>") is None, event_class_name(None) is None
        (True, True)
    """
    if not text:
        return None
    match = _CLASS_REPR.fullmatch(text)
    name = match.group(1).rpartition(".")[2] if match else text
    return None if name == "NoneType" else name


@dataclass
class StepRow:
    """What the board knows about one step.

    Attributes:
        name: The step's name.
        running: Workers running it now.
        finished: Invocations that ended (returned or failed).
        last_output: Class name of the event its last invocation returned, if any.
        failed: Whether the run failed in this step.
    """

    name: str
    running: int = 0
    finished: int = 0
    last_output: str | None = None
    failed: bool = False


class StepBoard:
    """Per-step state of a run, folded from ``StepStateChanged`` events."""

    def __init__(self) -> None:
        self.rows: dict[str, StepRow] = {}

    def apply(self, event: StepStateChanged) -> str:
        """Fold ``event`` into the board and return the plain line that describes it."""
        row = self.rows.setdefault(event.name, StepRow(event.name))
        worker = "" if event.worker_id == "0" else f" (worker {event.worker_id})"
        if event.step_state is StepState.RUNNING:
            row.running += 1
            return f"step {event.name} started{worker}"
        if event.step_state is StepState.PREPARING:
            return f"step {event.name} preparing{worker}"
        row.running = max(0, row.running - 1)
        row.finished += 1
        if event.output_event_name is None:
            # A step that raised reports no output at all; one that returned None reports
            # NoneType.
            row.last_output = None
            return f"step {event.name} failed{worker}"
        row.last_output = event_class_name(event.output_event_name)
        arrow = f" -> {row.last_output}" if row.last_output else ""
        return f"step {event.name} finished{arrow}{worker}"

    def mark_failed(self, name: str) -> None:
        """Record that the run failed in step ``name``."""
        self.rows.setdefault(name, StepRow(name)).failed = True

    def __rich__(self) -> RenderableType:
        """The board as a table: state, step, running workers, finished runs, last output."""
        table = Table(box=None, show_header=True, header_style="bold", pad_edge=False)
        table.add_column("", width=2)
        table.add_column("step")
        table.add_column("running", justify="right")
        table.add_column("finished", justify="right")
        table.add_column("last output")
        for row in self.rows.values():
            state: RenderableType = Text("✓", style="green")
            if row.running:
                state = Spinner("dots", style="cyan")
            elif row.failed:
                state = Text("✗", style="bold red")
            table.add_row(
                state,
                Text(row.name, style="bold" if row.running else ""),
                str(row.running),
                str(row.finished),
                Text(row.last_output or "-", style="dim" if not row.last_output else "magenta"),
            )
        return table
